// A call's deadline (gRPC gives wall-clock time) on the steady clock the scheduler checks;
// "no deadline" (far future) stays the steady clock's maximum.
#pragma once

#include <chrono>

namespace cachewire::server::worker {

inline std::chrono::steady_clock::time_point SteadyDeadline(
    std::chrono::system_clock::time_point deadline) {
  const auto now_wall = std::chrono::system_clock::now();
  const auto now = std::chrono::steady_clock::now();
  if (deadline >= now_wall + std::chrono::hours(24 * 365)) {
    return std::chrono::steady_clock::time_point::max();
  }
  return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline - now_wall);
}

}  // namespace cachewire::server::worker
