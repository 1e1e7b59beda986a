#include "resolver/select/index.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDigestA[] =
    "sha256:ec0cb718e51ecd37446b9d5b6dbb3b87fafd44e945a3adf05644d6209d5b3297";
constexpr char kDigestB[] =
    "sha256:2e6d1c4e1524fa0bf26c5cb704c8b8616bc25bae969d0a63edca0db25f5d59a4";

nlohmann::json Entry(const std::string& digest, nlohmann::json platform) {
  nlohmann::json e = {{"mediaType", std::string(kOciManifestType)},
                      {"digest", digest},
                      {"size", 1234}};
  if (!platform.is_null()) e["platform"] = std::move(platform);
  return e;
}

nlohmann::json Index(std::vector<nlohmann::json> entries) {
  return {{"schemaVersion", 2},
          {"mediaType", std::string(kOciIndexType)},
          {"manifests", entries}};
}

std::string Error(const std::string& body,
                  absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  absl::StatusOr<ParsedIndex> index = ParseIndex(body);
  EXPECT_FALSE(index.ok()) << body.substr(0, 200);
  if (index.ok()) return "";
  EXPECT_EQ(index.status().code(), code);
  return std::string(index.status().message());
}

TEST(IndexTest, ParsesEveryEntryField) {
  nlohmann::json doc =
      Index({Entry(kDigestA, {{"os", "linux"}, {"architecture", "amd64"}}),
             Entry(kDigestB, {{"os", "Linux"},
                              {"architecture", "x86_64"},
                              {"variant", "v3"},
                              {"os.features", {"sse4"}},
                              {"features", {"skylake", "nvidia-396-44"}},
                              {"x-unknown", 1}})});
  doc["manifests"][1]["annotations"] = {{"org.example/build", "skylake"}};
  doc["annotations"] = {{"top", "level"}};
  absl::StatusOr<ParsedIndex> index = ParseIndex(doc.dump());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->kind, DocumentKind::kIndex);
  EXPECT_EQ(index->media_type, kOciIndexType);
  ASSERT_EQ(index->entries.size(), 2u);
  const IndexEntry& e = index->entries[1];
  EXPECT_EQ(e.position, 1);
  EXPECT_EQ(e.digest, kDigestB);
  EXPECT_EQ(e.size, 1234);
  EXPECT_EQ(e.media_type, kOciManifestType);
  EXPECT_TRUE(e.has_platform);
  EXPECT_EQ(e.platform.String(), "linux/amd64/v3");
  EXPECT_THAT(e.os_features, ElementsAre("sse4"));
  EXPECT_THAT(e.features, ElementsAre("skylake", "nvidia-396-44"));
  EXPECT_EQ(e.annotations.at("org.example/build"), "skylake");
  EXPECT_FALSE(e.is_attestation);
  // Unknown fields survive in the document.
  EXPECT_EQ(index->document["manifests"][1]["platform"]["x-unknown"], 1);
  EXPECT_EQ(index->document["annotations"]["top"], "level");
}

TEST(IndexTest, DockerManifestListAndContentTypeFallback) {
  nlohmann::json doc = {
      {"schemaVersion", 2},
      {"mediaType", std::string(kDockerListType)},
      {"manifests",
       {{{"mediaType", std::string(kDockerManifestType)},
         {"digest", kDigestA},
         {"size", 7},
         {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}}}}};
  absl::StatusOr<ParsedIndex> index = ParseIndex(doc.dump());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->media_type, kDockerListType);

  doc.erase("mediaType");
  index =
      ParseIndex(doc.dump(), std::string(kDockerListType) + "; charset=utf-8");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->media_type, kDockerListType);
  index = ParseIndex(doc.dump());
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->media_type, kOciIndexType);
}

TEST(IndexTest, AttestationsAreRecognised) {
  nlohmann::json by_platform =
      Entry(kDigestA, {{"os", "unknown"}, {"architecture", "unknown"}});
  nlohmann::json by_annotation =
      Entry(kDigestB, {{"os", "linux"}, {"architecture", "amd64"}});
  by_annotation["annotations"] = {
      {"vnd.docker.reference.type", "attestation-manifest"}};
  absl::StatusOr<ParsedIndex> index =
      ParseIndex(Index({by_platform, by_annotation}).dump());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_TRUE(index->entries[0].is_attestation);
  EXPECT_TRUE(index->entries[1].is_attestation);
}

TEST(IndexTest, SingleManifestIsReportedAsSuch) {
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", std::string(kOciManifestType)},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", kDigestA},
        {"size", 2}}},
      {"layers", nlohmann::json::array()}};
  absl::StatusOr<ParsedIndex> index = ParseIndex(manifest.dump());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->kind, DocumentKind::kManifest);
  EXPECT_TRUE(index->entries.empty());

  manifest.erase("mediaType");
  index = ParseIndex(manifest.dump());
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(index->kind, DocumentKind::kManifest);
}

TEST(IndexTest, EntryWithoutPlatformIsKept) {
  absl::StatusOr<ParsedIndex> index =
      ParseIndex(Index({Entry(kDigestA, nullptr)}).dump());
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_FALSE(index->entries[0].has_platform);
}

TEST(IndexTest, MalformedJson) {
  EXPECT_THAT(Error("{\"manifests\": ["), HasSubstr("malformed JSON"));
  EXPECT_THAT(Error(""), HasSubstr("malformed JSON"));
  EXPECT_THAT(Error("\xff\xfe"), HasSubstr("malformed JSON"));
  EXPECT_THAT(Error("{} trailing"), HasSubstr("malformed JSON"));
}

