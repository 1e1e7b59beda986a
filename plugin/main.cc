// The nodefit binary: everything lives in libraries; main only forwards
// the arguments.
#include <iostream>
#include <string>
#include <vector>

#include "plugin/cli/cli.h"

int main(int argc, char** argv) {
  return nodefit::RunCli(std::vector<std::string>(argv + 1, argv + argc),
                         std::cout, std::cerr);
}
