// `nodefit hosts install|remove` through the real binary on a realistic
// certs.d tree: the round trip is byte-identical (contents, modes, the set of
// files and directories), the installed files parse with nodefit's host first
// and everything else unchanged, both commands are idempotent, --registry
// limits them, operator edits survive remove, a broken file changes nothing,
// and --help shows the real flags.
#include <dirent.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugin/containerd/toml_parse.h"
#include "tests/test_util.h"
#include "toml++/toml.h"

namespace nodefit {
namespace {

using ::nodefit::testing::ParseToml;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAddress[] = "https://127.0.0.1:505";

// Written out here, independently of plugin/containerd/hosts_toml.cc: the
// block for the default address, with the node PKI in `pki`.
std::string Block(const std::string& pki) {
  return "# Added by nodefit (nodefit hosts install); nodefit hosts remove "
         "takes it out.\n"
         "[host.\"https://127.0.0.1:505\"]\n"
         "  capabilities = [\"pull\", \"resolve\"]\n"
         "  ca = \"" +
         pki + "/ca.pem\"\n  client = [[\"" + pki + "/client.pem\", \"" + pki +
         "/client-key.pem\"]]\n";
}

// Comments, tabs, trailing blanks, a sub-table and no final newline.
const std::string kDockerHead =
    "# Docker Hub, through the office mirror first.\n"
    "server = \"https://registry-1.docker.io\"   \n"
    "\n";
const std::string kDockerTail =
    "# The mirror: pull and resolve only.\n"
    "[host.\"https://mirror.example\"]\n"
    "\tcapabilities = [ \"pull\",  \"resolve\" ]   # no push\n"
    "  ca = \"/etc/containerd/certs.d/docker.io/mirror-ca.pem\"\n"
    "  skip_verify = false\n"
    "\n"
    "    [host.\"https://mirror.example\".header]\n"
    "    x-custom = [\"a\", \"b\"]\n"
    "# the end, without a newline";
const std::string kDocker = kDockerHead + kDockerTail;
const std::string kLocal = "server = \"http://127.0.0.1:5000\"\n";

struct Entry {
  mode_t mode = 0;  // type and permissions
  std::string content;

  bool operator==(const Entry& other) const {
    return mode == other.mode && content == other.content;
  }
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Every file and directory under `root` (relative path -> mode, content).
void Walk(const std::string& root, const std::string& relative,
          std::map<std::string, Entry>* out) {
  DIR* dir = opendir((root + relative).c_str());
  ASSERT_NE(dir, nullptr) << root + relative;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string path = relative;
    path.append("/").append(name);
    struct stat st;
    ASSERT_EQ(lstat((root + path).c_str(), &st), 0);
    Entry& e = (*out)[path];
    e.mode = st.st_mode;
    if (S_ISDIR(st.st_mode)) {
      Walk(root, path, out);
    } else {
      e.content = ReadAll(root + path);
    }
  }
  closedir(dir);
}

std::map<std::string, Entry> Snapshot(const std::string& root) {
  std::map<std::string, Entry> out;
  Walk(root, "", &out);
  return out;
}

std::vector<std::string> Names(const std::map<std::string, Entry>& tree) {
  std::vector<std::string> names;
  names.reserve(tree.size());
  for (const auto& [name, entry] : tree) names.push_back(name);
  return names;
}

// The tree of the brief: docker.io (0640) and 127.0.0.1:5000 (0600), no
// _default.
class HostsBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(Path("/docker.io").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(Path("/127.0.0.1:5000").c_str(), 0700), 0);
    ASSERT_EQ(chmod(dir_.Write("docker.io/hosts.toml", kDocker).c_str(), 0640),
              0);
    ASSERT_EQ(
        chmod(dir_.Write("127.0.0.1:5000/hosts.toml", kLocal).c_str(), 0600),
        0);
    dir_.Write("docker.io/mirror-ca.pem", "not really a certificate\n");
    // This node's containerd reads the certs dir under test, so install
    // has nothing to warn about (with Debian's containerd binary at hand;
    // without one it cannot tell and stays silent too).
    containerd_config_ = ContainerdConfig(dir_.path());
    pki_ = config_dir_.path() + "/pki";
    block_ = Block(pki_);
  }

