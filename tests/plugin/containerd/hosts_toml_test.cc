// plugin/containerd/hosts_toml.h on text and on directories: where nodefit's
// block goes, that everything else stays byte for byte, that removing it gives
// the file back, and what it refuses.
#include "plugin/containerd/hosts_toml.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/plugin/containerd/toml_parse.h"
#include "tests/test_util.h"
#include "toml++/toml.h"

namespace nodefit {
namespace {

using ::nodefit::testing::ParseToml;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::string_view kAddress = "http://127.0.0.1:5055";
constexpr char kPath[] = "/certs.d/x/hosts.toml";

// Written out independently of NodefitHostBlock.
const std::string kBlock =
    "# Added by nodefit (nodefit hosts install); nodefit hosts remove takes "
    "it out.\n"
    "[host.\"http://127.0.0.1:5055\"]\n"
    "  capabilities = [\"pull\", \"resolve\"]\n";

std::string Add(absl::string_view content) {
  absl::StatusOr<std::string> out = AddNodefitHost(content, kPath, kAddress);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "";
}

std::string Remove(absl::string_view content) {
  absl::StatusOr<std::string> out = RemoveNodefitHost(content, kPath, kAddress);
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

HostsInstallOptions Options(const std::string& certs_dir,
                            std::vector<std::string> registries = {}) {
  HostsInstallOptions options;
  options.certs_dir = certs_dir;
  options.ca = "/etc/nodefit/pki/ca.pem";
  options.client_cert = "/etc/nodefit/pki/client.pem";
  options.client_key = "/etc/nodefit/pki/client-key.pem";
  options.registries = std::move(registries);
  return options;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// --- Text --------------------------------------------------------------------

TEST(NodefitHostBlockTest, IsExactlyTheDocumentedText) {
  EXPECT_EQ(NodefitHostBlock(kAddress), kBlock);
}

TEST(NodefitHostBlockTest, HttpsNamesTheCaAndTheClientPair) {
  const NodefitHost host("https://127.0.0.1:505", "/etc/nodefit/pki/ca.pem",
                         "/etc/nodefit/pki/client.pem",
                         "/etc/nodefit/pki/client-key.pem");
  const std::string block = NodefitHostBlock(host);
  EXPECT_THAT(block, HasSubstr("[host.\"https://127.0.0.1:505\"]\n"));
  EXPECT_THAT(block, HasSubstr("ca = \"/etc/nodefit/pki/ca.pem\"\n"));
  EXPECT_THAT(block, HasSubstr("client = [[\"/etc/nodefit/pki/client.pem\", "
                               "\"/etc/nodefit/pki/client-key.pem\"]]\n"));
  // Adding it to a file that has it already changes nothing.
  absl::StatusOr<std::string> again = AddNodefitHost(block, "h.toml", host);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, block);
}

TEST(AddNodefitHostTest, EmptyFileGetsJustTheBlock) {
  EXPECT_EQ(Add(""), kBlock);
}

TEST(AddNodefitHostTest, NoTablesAppendsAfterABlankLine) {
  EXPECT_EQ(Add("server = \"http://127.0.0.1:5000\"\n"),
            "server = \"http://127.0.0.1:5000\"\n\n" + kBlock);
  // A last line without its newline gets one first.
  EXPECT_EQ(Add("server = \"http://127.0.0.1:5000\""),
            "server = \"http://127.0.0.1:5000\"\n\n" + kBlock);
}

TEST(AddNodefitHostTest, GoesJustBeforeTheFirstTable) {
  const std::string head = "server = \"https://registry-1.docker.io\"\n\n";
  const std::string tail =
      "[host.\"https://mirror.example\"]\n"
      "  capabilities = [\"pull\"]\n";
  EXPECT_EQ(Add(head + tail), head + kBlock + "\n" + tail);
}

TEST(AddNodefitHostTest, StaysAboveTheCommentsOfTheFirstTable) {
  const std::string head = "server = \"https://registry-1.docker.io\"\n\n";
  const std::string tail =
      "# The office mirror.\n"
      "  # Second line.\n"
      "[host.\"https://mirror.example\"]\n";
  EXPECT_EQ(Add(head + tail), head + kBlock + "\n" + tail);
}

TEST(AddNodefitHostTest, ComesBeforeEveryKindOfTable) {
  // The first header is an array of tables, an implicit super-table's
  // sub-table, or an indented one: the block still goes right above it.
  for (const std::string& table :
       {std::string("[[x]]\na = 1\n[host.\"https://m\"]\n"),
        std::string("[host.\"https://m\".header]\nx = [\"y\"]\n"),
        std::string("    [host.\"https://m\"]\n")}) {
    SCOPED_TRACE(table);
    EXPECT_EQ(Add(absl::StrCat("a.b = 1\n", table)),
              absl::StrCat("a.b = 1\n", kBlock, "\n", table));
  }
}

TEST(AddNodefitHostTest, NeverClimbsIntoAMultiLineString) {
  // "# tail\"\"\"" ends a string: it looks like a comment but is not one.
  const std::string head = "s = \"\"\"\n# tail\"\"\"\n";
  const std::string tail = "# real comment\n[t]\n";
  EXPECT_EQ(Add(head + tail), head + kBlock + "\n" + tail);
}

TEST(AddNodefitHostTest, KeepsCrlfAndBom) {
  const std::string crlf_block =
      "# Added by nodefit (nodefit hosts install); nodefit hosts remove takes "
      "it out.\r\n"
      "[host.\"http://127.0.0.1:5055\"]\r\n"
      "  capabilities = [\"pull\", \"resolve\"]\r\n";
  EXPECT_EQ(Add("server = \"x\"\r\n[t]\r\n"),
            "server = \"x\"\r\n" + crlf_block + "\r\n[t]\r\n");
  EXPECT_EQ(Add("\xEF\xBB\xBF[t]\n"), "\xEF\xBB\xBF" + kBlock + "\n[t]\n");
}

TEST(AddNodefitHostTest, AlreadyPresentIsLeftAlone) {
  const std::string mine =
      "[host.\"https://m\"]\n[host.\"http://127.0.0.1:5055\"]\n"
      "capabilities = [\"pull\"]\n";
  EXPECT_EQ(Add(mine), mine);
  const std::string once = Add("server = \"x\"\n[t]\n");
  EXPECT_EQ(Add(once), once);
}

TEST(AddNodefitHostTest, ResultParsesWithNodefitFirstAndNothingElseChanged) {
  const std::string before =
      "server = \"https://registry-1.docker.io\"\n"
      "[host.\"https://a.example\"]\n  capabilities = [\"pull\", "
      "\"resolve\"]\n"
      "[host.\"https://b.example\".header]\n  x = [\"1\"]\n"
      "[[other]]\n  n = 1\n";
  const toml::table original = ParseToml(before);
  toml::table after = ParseToml(Add(before));
  const toml::table* hosts = after.get_as<toml::table>("host");
  ASSERT_NE(hosts, nullptr);
  const toml::node* ours = hosts->get("http://127.0.0.1:5055");
  ASSERT_NE(ours, nullptr);
  for (const auto& [key, host] : *hosts) {
    if (key.str() != "http://127.0.0.1:5055") {
      EXPECT_LT(ours->source().begin, host.source().begin) << key.str();
    }
  }
  const toml::array* capabilities =
      ours->as_table()->get_as<toml::array>("capabilities");
  ASSERT_NE(capabilities, nullptr);
  EXPECT_EQ(*capabilities, toml::array("pull", "resolve"));
  EXPECT_EQ(ours->as_table()->size(), 1U);
  after.get_as<toml::table>("host")->erase("http://127.0.0.1:5055");
  EXPECT_EQ(after, original);
}

TEST(AddNodefitHostTest, NanStillEqualsNan) {
  // The self-check compares trees as text, where nan == nan.
  EXPECT_EQ(Add("n = nan\n[t]\n"), "n = nan\n" + kBlock + "\n[t]\n");
}

TEST(AddNodefitHostTest, ParseErrorNamesFileLineAndColumn) {
  const absl::StatusOr<std::string> out =
      AddNodefitHost("a = 1\nb = [\n", kPath, kAddress);
  ASSERT_TRUE(absl::IsInvalidArgument(out.status())) << out.status();
  EXPECT_THAT(out.status().message(),
              HasSubstr("cannot parse /certs.d/x/hosts.toml: line 2, column"));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckHostsToml("[t\n", kPath)));
  EXPECT_TRUE(CheckHostsToml("[t]\n", kPath).ok());
}

TEST(AddNodefitHostTest, RefusesWhatItCannotExtendFaithfully) {
  // An inline `host` cannot take another table; a root dotted host would
  // come before nodefit's.
  for (const char* content :
       {"host = { \"https://m\" = { capabilities = [\"pull\"] } }\n",
        "host.\"https://m\".capabilities = [\"pull\"]\n[t]\n"}) {
    SCOPED_TRACE(content);
    const absl::StatusOr<std::string> out =
        AddNodefitHost(content, kPath, kAddress);
    EXPECT_TRUE(absl::IsFailedPrecondition(out.status())) << out.status();
  }
}

TEST(RemoveNodefitHostTest, UndoesAdd) {
  for (const std::string& before :
       {std::string(""), std::string("server = \"x\"\n"),
        std::string("server = \"x\"\n\n# c\n[t]\na = 1\n"),
        std::string("[t]\n"), std::string("server = \"x\"\r\n[t]\r\n"),
        std::string("\xEF\xBB\xBF[t]\n")}) {
    SCOPED_TRACE(before);
    EXPECT_EQ(Remove(Add(before)), before);
  }
}

TEST(RemoveNodefitHostTest, NoHostIsLeftAlone) {
  EXPECT_EQ(Remove("server = \"x\"\n[t]\n"), "server = \"x\"\n[t]\n");
}

TEST(RemoveNodefitHostTest, KeepsEditsAroundIt) {
  const std::string before = "server = \"x\"\n\n[host.\"https://m\"]\n";
  const std::string edited = "# operator\n" + Add(before) +
                             "[host.\"https://n\"]\n  capabilities = []\n";
  EXPECT_EQ(Remove(edited), "# operator\n" + before +
                                "[host.\"https://n\"]\n  capabilities = []\n");
}

TEST(RemoveNodefitHostTest, TakesKeysAddedToItsTable) {
  const std::string edited =
      "[host.\"http://127.0.0.1:5055\"]\n  capabilities = [\"pull\"]\n"
      "  # why\n  override_path = true\n  header.x = [\n  \"1\"]\n\n[t]\n";
  EXPECT_EQ(Remove(edited), "[t]\n");
}

TEST(RemoveNodefitHostTest, RefusesASplitTable) {
  const std::string edited =
      Add("[t]\n") + "[host.\"http://127.0.0.1:5055\".header]\n x = [\"1\"]\n";
  const absl::StatusOr<std::string> out =
      RemoveNodefitHost(edited, kPath, kAddress);
  EXPECT_TRUE(absl::IsFailedPrecondition(out.status())) << out.status();
}

TEST(ValidateNodefitAddressTest, SchemeHostAndPortOnly) {
  for (const char* good : {"http://127.0.0.1:5055", "https://nodefit.local:443",
                           "http://[::1]:1"}) {
    EXPECT_TRUE(ValidateNodefitAddress(good).ok()) << good;
  }
  for (const char* bad :
       {"127.0.0.1:5055", "http://127.0.0.1", "ftp://a:1", "http://a:1/v2",
        "http://a:99999", "http://a\":1", "http://:1", "http://[::1]"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateNodefitAddress(bad))) << bad;
  }
}

