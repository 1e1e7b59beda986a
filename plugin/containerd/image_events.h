// containerd's image events (its Events API, Subscribe), as nodefit reads
// them: a watcher with one thread and one stream that reconnects with
// backoff whenever the stream ends (containerd restarted, socket not there
// yet) and never touches a pull.
#ifndef NODEFIT_PLUGIN_CONTAINERD_IMAGE_EVENTS_H_
#define NODEFIT_PLUGIN_CONTAINERD_IMAGE_EVENTS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodefit {

struct ImageEvent {
  std::string ns;
  std::string topic;  // "/images/create" or "/images/update"
  std::string name;   // the image record's name
  std::map<std::string, std::string> labels;
};

struct ImageEventWatcherOptions {
  std::string address;                  // containerd's socket, unix://...
  std::vector<std::string> namespaces;  // only these
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
};

class ImageEventWatcher {
 public:
  // `on_event` runs on the watcher's thread, one event at a time;
  // `on_connected(true|false)` when the stream starts or ends.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ImageEventWatcher>> Start(
      const ImageEventWatcherOptions& options,
      std::function<void(const ImageEvent&)> on_event,
      std::function<void(bool connected)> on_connected = nullptr);
  // Stops the stream and joins the thread.
  virtual ~ImageEventWatcher() = default;

 protected:
  ImageEventWatcher() = default;
};

// containerd filter expressions for image creates and updates in `ns`.
std::vector<std::string> ImageEventFilters(
    const std::vector<std::string>& namespaces);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CONTAINERD_IMAGE_EVENTS_H_
