#include "train/trainer.h"
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <limits>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "nn/masks.h"
#include "spec/counts.h"
#include "nn/model.h"
#include "spec/model_json.h"
#include "common/text.h"
#include "train/amp.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/kd.h"
#include "train/loader.h"

namespace deepreduce::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A dataset split is read once per process and shared by every trial that uses it.
Result<std::shared_ptr<const Dataset>> cached_split(const std::string& name, const std::string& dir,
                                                    Split split) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, std::string, int>, std::shared_ptr<const Dataset>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(name, dir, static_cast<int>(split));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto d = load_dataset(name, dir, split);
  if (!d.ok()) return d.status();
  auto ptr = std::make_shared<const Dataset>(std::move(*d));
  cache[key] = ptr;
  return ptr;
}

// A split's class-balanced subset (data.train_subset / test_subset).
Result<std::shared_ptr<const Dataset>> subset_of(const TrainJob& job, Split split) {
  auto full = cached_split(job.data.dataset, job.data.data_dir, split);
  if (!full.ok()) return full.status();
  std::shared_ptr<const Dataset> d = *full;
  const int64_t n = split == Split::kTrain ? job.data.train_subset : job.data.test_subset;
  if (n > 0 && n < d->size())
    d = std::make_shared<const Dataset>(balanced_subset(*d, n, job.train.seed + (split == Split::kTrain ? 11 : 13)));
  return d;
}

// Images as the model sees them: checked against its input, padded to it.
Result<std::shared_ptr<const Dataset>> fitted(const TrainJob& job, std::shared_ptr<const Dataset> d) {
  if (d->channels != job.model.in_channels)
    return Status::invalid_argument("model.in_channels is " + std::to_string(job.model.in_channels) + " but " +
                                    job.data.dataset + " images have " + std::to_string(d->channels) +
                                    " channel(s)");
  if (d->height != job.model.input_size) {
    if (d->height > job.model.input_size)
      return Status::invalid_argument("model.input_size is " + std::to_string(job.model.input_size) + " but " +
                                      job.data.dataset + " images are " + std::to_string(d->height) + "x" +
                                      std::to_string(d->width) + " (inputs are padded, never cropped)");
    d = std::make_shared<const Dataset>(pad_images(*d, job.model.input_size));
  }
  return d;
}

// The test split as the model sees it.
Result<std::shared_ptr<const Dataset>> prepared_test(const TrainJob& job) {
  auto d = subset_of(job, Split::kTest);
  if (!d.ok()) return d.status();
  return fitted(job, *d);
}

// The training split as the model sees it and, with data.val_split, the
// validation split held out of it (null without one).
struct TrainingSplits {
  std::shared_ptr<const Dataset> train, validation;
};
Result<TrainingSplits> prepared_training(const TrainJob& job) {
  auto d = subset_of(job, Split::kTrain);
  if (!d.ok()) return d.status();
  std::shared_ptr<const Dataset> train = *d, validation;
  if (job.data.val_split > 0) {
    if (job.data.val_split >= train->size())
      return Status::invalid_argument("data.val_split: " + std::to_string(job.data.val_split) + " images held out of " +
                                      std::to_string(train->size()) + " training images leaves none to train on");
    auto [rest, held] = hold_out(*train, job.data.val_split, job.train.seed + 17);
    train = std::make_shared<const Dataset>(std::move(rest));
    auto v = fitted(job, std::make_shared<const Dataset>(std::move(held)));
    if (!v.ok()) return v.status();
    validation = *v;
  }
  auto t = fitted(job, train);
  if (!t.ok()) return t.status();
  return TrainingSplits{*t, validation};
}

struct Eval {
  double loss = 0, top1 = 0, top5 = 0;
};

// How batches meet the network: the device, the autocast dtype (none for
// fp32), the memory format of the inputs, pinned host batches.
struct Placement {
  torch::Device device = torch::kCPU;
  std::optional<torch::ScalarType> autocast;
  torch::MemoryFormat format = torch::MemoryFormat::Contiguous;
  torch::Tensor to_device(const torch::Tensor& images) const {
    auto x = images.to(device, /*non_blocking=*/true);
    return format == torch::MemoryFormat::Contiguous ? x : x.contiguous(format);
  }
};

