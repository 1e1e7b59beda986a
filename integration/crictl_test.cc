// The real crictl (sigs.k8s.io/cri-tools, built by scripts/install-peers)
// with its image endpoint at nodefit's CRI face and its runtime endpoint at
// containerd, on Debian's containerd and the newest 2.x: pulls by tag and by
// index digest get the best build, `crictl images` and `crictl inspecti`
// show the requested name with the chosen build's id, `crictl rmi` removes
// it, and `--creds` works against an htpasswd registry, where a wrong
// password gets containerd's own error.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "nlohmann/json.hpp"

namespace nodefit {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

class CrictlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* crictl = std::getenv("NODEFIT_CRICTL");
    ASSERT_NE(crictl, nullptr) << "NODEFIT_CRICTL is not set (CTest sets it)";
    crictl_ = new std::string(crictl);
    ASSERT_EQ(access(crictl_->c_str(), X_OK), 0)
        << *crictl_ << " is missing: run scripts/install-peers";
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    testbed::RegistryOptions plain;
    plain.storage_dir = d + "/storage";
    plain.work_dir = d;
    plain.name = "plain";
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
        testbed::RegistryServer::Start(plain);
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = r->release();
    absl::StatusOr<testbed::PushedImage> tf = testbed::PushMultiBuildImage(
        registry_->host_port(), "cv/tf", "latest", testbed::SeedBuilds());
    ASSERT_TRUE(tf.ok()) << tf.status();
    tf_ = new testbed::PushedImage(*tf);
    testbed::RegistryOptions basic = plain;
    basic.name = "basic";
    r = testbed::StartBasicAuthRegistry(basic, "kube", "kubelet-secret");
    ASSERT_TRUE(r.ok()) << r.status();
    basic_ = r->release();
    for (const testbed::RegistryServer* reg : {registry_, basic_}) {
      reg->WriteHostsToml(d + "/certs");
    }
    std::filesystem::create_directories(d + "/ctd");
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
        testbed::ContainerdServer::Start({d + "/ctd", d + "/certs"});
    ASSERT_TRUE(containerd.ok()) << containerd.status();
    containerd_ = containerd->release();
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
        testbed::NodefitProcess::Start(
            NODEFIT_BINARY, d, "nf",
            {{"platform", "linux/amd64"},
             {"features", {"skylake"}},
             {"detect", false},
             {"cri",
              {{"listen", "unix://" + d + "/nf.sock"},
               {"containerd", containerd_->address()}}}});
    ASSERT_TRUE(p.ok()) << p.status();
    nodefit_ = p->release();
    std::cout << containerd_->peer().Name() << ", crictl " << *crictl_ << "\n";
  }

  static void TearDownTestSuite() {
    delete nodefit_;
    delete containerd_;
    delete registry_;
    delete basic_;
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
    delete tf_;
    delete crictl_;
  }

  // crictl with `image_endpoint` (nodefit's socket by default) and
  // containerd as the runtime; an empty config file, so nothing of the
  // machine's /etc/crictl.yaml applies.
  static absl::StatusOr<std::string> Crictl(
      const std::vector<std::string>& args,
      const std::string& image_endpoint = "") {
    const std::string config = *dir_ + "/crictl.yaml";
    std::ofstream(config) << "timeout: 60\n";
    std::vector<std::string> argv = {*crictl_,
                                     "--config",
                                     config,
                                     "--runtime-endpoint",
                                     containerd_->address(),
                                     "--image-endpoint",
                                     image_endpoint.empty()
                                         ? "unix://" + *dir_ + "/nf.sock"
                                         : image_endpoint};
    argv.insert(argv.end(), args.begin(), args.end());
    return testbed::RunCommand(argv, absl::Seconds(120));
  }

  static std::string* crictl_;
  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::RegistryServer* basic_;
  static testbed::ContainerdServer* containerd_;
  static testbed::NodefitProcess* nodefit_;
  static testbed::PushedImage* tf_;
};

std::string* CrictlTest::crictl_ = nullptr;
std::string* CrictlTest::dir_ = nullptr;
testbed::RegistryServer* CrictlTest::registry_ = nullptr;
testbed::RegistryServer* CrictlTest::basic_ = nullptr;
testbed::ContainerdServer* CrictlTest::containerd_ = nullptr;
testbed::NodefitProcess* CrictlTest::nodefit_ = nullptr;
testbed::PushedImage* CrictlTest::tf_ = nullptr;

