#include "integration/testbed/image_builder.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"

namespace nodefit::testbed {
namespace {

constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";

void TarHeader(std::string* out, const std::string& name, uint64_t size,
               char type) {
  char h[512] = {0};
  std::snprintf(h, 100, "%s", name.c_str());
  std::snprintf(h + 100, 8, "%07o", type == '5' ? 0755 : 0644);
  std::snprintf(h + 108, 8, "%07o", 0);
  std::snprintf(h + 116, 8, "%07o", 0);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 0);
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::snprintf(h + 257, 6, "%s", "ustar");
  h[263] = '0';  // ustar version "00", no terminator
  h[264] = '0';
  unsigned checksum = 0;
  for (unsigned char c : h) checksum += c;
  std::snprintf(h + 148, 8, "%06o", checksum);
  h[155] = ' ';
  out->append(h, 512);
}

// Deterministic, incompressible bytes.
std::string Payload(const std::string& seed, uint64_t size) {
  uint64_t x = std::hash<std::string>{}(seed) | 1;
  std::string out(size, '\0');
  for (uint64_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

struct Pusher {
  httplib::Client client;
  std::string repository;

  explicit Pusher(const std::string& host_port, std::string repo)
      : client(absl::StrCat("http://", host_port)),
        repository(std::move(repo)) {
    client.set_read_timeout(120, 0);
    client.set_write_timeout(120, 0);
  }

  absl::Status Blob(const std::string& data) {
    const std::string digest = Sha256Digest(data);
    auto head =
        client.Head(absl::StrCat("/v2/", repository, "/blobs/", digest));
    if (head && head->status == 200) return absl::OkStatus();
    auto start =
        client.Post(absl::StrCat("/v2/", repository, "/blobs/uploads/"), "",
                    "application/octet-stream");
    if (!start || start->status != 202) {
      return absl::InternalError(
          absl::StrCat("blob upload start: ", start ? start->status : -1));
    }
    std::string location = start->get_header_value("Location");
    if (const size_t scheme = location.find("://");
        scheme != std::string::npos) {
      location = location.substr(location.find('/', scheme + 3));
    }
    location += absl::StrCat(
        location.find('?') == std::string::npos ? "?" : "&", "digest=", digest);
    auto put = client.Put(location, data, "application/octet-stream");
    if (!put || put->status != 201) {
      return absl::InternalError(absl::StrCat("blob upload ", digest, ": ",
                                              put ? put->status : -1, " ",
                                              put ? put->body : ""));
    }
    return absl::OkStatus();
  }

  absl::Status Manifest(const std::string& reference, const std::string& body,
                        const std::string& media_type) {
    auto put =
        client.Put(absl::StrCat("/v2/", repository, "/manifests/", reference),
                   body, media_type);
    if (!put || put->status != 201) {
      return absl::InternalError(absl::StrCat("manifest ", reference, ": ",
                                              put ? put->status : -1, " ",
                                              put ? put->body : ""));
    }
    return absl::OkStatus();
  }
};

}  // namespace

std::string MakeTar(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  std::set<std::string> dirs;
  for (const auto& [path, content] : files) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string dir = path.substr(0, slash + 1);
      if (dirs.insert(dir).second) TarHeader(&out, dir, 0, '5');
    }
    TarHeader(&out, path, content.size(), '0');
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

const PushedBuild* PushedImage::Find(const std::string& name) const {
  for (const PushedBuild& b : builds) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

const PushedBuild* PushedImage::FindByManifest(
    const std::string& digest) const {
  for (const PushedBuild& b : builds) {
    if (b.manifest_digest == digest) return &b;
  }
  return nullptr;
}

const PushedBuild* PushedImage::FindByConfig(const std::string& digest) const {
  for (const PushedBuild& b : builds) {
    if (b.config_digest == digest) return &b;
  }
  return nullptr;
}

absl::StatusOr<PushedBuild> PushBuildImage(const std::string& host_port,
                                           const std::string& repository,
                                           const std::string& tag,
                                           const BuildSpec& build) {
  Pusher pusher(host_port, repository);
  std::vector<std::pair<std::string, std::string>> files = {
      {"etc/variant", build.name + "\n"}};
  if (build.payload_bytes > 0) {
    files.emplace_back("payload.bin", Payload(build.name, build.payload_bytes));
  }
  const std::string tar = MakeTar(files);
  const std::string layer = Gzip(tar);
  nlohmann::json config = {
      {"architecture", build.architecture},
      {"os", build.os},
      {"config",
       {{"Env", {"NODEFIT_BUILD=" + build.name}}, {"Cmd", {"/bin/sh"}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {Sha256Digest(tar)}}}}};
  if (!build.variant.empty()) config["variant"] = build.variant;
  const std::string config_body = config.dump();
  if (absl::Status s = pusher.Blob(layer); !s.ok()) return s;
  if (absl::Status s = pusher.Blob(config_body); !s.ok()) return s;
  const std::string manifest = nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", kManifestType},
      {"config",
       {{"mediaType", kConfigType},
        {"digest", Sha256Digest(config_body)},
        {"size", config_body.size()}}},
      {"layers",
       {{{"mediaType", kLayerType},
         {"digest", Sha256Digest(layer)},
         {"size", layer.size()}}}}}.dump();
  if (absl::Status s = pusher.Manifest(tag, manifest, kManifestType); !s.ok()) {
    return s;
  }
  return PushedBuild{build.name, Sha256Digest(manifest),
                     Sha256Digest(config_body), layer.size()};
}

std::string IndexSpecFor(const std::string& target,
                         const std::vector<std::string>& sources,
                         const std::vector<BuildSpec>& builds) {
  nlohmann::json manifests = nlohmann::json::array();
  for (size_t i = 0; i < builds.size(); ++i) {
    nlohmann::json platform = {{"architecture", builds[i].architecture},
                               {"os", builds[i].os}};
    if (!builds[i].variant.empty()) platform["variant"] = builds[i].variant;
    if (!builds[i].features.empty()) platform["features"] = builds[i].features;
    manifests.push_back({{"image", sources[i]}, {"platform", platform}});
  }
  // JSON is the spec's other spelling; YAML specs are tested on their own.
  return nlohmann::json{{"image", target}, {"manifests", manifests}}.dump(2);
}

absl::StatusOr<CreatedIndexFile> CreateIndexWithNodefit(
    const std::string& spec, const std::string& target,
    const nlohmann::json& config, const std::vector<std::string>& extra_args) {
  char dir_template[] = "/tmp/nodefit-index-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return absl::InternalError("mkdtemp for the index spec");
  }
  const std::string dir = dir_template;
  const std::string spec_path = dir + "/spec.yaml";
  const std::string config_path = dir + "/config.json";
  const std::string output = dir + "/index.json";
  std::ofstream(spec_path) << spec;
  std::ofstream(config_path) << config.dump();
  std::vector<std::string> argv = {
      "env",          "DOCKER_CONFIG=/nonexistent/nodefit-testbed",
      NODEFIT_BINARY, "index",
      "create",       spec_path,
      "--output",     output,
      "--config",     config_path};
  if (!target.empty()) {
    argv.push_back("--push");
    argv.push_back(target);
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  int64_t peak_rss_kb = 0;
  absl::StatusOr<std::string> ran =
      RunCommand(argv, absl::Minutes(10), &peak_rss_kb);
  CreatedIndexFile created{ReadFileOrEmpty(output), ran.ok() ? *ran : "",
                           peak_rss_kb};
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (!ran.ok()) return ran.status();
  if (created.index.empty()) {
    return absl::InternalError(
        absl::StrCat("nodefit index create wrote no --output: ", *ran));
  }
  return created;
}

absl::StatusOr<PushedImage> PushMultiBuildImage(
    const std::string& host_port, const std::string& repository,
    const std::string& tag, const std::vector<BuildSpec>& builds) {
  // As publishers do: each build is an image of its own (here, in a
  // repository beside the index's), and `nodefit index create` assembles
  // the index, mounting their blobs.
  const std::string builds_repository = repository + "-builds";
  PushedImage image;
  image.repository = repository;
  image.tag = tag;
  std::vector<std::string> sources;
  for (const BuildSpec& build : builds) {
    const std::string build_tag = absl::StrCat(tag, "-", build.name);
    absl::StatusOr<PushedBuild> pushed =
        PushBuildImage(host_port, builds_repository, build_tag, build);
    if (!pushed.ok()) return pushed.status();
    image.builds.push_back(*std::move(pushed));
    sources.push_back(
        absl::StrCat(host_port, "/", builds_repository, ":", build_tag));
  }
  const std::string target = absl::StrCat(host_port, "/", repository, ":", tag);
  absl::StatusOr<CreatedIndexFile> created = CreateIndexWithNodefit(
      IndexSpecFor(target, sources, builds), target, nlohmann::json::object());
  if (!created.ok()) return created.status();
  image.index_body = std::move(created->index);
  image.index_digest = Sha256Digest(image.index_body);
  return image;
}

std::vector<BuildSpec> SeedBuilds(uint64_t payload_bytes) {
  std::vector<BuildSpec> builds = {
      {"generic", "linux", "amd64", "", {}, payload_bytes},
      {"broadwell", "linux", "amd64", "", {"broadwell"}, payload_bytes},
      {"skylake", "linux", "amd64", "", {"skylake"}, payload_bytes},
      {"skylake-avx512",
       "linux",
       "amd64",
       "",
       {"skylake-avx512"},
       payload_bytes},
      {"broadwell-nvcap52-nvidia39644",
       "linux",
       "amd64",
       "",
       {"broadwell", "nv-compute-5-2", "nvidia-396-44"},
       payload_bytes},
  };
  return builds;
}

}  // namespace nodefit::testbed
