#include "train/progress.h"

#include <unistd.h>

#include <cmath>

namespace deepreduce::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  return buf;
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

void ProgressPrinter::on_epoch(const EpochRecord& e, int64_t epochs) {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = start_epoch_ < 0 ? 1 : e.epoch - start_epoch_ + 1;
  const double eta = done > 0 ? elapsed / done * (epochs - e.epoch) : NAN;
  // Test figures where the epoch measured them, else validation's.
  char measured[128] = "";
  if (e.top1)
    std::snprintf(measured, sizeof measured, "test loss %.4f  top-1 %.2f%%  top-5 %.2f%%", e.loss.value_or(0), *e.top1,
                  e.top5.value_or(0));
  else if (e.val_top1)
    std::snprintf(measured, sizeof measured, "val loss %.4f  val top-1 %.2f%%", e.val_loss.value_or(0), *e.val_top1);
  else
    std::snprintf(measured, sizeof measured, "not evaluated (train.eval_every)");
  std::fprintf(out_, "%sepoch %lld/%lld  lr %.4g  train loss %.4f  train acc %.1f%%  %s  %.0f img/s  %.1fs  ETA %s\n",
               tty_ ? "\r\033[K" : "", static_cast<long long>(e.epoch), static_cast<long long>(epochs), e.lr,
               e.train_loss, e.train_top1, measured, e.images_per_second, e.seconds, format_duration(eta).c_str());
  std::fflush(out_);
}

TrainHooks ProgressPrinter::hooks(int64_t epochs) {
  TrainHooks h;
  h.on_batch = [this](const BatchProgress& p) { on_batch(p); };
  h.on_epoch = [this, epochs](const EpochRecord& e) { on_epoch(e, epochs); };
  return h;
}

}  // namespace deepreduce::train
