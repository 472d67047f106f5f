// BackgroundWriter: runs a CheckpointWriter's puts and copies on one worker thread, so layer
// i-1 is written (from a GPU, cast and copied to the host) while layer i computes. The owner calls wait()
// before queueing the next layer, which keeps at most one layer in flight. The first failure
// (disk full, file too large) is kept, later tasks are skipped, and wait() rethrows it on the
// owner's thread with its type, so exit codes stay as they are. Disabled, tasks run at once.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <torch/torch.h>

#include "enwanda/io/checkpoint_writer.h"

namespace enwanda {

class BackgroundWriter {
 public:
  BackgroundWriter(CheckpointWriter& writer, bool enabled);
  ~BackgroundWriter();  // finishes the task in progress, drops the rest
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  void put(const std::string& name, torch::Tensor t);  // t must not change after this call
  void copy(const std::string& name);
  // Blocks until every task queued so far is done; rethrows the worker's first failure.
  void wait();
  // Seconds the worker spent writing (the time overlap hides).
  double busy_seconds() const;

 private:
  void submit(std::function<void()> task);
  void work();

  CheckpointWriter& writer_;
  bool enabled_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> queue_;
  bool running_task_ = false;
  bool stopping_ = false;
  std::exception_ptr failure_;
  double busy_seconds_ = 0;
  std::thread worker_;
};

}  // namespace enwanda
