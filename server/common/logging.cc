// Structured event logs over spdlog (see logging.h). The JSON form is built with nlohmann::json
// so that any field text is escaped correctly; spdlog only adds nothing (pattern "%v").
#include "server/common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace cachewire::server {
namespace {

std::atomic<bool> g_json{false};

std::string Timestamp() {
  using Clock = std::chrono::system_clock;
  const Clock::time_point now = Clock::now();
  const std::time_t t = Clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

std::string TextValue(const LogField::Value& value) {
  if (const auto* s = std::get_if<std::string>(&value)) {
    const bool plain = !s->empty() && s->find_first_of(" \t\n\"=") == std::string::npos;
    return plain ? *s : nlohmann::json(*s).dump();
  }
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.6g", *d);
    return buf;
  }
  return std::get<bool>(value) ? "true" : "false";
}

}  // namespace

absl::Status SetupLogging(const LogParams& params) {
  const spdlog::level::level_enum level = spdlog::level::from_str(params.level);
  if (level == spdlog::level::off && params.level != "off") {
    return absl::InvalidArgumentError("log level \"" + params.level +
                                      "\": expected trace, debug, info, warn, error or off");
  }
  spdlog::drop("cachewire");  // SetupLogging may run again (tests)
  auto logger = spdlog::stderr_logger_mt("cachewire");
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
  g_json = params.json;
  // The timestamp and level are part of the event text (JSON needs them inside the object).
  spdlog::set_pattern("%v");
  spdlog::flush_on(spdlog::level::info);
  return absl::OkStatus();
}

void LogEvent(spdlog::level::level_enum level, std::string_view event,
              std::initializer_list<LogField> fields) {
  if (!spdlog::should_log(level)) return;
  const auto level_sv = spdlog::level::to_string_view(level);
  const std::string_view level_name(level_sv.data(), level_sv.size());
  if (g_json) {
    nlohmann::json j;
    j["ts"] = Timestamp();
    j["level"] = std::string(level_name.data(), level_name.size());
    j["event"] = std::string(event);
    for (const LogField& f : fields) {
      std::visit([&](const auto& v) { j[std::string(f.key)] = v; }, f.value);
    }
    spdlog::log(level, "{}", j.dump());
    return;
  }
  std::string line = Timestamp();
  line += ' ';
  line.append(level_name.data(), level_name.size());
  line += ' ';
  line += event;
  for (const LogField& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += TextValue(f.value);
  }
  spdlog::log(level, "{}", line);
}

}  // namespace cachewire::server
