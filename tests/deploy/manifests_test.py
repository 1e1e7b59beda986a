#!/usr/bin/env python3
"""Checks deploy/ against the real nodefit binary: the DaemonSet's mounts,
probes and commands, the config nodefit is given, the systemd unit, and the
kubelet, crictl and containerd snippets.

usage: manifests_test.py NODEFIT DEPLOY_DIR SOURCE_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest

import yaml

NODEFIT, DEPLOY, SOURCE = map(os.path.abspath, sys.argv[1:4])
del sys.argv[1:4]


def nodefit(*args):
    return subprocess.run([NODEFIT, *args], capture_output=True, text=True,
                          timeout=60, check=False)


def help_text(*command):
    """`nodefit COMMAND --help`, which must succeed."""
    result = nodefit(*command, "--help")
    if result.returncode != 0:
        raise AssertionError(f"nodefit {' '.join(command)} --help exited "
                             f"{result.returncode}: {result.stderr}")
    return result.stdout + result.stderr


def usage_flags(text, command):
    """The flags the usage line `nodefit COMMAND ...` names (with the
    lines that continue it, which start with '[')."""
    lines = [re.sub(r"^\s*(usage:)?\s*", "", line) for line in text.splitlines()]
    for i, line in enumerate(lines):
        if line.startswith(f"nodefit {command} ") or line == f"nodefit {command}":
            flags = set(re.findall(r"--[a-z][a-z-]*", line))
            for more in lines[i + 1:]:
                if not more.startswith("["):
                    break
                flags |= set(re.findall(r"--[a-z][a-z-]*", more))
            return flags
    raise AssertionError(f"no usage line for `nodefit {command}` in:\n{text}")


def flag_values(argv):
    """{--flag: value} for an argv of `--flag value` pairs after the verb."""
    flags = {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("--"):
            flags[argv[i]] = argv[i + 1] if i + 1 < len(argv) else None
            i += 2
        else:
            i += 1
    return flags


def host_port(listen):
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def unix_dir(address):
    assert address.startswith("unix://"), address
    return os.path.dirname(address[len("unix://"):])


def check_config_accepted(test, path):
    result = nodefit("features", "--config", path, "--json")
    test.assertEqual(result.returncode, 0,
                     f"nodefit features --config {path}: {result.stderr}")
    json.loads(result.stdout)
    result = nodefit("select", "--index",
                     os.path.join(SOURCE, "integration/demo/example-index.json"),
                     "--config", path, "--platform", "linux/amd64")
    test.assertEqual(result.returncode, 0,
                     f"nodefit select --config {path}: {result.stderr}")


with open(os.path.join(DEPLOY, "config.json"), encoding="utf-8") as f:
    EXAMPLE_CONFIG = json.load(f)


class Kubernetes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        kdir = os.path.join(DEPLOY, "kubernetes")
        cls.objects = {}
        for name in sorted(os.listdir(kdir)):
            with open(os.path.join(kdir, name), encoding="utf-8") as f:
                for doc in yaml.safe_load_all(f):
                    if doc:
                        assert doc["kind"] not in cls.objects, doc["kind"]
                        cls.objects[doc["kind"]] = doc
        cls.ds = cls.objects["DaemonSet"]
        cls.cm = cls.objects["ConfigMap"]
        cls.pod = cls.ds["spec"]["template"]["spec"]
        (cls.main,) = [c for c in cls.pod["containers"] if c["name"] == "nodefit"]
        (cls.init,) = cls.pod["initContainers"]
        cls.config = json.loads(cls.cm["data"]["config.json"])
        cls.volumes = {v["name"]: v for v in cls.pod["volumes"]}

    def mounts(self, container):
        """{mountPath: (volume, readOnly)}"""
        return {m["mountPath"]: (self.volumes[m["name"]], m.get("readOnly", False))
                for m in container.get("volumeMounts", [])}

    def assert_host_mount(self, container, path, writable):
        mounts = self.mounts(container)
        self.assertIn(path, mounts, f"{container['name']} does not mount {path}")
        volume, read_only = mounts[path]
        self.assertEqual(volume.get("hostPath", {}).get("path"), path,
                         f"{path} is not the host's {path}")
        self.assertEqual(read_only, not writable,
                         f"{container['name']}: {path} should be "
                         f"{'writable' if writable else 'read-only'}")

    def test_one_namespace(self):
        ns = self.objects["Namespace"]["metadata"]["name"]
        for kind in ("ConfigMap", "DaemonSet"):
            self.assertEqual(self.objects[kind]["metadata"]["namespace"], ns)

    def test_node_level_pod(self):
        self.assertIs(self.pod["hostNetwork"], True)
        self.assertEqual(self.pod["priorityClassName"], "system-node-critical")
        self.assertIn({"operator": "Exists"}, self.pod["tolerations"])

    def test_host_paths_match_the_config(self):
        certs = flag_values(self.init["command"])["--certs-dir"]
        self.assertEqual(certs, "/etc/containerd/certs.d")
        self.assert_host_mount(self.init, certs, writable=True)
        self.assert_host_mount(self.main, certs, writable=True)  # preStop
        self.assert_host_mount(self.main, unix_dir(self.config["cri"]["listen"]),
                               writable=True)
        self.assertEqual(unix_dir(self.config["cri"]["listen"]), "/run/nodefit")
        self.assert_host_mount(self.main,
                               unix_dir(self.config["cri"]["containerd"]),
                               writable=False)
        self.assertEqual(unix_dir(self.config["cri"]["containerd"]),
                         "/run/containerd")
        self.assert_host_mount(self.main, self.config["nfd"]["features_dir"],
                               writable=False)
        # Detection reads the host's /proc, read-only, where proc_root says.
        mounts = self.mounts(self.main)
        proc_root = self.config["proc_root"]
        self.assertIn(proc_root, mounts)
        volume, read_only = mounts[proc_root]
        self.assertEqual(volume.get("hostPath", {}).get("path"), "/proc")
        self.assertTrue(read_only, f"{proc_root} must be read-only")

    def test_config_is_the_configmap(self):
        args = flag_values(self.main["command"])
        path = args["--config"]
        self.assertEqual(path, "/etc/nodefit/config.json")
        volume, read_only = self.mounts(self.main)[os.path.dirname(path)]
        self.assertTrue(read_only)
        self.assertEqual(volume["configMap"]["name"],
                         self.cm["metadata"]["name"])
        self.assertIn(os.path.basename(path), self.cm["data"])

    def test_commands_use_real_flags(self):
        binary = self.main["command"][0]
        self.assertEqual(self.main["command"][1], "serve")
        serve = usage_flags(help_text("serve"), "serve")
        self.assertLessEqual(set(flag_values(self.main["command"])), serve)

        self.assertEqual(self.init["command"][:4],
                         [binary, "hosts", "install", "--certs-dir"])
        install = usage_flags(help_text("hosts", "install"), "hosts install")
        self.assertLessEqual(set(flag_values(self.init["command"])), install)

        stop = self.main["lifecycle"]["preStop"]["exec"]["command"]
        start = self.main["lifecycle"]["postStart"]["exec"]["command"]
        self.assertEqual(stop[:4], [binary, "hosts", "suspend", "--certs-dir"])
        self.assertEqual(start[:4], [binary, "hosts", "resume", "--certs-dir"])
        suspend = usage_flags(help_text("hosts", "suspend"),
                              "hosts suspend|resume")
        for argv in (stop, start):
            self.assertLessEqual(set(flag_values(argv)), suspend)
            self.assertEqual(flag_values(argv)["--certs-dir"],
                             flag_values(self.init["command"])["--certs-dir"])
        self.assertEqual(flag_values(self.init["command"])["--address"],
                         "https://" + self.config["http"]["listen"])
        self.assertEqual(flag_values(self.init["command"])["--pki-dir"],
                         self.config["http"]["pki_dir"])
        self.assert_host_mount(self.init, self.config["http"]["pki_dir"], True)
        self.assert_host_mount(self.main, self.config["http"]["pki_dir"], False)
        self.assertIn("NET_BIND_SERVICE",
                      self.main["securityContext"]["capabilities"]["add"])

    def test_image_is_the_variable_and_the_binary_where_the_image_has_it(self):
        # scripts/image puts the binary at /usr/bin/nodefit; the manifests
        # name the image only through NODEFIT_IMAGE (envsubst).
        for container in [self.main, self.init]:
            self.assertEqual(container["image"], "${NODEFIT_IMAGE}")
            self.assertEqual(container["command"][0], "/usr/bin/nodefit")
        kdir = os.path.join(DEPLOY, "kubernetes")
        with open(os.path.join(kdir, "20-daemonset.yaml"), "rb") as f:
            rendered = subprocess.run(
                ["envsubst", "$NODEFIT_IMAGE"], input=f.read(),
                capture_output=True, check=True,
                env={"NODEFIT_IMAGE": "registry.test/nodefit:1.2.3"}).stdout
        pod = yaml.safe_load(rendered)["spec"]["template"]["spec"]
        for container in pod["containers"] + pod["initContainers"]:
            self.assertEqual(container["image"], "registry.test/nodefit:1.2.3")

    def test_init_and_lifecycle_commands_run(self):
        """The init container's and the lifecycle hooks' argv, on scratch
        directories: install, then stops and starts of the container, then
        `hosts remove` leaves the certs dir as it was."""
        stop = self.main["lifecycle"]["preStop"]["exec"]["command"]
        start = self.main["lifecycle"]["postStart"]["exec"]["command"]
        with tempfile.TemporaryDirectory() as certs, \
                tempfile.TemporaryDirectory() as scratch:
            pki = os.path.join(scratch, "pki")

            def run(argv):
                argv = [NODEFIT] + [certs if a == "/etc/containerd/certs.d"
                                    else pki if a == "/var/lib/nodefit/pki"
                                    else a for a in argv[1:]]
                result = subprocess.run(argv, capture_output=True, text=True,
                                        timeout=60, check=False)
                self.assertEqual(result.returncode, 0,
                                 f"{argv}: {result.stderr}")

            def ours():
                path = os.path.join(certs, "_default", "hosts.toml")
                return os.path.exists(path) and "127.0.0.1:505" in open(path).read()

            run(self.init["command"])
            run(start)
            self.assertTrue(ours())
            run(stop)
            self.assertFalse(ours())
            self.assertEqual(os.listdir(certs), [".nodefit-hosts-suspended.json"])
            run(start)
            self.assertTrue(ours())
            run(stop)
            run([NODEFIT, "hosts", "remove", "--certs-dir", certs])
            self.assertEqual(os.listdir(certs), [])

    def test_probes_reach_the_health_listener(self):
        host, port = host_port(self.config["http"]["health_listen"])
        for probe, path in (("livenessProbe", "/healthz"),
                            ("readinessProbe", "/readyz")):
            get = self.main[probe]["httpGet"]
            self.assertEqual(get["path"], path)
            self.assertEqual(get["port"], port)
            self.assertEqual(get["host"], host)

    def test_resources(self):
        for container in (self.init, self.main):
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    self.assertIn(resource, container["resources"][kind],
                                  f"{container['name']} {kind}")

    def test_configmap_config_is_accepted(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write(self.cm["data"]["config.json"])
            f.flush()
            check_config_accepted(self, f.name)

    def test_configmap_config_is_the_example(self):
        # The same config but for where the host's /proc is mounted and
        # the PKI: /etc/nodefit is the ConfigMap (read-only), so the PKI
        # lives in a host directory of its own.
        config = json.loads(json.dumps(self.config))
        self.assertEqual(config.pop("proc_root"), "/host/proc")
        self.assertEqual(config["http"].pop("pki_dir"), "/var/lib/nodefit/pki")
        example = json.loads(json.dumps(EXAMPLE_CONFIG))
        self.assertEqual(example["http"].pop("pki_dir"), "/etc/nodefit/pki")
        self.assertEqual(config, example)
        # The init container makes it; nodefit only reads it.
        self.assert_host_mount(self.init, "/var/lib/nodefit/pki", writable=True)
        self.assert_host_mount(self.main, "/var/lib/nodefit/pki", writable=False)


class Files(unittest.TestCase):
    def test_example_config_is_accepted(self):
        check_config_accepted(self, os.path.join(DEPLOY, "config.json"))

    def test_systemd_unit(self):
        unit = {}
        with open(os.path.join(DEPLOY, "systemd/nodefit.service"),
                  encoding="utf-8") as f:
            for line in f:
                if "=" in line and not line.startswith("#"):
                    key, _, value = line.strip().partition("=")
                    unit[key] = value
        self.assertIn("containerd.service", unit["Before"].split())
        self.assertEqual(unit["Restart"], "always")
        self.assertEqual(unit["Type"], "notify")
        self.assertIn("-HUP", unit["ExecReload"])
        argv = unit["ExecStart"].split()
        # install.sh rewrites these two paths; they must be there to rewrite.
        self.assertEqual(argv[:2], ["/usr/local/bin/nodefit", "serve"])
        flags = flag_values(argv)
        self.assertEqual(flags["--config"], "/etc/nodefit/config.json")
        self.assertLessEqual(set(flags),
                             usage_flags(help_text("serve"), "serve"))

    def test_kubelet_and_crictl(self):
        cri = EXAMPLE_CONFIG["cri"]
        with open(os.path.join(DEPLOY, "kubelet/kubelet-config.yaml"),
                  encoding="utf-8") as f:
            kubelet = yaml.safe_load(f)
        self.assertEqual(kubelet["kind"], "KubeletConfiguration")
        self.assertEqual(kubelet["apiVersion"], "kubelet.config.k8s.io/v1beta1")
        self.assertEqual(kubelet["imageServiceEndpoint"], cri["listen"])
        self.assertEqual(kubelet["containerRuntimeEndpoint"], cri["containerd"])
        with open(os.path.join(DEPLOY, "crictl.yaml"), encoding="utf-8") as f:
            crictl = yaml.safe_load(f)
        self.assertEqual(crictl["image-endpoint"], cri["listen"])
        self.assertEqual(crictl["runtime-endpoint"], cri["containerd"])

    def load_toml(self, name):
        with open(os.path.join(DEPLOY, "containerd", name), "rb") as f:
            return tomllib.load(f)

    def test_containerd_config_path(self):
        certs = "/etc/containerd/certs.d"
        v2 = self.load_toml("config-v2.toml")
        self.assertEqual(v2["version"], 2)
        self.assertEqual(
            v2["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"],
            certs)
        v3 = self.load_toml("config-v3.toml")
        self.assertEqual(v3["version"], 3)
        plugins = v3["plugins"]
        self.assertEqual(
            plugins["io.containerd.cri.v1.images"]["registry"]["config_path"],
            certs)
        transfer = plugins["io.containerd.transfer.v1.local"]
        self.assertEqual(transfer["config_path"], certs)
        for unpack in transfer["unpack_config"]:
            self.assertTrue(unpack["platform"] and unpack["snapshotter"])

    def test_hosts_toml_is_what_hosts_install_writes(self):
        shipped = self.load_toml("hosts.toml")
        address = "https://" + EXAMPLE_CONFIG["http"]["listen"]
        pki = EXAMPLE_CONFIG["http"]["pki_dir"]
        with tempfile.TemporaryDirectory() as certs, \
                tempfile.TemporaryDirectory() as scratch:
            # The shipped file names the default PKI; install it from a
            # scratch PKI and compare with the paths put back.
            result = nodefit("hosts", "install", "--certs-dir", certs,
                             "--address", address, "--pki-dir",
                             os.path.join(scratch, "pki"))
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(os.path.join(certs, "_default/hosts.toml"), "rb") as f:
                text = f.read().decode().replace(
                    os.path.join(scratch, "pki"), pki)
                self.assertEqual(tomllib.loads(text), shipped)
        self.assertEqual(list(shipped["host"]), [address])


if __name__ == "__main__":
    unittest.main(verbosity=2)
