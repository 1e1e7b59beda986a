#include "plugin/faces/proxy_route.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

TEST(ProxyRouteTest, Paths) {
  EXPECT_EQ(ParseProxyPath("/v2/").route, ProxyRoute::kBase);
  EXPECT_EQ(ParseProxyPath("/v2").route, ProxyRoute::kBase);
  EXPECT_EQ(ParseProxyPath("/token").route, ProxyRoute::kToken);
  ProxyPath p = ParseProxyPath("/v2/qnib/cv-tf/manifests/1.12");
  EXPECT_EQ(p.route, ProxyRoute::kManifest);
  EXPECT_EQ(p.name, "qnib/cv-tf");
  EXPECT_EQ(p.reference, "1.12");
  // A component named like a route is part of the name.
  p = ParseProxyPath("/v2/a/manifests/blobs/sha256:ab");
  EXPECT_EQ(p.route, ProxyRoute::kBlob);
  EXPECT_EQ(p.name, "a/manifests");
  p = ParseProxyPath("/v2/a/b/tags/list");
  EXPECT_EQ(p.route, ProxyRoute::kTags);
  EXPECT_EQ(p.name, "a/b");
  p = ParseProxyPath("/v2/a/referrers/sha256:ab");
  EXPECT_EQ(p.route, ProxyRoute::kReferrers);
  for (const char* other :
       {"/", "/v2/a", "/v2/a/manifests/", "/v2/manifests/x", "/v2//manifests/x",
        "/v2/tags/list", "/v2/a/uploads/x", "/v3/a/manifests/x", ""}) {
    EXPECT_EQ(ParseProxyPath(other).route, ProxyRoute::kOther) << other;
  }
}

TEST(ProxyRouteTest, NamesReachTheirRegistry) {
  ProxyConfig proxy;
  absl::StatusOr<Reference> r = UpstreamFor("qnib/cv-tf", proxy);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "docker.io");
  EXPECT_EQ(r->repository, "qnib/cv-tf");
  r = UpstreamFor("ubuntu", proxy);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repository, "library/ubuntu");

  proxy.default_registry = "127.0.0.1:5000";
  proxy.prefixes["local"] = "127.0.0.2:5000";
  r = UpstreamFor("ubuntu", proxy);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->repository, "ubuntu");
  r = UpstreamFor("local/team/app", proxy);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "127.0.0.2:5000");
  EXPECT_EQ(r->repository, "team/app");
  r = UpstreamFor("local", proxy);  // a prefix alone is a repository name
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "127.0.0.1:5000");

  // A host-like first component: only an allowed registry, never the
  // default one by mistake.
  r = UpstreamFor("ghcr.io/org/app", proxy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("ghcr.io"));
  EXPECT_FALSE(UpstreamFor("169.254.169.254/latest", proxy).ok());
  EXPECT_FALSE(UpstreamFor("localhost/app", proxy).ok());
  proxy.registries = {"ghcr.io"};
  r = UpstreamFor("ghcr.io/org/app", proxy);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->registry, "ghcr.io");
  EXPECT_EQ(r->repository, "org/app");
  EXPECT_FALSE(UpstreamFor("quay.io/org/app", proxy).ok());
  proxy.registries = {"*"};
  EXPECT_TRUE(UpstreamFor("quay.io/org/app", proxy).ok());

  for (const char* bad : {"", "UPPER/case", "a//b", "a/", "-a"}) {
    EXPECT_EQ(UpstreamFor(bad, proxy).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace nodefit