  // A containerd config (version 2, 1.x) whose CRI reads `certs_dir`.
  std::string ContainerdConfig(const std::string& certs_dir) const {
    return config_dir_.Write(
        "config.toml",
        "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
        "  config_path = \"" +
            certs_dir + "\"\n");
  }

  // What the first install prints about the PKI it made.
  std::string PkiCreated() const {
    return pki_ + "/ca.pem: created\n" + pki_ +
           "/server.pem: issued (server, key in " + pki_ +
           "/server-key.pem)\n" + pki_ +
           "/client.pem: issued (client, key in " + pki_ + "/client-key.pem)\n";
  }

  std::string Path(const std::string& relative) const {
    return dir_.path() + relative;
  }

  testing::RunResult Hosts(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {NODEFIT_BINARY, "hosts"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::Run(argv);
  }
  testing::RunResult Install(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {
        "install",          "--certs-dir", dir_.path(), "--containerd-config",
        containerd_config_, "--pki-dir",   pki_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Hosts(args);
  }
  testing::RunResult Remove() const {
    return Hosts({"remove", "--certs-dir", dir_.path()});
  }

  testing::TempDir dir_;
  testing::TempDir config_dir_;
  std::string containerd_config_;
  std::string pki_;    // the node PKI install makes
  std::string block_;  // Block(pki_)
};

// When this node's containerd reads another directory, install says so.
TEST_F(HostsBinaryTest, InstallWarnsWhenContainerdReadsAnotherDirectory) {
  containerd_config_ = ContainerdConfig("/etc/elsewhere/certs.d");
  const testing::RunResult install = Install();
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_THAT(install.err, HasSubstr("CRI pulls read hosts.toml from "
                                     "/etc/elsewhere/certs.d, not from " +
                                     dir_.path()));
  const testing::RunResult unset = [&] {
    containerd_config_ = config_dir_.Write("config.toml", "version = 2\n");
    return Install();
  }();
  EXPECT_THAT(unset.err, HasSubstr("config_path is not set"));
  EXPECT_THAT(unset.err, HasSubstr("fix: set config_path = "
                                   "\"/etc/containerd/certs.d\""));
}

TEST_F(HostsBinaryTest, InstallThenRemoveIsByteIdentical) {
  const std::map<std::string, Entry> before = Snapshot(dir_.path());
  const testing::RunResult install = Install();
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_EQ(install.out,
            PkiCreated() + Path("/127.0.0.1:5000/hosts.toml") + ": added " +
                kAddress + " (backup in hosts.toml.nodefit-backup)\n" +
                Path("/_default/hosts.toml") +
                ": created (and its directory)\n" +
                Path("/docker.io/hosts.toml") + ": added " + kAddress +
                " (backup in hosts.toml.nodefit-backup)\n");
  EXPECT_EQ(install.err, "");
  // The edits are exactly the block, and keep each file's mode.
  const std::map<std::string, Entry> installed = Snapshot(dir_.path());
  EXPECT_EQ(installed.at("/docker.io/hosts.toml").content,
            kDockerHead + block_ + "\n" + kDockerTail);
  EXPECT_EQ(installed.at("/docker.io/hosts.toml").mode, S_IFREG | 0640);
  EXPECT_EQ(installed.at("/docker.io/hosts.toml.nodefit-backup"),
            before.at("/docker.io/hosts.toml"));
  EXPECT_EQ(installed.at("/127.0.0.1:5000/hosts.toml").content,
            kLocal + "\n" + block_);
  EXPECT_EQ(installed.at("/127.0.0.1:5000/hosts.toml").mode, S_IFREG | 0600);
  EXPECT_EQ(installed.at("/_default/hosts.toml").content, block_);
  EXPECT_EQ(installed.at("/_default").mode, S_IFDIR | 0755);

  const testing::RunResult remove = Remove();
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(remove.out, Path("/127.0.0.1:5000/hosts.toml") + ": restored\n" +
                            Path("/docker.io/hosts.toml") + ": restored\n" +
                            Path("/_default/hosts.toml") + ": deleted\n" +
                            Path("/_default") + "/: deleted\n");
  EXPECT_EQ(remove.err, "");
  const std::map<std::string, Entry> after = Snapshot(dir_.path());
  EXPECT_EQ(Names(after), Names(before));
  EXPECT_TRUE(after == before);
}

TEST_F(HostsBinaryTest, InstalledFilesPutNodefitFirstAndChangeNothingElse) {
  const std::map<std::string, std::string> originals = {
      {"/docker.io/hosts.toml", kDocker},
      {"/127.0.0.1:5000/hosts.toml", kLocal},
      {"/_default/hosts.toml", ""}};
  ASSERT_EQ(Install().exit_code, 0);
  for (const auto& [file, original] : originals) {
    SCOPED_TRACE(file);
    toml::table tree = ParseToml(ReadAll(Path(file)));
    toml::table* hosts = tree.get_as<toml::table>("host");
    ASSERT_NE(hosts, nullptr);
    const toml::table* ours = hosts->get_as<toml::table>(kAddress);
    ASSERT_NE(ours, nullptr);
    for (const auto& [key, host] : *hosts) {
      if (key.str() != kAddress) {
        EXPECT_LT(ours->source().begin, host.source().begin) << key.str();
      }
    }
    ASSERT_EQ(ours->size(), 3U);
    const toml::array* capabilities = ours->get_as<toml::array>("capabilities");
    ASSERT_NE(capabilities, nullptr);
    EXPECT_EQ(*capabilities, toml::array("pull", "resolve"));
    EXPECT_EQ(ours->get("ca")->value<std::string>(), pki_ + "/ca.pem");
    const toml::array* client = ours->get_as<toml::array>("client");
    ASSERT_NE(client, nullptr);
    ASSERT_EQ(client->size(), 1U);
    EXPECT_EQ(*client->get_as<toml::array>(0),
              toml::array(pki_ + "/client.pem", pki_ + "/client-key.pem"));
    // Minus nodefit's table (and `host` if that empties it), the same tree.
    hosts->erase(kAddress);
    if (hosts->empty()) tree.erase("host");
    EXPECT_EQ(tree, ParseToml(original));
  }
}

TEST_F(HostsBinaryTest, InstallAndRemoveAreIdempotent) {
  ASSERT_EQ(Install().exit_code, 0);
  const std::map<std::string, Entry> once = Snapshot(dir_.path());
  const testing::RunResult again = Install();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, Not(HasSubstr("added")));
  EXPECT_THAT(again.out,
              HasSubstr(Path("/docker.io/hosts.toml") + ": already present\n"));
  EXPECT_THAT(again.out,
              HasSubstr(Path("/_default/hosts.toml") + ": already present\n"));
  EXPECT_TRUE(Snapshot(dir_.path()) == once);

  ASSERT_EQ(Remove().exit_code, 0);
  const std::map<std::string, Entry> removed = Snapshot(dir_.path());
  const testing::RunResult remove_again = Remove();
  EXPECT_EQ(remove_again.exit_code, 0) << remove_again.err;
  EXPECT_THAT(remove_again.out, HasSubstr("nothing to remove"));
  EXPECT_TRUE(Snapshot(dir_.path()) == removed);
}

TEST_F(HostsBinaryTest, RegistryLimitsTheFiles) {
  const std::map<std::string, Entry> before = Snapshot(dir_.path());
  const testing::RunResult install =
      Install({"--registry", "docker.io", "--registry", "quay.io", "--address",
               "https://nodefit.local:8443"});
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_EQ(install.out, PkiCreated() + Path("/docker.io/hosts.toml") +
                             ": added https://nodefit.local:8443 (backup in "
                             "hosts.toml.nodefit-backup)\n" +
                             Path("/quay.io/hosts.toml") +
                             ": created (and its directory)\n");
  const std::map<std::string, Entry> installed = Snapshot(dir_.path());
  EXPECT_EQ(installed.count("/_default"), 0U);
  EXPECT_EQ(installed.at("/127.0.0.1:5000/hosts.toml"),
            before.at("/127.0.0.1:5000/hosts.toml"));
  EXPECT_THAT(installed.at("/quay.io/hosts.toml").content,
              HasSubstr("[host.\"https://nodefit.local:8443\"]\n"));
  ASSERT_EQ(Remove().exit_code, 0);
  EXPECT_TRUE(Snapshot(dir_.path()) == before);
}

TEST_F(HostsBinaryTest, RemoveKeepsOperatorEdits) {
  ASSERT_EQ(Install().exit_code, 0);
  const std::string edit = "\n[host.\"https://late.example\"]\n";
  {
    std::ofstream docker(Path("/docker.io/hosts.toml"), std::ios::app);
    docker << edit;
    std::ofstream fallback(Path("/_default/hosts.toml"), std::ios::app);
    fallback << edit;
  }
  const testing::RunResult remove = Remove();
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_EQ(ReadAll(Path("/docker.io/hosts.toml")), kDocker + edit);
  EXPECT_EQ(ReadAll(Path("/_default/hosts.toml")),
            "[host.\"https://late.example\"]\n");
  EXPECT_THAT(remove.err, HasSubstr(Path("/docker.io/hosts.toml") +
                                    " was edited after install"));
  EXPECT_THAT(remove.err, HasSubstr(Path("/_default/hosts.toml") +
                                    " was edited after install"));
  EXPECT_THAT(remove.err, HasSubstr("kept " + Path("/_default") + "/"));
  // The untouched file comes back exactly; no bookkeeping is left behind.
  EXPECT_EQ(ReadAll(Path("/127.0.0.1:5000/hosts.toml")), kLocal);
  const std::map<std::string, Entry> after = Snapshot(dir_.path());
  EXPECT_EQ(after.count("/docker.io/hosts.toml.nodefit-backup"), 0U);
  EXPECT_EQ(after.count("/.nodefit-hosts.json"), 0U);
}

TEST_F(HostsBinaryTest, ABrokenFileChangesNothing) {
  ASSERT_EQ(mkdir(Path("/ghcr.io").c_str(), 0755), 0);
  dir_.Write("ghcr.io/hosts.toml",
             "server = \"https://ghcr.io\"\n\n[host.\"https://m\"\n");
  const std::map<std::string, Entry> before = Snapshot(dir_.path());
  const testing::RunResult install = Install();
  EXPECT_EQ(install.exit_code, 2);
  EXPECT_THAT(install.err,
              HasSubstr("cannot parse " + Path("/ghcr.io/hosts.toml") +
                        ": line 3, column"));
  // The node's PKI is made (and kept for the next try); no hosts file is.
  EXPECT_EQ(install.out, PkiCreated());
  EXPECT_TRUE(Snapshot(dir_.path()) == before);
}

TEST_F(HostsBinaryTest, AnIoFailureExitsOneAndRemoveCleansUp) {
  // A directory where the backup must go: rename(2) fails even for root.
  ASSERT_EQ(mkdir(Path("/docker.io/hosts.toml.nodefit-backup").c_str(), 0755),
            0);
  const std::map<std::string, Entry> before = Snapshot(dir_.path());
  const testing::RunResult install = Install();
  EXPECT_EQ(install.exit_code, 1);
  EXPECT_THAT(install.err, HasSubstr(Path("/docker.io/hosts.toml")));
  const testing::RunResult remove = Remove();
  EXPECT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_TRUE(Snapshot(dir_.path()) == before);
}

TEST_F(HostsBinaryTest, BadUsageExitsTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"install"},
      {"frobnicate", "--certs-dir", dir_.path()},
      {"install", "--certs-dir", dir_.path(), "--address", "127.0.0.1:5055"},
      {"install", "--certs-dir", dir_.path(), "--registry", "../etc"},
      {"install", "--certs-dir", dir_.path(), "--registry", "a/b"},
      {"install", "--certs-dir", Path("/missing")},
      {"remove", "--certs-dir", dir_.path(), "--registry", "docker.io"},
      {"install", "--certs-dir", dir_.path(), "--address",
       "http://127.0.0.1:5055", "--pki-dir", pki_},
      {"remove", "--certs-dir", dir_.path(), "--docker-config", "/x.json"},
      {"install", "--certs-dir", dir_.path(), "--docker-config",
       Path("/missing.json")},
  };
  const std::map<std::string, Entry> before = Snapshot(dir_.path());
  for (std::vector<std::string> args : cases) {
    SCOPED_TRACE(args[args.size() - 1]);
    // Refused before anything is made, the PKI included.
    if (args[0] == "install" && args.back() != pki_) {
      args.insert(args.end(), {"--pki-dir", pki_});
    }
    const testing::RunResult run = Hosts(args);
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_FALSE(run.err.empty());
    struct stat st;
    EXPECT_NE(lstat(pki_.c_str(), &st), 0);
  }
  EXPECT_TRUE(Snapshot(dir_.path()) == before);
}

