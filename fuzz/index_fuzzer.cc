// Image index / manifest JSON: ParseIndex on any body, with and without a
// Content-Type, then selection on what it accepted for nodes of each
// family the seeds carry (x86 levels, arm64, POWER, a GPU node), since
// the selector is the first to trust the parsed entries.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/registry/reference.h"
#include "resolver/select/index.h"
#include "resolver/select/platform.h"
#include "resolver/select/selector.h"

namespace {

using nodefit::Selector;

const std::vector<std::unique_ptr<const Selector>>& Selectors() {
  static const auto* selectors = [] {
    auto* out = new std::vector<std::unique_ptr<const Selector>>();
    for (const char* node :
         {"linux/amd64:skylake",
          "linux/amd64/v3:broadwell:nv-compute-5-2:"
          "nvidia-396-44",
          "linux/arm64/v8.2:neoverse-n1", "linux/ppc64le/power9",
          "linux/amd64:cascadelake:nvidia-535-104:nv-compute-8-0"}) {
      const nodefit::PlatformSpec spec = *nodefit::ParsePlatformSpec(node);
      for (nodefit::NoMatchPolicy policy :
           {nodefit::NoMatchPolicy::kFail,
            nodefit::NoMatchPolicy::kPassthrough}) {
        absl::StatusOr<std::unique_ptr<const Selector>> selector =
            Selector::Create(nodefit::NodeProfile{spec.platform, spec.features},
                             {}, policy);
        NODEFIT_FUZZ_CHECK(selector.ok());
        out->push_back(*std::move(selector));
      }
    }
    return out;
  }();
  return *selectors;
}

void Check(const nodefit::ParsedIndex& index) {
  NODEFIT_FUZZ_CHECK(index.entries.size() <= nodefit::kMaxIndexEntries);
  if (index.kind == nodefit::DocumentKind::kManifest) {
    NODEFIT_FUZZ_CHECK(index.entries.empty());
  }
  for (size_t i = 0; i < index.entries.size(); ++i) {
    const nodefit::IndexEntry& e = index.entries[i];
    NODEFIT_FUZZ_CHECK(e.position == static_cast<int>(i));
    NODEFIT_FUZZ_CHECK(e.size >= 0);
    NODEFIT_FUZZ_CHECK(nodefit::ValidateDigest(e.digest).ok());
  }
  for (const auto& selector : Selectors()) {
    const nodefit::Selection s = selector->Select(index);
    NODEFIT_FUZZ_CHECK(s.candidates.size() == index.entries.size());
    if (s.outcome == nodefit::Outcome::kSelected) {
      NODEFIT_FUZZ_CHECK(s.chosen >= 0 &&
                         s.chosen < static_cast<int>(s.candidates.size()));
      const nodefit::CandidateReport& chosen = s.candidates[s.chosen];
      NODEFIT_FUZZ_CHECK(chosen.eligible && chosen.runnable &&
                         chosen.platform_ok && chosen.missing.empty());
      // Nothing eligible scores better than the chosen build.
      for (const nodefit::CandidateReport& c : s.candidates) {
        NODEFIT_FUZZ_CHECK(!c.eligible ||
                           !nodefit::BetterScore(c.score, chosen.score));
      }
    } else {
      NODEFIT_FUZZ_CHECK(s.chosen == -1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  for (absl::string_view content_type :
       {absl::string_view(), nodefit::kOciIndexType,
        nodefit::kDockerManifestType}) {
    const absl::StatusOr<nodefit::ParsedIndex> index =
        nodefit::ParseIndex(body, content_type);
    if (!index.ok()) {
      // Unimplemented: a well-formed digest of another algorithm (sha512),
      // which nodefit cannot verify, as ValidateDigest reports it.
      NODEFIT_FUZZ_CHECK(
          index.status().code() == absl::StatusCode::kInvalidArgument ||
          index.status().code() == absl::StatusCode::kResourceExhausted ||
          index.status().code() == absl::StatusCode::kUnimplemented);
      continue;
    }
    Check(*index);
  }
  return 0;
}
