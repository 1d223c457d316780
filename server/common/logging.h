// Structured logs of the daemons through spdlog: one line per event with key/value fields,
// either as text (`2024-05-01 12:00:00.123 info rpc method=Generate code=OK ms=12.5`) or, with
// --log-json, as one JSON object per line on stderr
// (`{"ts":"...","level":"info","event":"rpc","method":"Generate","code":"OK","ms":12.5}`),
// which log collectors ingest without parsing rules.
//
//   SetupLogging({.json = true, .level = "info"});
//   LogEvent(spdlog::level::info, "session_open", {{"session", id}, {"n_ctx", 2048}});
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "absl/status/status.h"

namespace cachewire::server {

struct LogParams {
  bool json = false;
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
};

// Installs the default logger (stderr). InvalidArgument naming log level when it is unknown.
absl::Status SetupLogging(const LogParams& params);

// One field of an event: text, integer, floating point or boolean.
struct LogField {
  using Value = std::variant<std::string, int64_t, double, bool>;
  LogField(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  LogField(std::string_view k, int64_t v) : key(k), value(v) {}
  LogField(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  LogField(std::string_view k, double v) : key(k), value(v) {}
  LogField(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  Value value;
};

// Writes one event with its fields at `level` through the default logger.
void LogEvent(spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields = {});

}  // namespace cachewire::server