// The JSON document in crictl's output (its log lines on stderr may come
// before or after it).
nlohmann::json Json(const std::string& output) {
  const size_t start = output.find("{\n");
  const size_t end = output.rfind("\n}");
  EXPECT_TRUE(start != std::string::npos && end != std::string::npos) << output;
  if (start == std::string::npos || end == std::string::npos) return {};
  nlohmann::json json = nlohmann::json::parse(
      output.substr(start, end + 2 - start), nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << output;
  return json;
}

TEST_F(CrictlTest, PullByTagAndByIndexDigestGetTheBestBuild) {
  const std::string skylake = tf_->Find("skylake")->config_digest;
  const std::string by_tag = registry_->host_port() + "/cv/tf:latest";
  const std::string by_digest =
      registry_->host_port() + "/cv/tf@" + tf_->index_digest;
  for (const std::string& ref : {by_tag, by_digest}) {
    SCOPED_TRACE(ref);
    absl::StatusOr<std::string> pulled = Crictl({"pull", ref});
    ASSERT_TRUE(pulled.ok()) << pulled.status() << nodefit_->log();
    EXPECT_THAT(*pulled, HasSubstr("Image is up to date for " + skylake));

    absl::StatusOr<std::string> inspected = Crictl({"inspecti", ref});
    ASSERT_TRUE(inspected.ok()) << inspected.status();
    const nlohmann::json status = Json(*inspected)["status"];
    EXPECT_EQ(status["id"], skylake) << *inspected;
  }
  absl::StatusOr<std::string> inspected = Crictl({"inspecti", by_tag});
  ASSERT_TRUE(inspected.ok());
  EXPECT_THAT(Json(*inspected)["status"]["repoTags"], Contains(by_tag));
  EXPECT_THAT(Json(*inspected)["status"]["repoDigests"], Contains(by_digest));

  // crictl images: the requested name, the chosen build's id.
  absl::StatusOr<std::string> images = Crictl({"images", "-o", "json"});
  ASSERT_TRUE(images.ok()) << images.status();
  bool listed = false;
  const nlohmann::json list = Json(*images);
  for (const nlohmann::json& image : list["images"]) {
    for (const nlohmann::json& tag : image["repoTags"]) {
      if (tag == by_tag) {
        listed = true;
        EXPECT_EQ(image["id"], skylake);
      }
    }
  }
  EXPECT_TRUE(listed) << *images;
  EXPECT_EQ(*containerd_->ReadImageFile("k8s.io", by_tag, "etc/variant"),
            "skylake\n");

  // crictl rmi removes it.
  absl::StatusOr<std::string> removed = Crictl({"rmi", by_tag});
  ASSERT_TRUE(removed.ok()) << removed.status();
  images = Crictl({"images", "-o", "json"});
  ASSERT_TRUE(images.ok());
  EXPECT_THAT(*images, Not(HasSubstr("\"" + by_tag + "\"")));
  EXPECT_FALSE(Crictl({"inspecti", by_tag}).ok());
}

TEST_F(CrictlTest, CredsWorkAndAWrongPasswordGetsContainerdsOwnError) {
  const std::string ref = basic_->host_port() + "/cv/tf:latest";
  absl::StatusOr<std::string> pulled =
      Crictl({"pull", "--creds", "kube:kubelet-secret", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.status() << nodefit_->log();
  EXPECT_THAT(*pulled, HasSubstr("Image is up to date for " +
                                 tf_->Find("skylake")->config_digest));

  // The same wrong password through nodefit and straight to containerd.
  const std::vector<std::string> wrong = {"pull", "--creds", "kube:wrong",
                                          basic_->host_port() + "/cv/tf:v9"};
  absl::StatusOr<std::string> via = Crictl(wrong);
  absl::StatusOr<std::string> direct = Crictl(wrong, containerd_->address());
  ASSERT_FALSE(via.ok());
  ASSERT_FALSE(direct.ok());
  // crictl prints "... desc = <containerd's message>"; compare that part
  // (to the end of its line).
  auto desc = [](absl::string_view output) {
    const size_t at = output.find("desc = ");
    if (at == absl::string_view::npos) return std::string(output);
    absl::string_view rest = output.substr(at);
    return std::string(rest.substr(0, rest.find('\n')));
  };
  EXPECT_THAT(desc(direct.status().message()), HasSubstr("401 Unauthorized"));
  EXPECT_EQ(desc(via.status().message()), desc(direct.status().message()));
}

}  // namespace
}  // namespace nodefit
