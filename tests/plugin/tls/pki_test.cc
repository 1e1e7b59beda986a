// plugin/tls/pki.h: the files EnsurePki makes and keeps, what RotatePki
// changes, what InspectPki reports, and the directories it refuses.
#include "plugin/tls/pki.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/base/file_util.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  return *ReadFileToString(path, 1 << 20);
}

int Mode(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool AllOk(const std::vector<PkiFinding>& findings) {
  for (const PkiFinding& f : findings) {
    if (!f.ok) return false;
  }
  return !findings.empty();
}

std::string Problems(const std::vector<PkiFinding>& findings) {
  std::string out;
  for (const PkiFinding& f : findings) {
    if (!f.ok) out += f.message + "\n";
  }
  return out;
}

TEST(PkiTest, EnsureCreatesOnceAndKeeps) {
  testing::TempDir tmp;
  const PkiPaths paths{tmp.path() + "/pki"};
  PkiReport report;
  ASSERT_TRUE(EnsurePki(paths, absl::Now(), &report).ok());
  EXPECT_EQ(Mode(paths.dir), 0700);
  for (const std::string& key :
       {paths.ca_key(), paths.server_key(), paths.client_key()}) {
    EXPECT_EQ(Mode(key), 0600) << key;
  }
  for (const std::string& cert :
       {paths.ca_cert(), paths.server_cert(), paths.client_cert()}) {
    EXPECT_EQ(Mode(cert), 0644) << cert;
    EXPECT_THAT(Read(cert), HasSubstr("BEGIN CERTIFICATE"));
  }
  EXPECT_TRUE(AllOk(InspectPki(paths, absl::Now(), absl::Hours(24 * 30))))
      << Problems(InspectPki(paths, absl::Now(), absl::Hours(24 * 30)));

  const std::string ca = Read(paths.ca_cert());
  const std::string client = Read(paths.client_cert());
  PkiReport again;
  ASSERT_TRUE(EnsurePki(paths, absl::Now(), &again).ok());
  EXPECT_EQ(Read(paths.ca_cert()), ca);
  EXPECT_EQ(Read(paths.client_cert()), client);
  EXPECT_THAT(again.lines, ::testing::Each(HasSubstr(": kept")));
}

TEST(PkiTest, RotateReissuesLeavesAndOptionallyTheCa) {
  testing::TempDir tmp;
  const PkiPaths paths{tmp.path() + "/pki"};
  PkiReport report;
  ASSERT_TRUE(EnsurePki(paths, absl::Now(), &report).ok());
  const std::string ca = Read(paths.ca_cert());
  const std::string server = Read(paths.server_cert());
  ASSERT_TRUE(RotatePki(paths, /*new_ca=*/false, absl::Now(), &report).ok());
  EXPECT_EQ(Read(paths.ca_cert()), ca);
  EXPECT_NE(Read(paths.server_cert()), server);
  EXPECT_TRUE(AllOk(InspectPki(paths, absl::Now(), absl::Hours(1))));
  ASSERT_TRUE(RotatePki(paths, /*new_ca=*/true, absl::Now(), &report).ok());
  EXPECT_NE(Read(paths.ca_cert()), ca);
  EXPECT_TRUE(AllOk(InspectPki(paths, absl::Now(), absl::Hours(1))));
}

TEST(PkiTest, InspectReportsExpiryModesAndForeignLeaves) {
  testing::TempDir tmp;
  const PkiPaths paths{tmp.path() + "/pki"};
  PkiReport report;
  ASSERT_TRUE(EnsurePki(paths, absl::Now(), &report).ok());
  // Leaves last a year: soon-expiring, then expired.
  EXPECT_THAT(Problems(InspectPki(paths, absl::Now() + absl::Hours(24 * 350),
                                  absl::Hours(24 * 30))),
              HasSubstr("server.pem expires on"));
  EXPECT_THAT(Problems(InspectPki(paths, absl::Now() + absl::Hours(24 * 400),
                                  absl::Hours(24 * 30))),
              HasSubstr("client.pem expired on"));
  ASSERT_EQ(chmod(paths.client_key().c_str(), 0644), 0);
  EXPECT_THAT(Problems(InspectPki(paths, absl::Now(), absl::Hours(1))),
              HasSubstr("client-key.pem must be a regular file"));
  ASSERT_EQ(chmod(paths.client_key().c_str(), 0600), 0);
  // A client certificate from another CA.
  const PkiPaths other{tmp.path() + "/other"};
  ASSERT_TRUE(EnsurePki(other, absl::Now(), &report).ok());
  ASSERT_TRUE(
      WriteFileAtomically(paths.client_cert(), Read(other.client_cert()), 0644)
          .ok());
  EXPECT_THAT(Problems(InspectPki(paths, absl::Now(), absl::Hours(1))),
              HasSubstr("client.pem is not signed by"));
}

TEST(PkiTest, UnsafeDirectoriesAreRefused) {
  testing::TempDir tmp;
  PkiReport report;
  // A symlink to a directory someone else controls.
  ASSERT_EQ(mkdir((tmp.path() + "/real").c_str(), 0700), 0);
  ASSERT_EQ(
      symlink((tmp.path() + "/real").c_str(), (tmp.path() + "/link").c_str()),
      0);
  absl::Status linked =
      EnsurePki(PkiPaths{tmp.path() + "/link"}, absl::Now(), &report);
  EXPECT_THAT(std::string(linked.message()), HasSubstr("symlink is refused"));
  // Group-writable.
  ASSERT_EQ(mkdir((tmp.path() + "/open").c_str(), 0770), 0);
  ASSERT_EQ(chmod((tmp.path() + "/open").c_str(), 0770), 0);
  absl::Status open =
      EnsurePki(PkiPaths{tmp.path() + "/open"}, absl::Now(), &report);
  EXPECT_THAT(std::string(open.message()),
              HasSubstr("writable by group or others"));
  // Nothing was written in either.
  EXPECT_FALSE(ReadFileToString(tmp.path() + "/real/ca.pem", 1 << 20).ok());
  EXPECT_FALSE(ReadFileToString(tmp.path() + "/open/ca.pem", 1 << 20).ok());
}

TEST(PkiTest, LeavesNearTheirEndAreRenewedUnderTheSameCa) {
  testing::TempDir tmp;
  const PkiPaths paths{tmp.path() + "/pki"};
  PkiReport report;
  // Made 350 days ago: the leaves (1 year) end in about 15 days.
  const absl::Time made = absl::Now() - absl::Hours(24 * 350);
  ASSERT_TRUE(EnsurePki(paths, made, &report).ok());
  const std::string ca = Read(paths.ca_cert());
  const std::string server = Read(paths.server_cert());
  absl::StatusOr<bool> renewed =
      RenewExpiringPki(paths, absl::Now(), absl::Hours(24 * 30), &report);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(*renewed);
  EXPECT_NE(Read(paths.server_cert()), server);
  EXPECT_EQ(Read(paths.ca_cert()), ca);
  EXPECT_TRUE(AllOk(InspectPki(paths, absl::Now(), absl::Hours(24 * 30))));
  // Fresh leaves are left alone.
  const std::string renewed_server = Read(paths.server_cert());
  renewed = RenewExpiringPki(paths, absl::Now(), absl::Hours(24 * 30), &report);
  ASSERT_TRUE(renewed.ok());
  EXPECT_FALSE(*renewed);
  EXPECT_EQ(Read(paths.server_cert()), renewed_server);
}

TEST(PkiTest, AReadableDirectoryOfOursIsMadePrivate) {
  // As kubelet makes a DaemonSet's hostPath: 0755.
  testing::TempDir tmp;
  const PkiPaths paths{tmp.path() + "/pki"};
  ASSERT_EQ(mkdir(paths.dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod(paths.dir.c_str(), 0755), 0);
  PkiReport report;
  ASSERT_TRUE(EnsurePki(paths, absl::Now(), &report).ok());
  EXPECT_EQ(Mode(paths.dir), 0700);
}

}  // namespace
}  // namespace nodefit
