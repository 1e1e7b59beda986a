#include "resolver/config/config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDesignExample[] = R"({
  "platform": "linux/amd64",
  "features": ["broadwell", "nv-compute-5-2", "nvidia-396-44"],
  "detect": true,
  "implies": {"my-cluster-cpu": ["skylake"]},
  "aliases": {"cpu_skylake": "skylake"},
  "weights": {"nv-compute-*": 2},
  "on_no_match": "fail",
  "registries": {
    "127.0.0.1:5000": {"endpoint": "http://127.0.0.1:5000"},
    "registry.example.com": {"ca": "/etc/nodefit/ca.pem", "username": "u", "password": "p"}
  },
  "docker_config": "/root/.docker/config.json",
  "cri": {"listen": "unix:///run/nodefit/cri.sock",
          "containerd": "unix:///run/containerd/containerd.sock",
          "namespace": "k8s.io"},
  "http": {"listen": "127.0.0.1:5055"}
})";

std::string Error(const std::string& text) {
  absl::StatusOr<Config> config = ParseConfig(text, "/etc/nodefit/x.json");
  EXPECT_FALSE(config.ok()) << text;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("config /etc/nodefit/x.json"));
  return std::string(config.status().message());
}

TEST(ConfigTest, DesignExampleParses) {
  absl::StatusOr<Config> config = ParseConfig(kDesignExample, "example");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->platform->String(), "linux/amd64");
  EXPECT_THAT(config->features,
              ElementsAre("broadwell", "nv-compute-5-2", "nvidia-396-44"));
  EXPECT_TRUE(config->detect);
  EXPECT_THAT(config->rules.implies.at("my-cluster-cpu"),
              ElementsAre("skylake"));
  EXPECT_EQ(config->rules.aliases.at("cpu_skylake"), "skylake");
  ASSERT_EQ(config->rules.weights.size(), 1u);
  EXPECT_EQ(config->rules.weights[0].second, 2);
  EXPECT_EQ(config->on_no_match, NoMatchPolicy::kFail);
  EXPECT_EQ(config->registries.at("127.0.0.1:5000").endpoint,
            "http://127.0.0.1:5000");
  const RegistryConfig& r = config->registries.at("registry.example.com");
  EXPECT_EQ(r.ca, "/etc/nodefit/ca.pem");
  EXPECT_EQ(r.username, "u");
  EXPECT_EQ(r.password, "p");
  EXPECT_EQ(config->docker_config, "/root/.docker/config.json");
  EXPECT_EQ(config->cri.namespace_name, "k8s.io");
  EXPECT_EQ(config->http.listen, "127.0.0.1:5055");
}

TEST(ConfigTest, DefaultsAndPlatformFeatures) {
  absl::StatusOr<Config> config = ParseConfig("{}", "empty");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->platform.has_value());
  EXPECT_TRUE(config->detect);
  EXPECT_EQ(config->on_no_match, NoMatchPolicy::kFail);
  EXPECT_EQ(config->cri.listen, "unix:///run/nodefit/cri.sock");
  // The resolver face on a privileged port (no other user can bind it)
  // with mutual TLS; health on its own plain port.
  EXPECT_EQ(config->http.listen, "127.0.0.1:505");
  EXPECT_EQ(config->http.health_listen, "127.0.0.1:5055");
  EXPECT_EQ(config->http.pki_dir, "/etc/nodefit/pki");
  EXPECT_FALSE(config->http.insecure_plain_http);
  EXPECT_FALSE(config->upstream.allow_internal_redirects);
  EXPECT_GT(config->limits.token_cache_entries, 0);
  EXPECT_GT(config->limits.no_match_bytes, 0);
  EXPECT_EQ(config->proc_root, "/proc");
  EXPECT_EQ(config->ConfiguredNode().platform, HostBuildPlatform());
  EXPECT_EQ(ParseConfig(R"({"proc_root": "/host/proc/"})", "p")->proc_root,
            "/host/proc");
  EXPECT_FALSE(ParseConfig(R"({"proc_root": "host/proc"})", "p").ok());

  config = ParseConfig(
      R"({"platform": "linux/amd64/v3:skylake", "platform-features": ["x"],
          "on_no_match": "passthrough", "detect": false})",
      "daemon-style");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->platform->String(), "linux/amd64/v3");
  EXPECT_THAT(config->features, ElementsAre("skylake", "x"));
  EXPECT_EQ(config->on_no_match, NoMatchPolicy::kPassthrough);
  EXPECT_FALSE(config->detect);
}

