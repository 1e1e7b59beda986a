#!/usr/bin/env python3
"""The Debian package on this machine, as an operator uses it: built by
scripts/package (lintian errors fail the build), installed with
`apt-get install ./nodefit_*.deb`, `nodefit version` answered from /usr/bin,
the unit enabled, containerd's configuration untouched; then `dpkg -r`
leaves only what Debian policy keeps (the conffile, the unit's enablement
state), and `dpkg -P` leaves nothing.

It changes the system (as root): it refuses to run where a nodefit package
is already installed.

usage: package_test.py SOURCE_DIR RELEASE_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE, BINARY = map(os.path.abspath, sys.argv[1:3])
del sys.argv[1:3]

# Where a package's files and its maintainer scripts' effects land.
WATCHED = ["/etc", "/usr/bin", "/usr/share/doc", "/usr/share/man/man1",
           "/lib/systemd/system", "/var/lib/systemd", "/run/nodefit"]
# Files the package system rewrites for any package (caches, triggers).
IGNORED = ["/etc/ld.so.cache"]
# What policy keeps after `dpkg -r`: conffiles and the enablement state that
# deb-systemd-helper holds until purge.
KEPT_AFTER_REMOVE = {
    "/etc/nodefit", "/etc/nodefit/config.json",
    # The node PKI postinst made: the node's identity, kept like a conffile
    # until purge.
    "/etc/nodefit/pki", "/etc/nodefit/pki/ca.pem", "/etc/nodefit/pki/ca-key.pem",
    "/etc/nodefit/pki/server.pem", "/etc/nodefit/pki/server-key.pem",
    "/etc/nodefit/pki/client.pem", "/etc/nodefit/pki/client-key.pem",
    "/etc/systemd/system/nodefit.service",  # the mask, lifted on purge
    "/etc/systemd/system/multi-user.target.wants/nodefit.service",
}
KEPT_AFTER_REMOVE_PREFIX = "/var/lib/systemd/deb-systemd-helper-"


def snapshot():
    """Every path under WATCHED -> (kind, link target or size, mtime)."""
    tree = {}
    for top in WATCHED:
        if not os.path.lexists(top):
            continue
        for parent, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(parent, name)
                if path in IGNORED:
                    continue
                st = os.lstat(path)
                what = os.readlink(path) if os.path.islink(path) else None
                tree[path] = (st.st_mode >> 12, what)
    return tree


def containerd_config():
    """containerd's configuration, byte for byte."""
    out = {}
    for top in ["/etc/containerd"]:
        for parent, _, files in os.walk(top):
            for name in files:
                path = os.path.join(parent, name)
                with open(path, "rb") as f:
                    out[path] = f.read()
    return out


def run(*argv, **kwargs):
    return subprocess.run(argv, check=True, capture_output=True, text=True,
                          **kwargs)


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise RuntimeError("package_test installs a package: run as root")
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}",
                                 "nodefit"], capture_output=True, text=True)
        if "installed" in status.stdout:
            raise RuntimeError("a nodefit package is installed already; "
                               "remove it (dpkg -P nodefit) before this test")
        cls.out = tempfile.mkdtemp(prefix="nodefit-deb-")
        build = run(os.path.join(SOURCE, "scripts/package"), "--out", cls.out,
                    "--binary", BINARY, cwd=SOURCE)
        cls.deb = build.stdout.strip().splitlines()[-1]
        cls.version = run(BINARY, "version").stdout.split()[1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, ignore_errors=True)

    def test_install_remove_purge(self):
        self.assertRegex(os.path.basename(self.deb),
                         r"^nodefit_%s_[a-z0-9]+\.deb$" % self.version)
        before = snapshot()
        containerd_before = containerd_config()
        try:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            run("apt-get", "install", "-y", "--no-install-recommends",
                os.path.abspath(self.deb), env=env)
            version = run("/usr/bin/nodefit", "version").stdout
            self.assertTrue(version.startswith("nodefit %s (commit " %
                                               self.version), version)
            self.assertTrue(os.path.isfile("/etc/nodefit/config.json"))
            # Secrets are root's alone: the config, the PKI and its keys.
            mode = lambda p: os.lstat(p).st_mode & 0o7777
            self.assertEqual(mode("/etc/nodefit/config.json"), 0o600)
            self.assertEqual(mode("/etc/nodefit/pki"), 0o700)
            for key in ("ca-key.pem", "server-key.pem", "client-key.pem"):
                self.assertEqual(mode("/etc/nodefit/pki/" + key), 0o600, key)
            doctor = subprocess.run(
                ["/usr/bin/nodefit", "doctor", "--json"], capture_output=True,
                text=True, check=False)
            tls = [c for c in json.loads(doctor.stdout)["checks"]
                   if c["check"] == "tls"]
            self.assertTrue(tls and all(c["result"] == "ok" for c in tls),
                            doctor.stdout)
            self.assertIn("/etc/nodefit/config.json",
                          run("dpkg-query", "-W", "-f=${Conffiles}",
                              "nodefit").stdout)
            self.assertTrue(os.path.islink(
                "/etc/systemd/system/multi-user.target.wants/"
                "nodefit.service"), "the unit is not enabled")
            unit = open("/lib/systemd/system/nodefit.service").read()
            self.assertIn("ExecStart=/usr/bin/nodefit serve", unit)
            man = run("man", "-l", "/usr/share/man/man1/nodefit.1.gz",
                      env=dict(os.environ, MANPAGER="cat", MANWIDTH="80"))
            self.assertRegex(man.stdout, r"COMMAND: HOSTS\n +usage: nodefit "
                             r"hosts install --certs-dir DIR")
            self.assertEqual(containerd_config(), containerd_before,
                             "installing changed containerd's config")

            run("dpkg", "-r", "nodefit")
            after_remove = snapshot()
            added = {p for p in after_remove if p not in before}
            left = {p for p in added if p not in KEPT_AFTER_REMOVE and
                    not p.startswith(KEPT_AFTER_REMOVE_PREFIX)}
            self.assertEqual(left, set(), "dpkg -r left these behind")
            self.assertIn("/etc/nodefit/config.json", added)
            self.assertFalse(os.path.exists("/usr/bin/nodefit"))
            self.assertEqual({p for p in before if p not in after_remove},
                             set(), "dpkg -r removed what it did not own")
        finally:
            subprocess.run(["dpkg", "-P", "nodefit"], capture_output=True)
        after_purge = snapshot()
        self.assertEqual({p for p in after_purge if p not in before}, set(),
                         "dpkg -P left these behind")
        self.assertEqual({p for p in before if p not in after_purge}, set(),
                         "dpkg -P removed what it did not own")
        self.assertEqual(containerd_config(), containerd_before)


if __name__ == "__main__":
    unittest.main()