// Docker's certs dir (docker/certs.d): containerd's config is not
// consulted, and Docker's daemon.json settings that nodefit's host would
// switch off are carried over with --docker-config, or the install refused.
class HostsDockerTest : public HostsBinaryTest {
 protected:
  void SetUp() override {
    HostsBinaryTest::SetUp();
    certs_ = docker_dir_.path() + "/docker/certs.d";
    ASSERT_EQ(mkdir((docker_dir_.path() + "/docker").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(certs_.c_str(), 0755), 0);
    // A containerd that reads elsewhere: no concern of Docker's.
    containerd_config_ = ContainerdConfig("/etc/elsewhere/certs.d");
  }
  testing::RunResult DockerInstall(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {
        "install",          "--certs-dir", certs_, "--containerd-config",
        containerd_config_, "--pki-dir",   pki_};
    args.insert(args.end(), extra.begin(), extra.end());
    return Hosts(args);
  }

  testing::TempDir docker_dir_;
  std::string certs_;
};

TEST_F(HostsDockerTest, NoWarningAboutContainerdsDirectory) {
  const testing::RunResult install = DockerInstall();
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_EQ(install.err, "");
  EXPECT_THAT(install.out, HasSubstr(certs_ + "/_default/hosts.toml: created"));
}

TEST_F(HostsDockerTest, MirrorsInDaemonJsonNeedDockerConfig) {
  const std::string daemon_json = docker_dir_.Write(
      "docker/daemon.json",
      R"({"registry-mirrors": ["http://127.0.0.1:5000/"], "debug": true})");
  const std::map<std::string, Entry> before = Snapshot(certs_);
  const testing::RunResult refused = DockerInstall();
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--docker-config " + daemon_json));
  EXPECT_TRUE(Snapshot(certs_) == before);

  const testing::RunResult install =
      DockerInstall({"--docker-config", daemon_json});
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_EQ(install.err, "");
  EXPECT_THAT(install.out,
              HasSubstr(certs_ + "/docker.io/hosts.toml: created"));
  const std::string docker_io = ReadAll(certs_ + "/docker.io/hosts.toml");
  const toml::table tree = ParseToml(docker_io);
  // nodefit's host first, then the mirror (loopback: unverified, as
  // Docker treats it), then Docker Hub itself (no server key).
  EXPECT_LT(docker_io.find(kAddress), docker_io.find("http://127.0.0.1:5000"));
  EXPECT_EQ(tree["host"]["http://127.0.0.1:5000"]["skip_verify"].value<bool>(),
            true);
  EXPECT_EQ(tree["server"].node(), nullptr);

  const testing::RunResult remove = Hosts({"remove", "--certs-dir", certs_});
  ASSERT_EQ(remove.exit_code, 0) << remove.err;
  EXPECT_TRUE(Snapshot(certs_) == before);
}

TEST_F(HostsDockerTest, LoopbackOnlyInsecureRegistriesNeedNothing) {
  docker_dir_.Write("docker/daemon.json",
                    R"({"insecure-registries": ["127.0.0.1:5000"]})");
  const testing::RunResult install = DockerInstall();
  ASSERT_EQ(install.exit_code, 0) << install.err;
}

TEST(HostsHelpTest, ShowsTheRealFlags) {
  for (const char* action : {"install", "remove"}) {
    SCOPED_TRACE(action);
    const testing::RunResult run =
        testing::Run({NODEFIT_BINARY, "hosts", action, "--help"});
    EXPECT_EQ(run.exit_code, 0);
    EXPECT_THAT(run.out, HasSubstr("nodefit hosts install --certs-dir DIR"));
    EXPECT_THAT(run.out, HasSubstr("nodefit hosts remove --certs-dir DIR"));
    for (const char* flag :
         {"--certs-dir", "--address", "--registry", "--docker-config"}) {
      EXPECT_THAT(run.out, HasSubstr(flag));
    }
  }
}

}  // namespace
}  // namespace nodefit
