#include "train/progress.h"
#include <fmt/format.h>

#include <unistd.h>

#include <cmath>

namespace deepreduce::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

ProgressPrinter::ProgressPrinter(std::FILE* out, int tty)
    : out_(out), tty_(tty < 0 ? isatty(fileno(out)) != 0 : tty != 0) {}

void ProgressPrinter::on_batch(const BatchProgress& p) {
  if (start_epoch_ < 0) {
    start_epoch_ = p.epoch;
    start_ = std::chrono::steady_clock::now();
  }
  ++batches_done_;
  if (!tty_) return;
  const auto now = std::chrono::steady_clock::now();
  if (p.batch != p.batches && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  // ETA from the batches trained by this process so far.
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const int64_t remaining = (p.epochs - p.epoch) * p.batches + (p.batches - p.batch);
  const double eta = batches_done_ > 0 ? elapsed / batches_done_ * remaining : NAN;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * p.batch / std::max<int64_t>(1, p.batches));
  std::string bar(filled, '#');
  bar += std::string(kWidth - filled, '.');
  std::fprintf(out_, "\r\033[Kepoch %lld/%lld [%s] %lld/%lld  loss %.4f  acc %5.1f%%  %6.0f img/s  ETA %s",
               static_cast<long long>(p.epoch), static_cast<long long>(p.epochs), bar.c_str(),
               static_cast<long long>(p.batch), static_cast<long long>(p.batches), p.loss, p.top1,
               p.images_per_second, format_duration(eta).c_str());
  std::fflush(out_);
}

void ProgressPrinter::on_epoch(const spec::EpochRecord& e, int64_t epochs) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = start_epoch_ < 0 ? 1 : e.epoch - start_epoch_ + 1;
  const double eta = done > 0 ? elapsed / done * (epochs - e.epoch) : NAN;
  // Test figures where the epoch measured them, else validation's.
  const std::string measured =
      e.top1       ? fmt::format("test loss {:.4f}  top-1 {:.2f}%  top-5 {:.2f}%", e.loss.value_or(0), *e.top1,
                                 e.top5.value_or(0))
      : e.val_top1 ? fmt::format("val loss {:.4f}  val top-1 {:.2f}%", e.val_loss.value_or(0), *e.val_top1)
                   : "not evaluated (train.eval_every)";
  fmt::print(out_, "{}epoch {}/{}  lr {:.4g}  train loss {:.4f}  train acc {:.1f}%  {}  {:.0f} img/s  {:.1f}s  ETA {}\n",
             tty_ ? "\r\033[K" : "", e.epoch, epochs, e.lr, e.train_loss, e.train_top1, measured,
             e.images_per_second, e.seconds, format_duration(eta));
  std::fflush(out_);
}

TrainHooks ProgressPrinter::hooks(int64_t epochs) {
  TrainHooks h;
  h.on_batch = [this](const BatchProgress& p) { on_batch(p); };
  h.on_epoch = [this, epochs](const spec::EpochRecord& e) { on_epoch(e, epochs); };
  return h;
}

}  // namespace deepreduce::train