TEST(ValidateHostsDirNameTest, RegistryHostsAndDefaultOnly) {
  for (const char* good :
       {"_default", "docker.io", "127.0.0.1:5000", "[::1]:5000", "localhost"}) {
    EXPECT_TRUE(ValidateHostsDirName(good).ok()) << good;
  }
  for (const char* bad : {"", ".", "..", "../etc", "a/b", "/etc", "_other",
                          "docker.io/..", "a..b"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateHostsDirName(bad))) << bad;
  }
}

// --- Directories -------------------------------------------------------------

TEST(InstallHostsTest, AnotherAddressNeedsARemoveFirst) {
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path()), &report).ok());
  HostsInstallOptions other = Options(dir.path());
  other.address = "https://127.0.0.1:6000";
  const absl::Status status = InstallHosts(other, &report);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("nodefit hosts remove"));
}

TEST(InstallHostsTest, CertsDirMustExist) {
  testing::TempDir dir;
  HostsReport report;
  const absl::Status status =
      InstallHosts(Options(dir.path() + "/missing"), &report);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_TRUE(RemoveHosts(dir.path() + "/missing", &report).ok());
}

TEST(InstallHostsTest, NotesCertificateFilesAHostsTomlWouldHide) {
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/quay.io").c_str(), 0755), 0);
  dir.Write("quay.io/ca.crt", "x");
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path(), {"quay.io"}), &report).ok());
  ASSERT_EQ(report.notes.size(), 1U);
  EXPECT_THAT(report.notes[0], HasSubstr("ca.crt"));
  EXPECT_THAT(report.lines,
              ElementsAre(dir.path() + "/quay.io/hosts.toml: created"));
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/quay.io/hosts.toml"));
  EXPECT_TRUE(Exists(dir.path() + "/quay.io/ca.crt"));
}

