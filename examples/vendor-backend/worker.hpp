// worker.hpp — the vendor backend's device model: one worker thread per
// instance running queued tasks in FIFO order. Every stream of the instance
// feeds this one queue, so the order of work on any stream (and across
// streams) is the order of submission. A task's failure is kept and reported
// by the next synchronize. Not here: the ops themselves (matmul.cpp).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "plinth/plugin.h"

namespace vendor {

class worker {
 public:
  // A task returns PLINTH_OK or a status with a message in *error.
  using task = std::function<plinth_status(std::string* error)>;

  worker();
  ~worker();  // runs what is queued, then joins the thread
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  // Queue a task; returns its ticket (1, 2, ...).
  uint64_t submit(task t);
  // The ticket of the last task submitted so far (0 when none).
  uint64_t last_ticket();
  // Block until every task up to `ticket` has run. Returns the first failure
  // since the last wait that returned one (and clears it), else PLINTH_OK.
  plinth_status wait(uint64_t ticket, std::string* error);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<task> queue_;
  uint64_t submitted_ = 0, done_ = 0;
  plinth_status failed_ = PLINTH_OK;
  std::string failure_;
  bool stop_ = false;
  std::thread thread_;  // last: started after the fields above exist
};

}  // namespace vendor
