// `nodefit doctor`: whether nodefit really is in this node's pull path.
// Each check gives one result: ok, a problem with the exact fix, or skipped
// (it cannot run here, e.g. no kubelet on the node; a skipped check does not
// fail the doctor). The checks, in order:
//   containerd         containerd answers on cri.containerd; its version
//   containerd-config  its effective config (`containerd config dump`, else
//                      the file) sends CRI pulls through hosts.toml:
//                      config_path set, one directory where the transfer
//                      service pulls, no legacy registry.mirrors/configs,
//                      unpack_config naming CRI's snapshotter
//                      (plugin/containerd/pull_path.h)
//   hosts-toml         every hosts.toml those pulls read (_default and each
//                      registry's) tries nodefit first, with pull and resolve
//   tls                the node's PKI for the resolver face's mutual TLS:
//                      files present, keys 0600, signed by the node CA, not
//                      expired nor expiring within 30 days
//   http-face          nodefit answers /readyz (health listener)
//   cri-face           nodefit's CRI socket answers and reaches containerd
//   kubelet            kubelet's imageServiceEndpoint is nodefit's socket
#ifndef NODEFIT_PLUGIN_DOCTOR_DOCTOR_H_
#define NODEFIT_PLUGIN_DOCTOR_DOCTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "plugin/containerd/pull_path.h"
#include "plugin/tls/pki.h"
#include "resolver/config/config.h"

namespace nodefit {

struct DoctorCheck {
  enum class Result { kOk, kProblem, kSkipped };
  std::string name;
  Result result = Result::kOk;
  std::string message;  // what was found
  std::string fix;      // for a problem: what to change
};

// The node as the doctor sees it: one seam to the outside world, so the
// checks can be tested with a fake.
class NodeProbe {
 public:
  virtual ~NodeProbe() = default;
  // containerd's version through its Version API at `address`.
  [[nodiscard]] virtual absl::StatusOr<std::string> ContainerdVersion(
      const std::string& address) = 0;
  // `<binary> --config <file> config dump` (or `config default` when `file`
  // does not exist). NotFound when the binary cannot be run.
  [[nodiscard]] virtual absl::StatusOr<std::string> ContainerdConfigDump(
      const std::string& binary, const std::string& file) = 0;
  // The version `<binary> --version` prints. NotFound without the binary.
  [[nodiscard]] virtual absl::StatusOr<std::string> ContainerdBinaryVersion(
      const std::string& binary) = 0;
  // NotFound when `path` does not exist.
  [[nodiscard]] virtual absl::StatusOr<std::string> ReadFile(
      const std::string& path) = 0;
  // The names of the subdirectories of `dir`. NotFound when it does not
  // exist.
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::string>>
  ListDirectories(const std::string& dir) = 0;
  // The HTTP status of GET `url`.
  [[nodiscard]] virtual absl::StatusOr<int> HttpGet(const std::string& url) = 0;
  // grpc.health.v1 Check at `address`: true for SERVING.
  [[nodiscard]] virtual absl::StatusOr<bool> GrpcServing(
      const std::string& address) = 0;
  // InspectPki on `dir` (plugin/tls/pki.h).
  virtual std::vector<PkiFinding> InspectPki(const std::string& dir) = 0;
};

std::unique_ptr<NodeProbe> NewNodeProbe();

struct DoctorOptions {
  Config config;  // nodefit's: its listen addresses, containerd's socket
  std::string containerd_binary = "containerd";
  std::string containerd_config = "/etc/containerd/config.toml";
  std::string kubelet_config = "/var/lib/kubelet/config.yaml";
};

// nodefit's registry host as hosts.toml names it ("https://127.0.0.1:505";
// http:// in the insecure plain-http mode).
std::string NodefitHostAddress(const Config& config);

std::vector<DoctorCheck> RunDoctor(const DoctorOptions& options,
                                   NodeProbe& probe);

// Where containerd's pulls read hosts.toml, from its version (the API, else
// the binary) and its effective config; an error says why it cannot tell.
// Shared with `hosts install` and the daemon's bypass warning.
[[nodiscard]] absl::StatusOr<PullPath> InspectPullPath(
    const DoctorOptions& options, NodeProbe& probe);

// Why containerd may have pulled without asking nodefit, for the daemon's
// bypass warning: the containerd-config problems, or, when there are none,
// the other ways around it (imports, clients reading another directory).
std::string LikelyBypassCause(const DoctorOptions& options, NodeProbe& probe);

bool AllPassed(const std::vector<DoctorCheck>& checks);

// One line per check: "ok       NAME  MESSAGE", "problem  NAME  MESSAGE;
// fix: FIX", "skipped  NAME  MESSAGE".
std::string DoctorToText(const std::vector<DoctorCheck>& checks);
// {"ok": bool, "checks": [{"check", "result": "ok"|"problem"|"skipped",
// "message", "fix"}]} ("fix" only for problems).
nlohmann::json DoctorToJson(const std::vector<DoctorCheck>& checks);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_DOCTOR_DOCTOR_H_