TEST(ConfigTest, UpstreamAndNfd) {
  absl::StatusOr<Config> config = ParseConfig(
      R"({"upstream": {"connect_timeout_ms": 100, "request_timeout_ms": 2000,
                       "index_cache_bytes": 1024},
          "nfd": {"features_dir": "/x", "prefix": "nf-",
                  "map": {"vendor.io/cpu=skx": "skylake-avx512"}}})",
      "u");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->upstream.connect_timeout_ms, 100);
  EXPECT_EQ(config->upstream.request_timeout_ms, 2000);
  EXPECT_EQ(config->upstream.index_cache_bytes, 1024);
  EXPECT_EQ(config->nfd.features_dir, "/x");
  EXPECT_EQ(config->nfd.prefix, "nf-");
  EXPECT_EQ(config->nfd.map.at("vendor.io/cpu=skx"), "skylake-avx512");
  EXPECT_THAT(Error(R"({"upstream": {"connect_timeout_ms": 0}})"),
              HasSubstr("1..600000 milliseconds"));
  EXPECT_EQ(ParseConfig(R"({"upstream": {"tag_cache_ms": 250}})", "t")
                ->upstream.tag_cache_ms,
            250);
  EXPECT_THAT(Error(R"({"upstream": {"tag_cache_ms": -5}})"),
              HasSubstr("0..3600000"));
  EXPECT_THAT(Error(R"({"upstream": {"index_cache_bytes": -1}})"),
              HasSubstr("non-negative"));
  EXPECT_THAT(Error(R"({"nfd": {"map": {"a": 1}}})"),
              HasSubstr("key \"nfd.map.a\": expected string"));
}

TEST(ConfigTest, CudaMinorVersionCompatibilityIsOffUnlessSwitchedOn) {
  absl::StatusOr<Config> off = ParseConfig("{}", "empty");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->rules.cuda_minor_version_compatibility);
  absl::StatusOr<Config> on =
      ParseConfig(R"({"cuda": {"minor_version_compatibility": true}})", "on");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->rules.cuda_minor_version_compatibility);
  EXPECT_THAT(Error(R"({"cuda": {"minor_version_compatibility": "yes"}})"),
              HasSubstr("key \"cuda.minor_version_compatibility\": expected "
                        "boolean"));
  EXPECT_THAT(Error(R"({"cuda": {"minor": true}})"),
              HasSubstr("key \"cuda.minor\": unknown key"));
}

TEST(ConfigTest, UnknownKeysNameTheKeyPath) {
  EXPECT_THAT(Error(R"({"featurse": []})"),
              HasSubstr("key \"featurse\": unknown key"));
  EXPECT_THAT(Error(R"({"cri": {"socket": "x"}})"),
              HasSubstr("key \"cri.socket\": unknown key"));
  EXPECT_THAT(Error(R"({"registries": {"r.io": {"insecur": true}}})"),
              HasSubstr("key \"registries.r.io.insecur\": unknown key"));
}

TEST(ConfigTest, WrongTypesNameTheKeyAndTheType) {
  EXPECT_THAT(Error(R"({"detect": "yes"})"),
              HasSubstr("key \"detect\": expected boolean, got string"));
  EXPECT_THAT(Error(R"({"features": "skylake"})"),
              HasSubstr("key \"features\": expected array of strings"));
  EXPECT_THAT(Error(R"({"features": ["a", 3]})"),
              HasSubstr("key \"features[1]\": expected string, got number"));
  EXPECT_THAT(Error(R"({"implies": {"a": "b"}})"),
              HasSubstr("key \"implies.a\": expected array of strings"));
  EXPECT_THAT(Error(R"({"aliases": {"a": 1}})"),
              HasSubstr("key \"aliases.a\": expected string, got number"));
  EXPECT_THAT(Error(R"({"weights": {"a": "2"}})"),
              HasSubstr("key \"weights.a\": expected integer, got string"));
  EXPECT_THAT(Error(R"({"weights": {"a": 2.5}})"),
              HasSubstr("expected integer, got number"));
  EXPECT_THAT(Error(R"({"registries": {"r.io": {"insecure": "true"}}})"),
              HasSubstr("key \"registries.r.io.insecure\": expected boolean"));
  EXPECT_THAT(Error(R"({"registries": []})"),
              HasSubstr("key \"registries\": expected object, got array"));
  EXPECT_THAT(Error(R"({"http": {"listen": 5055}})"),
              HasSubstr("key \"http.listen\": expected string, got number"));
  EXPECT_THAT(Error("[]"), HasSubstr("expected object, got array"));
  EXPECT_THAT(Error("{"), HasSubstr("malformed JSON"));
}

