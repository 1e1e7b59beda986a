#!/usr/bin/env python3
"""deploy/install.sh then deploy/uninstall.sh in a temporary root leave it as
it was, byte for byte and mode for mode; a second install and a second
uninstall change nothing.

usage: install_test.py NODEFIT DEPLOY_DIR
"""
import hashlib
import os
import stat
import subprocess
import sys
import tempfile
import tomllib
import unittest

NODEFIT, DEPLOY = map(os.path.abspath, sys.argv[1:3])
del sys.argv[1:3]
ADDRESS = "https://127.0.0.1:505"

REGISTRY_HOSTS = b"""server = "https://registry-1.docker.io"

[host."https://mirror.example.com"]
  capabilities = ["pull"]
"""


def snapshot(root):
    """{relative path: (type, mode, sha256 or link target)} of everything."""
    tree = {}
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(parent, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    what = hashlib.sha256(f.read()).hexdigest()
            else:
                what = None
            tree[os.path.relpath(path, root)] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), what)
    return tree


def write(root, path, content, mode=0o644):
    path = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, mode)


def read(root, path):
    with open(os.path.join(root, path.lstrip("/")), "rb") as f:
        return f.read()


def mode(root, path):
    return stat.S_IMODE(os.lstat(os.path.join(root, path.lstrip("/"))).st_mode)


class InstallUninstall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.env = dict(os.environ, NODEFIT_ROOT=self.root,
                        NODEFIT_BINARY=NODEFIT)

    def tearDown(self):
        self.tmp.cleanup()

    def run_script(self, name, **env):
        result = subprocess.run(
            ["bash", os.path.join(DEPLOY, name)], capture_output=True,
            text=True, timeout=120, check=False, env=dict(self.env, **env))
        self.assertEqual(result.returncode, 0,
                         f"{name} exited {result.returncode}:\n"
                         f"{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    def first_host(self, path):
        with open(os.path.join(self.root, path.lstrip("/")), "rb") as f:
            return list(tomllib.load(f)["host"])[0]

    def round_trip(self, check_installed, **env):
        before = snapshot(self.root)
        out = self.run_script("install.sh", **env)
        check_installed(out)
        installed = snapshot(self.root)
        self.run_script("install.sh", **env)
        self.assertEqual(snapshot(self.root), installed,
                         "a second install changed the root")
        self.run_script("uninstall.sh", **env)
        self.assertEqual(snapshot(self.root), before,
                         "uninstall did not restore the root")
        self.run_script("uninstall.sh", **env)
        self.assertEqual(snapshot(self.root), before,
                         "a second uninstall changed the root")

    def test_existing_certs_dir(self):
        write(self.root, "/etc/containerd/certs.d/docker.io/hosts.toml",
              REGISTRY_HOSTS)
        write(self.root, "/etc/containerd/config.toml", b"version = 2\n")

        def check(out):
            self.assertEqual(read(self.root, "/usr/local/bin/nodefit"),
                             read("/", NODEFIT))
            self.assertTrue(os.access(
                os.path.join(self.root, "usr/local/bin/nodefit"), os.X_OK))
            self.assertEqual(read(self.root, "/etc/nodefit/config.json"),
                             read(DEPLOY, "config.json"))
            # The config may hold registry passwords; the keys are secrets.
            self.assertEqual(mode(self.root, "/etc/nodefit/config.json"), 0o600)
            pki = "/etc/nodefit/pki"
            self.assertEqual(mode(self.root, pki), 0o700)
            for key in ("ca-key.pem", "server-key.pem", "client-key.pem"):
                self.assertEqual(mode(self.root, f"{pki}/{key}"), 0o600, key)
            with open(os.path.join(self.root, "etc/containerd/certs.d/"
                                   "_default/hosts.toml"), "rb") as f:
                ours = tomllib.load(f)["host"][ADDRESS]
            self.assertEqual(ours["ca"], self.root + pki + "/ca.pem")
            self.assertEqual(ours["client"],
                             [[self.root + pki + "/client.pem",
                               self.root + pki + "/client-key.pem"]])
            unit = read(self.root, "/etc/systemd/system/nodefit.service")
            self.assertIn(b"ExecStart=/usr/local/bin/nodefit serve --config "
                          b"/etc/nodefit/config.json", unit)
            certs = "/etc/containerd/certs.d"
            self.assertEqual(self.first_host(certs + "/docker.io/hosts.toml"),
                             ADDRESS)
            self.assertEqual(self.first_host(certs + "/_default/hosts.toml"),
                             ADDRESS)
            # What to change by hand, and that nothing was restarted here.
            for text in ("imageServiceEndpoint: unix:///run/nodefit/cri.sock",
                         "image-endpoint: unix:///run/nodefit/cri.sock",
                         "runtime-endpoint: unix:///run/containerd/"
                         "containerd.sock",
                         "--image-service-endpoint",
                         "The hosts.toml face needs nothing else",
                         "has no config_path yet", "systemctl skipped"):
                self.assertIn(text, out)

        self.round_trip(check)

    def test_existing_config_and_binary_other_dirs(self):
        """An existing config is kept; a foreign binary is put back."""
        config = b'{"on_no_match": "passthrough"}\n'
        write(self.root, "/etc/nodefit/config.json", config, 0o600)
        write(self.root, "/opt/nodefit/bin/nodefit", b"#!/bin/sh\n", 0o755)
        env = {"NODEFIT_BINDIR": "/opt/nodefit/bin",
               "NODEFIT_UNITDIR": "/lib/systemd/system",
               "NODEFIT_CERTS_DIR": "/srv/certs.d"}

        def check(out):
            self.assertEqual(read(self.root, "/etc/nodefit/config.json"),
                             config)
            self.assertIn("kept (an existing config is never replaced)", out)
            self.assertEqual(read(self.root, "/opt/nodefit/bin/nodefit"),
                             read("/", NODEFIT))
            unit = read(self.root, "/lib/systemd/system/nodefit.service")
            self.assertIn(b"ExecStart=/opt/nodefit/bin/nodefit serve", unit)
            self.assertEqual(self.first_host("/srv/certs.d/_default/hosts.toml"),
                             ADDRESS)

        self.round_trip(check, **env)

    def test_a_config_edited_after_install_is_kept(self):
        self.run_script("install.sh")
        write(self.root, "/etc/nodefit/config.json", b"{}\n")
        out = self.run_script("uninstall.sh")
        self.assertIn("config.json: kept (changed since install)", out)
        self.assertEqual(read(self.root, "/etc/nodefit/config.json"), b"{}\n")
        self.assertEqual(sorted(snapshot(self.root)),
                         ["etc", "etc/nodefit", "etc/nodefit/config.json"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
