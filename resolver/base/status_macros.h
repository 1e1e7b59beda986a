// Early-return helpers for absl::Status and absl::StatusOr.
//
// Abseil 20220623 ships no status macros, so nodefit defines the two it needs:
//
//   RETURN_IF_ERROR(expr);          // returns expr's status if it is not OK
//   ASSIGN_OR_RETURN(lhs, expr);    // lhs = *expr, or returns expr.status()
//
// `lhs` may declare a variable (`auto x`, `const Foo& y`).
#ifndef NODEFIT_RESOLVER_BASE_STATUS_MACROS_H_
#define NODEFIT_RESOLVER_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NODEFIT_CONCAT_INNER_(a, b) a##b
#define NODEFIT_CONCAT_(a, b) NODEFIT_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status nodefit_status_ = (expr);           \
    if (!nodefit_status_.ok()) return nodefit_status_; \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr)                                            \
  NODEFIT_ASSIGN_OR_RETURN_IMPL_(NODEFIT_CONCAT_(nodefit_statusor_, __LINE__), \
                                 lhs, expr)

// `lhs` may be a declaration, so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NODEFIT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)

#endif  // NODEFIT_RESOLVER_BASE_STATUS_MACROS_H_
