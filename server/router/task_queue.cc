// The router's bounded task pool (see task_queue.h).
#include "server/router/task_queue.h"

#include <string>

namespace cachewire::router {

TaskQueue::TaskQueue(int n_threads, size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < n_threads; ++i) threads_.emplace_back([this] { Loop(); });
}

TaskQueue::~TaskQueue() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (std::thread& t : threads_) t.join();
}

absl::Status TaskQueue::Submit(std::function<void()> task, const char* what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (tasks_.size() >= max_queued_) {
      return absl::ResourceExhaustedError(std::string(what) + ": the router's queue of " +
                                          std::to_string(max_queued_) + " tasks is full");
    }
    tasks_.push_back(std::move(task));
  }
  ready_.notify_one();
  return absl::OkStatus();
}

void TaskQueue::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ready_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) return;  // stopping, nothing left
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace cachewire::router
