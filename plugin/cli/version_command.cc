// `nodefit version`: the release (CMake's project(VERSION), the one place
// it is set) and the git commit the binary was built from.
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "resolver/select/platform.h"

#ifndef NODEFIT_VERSION
#error "NODEFIT_VERSION comes from CMake's project(VERSION)"
#endif
#ifndef NODEFIT_GIT_COMMIT
#define NODEFIT_GIT_COMMIT "unknown"
#endif

namespace nodefit {
namespace {

int RunVersion(const ParsedFlags&, std::ostream& out, std::ostream&) {
  out << "nodefit " << NODEFIT_VERSION << " (commit " << NODEFIT_GIT_COMMIT
      << ", " << HostBuildPlatform().String() << ")\n";
  return kExitOk;
}

}  // namespace

Command VersionCommand() {
  return Command{"version",
                 "print the version and the commit it was built from",
                 "usage: nodefit version\n\n"
                 "Prints the release, the git commit of the source it was "
                 "built from and the\nplatform it was built for, e.g.\n"
                 "  nodefit 0.1.0 (commit 1a2b3c4d5e6f, linux/amd64)\n",
                 {},
                 &RunVersion};
}

}  // namespace nodefit
