#include "resolver/detect/detect_nvidia.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "resolver/base/file_util.h"

namespace nodefit {
namespace {

// "396.44", "535.104.05": two to four dot-separated runs of digits.
bool IsVersion(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() < 2 || parts.size() > 4) return false;
  return std::all_of(parts.begin(), parts.end(), [](absl::string_view p) {
    return !p.empty() && std::all_of(p.begin(), p.end(), absl::ascii_isdigit);
  });
}

// One line of nvidia-smi output, "8.6" -> "nv-compute-8-6"; empty if the
// line is not a capability.
std::string ComputeFeature(absl::string_view line) {
  std::vector<absl::string_view> parts = absl::StrSplit(line, '.');
  if (parts.size() != 2 || !IsVersion(line)) return "";
  return absl::StrCat("nv-compute-", parts[0], "-", parts[1]);
}

std::string FirstLine(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  return std::string(text.substr(0, std::min(text.find('\n'), size_t{200})));
}

}  // namespace

absl::StatusOr<std::string> ParseNvidiaDriverVersion(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "NVRM version:")) continue;
    // The version is the first dotted number after "Module"; "x86_64" and
    // the build date never look like one.
    const size_t module = line.find("Module");
    if (module == absl::string_view::npos) continue;
    for (absl::string_view token : absl::StrSplit(
             line.substr(module), absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
      if (IsVersion(token)) return std::string(token);
    }
  }
  return absl::InvalidArgumentError(
      "no \"NVRM version: ... Kernel Module <version>\" line");
}

std::string NvidiaDriverFeature(absl::string_view version) {
  std::vector<absl::string_view> parts = absl::StrSplit(version, '.');
  if (parts.size() < 2) return absl::StrCat("nvidia-", version);
  return absl::StrCat("nvidia-", parts[0], "-", parts[1]);
}

Detection ParseComputeCapabilities(absl::string_view output) {
  return ParseNvidiaSmi(output, nullptr);
}

Detection ParseNvidiaSmi(absl::string_view output,
                         std::string* driver_version) {
  Detection out;
  std::vector<std::pair<std::string, int>> seen;  // feature, GPU count
  // With a header ("compute_cap, driver_version" or any query's columns),
  // the columns are found by name; without one, the line is the capability.
  int cap_column = 0, driver_column = -1;
  bool first = true;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    for (absl::string_view& f : fields) f = absl::StripAsciiWhitespace(f);
    if (first) {
      first = false;
      const auto cap = std::find(fields.begin(), fields.end(), "compute_cap");
      if (cap != fields.end()) {
        cap_column = static_cast<int>(cap - fields.begin());
        const auto driver =
            std::find(fields.begin(), fields.end(), "driver_version");
        if (driver != fields.end()) {
          driver_column = static_cast<int>(driver - fields.begin());
        }
        continue;
      }
      if (fields.size() > 1) driver_column = 1;  // compute_cap,driver_version
    }
    std::string feature;
    if (cap_column < static_cast<int>(fields.size())) {
      feature = ComputeFeature(fields[cap_column]);
    }
    if (feature.empty()) {
      out.notes.push_back(absl::StrCat(
          "nvidia: nvidia-smi printed \"", FirstLine(line),
          "\" where a compute capability (like 8.6) was expected"));
      continue;
    }
    if (driver_version != nullptr && driver_column >= 0 &&
        driver_column < static_cast<int>(fields.size()) &&
        driver_version->empty() && IsVersion(fields[driver_column])) {
      *driver_version = std::string(fields[driver_column]);
    }
    auto it = std::find_if(seen.begin(), seen.end(),
                           [&](const auto& s) { return s.first == feature; });
    if (it == seen.end()) {
      seen.emplace_back(std::move(feature), 1);
    } else {
      ++it->second;
    }
  }
  for (auto& [feature, count] : seen) {
    std::string capability(absl::StripPrefix(feature, "nv-compute-"));
    std::replace(capability.begin(), capability.end(), '-', '.');
    out.features.push_back(
        {std::move(feature), std::string(kSourceNvidia),
         absl::StrCat("nvidia-smi: compute capability ", capability, " (",
                      count, count == 1 ? " GPU)" : " GPUs)")});
  }
  return out;
}

Detection DetectNvidia(const NvidiaOptions& options, CommandRunner& runner) {
  Detection out;
  bool have_driver = false;
  absl::StatusOr<std::string> text =
      ReadFileToString(options.version_path, size_t{64} << 10);
  if (!text.ok()) {
    out.notes.push_back(absl::StrCat(
        "nvidia: no driver version: ",
        absl::IsNotFound(text.status())
            ? absl::StrCat(options.version_path,
                           " does not exist (no NVIDIA kernel driver loaded)")
            : std::string(text.status().message())));
  } else if (absl::StatusOr<std::string> version =
                 ParseNvidiaDriverVersion(*text);
             !version.ok()) {
    out.notes.push_back(absl::StrCat("nvidia: ", options.version_path, ": ",
                                     version.status().message()));
  } else {
    out.features.push_back(
        {NvidiaDriverFeature(*version), std::string(kSourceNvidia),
         absl::StrCat(options.version_path, ": driver ", *version)});
    have_driver = true;
  }

  if (options.smi_command.empty()) return out;
  absl::StatusOr<CommandResult> run =
      runner.Run(options.smi_command, options.smi_limits);
  if (!run.ok()) {
    out.notes.push_back(
        absl::StrCat("nvidia: no compute capability: ",
                     absl::IsNotFound(run.status())
                         ? absl::StrCat(options.smi_command[0], " not found")
                         : std::string(run.status().message())));
    return out;
  }
  if (run->exit_code != 0) {
    const std::string said =
        FirstLine(run->output.empty() ? run->error_output : run->output);
    out.notes.push_back(
        absl::StrCat("nvidia: no compute capability: ", options.smi_command[0],
                     run->exit_code < 0
                         ? absl::StrCat(" killed by signal ", run->term_signal)
                         : absl::StrCat(" exited with ", run->exit_code),
                     said.empty() ? "" : absl::StrCat(": ", said)));
    return out;
  }
  std::string smi_driver;
  Detection caps = ParseNvidiaSmi(run->output, &smi_driver);
  // nvidia-smi's driver_version is the kernel driver's too; it stands in
  // when the version file cannot be read (a container without the host's
  // /proc/driver).
  if (!have_driver && !smi_driver.empty()) {
    out.features.push_back({NvidiaDriverFeature(smi_driver),
                            std::string(kSourceNvidia),
                            absl::StrCat("nvidia-smi: driver ", smi_driver)});
  }
  for (SourcedFeature& f : caps.features) out.features.push_back(std::move(f));
  for (std::string& n : caps.notes) out.notes.push_back(std::move(n));
  if (caps.features.empty() && caps.notes.empty()) {
    out.notes.push_back(
        absl::StrCat("nvidia: ", options.smi_command[0], " listed no GPU"));
  }
  return out;
}

}  // namespace nodefit
