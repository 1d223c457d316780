// CachePool and CacheReservation (cache_pool.h): a mutex-guarded byte counter.
#include "engine/cache/cache_pool.h"

#include <utility>

#include "absl/status/status.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::cache {

CacheReservation::CacheReservation(CacheReservation&& other) noexcept
    : pool_(std::move(other.pool_)), bytes_(std::exchange(other.bytes_, 0)) {}

CacheReservation& CacheReservation::operator=(CacheReservation&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::move(other.pool_);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

CacheReservation::~CacheReservation() { Release(); }

void CacheReservation::Release() {
  if (pool_ != nullptr) pool_->Release(bytes_);
  pool_.reset();
  bytes_ = 0;
}

std::shared_ptr<CachePool> CachePool::Create(size_t budget_bytes) {
  return std::shared_ptr<CachePool>(new CachePool(budget_bytes));
}

absl::StatusOr<CacheReservation> CachePool::Reserve(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (bytes > budget_bytes_ - reserved_bytes_) {
      return absl::ResourceExhaustedError(
          gguf::Cat("cache pool: ", bytes, " bytes requested, ", reserved_bytes_, " of ",
                    budget_bytes_, " already reserved by ", n_reservations_, " sessions"));
    }
    reserved_bytes_ += bytes;
    ++n_reservations_;
  }
  return CacheReservation(shared_from_this(), bytes);
}

size_t CachePool::reserved_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reserved_bytes_;
}

int64_t CachePool::n_reservations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return n_reservations_;
}

void CachePool::Release(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  reserved_bytes_ -= bytes;
  --n_reservations_;
}

}  // namespace cachewire::cache
