// One exchange with a server on loopback, for the fuzzers that send their
// input to a listening face: the bytes go out, the write side is closed, and
// everything the server writes until it closes comes back. No answer or
// close within 15 s aborts (a finding: the server hung).
#ifndef NODEFIT_FUZZ_LOOPBACK_H_
#define NODEFIT_FUZZ_LOOPBACK_H_

#include <string>

namespace nodefit::fuzz {

std::string Exchange(int port, const std::string& bytes);

}  // namespace nodefit::fuzz

#endif  // NODEFIT_FUZZ_LOOPBACK_H_