// A split in order and unaugmented, `batch` images at a time (evaluation, and
// SENet's importance pass).
LoaderOptions in_order(const Normalization& norm, int64_t batch, const torch::Device& device) {
  LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = false;
  lo.augment = false;
  lo.norm = norm;
  lo.pin_memory = device.is_cuda();
  return lo;
}

// SENet-style per-layer budgets, before each epoch: on the first batches of
// the training set (in order, unaugmented, eval mode), how far each unit's
// input in the student is from the teacher's output at the same site (what
// making it linear costs, given the student as it is), then every site keeps
// its share of the budget on its units that differ most.
Status senet_masks(nn::Network& net, nn::Network& teacher, const std::shared_ptr<const Dataset>& data,
                   const Normalization& norm, const Placement& place, int64_t budget) {
  constexpr int kBatches = 8;
  const bool was_training = net->is_training();
  net->eval();
  torch::NoGradGuard no_grad;
  BatchLoader loader(data, in_order(norm, 128, place.device));
  std::map<std::string, torch::Tensor> importance;
  int64_t images = 0;
  for (int b = 0; b < kBatches; ++b) {
    auto batch = loader.next();
    if (!batch) break;
    const torch::Tensor x = place.to_device(batch->images);
    nn::SiteRecord t, s;
    {
      nn::RecordSites record(t);
      teacher->forward(x);
    }
    {
      nn::RecordSites record(s);
      net->forward(x);
    }
    for (auto& g : nn::learnable_gates(net)) {
      const std::string& site = g->name();
      if (!t.out.count(site) || !s.in.count(site))
        return Status::internal("per-layer budgets: the teacher has no site " + site);
      torch::Tensor d = (t.out[site].to(torch::kFloat) - s.in[site].to(torch::kFloat)).abs().sum(0);  // [C, H, W]
      if (g->granularity() == nn::MaskGranularity::kChannel) d = d.sum({1, 2});
      importance[site] = importance.count(site) ? importance[site] + d : d;
    }
    images += batch->labels.size(0);
  }
  net->train(was_training);
  if (images == 0) return Status::invalid_argument("per-layer budgets: no training images");
  return nn::set_top_k(net, importance, budget);
}

Eval evaluate(nn::Network& net, const std::shared_ptr<const Dataset>& data, const Normalization& norm,
              const Placement& place) {
  const torch::Device device = place.device;
  net->eval();
  torch::NoGradGuard no_grad;
  BatchLoader loader(data, in_order(norm, 512, device));
  // Sums stay on the device and are read once at the end: no host sync per batch.
  const auto on = torch::TensorOptions().device(device);
  torch::Tensor loss_sum = torch::zeros({}, on.dtype(torch::kDouble));
  torch::Tensor correct1 = torch::zeros({}, on.dtype(torch::kLong)), correct5 = torch::zeros({}, on.dtype(torch::kLong));
  int64_t seen = 0;
  const int64_t k = std::min<int64_t>(5, data->classes);
  while (auto batch = loader.next()) {
    auto x = place.to_device(batch->images), y = batch->labels.to(device, /*non_blocking=*/true);
    // In fp32 whatever the training's precision: the accuracy stored (and
    // decided on) is the network's as exported and deployed, which a runtime
    // scores again in fp32 (scripts/verify_export.py).
    torch::Tensor logits = net->forward(x).to(torch::kFloat);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kDouble);
    auto topk = std::get<1>(logits.topk(k, 1));
    auto hits = topk.eq(y.unsqueeze(1));
    correct1 += hits.select(1, 0).sum();
    correct5 += hits.any(1).sum();
    seen += y.size(0);
  }
  net->train();
  return {loss_sum.item<double>() / seen, 100.0 * correct1.item<int64_t>() / seen,
          100.0 * correct5.item<int64_t>() / seen};
}

}  // namespace