TEST(InstallHostsTest, FollowsNoSymbolicLinks) {
  testing::TempDir dir;
  testing::TempDir elsewhere;
  const std::string target = elsewhere.Write("hosts.toml", "[t]\n");
  ASSERT_EQ(
      symlink(elsewhere.path().c_str(), (dir.path() + "/ghcr.io").c_str()), 0);
  ASSERT_EQ(mkdir((dir.path() + "/quay.io").c_str(), 0755), 0);
  ASSERT_EQ(
      symlink(target.c_str(), (dir.path() + "/quay.io/hosts.toml").c_str()), 0);
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path()), &report).ok());
  EXPECT_EQ(report.notes.size(), 2U);
  EXPECT_EQ(ReadAll(target), "[t]\n");
  // Named explicitly, a link is an error rather than a note.
  const absl::Status status =
      InstallHosts(Options(dir.path(), {"quay.io"}), &report);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_EQ(ReadAll(target), "[t]\n");
}

TEST(RemoveHostsTest, WithoutABackupTakesOutOnlyTheBlock) {
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/docker.io").c_str(), 0755), 0);
  const std::string path = dir.Write("docker.io/hosts.toml", "[t]\n");
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path()), &report).ok());
  ASSERT_EQ(unlink((path + ".nodefit-backup").c_str()), 0);
  report = {};
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), "[t]\n");
  EXPECT_THAT(report.notes, ElementsAre(HasSubstr("no backup")));
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
  EXPECT_FALSE(Exists(dir.path() + "/.nodefit-hosts.json"));
}