TEST(ConfigTest, BadValues) {
  EXPECT_THAT(Error(R"({"platform": "linux"})"),
              HasSubstr("key \"platform\": invalid platform"));
  EXPECT_THAT(Error(R"({"on_no_match": "retry"})"),
              HasSubstr("key \"on_no_match\": unknown no-match policy"));
  EXPECT_THAT(Error(R"({"features": [], "platform-features": []})"),
              HasSubstr("either \"features\" or \"platform-features\""));
  EXPECT_THAT(Error(R"({"weights": {"nv-*": 5000}})"), HasSubstr("0..1000"));
  EXPECT_THAT(Error(R"({"registries": {"bad host": {}}})"),
              HasSubstr("invalid registry host"));
  EXPECT_THAT(Error(R"({"registries": {"r.io": {"endpoint": "ftp://r.io"}}})"),
              HasSubstr("must start with http:// or https://"));
  EXPECT_THAT(Error(R"({"cri": {"listen": "/run/x.sock"}})"),
              HasSubstr("must be unix:///absolute/path"));
  EXPECT_THAT(
      Error(R"({"cri": {"listen": "unix:///)" + std::string(120, 'a') + "\"}}"),
      HasSubstr("longer than 107 bytes"));
  EXPECT_THAT(Error(R"({"http": {"listen": "localhost"}})"),
              HasSubstr("must be host:port"));
  EXPECT_THAT(Error(R"({"cri": {"namespace": "k8s io"}})"),
              HasSubstr("key \"cri.namespace\""));
  EXPECT_THAT(Error(R"({"implies": {"a": ["b"], "b": ["a"]}})"),
              HasSubstr("implies: cycle"));
  EXPECT_THAT(Error(R"({"aliases": {"skylake": "broadwell"}})"),
              HasSubstr("cannot rename"));
}

TEST(ConfigTest, NonLoopbackListenMustBeAskedFor) {
  for (const char* listen :
       {"0.0.0.0:505", "10.1.2.3:505", "[::]:505", "node.example:505"}) {
    SCOPED_TRACE(listen);
    EXPECT_THAT(
        Error(absl::StrCat(R"({"http": {"listen": ")", listen, R"("}})")),
        HasSubstr("allow_non_loopback"));
  }
  EXPECT_THAT(Error(R"({"http": {"health_listen": "0.0.0.0:5055"}})"),
              HasSubstr("http.health_listen"));
  absl::StatusOr<Config> allowed = ParseConfig(
      R"({"http": {"listen": "0.0.0.0:505", "allow_non_loopback": true}})",
      "c");
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(ParseConfig(R"({"http": {"listen": "[::1]:505"}})", "c").ok());
  EXPECT_TRUE(
      ParseConfig(R"({"http": {"listen": "localhost:505"}})", "c").ok());
}

TEST(ConfigTest, ProxySection) {
  absl::StatusOr<Config> off = ParseConfig("{}", "c");
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->proxy.listen.empty());  // off by default
  EXPECT_EQ(off->proxy.default_registry, "docker.io");
  EXPECT_FALSE(off->proxy.upstream_credentials);

  absl::StatusOr<Config> central = ParseConfig(R"({"proxy": {
      "listen": "0.0.0.0:5443", "tls_cert": "/p/c.pem", "tls_key": "/p/k.pem",
      "default_registry": "registry.example:5000",
      "prefixes": {"local": "127.0.0.1:5000"}, "registries": ["ghcr.io", "*"],
      "profiles": {
        "qnib-type1": {"password_hash": "$2b$10$abc", "features": ["skylake"]},
        "qnib-type2": {"password_hash": "$y$j9T$x",
                       "platform": "linux/amd64:broadwell",
                       "features": ["nv-compute-5-2", "nvidia-396-44"]}},
      "token_ttl_s": 60, "workers": 2}})",
                                               "c");
  ASSERT_TRUE(central.ok()) << central.status();
  const ProxyConfig& proxy = central->proxy;
  EXPECT_EQ(proxy.default_registry, "registry.example:5000");
  EXPECT_EQ(proxy.prefixes.at("local"), "127.0.0.1:5000");
  EXPECT_THAT(proxy.registries, ::testing::ElementsAre("ghcr.io", "*"));
  ASSERT_EQ(proxy.profiles.size(), 2u);
  EXPECT_FALSE(proxy.profiles.at("qnib-type1").platform.has_value());
  const ProxyProfileConfig& type2 = proxy.profiles.at("qnib-type2");
  ASSERT_TRUE(type2.platform.has_value());
  EXPECT_EQ(type2.platform->architecture, "amd64");
  EXPECT_THAT(type2.features,
              ::testing::UnorderedElementsAre("broadwell", "nv-compute-5-2",
                                              "nvidia-396-44"));
  EXPECT_EQ(proxy.token_ttl_s, 60);

  EXPECT_THAT(Error(R"({"proxy": {"listen": "0.0.0.0:5443"}})"),
              HasSubstr("needs TLS"));
  EXPECT_THAT(Error(R"({"proxy": {"listen": "127.0.0.1:1", "tls_cert": "c"}})"),
              HasSubstr("both tls_cert and tls_key"));
  EXPECT_THAT(
      Error(R"({"proxy": {"profiles": {"u": {"features": ["skylake"]}}}})"),
      HasSubstr("proxy.profiles.u.password_hash"));
  EXPECT_THAT(
      Error(R"({"proxy": {"profiles": {"a:b": {"password_hash": "$2b$x"}}}})"),
      HasSubstr("a login is"));
  EXPECT_THAT(Error(R"({"proxy": {"prefixes": {"a/b": "r.example"}}})"),
              HasSubstr("one name component"));
  EXPECT_THAT(Error(R"({"proxy": {"prefixes": {"a": "not a host"}}})"),
              HasSubstr("proxy.prefixes.a"));
  EXPECT_THAT(Error(R"({"proxy": {"registries": ["a b"]}})"),
              HasSubstr("proxy.registries"));
  EXPECT_THAT(Error(R"({"proxy": {"workers": 0}})"),
              HasSubstr("proxy.workers"));
  EXPECT_THAT(Error(R"({"proxy": {"profiles": {"u": {"password_hash": "$2b$x",
              "platfrom": "linux/amd64"}}}})"),
              HasSubstr("proxy.profiles.u.platfrom"));
}

