// Early-return helpers for absl::Status / absl::StatusOr, shared by every engine module.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CW_CONCAT_INNER_(a, b) a##b
#define CW_CONCAT_(a, b) CW_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define CW_RETURN_IF_ERROR(expr)                         \
  do {                                                   \
    if (::absl::Status cw_status_ = (expr); !cw_status_.ok()) return cw_status_; \
  } while (0)

// `CW_ASSIGN_OR_RETURN(lhs, expr)`: evaluates a StatusOr, returns its status on error, else
// assigns (or declares, with `auto x`) the value.
#define CW_ASSIGN_OR_RETURN(lhs, expr) \
  CW_ASSIGN_OR_RETURN_IMPL_(CW_CONCAT_(cw_statusor_, __LINE__), lhs, expr)
#define CW_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)
