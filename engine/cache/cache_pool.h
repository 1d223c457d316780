// A worker's memory pool for KV caches: a byte budget that sessions reserve from.
//
// A session's cache reserves the most bytes its policy can ever hold when it is created (a
// bounded cache: budget + slack entries per (layer, kv-head); a full cache: n_ctx entries), so
// running out of memory shows up as ResourceExhausted at session creation, never as an OOM in
// the middle of a forward. The reservation is released when the cache is destroyed.
//
//   auto pool = CachePool::Create(8ull << 30);
//   absl::StatusOr<CacheReservation> r = pool->Reserve(bytes);  // ResourceExhausted when full
//
// Thread-safe: sessions on different threads reserve and release concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"

namespace cachewire::cache {

class CachePool;

// Bytes held in a pool until destruction (move-only). A default-constructed one holds nothing.
class CacheReservation {
 public:
  CacheReservation() = default;
  CacheReservation(CacheReservation&& other) noexcept;
  CacheReservation& operator=(CacheReservation&& other) noexcept;
  CacheReservation(const CacheReservation&) = delete;
  CacheReservation& operator=(const CacheReservation&) = delete;
  ~CacheReservation();

  size_t bytes() const { return bytes_; }

 private:
  friend class CachePool;
  CacheReservation(std::shared_ptr<CachePool> pool, size_t bytes)
      : pool_(std::move(pool)), bytes_(bytes) {}
  void Release();

  std::shared_ptr<CachePool> pool_;  // keeps the pool alive while bytes are held
  size_t bytes_ = 0;
};

class CachePool : public std::enable_shared_from_this<CachePool> {
 public:
  static std::shared_ptr<CachePool> Create(size_t budget_bytes);

  // ResourceExhausted (naming the budget and what is held) when `bytes` would exceed it.
  absl::StatusOr<CacheReservation> Reserve(size_t bytes);

  size_t budget_bytes() const { return budget_bytes_; }
  size_t reserved_bytes() const;
  int64_t n_reservations() const;  // live reservations holding bytes

 private:
  friend class CacheReservation;
  explicit CachePool(size_t budget_bytes) : budget_bytes_(budget_bytes) {}
  void Release(size_t bytes);

  const size_t budget_bytes_;
  mutable std::mutex mu_;
  size_t reserved_bytes_ = 0;   // guarded by mu_
  int64_t n_reservations_ = 0;  // guarded by mu_
};

}  // namespace cachewire::cache
