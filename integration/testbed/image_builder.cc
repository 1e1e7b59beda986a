#include "integration/testbed/image_builder.h"

#include <zlib.h>

#include <cstring>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"

namespace nodefit::testbed {
namespace {

constexpr char kLayerType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kConfigType[] = "application/vnd.oci.image.config.v1+json";
constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";

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

absl::StatusOr<PushedImage> PushMultiBuildImage(
    const std::string& host_port, const std::string& repository,
    const std::string& tag, const std::vector<BuildSpec>& builds) {
  Pusher pusher(host_port, repository);
  PushedImage image;
  image.repository = repository;
  image.tag = tag;
  nlohmann::json manifests = nlohmann::json::array();
  for (const BuildSpec& build : builds) {
    std::vector<std::pair<std::string, std::string>> files = {
        {"etc/variant", build.name + "\n"}};
    if (build.payload_bytes > 0) {
      files.emplace_back("payload.bin",
                         Payload(build.name, build.payload_bytes));
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
    const std::string manifest_digest = Sha256Digest(manifest);
    if (absl::Status s =
            pusher.Manifest(manifest_digest, manifest, kManifestType);
        !s.ok()) {
      return s;
    }
    nlohmann::json platform = {{"architecture", build.architecture},
                               {"os", build.os}};
    if (!build.variant.empty()) platform["variant"] = build.variant;
    if (!build.features.empty()) platform["features"] = build.features;
    manifests.push_back({{"mediaType", kManifestType},
                         {"digest", manifest_digest},
                         {"size", manifest.size()},
                         {"platform", platform}});
    image.builds.push_back(
        {build.name, manifest_digest, Sha256Digest(config_body), layer.size()});
  }
  image.index_body = nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", kIndexType},
      {"manifests",
       manifests}}.dump();
  image.index_digest = Sha256Digest(image.index_body);
  if (absl::Status s = pusher.Manifest(tag, image.index_body, kIndexType);
      !s.ok()) {
    return s;
  }
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