TEST(IndexTest, WrongJsonTypes) {
  EXPECT_THAT(Error("[]"), HasSubstr("document: expected object, got array"));
  EXPECT_THAT(Error(R"({"manifests": {}})"),
              HasSubstr("manifests: expected array, got object"));
  EXPECT_THAT(Error(R"({"mediaType": 5, "manifests": []})"),
              HasSubstr("document.mediaType: expected string, got number"));
  EXPECT_THAT(Error(R"({"manifests": [5]})"),
              HasSubstr("manifests[0]: expected object, got number"));

  nlohmann::json doc = Index({Entry(kDigestA, nullptr)});
  doc["manifests"][0]["digest"] = 7;
  EXPECT_THAT(Error(doc.dump()),
              HasSubstr("manifests[0].digest: expected string, got number"));
  doc = Index({Entry(kDigestA, nullptr)});
  doc["manifests"][0]["size"] = "12";
  EXPECT_THAT(Error(doc.dump()),
              HasSubstr("manifests[0].size: expected integer, got string"));
  doc["manifests"][0]["size"] = 1.5;
  EXPECT_THAT(Error(doc.dump()), HasSubstr("expected integer, got number"));
  doc["manifests"][0]["size"] = -1;
  EXPECT_THAT(Error(doc.dump()), HasSubstr("non-negative"));
  doc = Index({Entry(kDigestA, "linux/amd64")});
  EXPECT_THAT(Error(doc.dump()),
              HasSubstr("manifests[0].platform: expected object, got string"));
  doc = Index({Entry(kDigestA, {{"os", "linux"}, {"architecture", 64}})});
  EXPECT_THAT(Error(doc.dump()),
              HasSubstr("platform.architecture: expected string"));
  doc = Index({Entry(
      kDigestA,
      {{"os", "linux"}, {"architecture", "amd64"}, {"features", "skylake"}})});
  EXPECT_THAT(Error(doc.dump()),
              HasSubstr("platform.features: expected array, got string"));
  doc = Index({Entry(
      kDigestA,
      {{"os", "linux"}, {"architecture", "amd64"}, {"features", {"a", 1}}})});
  EXPECT_THAT(Error(doc.dump()), HasSubstr("features[1]: expected string"));
  doc = Index({Entry(kDigestA, nullptr)});
  doc["manifests"][0]["annotations"] = {{"a", 1}};
  EXPECT_THAT(Error(doc.dump()), HasSubstr("annotations.a: expected string"));
}

TEST(IndexTest, EntryWithoutDigestOrWithInvalidDigest) {
  nlohmann::json doc = Index({Entry(kDigestA, nullptr)});
  doc["manifests"][0].erase("digest");
  EXPECT_THAT(Error(doc.dump()), HasSubstr("manifests[0]: missing \"digest\""));
  doc["manifests"][0]["digest"] = "sha256:1234";
  EXPECT_THAT(Error(doc.dump()), HasSubstr("manifests[0].digest"));
  doc["manifests"][0]["digest"] = "md5-no-colon";
  EXPECT_THAT(Error(doc.dump()), HasSubstr("invalid digest"));
  doc = Index({Entry(kDigestA, nullptr)});
  doc["manifests"][0].erase("mediaType");
  EXPECT_THAT(Error(doc.dump()), HasSubstr("missing \"mediaType\""));
  doc = Index({Entry(kDigestA, nullptr)});
  doc["manifests"][0].erase("size");
  EXPECT_THAT(Error(doc.dump()), HasSubstr("missing \"size\""));
  EXPECT_THAT(Error(R"({"schemaVersion": 2})"),
              HasSubstr("missing \"manifests\""));
}

TEST(IndexTest, FiveMegabyteIndexIsRefused) {
  std::string body = Index({}).dump();
  body.insert(
      body.size() - 1,
      ", \"pad\": \"" + std::string(size_t{5} * 1024 * 1024, 'x') + "\"");
  EXPECT_THAT(Error(body), HasSubstr("4393216-byte limit"));
}

TEST(IndexTest, AbsurdEntryCountIsRefused) {
  std::vector<nlohmann::json> entries(kMaxIndexEntries + 1,
                                      Entry(kDigestA, nullptr));
  EXPECT_THAT(Error(Index(entries).dump()), HasSubstr("4096-entry limit"));
}

TEST(IndexTest, UnknownMediaTypeIsRefused) {
  EXPECT_THAT(Error(R"({"mediaType": "text/html", "manifests": []})"),
              HasSubstr("neither an image index nor an image manifest"));
}

TEST(IndexTest, DeepNestingIsRefusedAtTheParsersBound) {
  // A hostile body of nested arrays within the size limit: refused by the
  // parser's depth bound before it builds anything.
  std::string deep(1'000'000, '[');
  deep += std::string(1'000'000, ']');
  EXPECT_THAT(Error(deep, absl::StatusCode::kResourceExhausted),
              HasSubstr("nested too deeply"));
  // 64 levels are fine as JSON (and then not an index).
  std::string fine(63, '[');
  fine += "{}" + std::string(63, ']');
  EXPECT_THAT(Error(fine), Not(HasSubstr("nested too deeply")));
}

TEST(IndexTest, TooManyValuesAreRefusedAtTheParsersBound) {
  nlohmann::json doc = Index({});
  nlohmann::json filler = nlohmann::json::array();
  for (int i = 0; i < 200'000; ++i) filler.push_back(0);
  doc["annotations"] = {{"x", filler}};
  EXPECT_THAT(Error(doc.dump(), absl::StatusCode::kResourceExhausted),
              HasSubstr("150000 values"));
}

}  // namespace
}  // namespace nodefit
