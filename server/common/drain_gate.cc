// DrainGate (see drain_gate.h).
#include "server/common/drain_gate.h"

namespace cachewire::server {

bool DrainGate::TryEnter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return false;
  ++in_flight_;
  return true;
}

void DrainGate::Leave() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--in_flight_ == 0) idle_.notify_all();
}

void DrainGate::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

bool DrainGate::closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_;
}

int64_t DrainGate::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_flight_;
}

bool DrainGate::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
}

}  // namespace cachewire::server