TEST(SuspendHostsTest, TakesNodefitOutAndResumePutsItBack) {
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/docker.io").c_str(), 0755), 0);
  const std::string path = dir.Write("docker.io/hosts.toml", "[t]\n");
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path()), &report).ok());
  const std::string installed = ReadAll(path);
  ASSERT_THAT(installed, HasSubstr("127.0.0.1:505"));

  report = {};
  ASSERT_TRUE(SuspendHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), "[t]\n");
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
  EXPECT_TRUE(Exists(dir.path() + "/.nodefit-hosts-suspended.json"));
  // A second stop (ExecStopPost after a failed start) changes nothing.
  ASSERT_TRUE(SuspendHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), "[t]\n");

  report = {};
  ASSERT_TRUE(ResumeHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), installed);
  EXPECT_TRUE(Exists(dir.path() + "/_default/hosts.toml"));
  EXPECT_FALSE(Exists(dir.path() + "/.nodefit-hosts-suspended.json"));
  ASSERT_TRUE(ResumeHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), installed);
}

TEST(SuspendHostsTest, RemoveWhileSuspendedForgetsTheInstall) {
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path()), &report).ok());
  ASSERT_TRUE(SuspendHosts(dir.path(), &report).ok());
  report = {};
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/.nodefit-hosts-suspended.json"));
  EXPECT_THAT(report.lines,
              ::testing::Contains(HasSubstr("will not be resumed")));
  ASSERT_TRUE(ResumeHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
}

