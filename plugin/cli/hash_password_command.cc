// `nodefit hash-password`: the password_hash of a proxy.profiles login.
#include <iostream>
#include <string>

#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/faces/proxy_auth.h"

namespace nodefit {
namespace {

int RunHashPassword(const ParsedFlags&, std::ostream& out, std::ostream& err) {
  // From stdin, never a flag: command lines are visible to every user.
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    err << "nodefit hash-password: give the password on stdin (one line)\n";
    return kExitUsage;
  }
  if (password.size() > 72) {
    // bcrypt reads 72 bytes; a longer password would match its prefix.
    err << "nodefit hash-password: at most 72 bytes (bcrypt's limit)\n";
    return kExitUsage;
  }
  absl::StatusOr<std::string> hash = HashPassword(password);
  if (!hash.ok()) {
    err << "nodefit hash-password: " << hash.status().message() << "\n";
    return kExitFailure;
  }
  out << *hash << "\n";
  return kExitOk;
}

}  // namespace

Command HashPasswordCommand() {
  return Command{
      "hash-password",
      "hash a proxy login's password (bcrypt) for proxy.profiles",
      "usage: nodefit hash-password < password-file\n\n"
      "Reads one line from stdin and prints its bcrypt hash (\"$2b$12$…\"), "
      "for the\npassword_hash of a proxy.profiles entry. Hashes made by "
      "`htpasswd -nB`\n(\"$2y$\") and `mkpasswd` (yescrypt \"$y$\", "
      "SHA-512 \"$6$\") work as well.\n",
      {},
      &RunHashPassword};
}

}  // namespace nodefit
