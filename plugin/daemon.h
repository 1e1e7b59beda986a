// `nodefit serve`: the daemon. Loads the config (a bad one stops it with the
// message), builds the engine, starts the HTTP face and the CRI face,
// then waits for signals on the main thread:
//   SIGHUP          reload the config and re-run detection; a bad new
//                   config is logged and the old one stays in force;
//   SIGTERM/SIGINT  stop accepting, finish calls in flight (bounded),
//                   remove the CRI socket, exit 0.
#ifndef NODEFIT_PLUGIN_DAEMON_H_
#define NODEFIT_PLUGIN_DAEMON_H_

#include <ostream>

#include "plugin/flags.h"

namespace nodefit {

int RunServe(const ParsedFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_DAEMON_H_