TEST(SuspendHostsTest, NothingInstalledIsLeftUntouched) {
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/docker.io").c_str(), 0755), 0);
  const std::string path = dir.Write("docker.io/hosts.toml", "[t]\n");
  HostsReport report;
  ASSERT_TRUE(SuspendHosts(dir.path(), &report).ok());
  ASSERT_TRUE(ResumeHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), "[t]\n");
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
  EXPECT_FALSE(Exists(dir.path() + "/.nodefit-hosts-suspended.json"));
  EXPECT_FALSE(Exists(dir.path() + "/.nodefit-hosts.json"));
}

TEST(InstallHostsTest, WritesNothingThroughALinkSwappedInForTheFile) {
  // Whatever sits at <dir>/hosts.toml when nodefit writes (here a link an
  // attacker put there) is replaced by rename, never written through.
  testing::TempDir dir;
  testing::TempDir elsewhere;
  const std::string victim = elsewhere.Write("victim", "untouched\n");
  ASSERT_EQ(chmod(victim.c_str(), 0644), 0);
  ASSERT_EQ(mkdir((dir.path() + "/docker.io").c_str(), 0755), 0);
  dir.Write("docker.io/hosts.toml", "[t]\n");
  HostsReport report;
  ASSERT_TRUE(InstallHosts(Options(dir.path()), &report).ok());
  const std::string path = dir.path() + "/docker.io/hosts.toml";
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink(victim.c_str(), path.c_str()), 0);
  const absl::Status removed = RemoveHosts(dir.path(), &report);
  (void)removed;  // either restores the backup over the link or refuses
  EXPECT_EQ(ReadAll(victim), "untouched\n");
  struct stat st;
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(RemoveHostsTest, ADamagedStateFileIsRefused) {
  testing::TempDir dir;
  dir.Write(".nodefit-hosts.json",
            "{\"address\": \"http://127.0.0.1:5055\", \"created\": "
            "[\"../../etc\"]}");
  HostsReport report;
  const absl::Status status = RemoveHosts(dir.path(), &report);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(report.lines, IsEmpty());
}

// --- Docker's daemon.json settings carried over ------------------------------

// Written out independently of hosts_toml.cc: nodefit's block for Options().
const std::string kTlsBlock =
    "# Added by nodefit (nodefit hosts install); nodefit hosts remove takes "
    "it out.\n"
    "[host.\"https://127.0.0.1:505\"]\n"
    "  capabilities = [\"pull\", \"resolve\"]\n"
    "  ca = \"/etc/nodefit/pki/ca.pem\"\n"
    "  client = [[\"/etc/nodefit/pki/client.pem\", "
    "\"/etc/nodefit/pki/client-key.pem\"]]\n";
const std::string kMirrorsComment =
    "# registry-mirrors of Docker's daemon.json, carried over by nodefit "
    "hosts install (Docker stops using them once this file lists a host); "
    "nodefit hosts remove takes them out.\n";
const std::string kMirrorTables =
    "[host.\"http://127.0.0.1:5000\"]\n"
    "  capabilities = [\"pull\", \"resolve\"]\n"
    "  skip_verify = true\n"
    "[host.\"https://mirror.example/base\"]\n"
    "  capabilities = [\"pull\", \"resolve\"]\n";

HostsInstallOptions WithMirrors(const std::string& certs_dir,
                                std::vector<std::string> registries = {}) {
  HostsInstallOptions options = Options(certs_dir, std::move(registries));
  options.carried["docker.io"].mirrors = {
      {"http://127.0.0.1:5000", true}, {"https://mirror.example/base", false}};
  return options;
}

// The hosts of a hosts.toml in file order, as containerd reads them.
std::vector<std::string> HostOrder(const std::string& content) {
  const toml::table tree = ParseToml(content);
  std::vector<std::pair<toml::source_position, std::string>> hosts;
  if (const toml::table* table = tree["host"].as_table()) {
    for (const auto& [key, value] : *table) {
      hosts.emplace_back(value.source().begin, std::string(key.str()));
    }
  }
  std::sort(hosts.begin(), hosts.end());
  std::vector<std::string> order;
  for (const auto& host : hosts) order.push_back(host.second);
  return order;
}

