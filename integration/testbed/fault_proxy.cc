#include "integration/testbed/fault_proxy.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace nodefit::testbed {

absl::StatusOr<std::unique_ptr<FaultProxy>> FaultProxy::Start(
    int upstream_port) {
  std::unique_ptr<FaultProxy> proxy(new FaultProxy(upstream_port));
  FaultProxy* self = proxy.get();
  auto handler = [self](const httplib::Request& req, httplib::Response& res) {
    self->Handle(req, res);
  };
  proxy->server_.Get(".*", handler);
  proxy->server_.set_keep_alive_timeout(1);
  proxy->server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
  proxy->port_ = proxy->server_.bind_to_any_port("127.0.0.1");
  if (proxy->port_ <= 0) return absl::UnavailableError("fault proxy: bind");
  proxy->thread_ = std::thread([self] { self->server_.listen_after_bind(); });
  while (!proxy->server_.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return proxy;
}

FaultProxy::~FaultProxy() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

std::string FaultProxy::host_port() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string FaultProxy::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

void FaultProxy::SetFaults(std::vector<Fault> faults) {
  absl::MutexLock lock(&mu_);
  faults_ = std::move(faults);
}

int FaultProxy::Abandoned() const {
  absl::MutexLock lock(&mu_);
  return abandoned_;
}

int FaultProxy::Injected() const {
  absl::MutexLock lock(&mu_);
  return injected_;
}

void FaultProxy::Seed(uint64_t seed) {
  absl::MutexLock lock(&mu_);
  rng_.seed(seed);
}

int FaultProxy::Count(const std::string& part) const {
  absl::MutexLock lock(&mu_);
  int count = 0;
  for (const auto& [path, n] : seen_) {
    if (absl::StrContains(path, part)) count += n;
  }
  return count;
}

void FaultProxy::Handle(const httplib::Request& req, httplib::Response& res) {
  std::optional<Fault> fault;
  {
    absl::MutexLock lock(&mu_);
    ++seen_[req.path];
    for (Fault& f : faults_) {
      if (f.times == 0) continue;
      if (std::regex_match(req.method, std::regex(f.method)) &&
          std::regex_match(req.path, std::regex(f.path))) {
        if (f.probability < 1.0 && !(std::uniform_real_distribution<double>(
                                         0, 1)(rng_) < f.probability)) {
          continue;
        }
        if (f.times > 0) --f.times;
        ++injected_;
        fault = f;
        break;
      }
    }
  }
  if (fault && fault->kind == Fault::Kind::kStatus) {
    res.status = fault->status;
    if (!fault->retry_after.empty()) {
      res.set_header("Retry-After", fault->retry_after);
    }
    res.set_content(absl::StrCat("{\"errors\":[{\"code\":\"UNKNOWN\","
                                 "\"message\":\"injected ",
                                 fault->status, "\"}]}"),
                    "application/json");
    return;
  }
  if (fault && fault->kind == Fault::Kind::kStall) {
    std::this_thread::sleep_for(absl::ToChronoMicroseconds(fault->delay));
  }

  httplib::Client upstream("127.0.0.1", upstream_port_);
  upstream.set_read_timeout(60, 0);
  httplib::Headers headers;
  // Range is not forwarded: httplib applies a request's Range to what this
  // handler answers (containerd resumes an interrupted blob that way).
  for (const char* name : {"Accept", "Authorization"}) {
    if (req.has_header(name)) headers.emplace(name, req.get_header_value(name));
  }
  std::string target = req.path;
  if (!req.params.empty()) {
    target += "?";
    bool first = true;
    for (const auto& [key, value] : req.params) {
      target += absl::StrCat(first ? "" : "&", key, "=", value);
      first = false;
    }
  }
  // HEAD is a GET upstream; httplib sends no body for HEAD but keeps the
  // length, so the answer is the registry's.
  httplib::Result answer = upstream.Get(target, headers);
  if (!answer) {
    res.status = 502;
    return;
  }
  res.status = answer->status;
  for (const auto& [name, value] : answer->headers) {
    if (name == "Content-Length" || name == "Transfer-Encoding" ||
        name == "Connection" || name == "Content-Type") {
      continue;
    }
    res.set_header(name, value);
  }
  const std::string type = answer->get_header_value("Content-Type");
  auto body = std::make_shared<std::string>(std::move(answer->body));
  if (!fault || fault->kind == Fault::Kind::kStall) {
    res.set_content(*body, type);
    return;
  }
  const size_t half = body->size() / 2;
  switch (fault->kind) {
    case Fault::Kind::kDrip: {
      const size_t chunk = std::max<size_t>(1, fault->chunk);
      const absl::Duration delay = fault->delay;
      res.set_content_provider(
          body->size(), type,
          [this, body, chunk, delay](size_t offset, size_t,
                                     httplib::DataSink& sink) {
            const size_t n = std::min(chunk, body->size() - offset);
            if (!sink.write(body->data() + offset, n)) {
              absl::MutexLock lock(&mu_);
              ++abandoned_;
              return false;
            }
            std::this_thread::sleep_for(absl::ToChronoMicroseconds(delay));
            return true;
          });
      return;
    }
    case Fault::Kind::kTruncate:
      res.set_content_provider(
          body->size(), type,
          [body, half](size_t offset, size_t, httplib::DataSink& sink) {
            if (offset >= half) return false;  // hang up with half sent
            return sink.write(body->data() + offset, half - offset);
          });
      return;
    case Fault::Kind::kCloseChunked:
      res.set_chunked_content_provider(
          type, [body, half](size_t offset, httplib::DataSink& sink) {
            if (offset >= half) return false;
            return sink.write(body->data() + offset, half - offset);
          });
      return;
    case Fault::Kind::kShortLength:
      res.set_content(body->substr(0, half), type);
      return;
    case Fault::Kind::kStatus:
    case Fault::Kind::kStall:
      break;
  }
  res.set_content(*body, type);
}

}  // namespace nodefit::testbed