Result<std::pair<torch::Tensor, torch::Tensor>> evaluation_set(const TrainJob& job) {
  auto data = prepared_test(job);
  if (!data.ok()) return data.status();
  auto dataset = find_dataset(job.data.dataset);
  if (!dataset.ok()) return dataset.status();
  const Normalization& norm = (*dataset)->normalization;
  LoaderOptions lo;
  lo.batch_size = 512;
  lo.shuffle = false;
  lo.augment = false;
  lo.norm = norm;
  BatchLoader loader(*data, lo);
  std::vector<torch::Tensor> images, labels;
  while (auto batch = loader.next()) {
    images.push_back(batch->images);
    labels.push_back(batch->labels);
  }
  if (images.empty()) return Status::not_found(job.data.dataset + ": the test split is empty");
  return std::make_pair(torch::cat(images), torch::cat(labels));
}

Result<std::string> check_device(const std::string& device) {
  try {
    torch::Device d(device);
    if (d.is_cuda()) {
      if (!torch::cuda::is_available())
        return Status::unavailable("--device " + device + ": this LibTorch build or machine has no CUDA device");
      if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
        return Status::unavailable("--device " + device + ": only " +
                                   std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    } else if (!d.is_cpu()) {
      return Status::invalid_argument("--device " + device + ": expected cpu, cuda or cuda:N");
    }
    return d.str();
  } catch (const c10::Error&) {
    return Status::invalid_argument("--device \"" + device + "\": expected cpu, cuda or cuda:N");
  }
}

Result<TrialResult> run_training(const TrainJob& job, const RunOptions& run, const std::string& out_dir,
                                 const TrainHooks& hooks) {
  DR_RETURN_IF_ERROR(validate(job));
  auto device_name = check_device(run.device);
  if (!device_name.ok()) return device_name.status();
  const torch::Device device(*device_name);
  Placement place;
  place.device = device;
  const std::string precision = resolve_precision(job.train.precision, device);
  auto amp = autocast_dtype(precision, device);
  if (!amp.ok()) return amp.status();
  place.autocast = *amp;
  if (run.memory_format == "channels-last" ||
      (run.memory_format == "auto" && (device.is_cuda() || precision == "bf16")))
    place.format = torch::MemoryFormat::ChannelsLast;
  else if (run.memory_format != "auto" && run.memory_format != "contiguous")
    return Status::invalid_argument("--memory-format " + run.memory_format + ": expected auto, channels-last or contiguous");
  // cuDNN tries its convolution algorithms once per shape and keeps the
  // fastest: every batch of a trial has the same shape but the last.
  if (device.is_cuda()) torch::globalContext().setBenchmarkCuDNN(true);
  const int threads = run.threads > 0 ? run.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Status::io_error(out_dir + ": cannot create output folder: " + ec.message());
  const std::string ckpt_path = (std::filesystem::path(out_dir) / "checkpoint.pt").string();

  auto splits = prepared_training(job);
  if (!splits.ok()) return splits.status();
  const auto& train_data = splits->train;
  const auto& val_data = splits->validation;  // null without data.val_split
  auto test_data = prepared_test(job);
  if (!test_data.ok()) return test_data.status();
  const DatasetDef& dataset = **find_dataset(job.data.dataset);  // validate(job) checked it
  const Normalization& norm = dataset.normalization;

  // Initialisation draws from torch's one global generator: seeding and
  // drawing must not interleave with another trial's in this process (a worker
  // with several slots), or the same seed would give other weights.
  static std::mutex init_mu;
  std::unique_lock<std::mutex> init_lock(init_mu);
  torch::manual_seed(job.train.seed);
  auto built = nn::build_model(job.model);
  init_lock.unlock();
  if (!built.ok()) return built.status();
  nn::Network net = *built;
  net->to(device);
  if (!run.init.empty() && run.resume.empty()) {
    auto init = load_model(run.init, device);
    if (!init.ok()) return init.status().with_context("initial weights");
    nn::ModelSpec theirs = (*init)->spec(), mine = job.model;
    for (auto* s : {&theirs, &mine}) {
      s->relu_off.clear();
      s->masks.reset();
    }
    if (theirs != mine)
      return Status::invalid_argument(run.init + ": its network has another shape than the job's model");
    // Weights by name; a mask the source has and this network has too (α of
    // an earlier mask phase, a fixed mask) comes along, others keep their start.
    torch::NoGradGuard no_grad;
    auto src_params = (*init)->named_parameters(true);
    auto src_buffers = (*init)->named_buffers(true);
    auto take = [](torch::Tensor& dst, const torch::Tensor* src) {
      if (src && src->sizes() == dst.sizes()) dst.copy_(*src);
    };
    for (auto& p : net->named_parameters(true)) take(p.value(), src_params.find(p.key()));
    for (auto& b : net->named_buffers(true)) take(b.value(), src_buffers.find(b.key()));
  }
  if (job.model.masks && !job.model.masks->learnable && run.resume.empty()) {
    // A fixed mask's values: the mask file the job names, else the initial
    // weights' (a network fine-tuned under it before); checked against the spec.
    if (!run.mask.empty()) {
      auto bytes = read_text_file(run.mask, size_t{256} << 20);
      if (!bytes.ok()) return bytes.status().with_context("mask");
      auto values = nn::decode_mask(*bytes);
      if (!values.ok()) return values.status().with_context(run.mask);
      DR_RETURN_IF_ERROR(nn::apply_mask(net, *values).with_context(run.mask));
    } else if (auto held = nn::mask_values(net); nn::mask_digest(held) != job.model.masks->digest) {
      return Status::invalid_argument("model.masks: the job names mask " + job.model.masks->digest.substr(0, 12) +
                                      " but no mask file (--mask) or initial weights that hold it");
    }
  }
  if (place.format != torch::MemoryFormat::Contiguous) set_memory_format(*net, place.format);
  net->train();

  std::optional<nn::Network> teacher;
  if (!job.train.kd.teacher.empty()) {
    auto t = load_model(job.train.kd.teacher, device);
    if (!t.ok()) return t.status().with_context("teacher");
    const auto& ts = (*t)->spec();
    if (ts.classes != job.model.classes || ts.in_channels != job.model.in_channels ||
        ts.input_size != job.model.input_size)
      return Status::invalid_argument("teacher " + job.train.kd.teacher + " takes " + std::to_string(ts.in_channels) +
                                      "x" + std::to_string(ts.input_size) + " inputs to " + std::to_string(ts.classes) +
                                      " classes; the student " + std::to_string(job.model.in_channels) + "x" +
                                      std::to_string(job.model.input_size) + " to " + std::to_string(job.model.classes));
    teacher = *t;
    if (place.format != torch::MemoryFormat::Contiguous) set_memory_format(**teacher, place.format);
    (*teacher)->eval();
  }

  const auto& t = job.train;
  // One parameter group, or two in a mask phase whose α has a learning rate of its own.
  // SENet-style per-layer budgets set α, they do not train it.
  const bool senet = t.linearize.budget > 0 && t.linearize.method == "senet";
  std::vector<torch::Tensor> weights, alphas;
  for (auto& p : net->named_parameters(true)) {
    const bool alpha = p.key().size() > 6 && p.key().substr(p.key().size() - 6) == ".alpha";
    if (alpha && senet) {
      p.value().set_requires_grad(false);
      continue;
    }
    (t.linearize.alpha_lr > 0 && alpha ? alphas : weights).push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups = {torch::optim::OptimizerParamGroup(weights)};
  std::vector<double> base_lr = {t.lr};
  if (!alphas.empty()) {
    groups.push_back(torch::optim::OptimizerParamGroup(alphas));
    base_lr.push_back(t.linearize.alpha_lr);
  }
  std::unique_ptr<torch::optim::Optimizer> optimizer_holder;
  if (t.optimizer == "adam") {
    optimizer_holder =
        std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
  } else {
    optimizer_holder = std::make_unique<torch::optim::SGD>(
        groups, torch::optim::SGDOptions(t.lr).momentum(t.momentum).nesterov(t.nesterov).weight_decay(t.weight_decay));
  }
  torch::optim::Optimizer& optimizer = *optimizer_holder;
  // The mask phase of learned linearization (SNL): an L1 penalty on α whose
  // weight grows while the count of ReLUs above the threshold stops falling.
  const auto& lin = t.linearize;
  const bool mask_phase = lin.budget > 0;
  double l1_weight = lin.lambda;
  int64_t lowest = std::numeric_limits<int64_t>::max();
  bool budget_met = false;
  // fp16 needs a loss scale (its range underflows small gradients); bf16 has
  // fp32's range and does not.
  std::optional<GradScaler> scaler;
  if (place.autocast == torch::kHalf) scaler.emplace();
  TrialResult result;
  result.device = *device_name;
  result.precision = precision;
  result.memory_format = place.format == torch::MemoryFormat::ChannelsLast ? "channels-last" : "contiguous";
  int64_t start_epoch = 0;
  if (!run.resume.empty()) {
    auto meta = read_checkpoint_meta(run.resume);
    if (!meta.ok()) return meta.status();
    // Everything but the epoch budget must match: a longer budget on the same
    // schedule continues the run. Where files live (the data folder, the
    // teacher's file) is the worker's business, not the job's.
    nlohmann::json mine = to_json(job), theirs = meta->job;
    for (auto* j : {&mine, &theirs}) {
      auto& tr = (*j)["train"];
      if (tr.contains("horizon") && tr["horizon"] == 0) tr["horizon"] = tr["epochs"];
      tr.erase("epochs");
      tr.erase("eval_every");  // how often it is looked at changes nothing it learns
      if (run.extend) tr.erase("horizon");
      if (tr.contains("kd")) tr["kd"]["teacher"] = !tr["kd"]["teacher"].get<std::string>().empty();
      (*j)["data"].erase("data_dir");
    }
    if (mine != theirs) {
      // The keys that differ, each with both values (not the two whole jobs).
      std::string differs;
      for (const auto& c : json_changes(theirs, mine))
        differs += (differs.empty() ? "" : ", ") + c.key + " " + c.before + " there, " + c.after + " here";
      return Status::failed_precondition(run.resume + ": checkpoint is of another job (" + differs + ")");
    }
    if (meta->epoch > t.epochs)
      return Status::failed_precondition(run.resume + ": checkpoint is at epoch " + std::to_string(meta->epoch) +
                                         ", beyond the job's " + std::to_string(t.epochs) + " epochs");
    DR_RETURN_IF_ERROR(load_checkpoint_state(run.resume, net, optimizer, device));
    start_epoch = meta->epoch;
    for (const auto& e : meta->history) {
      auto rec = epoch_record_from_json(e);
      if (!rec.ok()) return rec.status().with_context(run.resume);
      result.epochs.push_back(*rec);
    }
    if (mask_phase && meta->state.is_object()) {
      l1_weight = meta->state.value("l1_weight", l1_weight);
      lowest = meta->state.value("lowest", lowest);
      budget_met = meta->state.value("budget_met", false);
    }
  }

  auto counts = nn::count(job.model);
  result.relus = counts->relus;
  result.macs = counts->macs;
  result.params = counts->params;

  int64_t images_trained = 0;
  double seconds_training = 0;
  bool stopped = false;
  if (senet && !teacher) return Status::invalid_argument("train.linearize.method: senet needs a teacher (train.kd.teacher)");
  for (int64_t epoch = start_epoch; epoch < t.epochs && !stopped && !budget_met; ++epoch) {
    const auto epoch_start = Clock::now();
    if (senet) DR_RETURN_IF_ERROR(senet_masks(net, *teacher, train_data, norm, place, lin.budget));
    const double lr = learning_rate(t, epoch);
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g)
      optimizer.param_groups()[g].options().set_lr(g == 0 ? lr : lr * (base_lr[g] / t.lr));
    LoaderOptions lo;
    lo.batch_size = t.batch_size;
    lo.augment = job.data.augment;
    lo.flip = dataset.flip;
    lo.seed = t.seed;
    lo.epoch = epoch;
    lo.norm = norm;
    lo.pin_memory = device.is_cuda();
    BatchLoader loader(train_data, lo);
    // Loss and accuracy accumulate on the device; the host reads them (a sync)
    // only to report progress, at most every half second, and at the epoch's end.
    const auto on = torch::TensorOptions().device(device);
    torch::Tensor loss_acc = torch::zeros({}, on.dtype(torch::kDouble));
    torch::Tensor correct_acc = torch::zeros({}, on.dtype(torch::kLong));
    torch::Tensor nonfinite = torch::zeros({}, on.dtype(torch::kBool));
    int64_t seen = 0, batch_index = 0;
    const auto train_start = Clock::now();
    auto last_read = train_start;
    // Reads the sums (one host sync): the mean loss, the accuracy, and whether a loss was not finite.
    auto read = [&](double& loss_mean, double& top1) {
      ++result.host_syncs;
      const auto host = torch::stack({loss_acc, correct_acc.to(torch::kDouble), nonfinite.to(torch::kDouble)}).cpu();
      const double* v = host.data_ptr<double>();
      loss_mean = seen ? v[0] / seen : 0;
      top1 = seen ? 100.0 * v[1] / seen : 0;
      return v[2] == 0;
    };
    auto nan_error = [&] {
      // lr as 1e+30, not 1000000000000000019884624838656.000000
      return Status::failed_precondition(fmt::format("epoch {}, by batch {}: training loss is not finite (lr {:g}); "
                                                     "lower the learning rate or check the data",
                                                     epoch + 1, batch_index, lr));
    };
    while (auto batch = loader.next()) {
      if (hooks.stop && hooks.stop->load()) {
        stopped = true;
        break;
      }
      auto x = place.to_device(batch->images);
      auto y = batch->labels.to(device, /*non_blocking=*/true);
      // Gradients set to none, not zeroed: backward then writes them instead of
      // accumulating into a freshly zeroed buffer.
      for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
      // The forward passes under autocast; the losses in fp32 on fp32 logits
      // (a no-op at fp32), and backward outside the scope, as PyTorch advises.
      torch::Tensor logits, teacher_logits;
      {
        AutocastScope autocast(device, place.autocast);
        logits = net->forward(x);
        if (teacher) {
          torch::NoGradGuard no_grad;
          teacher_logits = (*teacher)->forward(x);
        }
      }
      logits = logits.to(torch::kFloat);
      torch::Tensor loss =
          !teacher ? torch::nn::functional::cross_entropy(logits, y)
          : t.kd.form == "sum" ? kd_sum_loss(logits, teacher_logits.to(torch::kFloat), y, t.kd.temperature)
                               : kd_loss(logits, teacher_logits.to(torch::kFloat), y, t.kd.temperature, t.kd.lambda);
      if (mask_phase && !senet) loss = loss + l1_weight * nn::alpha_l1(net);
      if (scaler) {
        scaler->scale(loss).backward();
        if (scaler->unscale_and_update(net->parameters())) optimizer.step();
      } else {
        loss.backward();
        optimizer.step();
      }
      const int64_t b = y.size(0);
      {
        torch::NoGradGuard no_grad;
        const torch::Tensor l = loss.detach();
        if (scaler) {
          // fp16: an overflowing step is skipped by the scaler, not fatal;
          // its loss is left out of the sum.
          loss_acc += torch::where(l.isfinite(), l, torch::zeros_like(l)).to(torch::kDouble) * static_cast<double>(b);
        } else {
          nonfinite.logical_or_(l.isfinite().logical_not());
          loss_acc += l.to(torch::kDouble) * static_cast<double>(b);
        }
        correct_acc += logits.detach().argmax(1).eq(y).sum();
      }
      seen += b;
      ++batch_index;
      if (scaler && scaler->current_scale() < 1.0 / (1 << 24))
        return Status::failed_precondition("epoch " + std::to_string(epoch + 1) + ", batch " + std::to_string(batch_index) +
                                           ": fp16 loss scale fell below 2^-24 (" +
                                           std::to_string(scaler->skipped_steps()) +
                                           " steps skipped): gradients are not finite; try bf16 or a lower lr");
      const auto now = Clock::now();
      if (hooks.on_batch && (now - last_read > std::chrono::milliseconds(500) || batch_index == loader.batches())) {
        last_read = now;
        double loss_mean = 0, top1 = 0;
        if (!read(loss_mean, top1)) return nan_error();
        const double secs = seconds_since(train_start);
        hooks.on_batch({epoch + 1, t.epochs, batch_index, loader.batches(), loss_mean, top1, secs > 0 ? seen / secs : 0});
      }
    }
    if (stopped) break;
    double train_loss = 0, train_top1 = 0;
    if (!read(train_loss, train_top1)) return nan_error();
    const double train_secs = seconds_since(train_start);
    images_trained += seen;
    seconds_training += train_secs;
    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.lr = lr;
    rec.train_loss = train_loss;
    rec.train_top1 = train_top1;
    // With a validation split the test set is measured once, at the end (a
    // mask phase may end at any epoch, a stopped run where it stops): the
    // epochs before follow validation top-1.
    // train.eval_every thins the evaluations out; the last epoch of the run
    // (and a mask phase's, which may end at any) is always evaluated.
    const bool last = epoch + 1 == t.epochs || mask_phase || (run.stop_after > 0 && epoch + 1 >= run.stop_after) ||
                      (hooks.stop && hooks.stop->load());
    const bool eval_now = last || (epoch + 1) % std::max<int64_t>(1, t.eval_every) == 0;
    const bool test_now = last || (!val_data && eval_now);
    if (test_now) {
      Eval ev = evaluate(net, *test_data, norm, place);
      rec.loss = ev.loss;
      rec.top1 = ev.top1;
      rec.top5 = ev.top5;
    }
    rec.images_per_second = train_secs > 0 ? seen / train_secs : 0;
    if (val_data && eval_now) {
      Eval val = evaluate(net, val_data, norm, place);
      rec.val_top1 = val.top1;
      rec.val_loss = val.loss;
    }
    nlohmann::json state = nullptr;
    if (mask_phase) {
      // SNL's rule: count after each epoch; from `patience` on, a count that
      // did not fall below its lowest raises the L1 weight.
      const int64_t alive = nn::alive_relus(net, lin.threshold);
      rec.relus = alive;
      rec.l1_weight = l1_weight;
      if (!senet) {  // SENet's masks meet the budget every epoch: it trains its epochs
        if (epoch + 1 >= lin.patience && alive >= lowest) l1_weight *= lin.growth;
        lowest = std::min(lowest, alive);
        budget_met = alive <= lin.budget;
      }
      state = {{"l1_weight", l1_weight}, {"lowest", lowest}, {"budget_met", budget_met}};
    }
    rec.seconds = seconds_since(epoch_start);
    result.epochs.push_back(rec);
    nlohmann::json history = nlohmann::json::array();
    for (const auto& e : result.epochs) history.push_back(nlohmann::json::parse(to_json(e).dump()));
    DR_RETURN_IF_ERROR(save_checkpoint(ckpt_path, {to_json(job), epoch + 1, history, state}, net, optimizer));
    if (hooks.on_epoch) hooks.on_epoch(rec);
    if (run.stop_after > 0 && epoch + 1 >= run.stop_after && epoch + 1 < t.epochs && !budget_met) stopped = true;
  }

  if (!result.epochs.empty()) {
    const auto& last = result.epochs.back();
    result.top1 = last.top1;
    result.top5 = last.top5;
    result.loss = last.loss.value_or(0);
    result.val_top1 = last.val_top1;
  }
  result.images_per_second = seconds_training > 0 ? images_trained / seconds_training : 0;
  // A mask phase ends when its count meets the budget, or at its epoch cap.
  result.completed = !stopped && (static_cast<int64_t>(result.epochs.size()) == t.epochs || budget_met);
  if (result.completed && mask_phase) {
    // Binarised, and cut to the budget where the count still exceeds it: the
    // "mask" artifact a fine-tuning trains under.
    const nn::MaskValues values = nn::binarize(net, lin.threshold, lin.budget);
    result.mask = nn::fixed_masks(values);
    nn::ModelSpec masked = job.model;
    masked.masks = result.mask;
    result.relus = nn::count(masked)->relus;
    DR_RETURN_IF_ERROR(write_file_atomic((std::filesystem::path(out_dir) / "mask.bin").string(), nn::encode_mask(values)));
  }
  if (result.completed) {
    // model.pt holds plain contiguous weights whatever layout trained them.
    if (place.format != torch::MemoryFormat::Contiguous) set_memory_format(*net, torch::MemoryFormat::Contiguous);
    DR_RETURN_IF_ERROR(save_model((std::filesystem::path(out_dir) / "model.pt").string(), net, job.data.dataset));
    DR_RETURN_IF_ERROR(write_file_atomic((std::filesystem::path(out_dir) / "result.json").string(),
                                         to_json(result).dump(2) + "\n"));
  }
  return result;
}

}  // namespace deepreduce::train
