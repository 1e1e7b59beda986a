// `nodefit serve`: the daemon. Loads the config (a bad one stops it with the
// message), builds the engine, starts the HTTP face and the CRI face,
// then waits for signals on the main thread:
//   SIGHUP          reload the config and re-run detection; a bad new
//                   config is logged and the old one stays in force;
//   SIGTERM/SIGINT  stop accepting, finish calls in flight (bounded),
//                   remove the CRI socket, exit 0.
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/containerd/image_events.h"
#include "plugin/daemon/bypass.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "plugin/doctor/doctor.h"
#include "plugin/faces/cri_face.h"
#include "plugin/faces/http_face.h"
#include "plugin/faces/proxy_face.h"
#include "plugin/tls/pki.h"
#include "resolver/base/clock.h"
#include "resolver/base/limits.h"
#include "resolver/detect/detect_node.h"

namespace nodefit {
namespace {

constexpr absl::Duration kShutdownGrace = absl::Seconds(20);

// A config holding registry passwords or tokens must be readable by root
// only: warn (at every start) when group or others can read it.
void WarnIfSecretsExposed(const Config& config, Logger& logger) {
  bool secrets = false;
  for (const auto& [host, registry] : config.registries) {
    secrets = secrets || !registry.password.empty() ||
              !registry.identity_token.empty();
  }
  struct stat st;
  if (!secrets || config.source.empty() ||
      stat(config.source.c_str(), &st) != 0 || (st.st_mode & 077) == 0) {
    return;
  }
  logger.Warning(
      "the config holds registry credentials and is readable by group or "
      "others; chmod 600 it",
      {{"config", config.source},
       {"mode", absl::StrFormat("%04o", st.st_mode & 0777)}});
}

// The likely cause of a bypass (the doctor's containerd-config findings),
// worked out at most once a minute: it runs `containerd config dump`.
std::function<std::string()> CachedBypassCause(const Config& config) {
  struct Cache {
    absl::Mutex mu;
    absl::Time at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    std::string cause ABSL_GUARDED_BY(mu);
  };
  auto cache = std::make_shared<Cache>();
  const DoctorOptions options = DoctorOptionsForCli(config, ParsedFlags());
  return [cache, options] {
    absl::MutexLock lock(&cache->mu);
    if (absl::Now() - cache->at > absl::Minutes(1)) {
      std::unique_ptr<NodeProbe> probe = NewNodeProbe();
      cache->cause = LikelyBypassCause(options, *probe);
      cache->at = absl::Now();
    }
    return cache->cause;
  };
}

// The request bounds both HTTP faces take from `limits` (waiting requests,
// deadline, headers), with each face's own worker and connection counts.
HttpServerOptions ServerBounds(const LimitsConfig& limits, int workers,
                               int max_connections) {
  HttpServerOptions bounds;
  bounds.workers = workers;
  bounds.max_connections = max_connections;
  bounds.max_pending = limits.http_max_pending;
  bounds.request_timeout = absl::Milliseconds(limits.http_request_timeout_ms);
  bounds.max_headers = limits.http_max_headers;
  bounds.max_header_bytes = static_cast<size_t>(limits.http_max_header_bytes);
  return bounds;
}

// Loads the config and builds an engine from it: what start-up and every
// reload do.
absl::StatusOr<std::shared_ptr<const Engine>> LoadEngine(
    const ParsedFlags& flags, const std::shared_ptr<HttpClient>& http,
    Metrics* metrics, Logger* logger) {
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) return config.status();
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(config->rules);
  if (!vocabulary.ok()) return vocabulary.status();
  // Detection runs here, at start-up and on SIGHUP, never per pull.
  const NodeReport report =
      BuildNodeProfile(*config, **vocabulary, DetectOptionsFor(*config));
  for (const std::string& note : report.notes) {
    logger->Warning("detection", {{"note", note}});
  }
  absl::StatusOr<std::shared_ptr<const Engine>> engine =
      BuildEngine(*config, report.profile, http, metrics);
  if (!engine.ok()) return engine.status();
  nlohmann::json sources = nlohmann::json::object();
  for (const SourcedFeature& f : report.features) sources[f.feature] = f.source;
  logger->Info(
      "node profile",
      {{"config", config->source},
       {"platform", (*engine)->selector->node().platform().String()},
       {"features", sources},
       {"on_no_match", std::string(NoMatchPolicyName(config->on_no_match))}});
  return engine;
}

int RunServe(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  (void)out;
  if (!flags.positional.empty()) {
    err << "nodefit serve: unexpected argument \"" << flags.positional[0]
        << "\"\n";
    return kExitUsage;
  }
  absl::StatusOr<LogFormat> format =
      ParseLogFormat(flags.Get("log-format", "json"));
  absl::StatusOr<LogLevel> level =
      ParseLogLevel(flags.Get("log-level", "info"));
  if (!format.ok() || !level.ok()) {
    err << "nodefit serve: "
        << (!format.ok() ? format.status() : level.status()).message() << "\n";
    return kExitUsage;
  }
  Logger logger(*format, *level);
  // glibc gives each busy thread its own heap arena (up to 8 per core), and
  // each keeps freed pages of its own: with the HTTP workers and gRPC's
  // threads that is megabytes of RSS beyond the live data. Two arenas keep
  // memory close to what the index cache bounds (bench memory), with no
  // measurable cost at the faces' request rates.
  mallopt(M_ARENA_MAX, 2);
  // And a fixed mmap threshold: buffers of 256 KiB and more (bodies,
  // documents, their parse trees) get mappings of their own, unmapped when
  // freed. glibc's default threshold rises with each large free, after
  // which such buffers land in the arenas and their pages stay: under
  // hostile 4 MB documents that is what took the peak past 64 MB
  // (integration/memory_attack_test.cc).
  mallopt(M_MMAP_THRESHOLD, 256 << 10);

  // Signals are taken by sigtimedwait() below; every thread started from here
  // on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Metrics metrics;
  SetLimitReporter(
      [&metrics](absl::string_view limit) { metrics.CountLimit(limit); });
  absl::StatusOr<std::unique_ptr<HttpClient>> http_client = NewCurlHttpClient();
  if (!http_client.ok()) {
    logger.Error("cannot start",
                 {{"error", std::string(http_client.status().message())}});
    return kExitFailure;
  }
  std::shared_ptr<HttpClient> http = *std::move(http_client);
  absl::StatusOr<std::shared_ptr<const Engine>> engine =
      LoadEngine(flags, http, &metrics, &logger);
  if (!engine.ok()) {
    err << "nodefit serve: " << engine.status().message() << "\n";
    logger.Error("cannot start",
                 {{"error", std::string(engine.status().message())}});
    return kExitUsage;
  }
  EngineSlot engines;
  engines.Set(*engine);
  const Config& config = (*engine)->config;
  WarnIfSecretsExposed(config, logger);

  // Pulls containerd makes without asking nodefit (config.bypass; changes
  // take effect on restart).
  std::unique_ptr<BypassDetector> bypass;
  if (config.bypass.watch) {
    BypassOptions bypass_options;
    bypass_options.namespaces = config.bypass.namespaces;
    bypass_options.window = absl::Seconds(config.bypass.window_s);
    bypass = std::make_unique<BypassDetector>(bypass_options, Clock::Real(),
                                              &metrics, &logger,
                                              CachedBypassCause(config));
  }

  HttpFaceOptions http_options;
  http_options.listen = config.http.listen;
  http_options.health_listen = config.http.health_listen;
  if (config.http.insecure_plain_http) {
    logger.Warning(
        "http.insecure_plain_http: the resolver face speaks plain HTTP, and "
        "any local user can ask it (and stand in for it); for tests only",
        {{"address", config.http.listen}});
  } else {
    const PkiPaths pki{config.http.pki_dir};
    http_options.tls =
        TlsServerOptions{pki.server_cert(), pki.server_key(), pki.ca_cert()};
  }
  http_options.limits = ServerBounds(config.limits, config.limits.http_workers,
                                     config.limits.http_max_connections);
  http_options.no_match_bytes =
      static_cast<size_t>(config.limits.no_match_bytes);
  http_options.bypass = bypass.get();
  absl::StatusOr<std::unique_ptr<HttpFace>> http_face =
      HttpFace::Start(http_options, &engines, &metrics, &logger);
  if (!http_face.ok()) {
    logger.Error("cannot start",
                 {{"error", std::string(http_face.status().message())}});
    err << "nodefit serve: " << http_face.status().message() << "\n";
    return kExitFailure;
  }
  logger.Info("http face listening",
              {{"address", config.http.listen},
               {"port", (*http_face)->port()},
               {"tls", !config.http.insecure_plain_http},
               {"health", config.http.health_listen},
               {"health_port", (*http_face)->health_port()}});
  CriFaceOptions cri_options;
  cri_options.listen = config.cri.listen;
  cri_options.containerd = config.cri.containerd;
  cri_options.bypass = bypass.get();
  cri_options.socket_group = config.cri.socket_group;
  cri_options.pull_workers = config.limits.cri_pull_workers;
  cri_options.pull_queue = config.limits.cri_pull_queue;
  cri_options.max_message_bytes = config.limits.cri_max_message_bytes;
  absl::StatusOr<std::unique_ptr<CriFace>> cri_face =
      CriFace::Start(cri_options, &engines, &metrics, &logger);
  if (!cri_face.ok()) {
    logger.Error("cannot start",
                 {{"error", std::string(cri_face.status().message())}});
    err << "nodefit serve: " << cri_face.status().message() << "\n";
    return kExitFailure;
  }
  logger.Info("cri face listening", {{"socket", config.cri.listen},
                                     {"containerd", config.cri.containerd}});
  std::unique_ptr<ProxyFace> proxy_face;
  if (!config.proxy.listen.empty()) {
    ProxyFaceOptions proxy_options;
    proxy_options.listen = config.proxy.listen;
    if (!config.proxy.tls_cert.empty()) {
      proxy_options.tls =
          TlsServerOptions{config.proxy.tls_cert, config.proxy.tls_key, ""};
    }
    proxy_options.limits = ServerBounds(config.limits, config.proxy.workers,
                                        config.proxy.max_connections);
    proxy_options.blobs.buffer_bytes =
        static_cast<size_t>(config.proxy.stream_buffer_bytes);
    proxy_options.blobs.timeout = absl::Seconds(config.proxy.blob_timeout_s);
    proxy_options.token_ttl = absl::Seconds(config.proxy.token_ttl_s);
    proxy_options.no_match_bytes =
        static_cast<size_t>(config.limits.no_match_bytes);
    absl::StatusOr<std::unique_ptr<ProxyFace>> started =
        ProxyFace::Start(proxy_options, &engines, &metrics, &logger);
    if (!started.ok()) {
      logger.Error("cannot start",
                   {{"error", std::string(started.status().message())}});
      err << "nodefit serve: proxy: " << started.status().message() << "\n";
      return kExitFailure;
    }
    proxy_face = *std::move(started);
    logger.Info("proxy face listening",
                {{"address", config.proxy.listen},
                 {"port", proxy_face->port()},
                 {"tls", proxy_options.tls.has_value()},
                 {"mode", config.proxy.profiles.empty() ? "local" : "central"},
                 {"logins", config.proxy.profiles.size()},
                 {"default_registry", config.proxy.default_registry}});
  }
  std::unique_ptr<ImageEventWatcher> watcher;
  if (bypass != nullptr) {
    ImageEventWatcherOptions watch;
    watch.address = config.cri.containerd;
    watch.namespaces = config.bypass.namespaces;
    absl::StatusOr<std::unique_ptr<ImageEventWatcher>> started =
        ImageEventWatcher::Start(
            watch,
            [&bypass](const ImageEvent& event) {
              (void)bypass->OnImageEvent(event);
            },
            [&logger, watch](bool connected) {
              if (connected) {
                logger.Info("watching containerd's image events",
                            {{"containerd", watch.address},
                             {"namespaces", watch.namespaces}});
              } else {
                logger.Info("containerd's event stream ended; reconnecting",
                            {{"containerd", watch.address}});
              }
            });
    if (!started.ok()) {
      logger.Error("cannot watch containerd's image events",
                   {{"error", std::string(started.status().message())}});
    } else {
      watcher = *std::move(started);
    }
  }
  (*http_face)->set_ready(true);
  // systemd (Type=notify) starts containerd after this; without
  // NOTIFY_SOCKET it is a no-op.
  sd_notify(0, "READY=1\nSTATUS=serving");
  logger.Info("ready");

  // Leaves within 30 days of their end are renewed at start and then
  // hourly: a node's PKI outlives its one-year certificates unattended.
  absl::Time next_renewal_check = absl::InfinitePast();
  auto renew_certificates = [&] {
    const HttpConfig& http_config = engines.Get()->config.http;
    if (http_config.insecure_plain_http || absl::Now() < next_renewal_check) {
      return;
    }
    next_renewal_check = absl::Now() + absl::Hours(1);
    PkiReport report;
    absl::StatusOr<bool> renewed =
        RenewExpiringPki(PkiPaths{http_config.pki_dir}, absl::Now(),
                         absl::Hours(24 * 30), &report);
    if (!renewed.ok()) {
      logger.Error("cannot renew the node PKI's certificates",
                   {{"error", std::string(renewed.status().message())}});
    } else if (*renewed) {
      absl::Status reloaded = (*http_face)->ReloadTls();
      logger.Warning(
          "renewed the server and client certificates",
          {{"pki_dir", http_config.pki_dir},
           {"reload", reloaded.ok() ? std::string("ok")
                                    : std::string(reloaded.message())}});
    }
  };
  while (true) {
    renew_certificates();
    // Between signals, every 5 s: hand the pages freed by cache evictions
    // and finished calls back to the kernel. glibc keeps them otherwise, and
    // RSS would stay at its high-water mark instead of following the
    // (bounded) live data.
    const timespec trim_interval = {5, 0};
    const int signal = sigtimedwait(&signals, nullptr, &trim_interval);
    if (signal < 0) {
      if (errno == EAGAIN) malloc_trim(0);
      continue;
    }
    if (signal == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      absl::StatusOr<std::shared_ptr<const Engine>> next =
          LoadEngine(flags, http, &metrics, &logger);
      if (!next.ok()) {
        logger.Error("reload failed; the previous config stays in force",
                     {{"error", std::string(next.status().message())}});
        sd_notify(0, "READY=1\nSTATUS=serving; last reload failed");
        continue;
      }
      if ((*next)->config.http.listen != engines.Get()->config.http.listen ||
          (*next)->config.cri.listen != engines.Get()->config.cri.listen ||
          (*next)->config.proxy.listen != engines.Get()->config.proxy.listen) {
        logger.Warning("listen addresses changed; they take effect on restart");
      }
      engines.Set(*std::move(next));
      // Certificates rotated with `nodefit pki rotate` take effect here.
      if (absl::Status tls = (*http_face)->ReloadTls(); !tls.ok()) {
        logger.Error("TLS files did not load; the previous ones stay",
                     {{"error", std::string(tls.message())}});
      }
      if (proxy_face != nullptr) {
        if (absl::Status tls = proxy_face->ReloadTls(); !tls.ok()) {
          logger.Error(
              "the proxy's TLS files did not load; the previous "
              "ones stay",
              {{"error", std::string(tls.message())}});
        }
      }
      sd_notify(0, "READY=1\nSTATUS=serving");
      logger.Info("config reloaded");
      continue;
    }
    sd_notify(0, "STOPPING=1");
    logger.Info("shutting down", {{"signal", signal}});
    break;
  }
  // Stop accepting and let calls in flight finish, within a bound.
  std::atomic<bool> stopped{false};
  std::thread watchdog([&stopped, &logger] {
    const absl::Time deadline = absl::Now() + kShutdownGrace;
    while (!stopped.load() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (!stopped.load()) {
      logger.Error("calls in flight did not finish in time; exiting");
      _exit(0);
    }
  });
  (*http_face)->set_ready(false);
  watcher.reset();
  (*cri_face)->Shutdown(kShutdownGrace - absl::Seconds(2));
  if (proxy_face != nullptr) proxy_face->Stop();
  (*http_face)->Stop();
  stopped = true;
  watchdog.join();
  logger.Info("stopped");
  return kExitOk;
}

}  // namespace

Command ServeCommand() {
  return Command{
      "serve",
      "run the daemon: the registry-host, CRI and proxy faces",
      "usage: nodefit serve [--config FILE] [--log-format json|text] "
      "[--log-level L]\n\n"
      "Runs nodefit for containerd: a registry host for containerd's "
      "hosts.toml on\nhttp.listen (default 127.0.0.1:505, mutual TLS with "
      "the node PKI in\nhttp.pki_dir), /healthz, /readyz and /metrics on "
      "http.health_listen\n(default 127.0.0.1:5055, plain), and a CRI image "
      "service on cri.listen\n(default unix:///run/nodefit/cri.sock) for "
      "kubelet and crictl, forwarding to\ncri.containerd, and, when "
      "proxy.listen is set, the proxy face, a pull-through\nregistry for "
      "any client (docs/proxy.md). Detection runs at "
      "start-up and on SIGHUP, which also\nreloads the config (a bad one is "
      "logged and the old one stays) and the\nserver certificate; SIGTERM "
      "stops accepting, finishes calls in flight,\nremoves the socket and "
      "exits 0.\n\n"
      "  --config FILE       config file (default /etc/nodefit/config.json "
      "if present)\n"
      "  --log-format F      json (default) or text, on stderr\n"
      "  --log-level L       debug, info (default), warning or error\n",
      {{"config"}, {"log-format"}, {"log-level"}},
      &RunServe};
}

}  // namespace nodefit
