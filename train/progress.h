// Progress of a training run for a person: on a terminal, a bar redrawn in
// place (epoch, batch, loss, accuracy, images/s, ETA); otherwise one line per
// epoch, so logs stay readable.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include "train/trainer.h"

namespace deepreduce::train {

class ProgressPrinter {
 public:
  // Writes to `out` (stderr by default); `tty` -1 means "ask isatty".
  explicit ProgressPrinter(std::FILE* out = stderr, int tty = -1);
  void on_batch(const BatchProgress& p);
  void on_epoch(const spec::EpochRecord& e, int64_t epochs);
  // Hooks that call this printer; `epochs` is the run's epoch budget.
  TrainHooks hooks(int64_t epochs);

 private:
  std::FILE* out_;
  bool tty_;
  std::chrono::steady_clock::time_point last_draw_{};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int64_t batches_done_ = 0;
  int64_t start_epoch_ = -1;
};

// "1:02:03" / "4:05".
std::string format_duration(double seconds);

}  // namespace deepreduce::train