TEST(ConfigTest, LimitsAreBoundedThemselves) {
  absl::StatusOr<Config> config = ParseConfig(
      R"({"limits": {"token_cache_entries": 16, "no_match_bytes": 65536}})",
      "c");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.token_cache_entries, 16);
  EXPECT_EQ(config->limits.no_match_bytes, 65536);
  EXPECT_THAT(Error(R"({"limits": {"http_workers": 0}})"),
              HasSubstr("limits.http_workers"));
  EXPECT_THAT(Error(R"({"limits": {"http_max_connections": -1}})"),
              HasSubstr("limits.http_max_connections"));
  EXPECT_THAT(Error(R"({"limits": {"no_such_limit": 1}})"),
              HasSubstr("limits.no_such_limit"));
}

TEST(ConfigTest, SecretsNeverAppearInErrors) {
  const std::string message =
      Error(R"({"registries": {"r.io": {"password": "hunter2-secret"}}})");
  EXPECT_THAT(message, HasSubstr("password given without username"));
  EXPECT_THAT(message, Not(HasSubstr("hunter2-secret")));
  const std::string typed = Error(
      R"({"registries": {"r.io": {"username": "u", "password": ["s3cr3t"]}}})");
  EXPECT_THAT(typed, Not(HasSubstr("s3cr3t")));
}

TEST(ConfigTest, LoadConfigNamesTheFile) {
  testing::TempDir dir;
  absl::StatusOr<Config> missing = LoadConfig(dir.path() + "/nope.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("nope.json"));

  const std::string path = dir.Write("c.json", R"({"detect": 1})");
  absl::StatusOr<Config> bad = LoadConfig(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("config " + path + ": key \"detect\""));

  const std::string good = dir.Write("g.json", kDesignExample);
  absl::StatusOr<Config> loaded = LoadConfig(good);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->source, good);
}

}  // namespace
}  // namespace nodefit