TEST(CarriedHostsTest, MirrorsGoAfterNodefitInAFileOfDockerHubsOwn) {
  // No docker.io directory: Docker Hub falls back to _default, which
  // install gives nodefit's host, so Docker would drop the mirrors.
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  const std::string docker_io = ReadAll(dir.path() + "/docker.io/hosts.toml");
  EXPECT_EQ(docker_io, kTlsBlock + "\n" + kMirrorsComment + kMirrorTables);
  EXPECT_THAT(HostOrder(docker_io),
              ElementsAre("https://127.0.0.1:505", "http://127.0.0.1:5000",
                          "https://mirror.example/base"));
  EXPECT_EQ(ReadAll(dir.path() + "/_default/hosts.toml"), kTlsBlock);
  EXPECT_THAT(ReadAll(dir.path() + "/.nodefit-hosts.json"),
              HasSubstr("mirror.example/base"));
  // Again: nothing changes, and no note claims Docker ignored them.
  report = {};
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  EXPECT_THAT(report.notes, IsEmpty());
  EXPECT_EQ(ReadAll(dir.path() + "/docker.io/hosts.toml"), docker_io);

  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/docker.io"));
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
}

TEST(CarriedHostsTest, AFileDeletedSinceIsWrittenAgainWithThem) {
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  const std::string path = dir.path() + "/docker.io/hosts.toml";
  const std::string installed = ReadAll(path);
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  EXPECT_EQ(ReadAll(path), installed);
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/docker.io"));
}

TEST(CarriedHostsTest, MirrorsJoinAnExistingFileWithoutHosts) {
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/docker.io").c_str(), 0755), 0);
  const std::string original =
      "# Hub\nserver = \"https://registry-1.docker.io\"";
  const std::string path = dir.Write("docker.io/hosts.toml", original);
  HostsReport report;
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  EXPECT_EQ(ReadAll(path), original + "\n\n" + kTlsBlock + "\n" +
                               kMirrorsComment + kMirrorTables);
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), original);
  EXPECT_FALSE(Exists(path + ".nodefit-backup"));
}

TEST(CarriedHostsTest, NothingWhereDockerAlreadyIgnoresThem) {
  // A docker.io file with a host of its own: Docker ignores the mirrors
  // already, so install only adds nodefit's host.
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/docker.io").c_str(), 0755), 0);
  const std::string path =
      dir.Write("docker.io/hosts.toml", "[host.\"https://m.example\"]\n");
  HostsReport report;
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  EXPECT_EQ(ReadAll(path), kTlsBlock + "\n[host.\"https://m.example\"]\n");
  EXPECT_THAT(report.notes,
              ElementsAre(HasSubstr("Docker already ignores its daemon.json's "
                                    "registry-mirrors for docker.io")));
  // Likewise through _default.
  testing::TempDir other;
  ASSERT_EQ(mkdir((other.path() + "/_default").c_str(), 0755), 0);
  other.Write("_default/hosts.toml", "[host.\"https://m.example\"]\n");
  report = {};
  ASSERT_TRUE(InstallHosts(WithMirrors(other.path()), &report).ok());
  EXPECT_FALSE(Exists(other.path() + "/docker.io"));
  EXPECT_THAT(report.notes, ElementsAre(HasSubstr("already ignores")));
}

