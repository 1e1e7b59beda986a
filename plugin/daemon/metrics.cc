#include "plugin/daemon/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nodefit {
namespace {

std::string Escape(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Metrics::Metrics() {
  absl::MutexLock lock(&mu_);
  families_["nodefit_resolutions_total"] = {
      "Image resolutions by face and outcome.", {"face", "outcome"}, {}};
  families_["nodefit_stepaside_total"] = {
      "Resolutions nodefit stepped aside from, leaving containerd to go "
      "upstream itself.",
      {"face", "reason"},
      {}};
  families_["nodefit_upstream_requests_total"] = {
      "HTTP exchanges with registries and token servers by status code (0: "
      "transport failure).",
      {"code"},
      {}};
  families_["nodefit_http_requests_total"] = {
      "Requests to the HTTP face by route and status code.",
      {"route", "code"},
      {}};
  families_["nodefit_cri_requests_total"] = {
      "Calls to the CRI face by method and gRPC status code.",
      {"method", "code"},
      {}};
  families_["nodefit_limits_total"] = {
      "Times a bound turned a client, a registry or a document away, by "
      "bound.",
      {"limit"},
      {}};
  families_["nodefit_bypassed_pulls_total"] = {
      "Image records containerd created or updated without asking nodefit, "
      "by namespace.",
      {"namespace"},
      {}};
}

void Metrics::Add(const std::string& family, std::vector<std::string> labels) {
  absl::MutexLock lock(&mu_);
  ++families_[family].values[std::move(labels)];
}

void Metrics::CountResolution(absl::string_view face,
                              absl::string_view outcome) {
  Add("nodefit_resolutions_total", {std::string(face), std::string(outcome)});
}

void Metrics::CountStepAside(absl::string_view face, absl::string_view reason) {
  Add("nodefit_stepaside_total", {std::string(face), std::string(reason)});
}

void Metrics::CountUpstream(int code) {
  Add("nodefit_upstream_requests_total", {absl::StrCat(code)});
}

void Metrics::CountHttp(absl::string_view route, int code) {
  Add("nodefit_http_requests_total", {std::string(route), absl::StrCat(code)});
}

void Metrics::CountCri(absl::string_view method, absl::string_view code) {
  Add("nodefit_cri_requests_total", {std::string(method), std::string(code)});
}

void Metrics::CountBypass(absl::string_view ns) {
  Add("nodefit_bypassed_pulls_total", {std::string(ns)});
}

void Metrics::CountLimit(absl::string_view limit) {
  Add("nodefit_limits_total", {std::string(limit)});
}

void Metrics::ObserveSelection(absl::Duration duration) {
  const double seconds = absl::ToDoubleSeconds(duration);
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < kSelectionBuckets.size(); ++i) {
    if (seconds <= kSelectionBuckets[i]) ++selection_buckets_[i];
  }
  ++selection_count_;
  selection_sum_ += seconds;
}

uint64_t Metrics::Value(absl::string_view family,
                        const std::vector<std::string>& labels) const {
  absl::MutexLock lock(&mu_);
  auto f = families_.find(std::string(family));
  if (f == families_.end()) return 0;
  auto v = f->second.values.find(labels);
  return v == f->second.values.end() ? 0 : v->second;
}

std::string Metrics::Render() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    absl::StrAppend(&out, "# HELP ", name, " ", family.help, "\n# TYPE ", name,
                    " counter\n");
    for (const auto& [labels, value] : family.values) {
      std::vector<std::string> pairs;
      for (size_t i = 0; i < labels.size(); ++i) {
        pairs.push_back(absl::StrCat(family.label_names[i], "=\"",
                                     Escape(labels[i]), "\""));
      }
      absl::StrAppend(&out, name, "{", absl::StrJoin(pairs, ","), "} ", value,
                      "\n");
    }
  }
  const std::string h = "nodefit_selection_seconds";
  absl::StrAppend(&out, "# HELP ", h,
                  " Time to choose a build from a parsed index.\n# TYPE ", h,
                  " histogram\n");
  for (size_t i = 0; i < kSelectionBuckets.size(); ++i) {
    absl::StrAppend(&out, h, "_bucket{le=\"", kSelectionBuckets[i], "\"} ",
                    selection_buckets_[i], "\n");
  }
  absl::StrAppend(&out, h, "_bucket{le=\"+Inf\"} ", selection_count_, "\n", h,
                  "_sum ", selection_sum_, "\n", h, "_count ", selection_count_,
                  "\n");
  return out;
}

}  // namespace nodefit
