// What the fuzzers share: a check of a promised property. A broken one is
// a finding like a crash: abort() makes libFuzzer save the input and stop.
#ifndef NODEFIT_FUZZ_FUZZ_CHECK_H_
#define NODEFIT_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define NODEFIT_FUZZ_CHECK(cond)                                            \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                  \
      std::abort();                                                         \
    }                                                                       \
  } while (false)

#endif  // NODEFIT_FUZZ_FUZZ_CHECK_H_