TEST(CarriedHostsTest, OnlyWhereInstallChangesTheRegistrysHosts) {
  // --registry names another registry: Docker Hub's hosts stay as they
  // were, and so do its mirrors.
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(
      InstallHosts(WithMirrors(dir.path(), {"127.0.0.1:5000"}), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/docker.io"));
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
}

TEST(CarriedHostsTest, RefusesWhatItCannotCarryFaithfully) {
  // _default with settings of its own, which a docker.io file would lack.
  testing::TempDir dir;
  ASSERT_EQ(mkdir((dir.path() + "/_default").c_str(), 0755), 0);
  dir.Write("_default/hosts.toml", "server = \"https://proxy.example\"\n");
  HostsReport report;
  absl::Status status = InstallHosts(WithMirrors(dir.path()), &report);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_FALSE(Exists(dir.path() + "/docker.io"));
  EXPECT_FALSE(Exists(dir.path() + "/.nodefit-hosts.json"));
  // A docker.io file nodefit's host is already in, without the mirrors.
  testing::TempDir installed;
  ASSERT_TRUE(
      InstallHosts(Options(installed.path(), {"docker.io"}), &report).ok());
  status = InstallHosts(WithMirrors(installed.path()), &report);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("nodefit hosts remove"));
  // An insecure registry whose file has settings of its own.
  testing::TempDir insecure;
  ASSERT_EQ(mkdir((insecure.path() + "/reg.example:5000").c_str(), 0755), 0);
  const std::string path =
      insecure.Write("reg.example:5000/hosts.toml", "ca = \"/ca.pem\"\n");
  HostsInstallOptions options = Options(insecure.path());
  options.carried["reg.example:5000"].insecure = true;
  status = InstallHosts(options, &report);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("skip_verify = true"));
  EXPECT_EQ(ReadAll(path), "ca = \"/ca.pem\"\n");
  EXPECT_FALSE(Exists(insecure.path() + "/_default"));
}

TEST(CarriedHostsTest, AnInsecureRegistryGetsItsServerUnverifiedOverHttp) {
  testing::TempDir dir;
  HostsInstallOptions options = Options(dir.path());
  options.carried["reg.example:5000"].insecure = true;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(options, &report).ok());
  const std::string content =
      ReadAll(dir.path() + "/reg.example:5000/hosts.toml");
  EXPECT_EQ(content,
            "# insecure-registries of Docker's daemon.json, carried over by "
            "nodefit hosts install (Docker stops applying it once this file "
            "lists a host); nodefit hosts remove takes it out.\n"
            "server = \"http://reg.example:5000\"\n"
            "skip_verify = true\n\n" +
                kTlsBlock);
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/reg.example:5000"));
}

TEST(CarriedHostsTest, RemoveAfterAnEditKeepsTheEditAndTheMirrors) {
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  const std::string path = dir.path() + "/docker.io/hosts.toml";
  std::ofstream(path, std::ios::app) << "# mine\n";
  report = {};
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), kMirrorsComment + kMirrorTables + "# mine\n");
  // (and that docker.io/, made by install, is kept for the file.)
  EXPECT_THAT(report.notes,
              ElementsAre(HasSubstr("carried over from Docker's daemon.json"),
                          HasSubstr("kept")));
}

TEST(CarriedHostsTest, SuspendAndResumeKeepThem) {
  testing::TempDir dir;
  HostsReport report;
  ASSERT_TRUE(InstallHosts(WithMirrors(dir.path()), &report).ok());
  const std::string path = dir.path() + "/docker.io/hosts.toml";
  const std::string installed = ReadAll(path);
  ASSERT_TRUE(SuspendHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(path));
  ASSERT_TRUE(ResumeHosts(dir.path(), &report).ok());
  EXPECT_EQ(ReadAll(path), installed);
  ASSERT_TRUE(RemoveHosts(dir.path(), &report).ok());
  EXPECT_FALSE(Exists(dir.path() + "/docker.io"));
}

TEST(CarriedHostsTest, UrlsAndNamesAreChecked) {
  EXPECT_TRUE(ValidateCarriedUrl("http://127.0.0.1:5000").ok());
  EXPECT_TRUE(ValidateCarriedUrl("https://mirror.example/base/v2").ok());
  for (const char* bad :
       {"mirror.example", "ftp://m.example", "https://m.example/\"x",
        "https://m example", "https://m.example/?q", "https://"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(ValidateCarriedUrl(bad))) << bad;
  }
  testing::TempDir dir;
  HostsInstallOptions options = Options(dir.path());
  options.carried["_default"].insecure = true;
  HostsReport report;
  EXPECT_TRUE(absl::IsInvalidArgument(InstallHosts(options, &report)));
  EXPECT_FALSE(Exists(dir.path() + "/_default"));
}

}  // namespace
}  // namespace nodefit
