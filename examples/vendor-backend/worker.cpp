// worker.cpp — the FIFO worker thread behind the vendor backend's streams.
#include "worker.hpp"

namespace vendor {

worker::worker() : thread_([this] { run(); }) {}

worker::~worker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t worker::submit(task t) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(t));
  cv_.notify_all();
  return ++submitted_;
}

uint64_t worker::last_ticket() {
  std::lock_guard<std::mutex> lock(mu_);
  return submitted_;
}

plinth_status worker::wait(uint64_t ticket, std::string* error) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return done_ >= ticket; });
  const plinth_status s = failed_;
  if (s != PLINTH_OK && error) *error = failure_;
  failed_ = PLINTH_OK;
  failure_.clear();
  return s;
}

void worker::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    task t = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::string error;
    plinth_status s;
    try {
      s = t(&error);
    } catch (const std::exception& e) {
      s = PLINTH_ERR_INTERNAL;
      error = std::string("unexpected exception: ") + e.what();
    } catch (...) {
      s = PLINTH_ERR_INTERNAL;
      error = "unexpected non-standard exception";
    }
    lock.lock();
    if (s != PLINTH_OK && failed_ == PLINTH_OK) {
      failed_ = s;
      failure_ = std::move(error);
    }
    ++done_;
    cv_.notify_all();
  }
}

}  // namespace vendor
