#include "train/loader.h"

#include <numeric>
#include <random>

namespace deepreduce::train {

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> data, LoaderOptions options)
    : data_(std::move(data)), options_(std::move(options)) {
  TORCH_CHECK(options_.batch_size > 0, "batch size must be positive");
  const int64_t n = data_->size();
  batches_ = (n + options_.batch_size - 1) / options_.batch_size;
  // One stream per (seed, epoch): the permutation first, then per-image draws.
  sync_rng_.seed(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(options_.epoch) + 1);
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  if (options_.shuffle) std::shuffle(order_.begin(), order_.end(), sync_rng_);
  lut_big_.resize(data_->channels);
  for (int64_t c = 0; c < data_->channels; ++c) {
    const float mean = options_.norm.mean.empty() ? 0.0f : options_.norm.mean[c % options_.norm.mean.size()];
    const float sd = options_.norm.std.empty() ? 1.0f : options_.norm.std[c % options_.norm.std.size()];
    for (int v = 0; v < 256; ++v) lut_big_[c][v] = (v / 255.0f - mean) / sd;
  }
  if (options_.prefetch > 0) worker_ = std::thread([this] { produce(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Batch BatchLoader::make_batch(int64_t index, std::mt19937_64& rng) {
  const Dataset& d = *data_;
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, d.size());
  const int64_t b = end - begin, C = d.channels, H = d.height, W = d.width;
  const auto pinned = torch::TensorOptions().pinned_memory(options_.pin_memory);
  torch::Tensor images = torch::empty({b, C, H, W}, pinned.dtype(torch::kFloat32));
  torch::Tensor labels = torch::empty({b}, pinned.dtype(torch::kInt64));
  float* out = images.data_ptr<float>();
  int64_t* lab = labels.data_ptr<int64_t>();
  constexpr int64_t kPad = 4;
  std::uniform_int_distribution<int64_t> shift(-kPad, kPad);
  std::bernoulli_distribution coin(0.5);
  for (int64_t k = 0; k < b; ++k) {
    const int64_t i = order_[begin + k];
    lab[k] = d.labels[i];
    int64_t dy = 0, dx = 0;
    bool flip = false;
    if (options_.augment) {
      dy = shift(rng);
      dx = shift(rng);
      flip = options_.flip && coin(rng);
    }
    const uint8_t* src = d.images.data() + i * C * H * W;
    float* dst = out + k * C * H * W;
    for (int64_t c = 0; c < C; ++c) {
      const auto& lut = lut_big_[c];
      const float zero = lut[0];
      for (int64_t y = 0; y < H; ++y) {
        const int64_t sy = y + dy;
        float* row = dst + (c * H + y) * W;
        if (sy < 0 || sy >= H) {
          std::fill(row, row + W, zero);
          continue;
        }
        const uint8_t* srow = src + (c * H + sy) * W;
        for (int64_t x = 0; x < W; ++x) {
          const int64_t sx = (flip ? W - 1 - x : x) + dx;
          row[x] = (sx < 0 || sx >= W) ? zero : lut[srow[sx]];
        }
      }
    }
  }
  return {images, labels};
}

void BatchLoader::produce() {
  for (int64_t index = 0; index < batches_; ++index) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || static_cast<int>(queue_.size()) < options_.prefetch; });
      if (stop_) return;
    }
    Batch batch = make_batch(index, sync_rng_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(batch));
    }
    cv_.notify_all();
  }
}

std::optional<Batch> BatchLoader::next() {
  if (consumed_ >= batches_) return std::nullopt;
  if (options_.prefetch <= 0) return make_batch(consumed_++, sync_rng_);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty(); });
  Batch batch = std::move(queue_.front());
  queue_.pop_front();
  ++consumed_;
  lock.unlock();
  cv_.notify_all();
  return batch;
}

}  // namespace deepreduce::train
