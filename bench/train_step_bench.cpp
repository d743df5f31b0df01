// Throughput of the pieces of a training run, printed as one line of JSON:
//   train_step: forward + backward + SGD step of a spec's network on a fixed batch
//   loader:     batches built with the CIFAR augmentation (pad 4, crop, flip)
// bench/train_throughput.py runs this beside PyTorch (Python) on the same model.
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/process.h"
#include "spec/counts.h"
#include "nn/model.h"
#include "spec/relu_plan.h"
#include "train/amp.h"
#include "train/loader.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string arch = "resnet18";
  double alpha = 0.25;
  int64_t batch = 128, steps = 20, warmup = 3, threads = 2, input = 32, channels = 3;
  bool channels_last = false, set_to_none = true, serve = false, tune_malloc = true;
  std::string device_name = "cpu", precision = "fp32", cull;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--arch") arch = v;
    else if (k == "--alpha") alpha = std::stod(v);
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--threads") threads = std::stoll(v);
    else if (k == "--input") input = std::stoll(v);
    else if (k == "--channels") channels = std::stoll(v);
    else if (k == "--channels-last") channels_last = v == "1";
    else if (k == "--set-to-none") set_to_none = v == "1";
    else if (k == "--serve") serve = v == "1";
    else if (k == "--tune-malloc") tune_malloc = v == "1";
    else if (k == "--device") device_name = v;
    else if (k == "--precision") precision = v;
    else if (k == "--cull") cull = v;
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  if (tune_malloc) deepreduce::tune_allocator_for_training();
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  deepreduce::spec::ModelSpec spec;
  spec.arch = arch;
  spec.alpha = alpha;
  spec.input_size = input;
  spec.in_channels = channels;
  if (!cull.empty()) {
    std::vector<std::string> stages;
    for (size_t b = 0, e; b < cull.size(); b = e + 1) {
      e = cull.find(',', b);
      if (e == std::string::npos) e = cull.size();
      stages.push_back(cull.substr(b, e - b));
    }
    auto culled = deepreduce::spec::cull(spec, stages);
    if (!culled.ok()) {
      std::cerr << culled.status().message() << "\n";
      return 2;
    }
    spec = *culled;
  }
  const torch::Device device(device_name);
  auto parsed = deepreduce::parse_enum(precision, deepreduce::spec::kPrecisionNames);
  if (!parsed.ok()) {
    std::cerr << "train_step_bench: --precision: " << parsed.status().message() << "\n";
    return 2;
  }
  auto amp = deepreduce::train::autocast_dtype(*parsed, device);
  if (!amp.ok()) {
    std::cerr << amp.status().message() << "\n";
    return 2;
  }
  std::optional<deepreduce::train::GradScaler> scaler;
  if (*amp == torch::kHalf) scaler.emplace();
  if (device.is_cuda()) torch::globalContext().setBenchmarkCuDNN(true);
  auto net = deepreduce::nn::build_model(spec);
  if (!net.ok()) {
    std::cerr << net.status().message() << "\n";
    return 2;
  }
  (*net)->to(device);
  (*net)->train();
  torch::optim::SGD opt((*net)->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(5e-4));
  auto x = torch::randn({batch, channels, input, input}).to(device);
  if (channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    deepreduce::train::set_memory_format(**net, torch::MemoryFormat::ChannelsLast);
  }
  auto y = torch::randint(0, 10, {batch}, torch::kInt64).to(device);
  // The trainer's step: autocast forward, fp32 loss, scaled backward for fp16.
  // One host read per step (the returned loss) on both sides of the comparison.
  auto step = [&] {
    if (set_to_none) {
      for (auto& p : (*net)->parameters()) p.mutable_grad() = torch::Tensor();
    } else {
      opt.zero_grad();
    }
    torch::Tensor logits;
    {
      deepreduce::train::AutocastScope autocast(device, *amp);
      logits = (*net)->forward(x);
    }
    auto loss = torch::nn::functional::cross_entropy(logits.to(torch::kFloat), y);
    if (scaler) {
      scaler->scale(loss).backward();
      if (scaler->unscale_and_update((*net)->parameters())) opt.step();
    } else {
      loss.backward();
      opt.step();
    }
    return loss.item<double>();
  };
  for (int64_t i = 0; i < warmup; ++i) step();
  if (serve) {
    // Interleaved rounds: bench/train_throughput.py sends a line per round and
    // times the other framework in between, so both share the machine's noise.
    std::string line;
    while (std::getline(std::cin, line)) {
      auto t = Clock::now();
      for (int64_t i = 0; i < steps; ++i) step();
      std::cout << batch * steps / std::chrono::duration<double>(Clock::now() - t).count() << std::endl;
    }
    return 0;
  }
  auto t0 = Clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  const double train_secs = std::chrono::duration<double>(Clock::now() - t0).count();

  auto data = std::make_shared<const deepreduce::train::Dataset>(
      deepreduce::train::make_synthetic(10000, 10, channels, input, 1));
  deepreduce::train::LoaderOptions lo;
  lo.batch_size = batch;
  lo.norm = {{0.5f}, {0.25f}};
  int64_t images = 0;
  auto t1 = Clock::now();
  {
    deepreduce::train::BatchLoader loader(data, lo);
    while (auto b = loader.next()) images += b->labels.size(0);
  }
  const double loader_secs = std::chrono::duration<double>(Clock::now() - t1).count();

  nlohmann::json j = {{"arch", arch},
                      {"alpha", alpha},
                      {"batch", batch},
                      {"threads", threads},
                      {"params", deepreduce::spec::count(spec)->params},
                      {"relus", deepreduce::spec::count(spec)->relus},
                      {"device", device.str()},
                      {"precision", precision},
                      {"train_images_per_second", batch * steps / train_secs},
                      {"loader_images_per_second", images / loader_secs}};
  std::cout << j.dump() << "\n";
  return 0;
}
