#include "enwanda/io/background_writer.h"

#include <chrono>

namespace enwanda {

BackgroundWriter::BackgroundWriter(CheckpointWriter& writer, bool enabled) : writer_(writer), enabled_(enabled) {
  if (enabled_) worker_ = std::thread([this] { work(); });
}

BackgroundWriter::~BackgroundWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void BackgroundWriter::put(const std::string& name, torch::Tensor t) {
  // A host tensor is cast here, on the owner's thread: a cast on the worker is a parallel torch
  // op, whose second OpenMP team then competes with the owner's for the cores (on 2 cores the
  // prune ran 1.3x slower). The worker is left with the write; a GPU tensor's download stays there.
  if (enabled_ && t.is_cpu()) t = writer_.as_stored(name, t);
  submit([this, name, t = std::move(t)] { writer_.put(name, t); });
}

void BackgroundWriter::copy(const std::string& name) {
  submit([this, name] { writer_.copy(name); });
}

void BackgroundWriter::submit(std::function<void()> task) {
  if (!enabled_) {
    const auto t0 = std::chrono::steady_clock::now();
    task();
    busy_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failure_) return;  // wait() reports it
    queue_.push_back(std::move(task));
  }
  changed_.notify_all();
}

void BackgroundWriter::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return failure_ || (queue_.empty() && !running_task_); });
  if (failure_) std::rethrow_exception(failure_);
}

double BackgroundWriter::busy_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return busy_seconds_;
}

void BackgroundWriter::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    auto task = std::move(queue_.front());
    queue_.pop_front();
    running_task_ = true;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    std::exception_ptr failed;
    try {
      task();
    } catch (...) {
      failed = std::current_exception();
    }
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lock.lock();
    busy_seconds_ += spent;
    running_task_ = false;
    if (failed && !failure_) {
      failure_ = failed;
      queue_.clear();
    }
    changed_.notify_all();
  }
}

}  // namespace enwanda
