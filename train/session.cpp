#include "train/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/files.h"
#include "common/format.h"
#include "common/json_diff.h"
#include "nn/masks.h"
#include "spec/counts.h"
#include "spec/datasets.h"
#include "train/checkpoint.h"
#include "train/loader.h"
#include "train/methods/registry.h"
#include "train/splits.h"

namespace deepreduce::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A split in order and unaugmented, `batch` images at a time.
LoaderOptions in_order(const spec::Normalization& norm, int64_t batch, const torch::Device& device) {
  LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = false;
  lo.augment = false;
  lo.norm = norm;
  lo.pin_memory = device.is_cuda();
  return lo;
}

}  // namespace

TrainingSession::TrainingSession(const spec::TrainJob& job, const spec::RunOptions& run, std::string out_dir,
                                 const TrainHooks& hooks)
    : job_(job), run_(run), out_dir_(std::move(out_dir)), hooks_(hooks) {}

TrainingSession::~TrainingSession() = default;

Status TrainingSession::place_on_device() {
  auto device_name = check_device(run_.device);
  if (!device_name.ok()) return device_name.status();
  device_name_ = *device_name;
  const torch::Device device(device_name_);
  place_.device = device;
  const spec::Precision precision = resolve_precision(job_.train.precision, device);
  precision_ = enum_name(precision, spec::kPrecisionNames);
  auto amp = autocast_dtype(precision, device);
  if (!amp.ok()) return amp.status();
  place_.autocast = *amp;
  if (run_.memory_format == spec::MemoryFormat::kChannelsLast ||
      (run_.memory_format == spec::MemoryFormat::kAuto && (device.is_cuda() || precision == spec::Precision::kBf16)))
    place_.format = torch::MemoryFormat::ChannelsLast;
  // cuDNN tries its convolution algorithms once per shape and keeps the
  // fastest: every batch of a trial has the same shape but the last.
  if (device.is_cuda()) torch::globalContext().setBenchmarkCuDNN(true);
  const int threads =
      run_.threads > 0 ? run_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  // fp16 needs a loss scale (its range underflows small gradients); bf16 has
  // fp32's range and does not.
  if (place_.autocast == torch::kHalf) scaler_.emplace();
  return Status();
}

Status TrainingSession::build_network() {
  // Initialisation draws from torch's one global generator: seeding and
  // drawing must not interleave with another trial's in this process (a worker
  // with several slots), or the same seed would give other weights.
  static std::mutex init_mu;
  std::unique_lock<std::mutex> init_lock(init_mu);
  torch::manual_seed(job_.train.seed);
  auto built = nn::build_model(job_.model);
  init_lock.unlock();
  if (!built.ok()) return built.status();
  net_ = *built;
  net_->to(place_.device);
  if (!run_.init.empty() && run_.resume.empty()) {
    auto init = load_model(run_.init, place_.device);
    if (!init.ok()) return init.status().with_context("initial weights");
    spec::ModelSpec theirs = (*init)->spec(), mine = job_.model;
    for (auto* s : {&theirs, &mine}) {
      s->relu_off.clear();
      s->masks.reset();
    }
    if (theirs != mine)
      return Status::invalid_argument(run_.init + ": its network has another shape than the job's model");
    // Weights by name; a mask the source has and this network has too (α of
    // an earlier mask phase, a fixed mask) comes along, others keep their start.
    nn::copy_weights(*init, net_);
  }
  return Status();
}

Status TrainingSession::load_teacher() {
  if (job_.train.kd.teacher.empty()) return Status();
  auto t = load_model(job_.train.kd.teacher, place_.device);
  if (!t.ok()) return t.status().with_context("teacher");
  const auto& ts = (*t)->spec();
  if (ts.classes != job_.model.classes || ts.in_channels != job_.model.in_channels ||
      ts.input_size != job_.model.input_size)
    return Status::invalid_argument("teacher " + job_.train.kd.teacher + " takes " + std::to_string(ts.in_channels) +
                                    "x" + std::to_string(ts.input_size) + " inputs to " + std::to_string(ts.classes) +
                                    " classes; the student " + std::to_string(job_.model.in_channels) + "x" +
                                    std::to_string(job_.model.input_size) + " to " +
                                    std::to_string(job_.model.classes));
  teacher_ = *t;
  if (place_.format != torch::MemoryFormat::Contiguous) set_memory_format(**teacher_, place_.format);
  (*teacher_)->eval();
  return Status();
}

Status TrainingSession::build_optimizer() {
  const auto& t = job_.train;
  // The weights' group first, then one group per learning rate a method asks
  // for (SNL's α with an lr of its own); frozen parameters in none.
  std::vector<std::vector<torch::Tensor>> groups(1);
  group_lr_ = {t.lr};
  for (auto& p : net_->named_parameters(true)) {
    ParamPlace place;
    for (const auto& m : methods_) {
      place = m->place_parameter(p.key());
      if (place.kind != ParamPlace::kWeights) break;
    }
    if (place.kind == ParamPlace::kFrozen) {
      p.value().set_requires_grad(false);
      continue;
    }
    size_t g = 0;
    if (place.kind == ParamPlace::kOwnGroup) {
      g = std::find(group_lr_.begin() + 1, group_lr_.end(), place.lr) - group_lr_.begin();
      if (g == group_lr_.size()) {
        group_lr_.push_back(place.lr);
        groups.emplace_back();
      }
    }
    groups[g].push_back(p.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (auto& g : groups) param_groups.emplace_back(g);
  if (t.optimizer == spec::OptimizerKind::kAdam)
    optimizer_ = std::make_unique<torch::optim::Adam>(param_groups,
                                                      torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
  else
    optimizer_ = std::make_unique<torch::optim::SGD>(
        param_groups,
        torch::optim::SGDOptions(t.lr).momentum(t.momentum).nesterov(t.nesterov).weight_decay(t.weight_decay));
  return Status();
}

Status TrainingSession::resume() {
  if (run_.resume.empty()) return Status();
  auto meta = read_checkpoint_meta(run_.resume);
  if (!meta.ok()) return meta.status();
  // Everything but the epoch budget must match: a longer budget on the same
  // schedule continues the run. Where files live (the data folder, the
  // teacher's file) is the worker's business, not the job's.
  nlohmann::json mine = to_json(job_), theirs = meta->job;
  for (auto* j : {&mine, &theirs}) {
    auto& tr = (*j)["train"];
    if (tr.contains("horizon") && tr["horizon"] == 0) tr["horizon"] = tr["epochs"];
    tr.erase("epochs");
    tr.erase("eval_every");  // how often it is looked at changes nothing it learns
    if (run_.extend) tr.erase("horizon");
    if (tr.contains("kd")) tr["kd"]["teacher"] = !tr["kd"]["teacher"].get<std::string>().empty();
    (*j)["data"].erase("data_dir");
  }
  if (mine != theirs) {
    // The keys that differ, each with both values (not the two whole jobs).
    std::vector<std::string> differs;
    for (const auto& c : json_changes(theirs, mine)) differs.push_back(c.key + " " + c.before + " there, " + c.after + " here");
    return Status::failed_precondition(
        fmt::format("{}: checkpoint is of another job ({})", run_.resume, fmt::join(differs, ", ")));
  }
  if (meta->epoch > job_.train.epochs)
    return Status::failed_precondition(run_.resume + ": checkpoint is at epoch " + std::to_string(meta->epoch) +
                                       ", beyond the job's " + std::to_string(job_.train.epochs) + " epochs");
  DR_RETURN_IF_ERROR(load_checkpoint_state(run_.resume, net_, *optimizer_, place_.device));
  start_epoch_ = meta->epoch;
  for (const auto& e : meta->history) {
    auto rec = spec::epoch_record_from_json(e);
    if (!rec.ok()) return rec.status().with_context(run_.resume);
    result_.epochs.push_back(*rec);
  }
  if (meta->state.is_object())
    for (auto& m : methods_) m->restore(meta->state);
  return Status();
}

Status TrainingSession::set_up() {
  DR_RETURN_IF_ERROR(validate(job_));
  DR_RETURN_IF_ERROR(place_on_device());
  std::error_code ec;
  std::filesystem::create_directories(out_dir_, ec);
  if (ec) return Status::io_error(out_dir_ + ": cannot create output folder: " + ec.message());

  auto splits = prepared_training(job_);
  if (!splits.ok()) return splits.status();
  train_data_ = splits->train;
  val_data_ = splits->validation;  // null without data.val_split
  auto test_data = prepared_test(job_);
  if (!test_data.ok()) return test_data.status();
  test_data_ = *test_data;
  dataset_ = *spec::find_dataset(job_.data.dataset);  // validate(job) checked it

  auto methods = methods::methods_for(job_, run_);
  if (!methods.ok()) return methods.status();
  methods_ = std::move(*methods);
  for (const auto& m : methods_) records_sites_ |= m->records_sites();

  DR_RETURN_IF_ERROR(build_network());
  DR_RETURN_IF_ERROR(load_teacher());
  ctx_.reset(new SessionContext{job_, run_, *dataset_, place_, net_, teacher_ ? &*teacher_ : nullptr, train_data_,
                                out_dir_});
  for (auto& m : methods_) DR_RETURN_IF_ERROR(m->prepare(*ctx_));
  if (job_.model.masks && !job_.model.masks->learnable && run_.resume.empty()) {
    // A fixed mask's values: the mask file the job names, else the initial
    // weights' (a network fine-tuned under it before); checked against the spec.
    if (!run_.mask.empty()) {
      auto bytes = read_text_file(run_.mask, size_t{256} << 20);
      if (!bytes.ok()) return bytes.status().with_context("mask");
      auto values = spec::decode_mask(*bytes);
      if (!values.ok()) return values.status().with_context(run_.mask);
      DR_RETURN_IF_ERROR(nn::apply_mask(net_, *values).with_context(run_.mask));
    } else if (auto held = nn::mask_values(net_); spec::mask_digest(held) != job_.model.masks->digest) {
      return Status::invalid_argument("model.masks: the job names mask " + job_.model.masks->digest.substr(0, 12) +
                                      " but no mask file (--mask) or initial weights that hold it");
    }
  }
  if (place_.format != torch::MemoryFormat::Contiguous) set_memory_format(*net_, place_.format);
  net_->train();

  DR_RETURN_IF_ERROR(build_optimizer());
  result_.device = device_name_;
  result_.precision = precision_;
  result_.memory_format = place_.format == torch::MemoryFormat::ChannelsLast ? "channels-last" : "contiguous";
  DR_RETURN_IF_ERROR(resume());
  auto counts = spec::count(job_.model);
  result_.relus = counts->relus;
  result_.macs = counts->macs;
  result_.params = counts->params;
  return Status();
}

bool TrainingSession::any_done() const {
  return std::any_of(methods_.begin(), methods_.end(), [](const auto& m) { return m->done(); });
}

nlohmann::json TrainingSession::methods_state() const {
  nlohmann::json state = nullptr;
  for (const auto& m : methods_) {
    nlohmann::json s = m->state();
    if (!s.is_object()) continue;
    if (state.is_null()) state = nlohmann::json::object();
    state.update(s);
  }
  return state;
}

TrainingSession::Eval TrainingSession::evaluate(const std::shared_ptr<const Dataset>& data) {
  const torch::Device device = place_.device;
  net_->eval();
  torch::NoGradGuard no_grad;
  BatchLoader loader(data, in_order(dataset_->normalization, 512, device));
  // Sums stay on the device and are read once at the end: no host sync per batch.
  const auto on = torch::TensorOptions().device(device);
  torch::Tensor loss_sum = torch::zeros({}, on.dtype(torch::kDouble));
  torch::Tensor correct1 = torch::zeros({}, on.dtype(torch::kLong)), correct5 = torch::zeros({}, on.dtype(torch::kLong));
  int64_t seen = 0;
  const int64_t k = std::min<int64_t>(5, data->classes);
  while (auto batch = loader.next()) {
    auto x = place_.to_device(batch->images), y = batch->labels.to(device, /*non_blocking=*/true);
    // In fp32 whatever the training's precision: the accuracy stored (and
    // decided on) is the network's as exported and deployed, which a runtime
    // scores again in fp32 (scripts/verify_export.py).
    torch::Tensor logits = net_->forward(x).to(torch::kFloat);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kDouble);
    auto topk = std::get<1>(logits.topk(k, 1));
    auto hits = topk.eq(y.unsqueeze(1));
    correct1 += hits.select(1, 0).sum();
    correct5 += hits.any(1).sum();
    seen += y.size(0);
  }
  net_->train();
  return {loss_sum.item<double>() / seen, 100.0 * correct1.item<int64_t>() / seen,
          100.0 * correct5.item<int64_t>() / seen};
}

Result<bool> TrainingSession::run_epoch(int64_t epoch) {
  const auto& t = job_.train;
  const torch::Device device = place_.device;
  const auto epoch_start = Clock::now();
  for (auto& m : methods_) DR_RETURN_IF_ERROR(m->epoch_start(*ctx_, epoch));
  const double lr = learning_rate(t, epoch);
  auto& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(g == 0 ? lr : lr * (group_lr_[g] / t.lr));
  LoaderOptions lo;
  lo.batch_size = t.batch_size;
  lo.augment = job_.data.augment;
  lo.flip = dataset_->flip;
  lo.seed = t.seed;
  lo.epoch = epoch;
  lo.norm = dataset_->normalization;
  lo.pin_memory = device.is_cuda();
  BatchLoader loader(train_data_, lo);
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
    ++result_.host_syncs;
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
  const torch::Tensor no_teacher_logits;
  while (auto batch = loader.next()) {
    if (hooks_.stop && hooks_.stop->load()) return false;
    auto x = place_.to_device(batch->images);
    auto y = batch->labels.to(device, /*non_blocking=*/true);
    // Gradients set to none, not zeroed: backward then writes them instead of
    // accumulating into a freshly zeroed buffer.
    for (auto& p : net_->parameters()) p.mutable_grad() = torch::Tensor();
    // The forward passes under autocast; the losses in fp32 on fp32 logits
    // (a no-op at fp32), and backward outside the scope, as PyTorch advises.
    torch::Tensor logits, teacher_logits;
    nn::SiteRecord student_sites, teacher_sites;
    student_sites.with_grad = true;  // a loss on them reaches the weights
    {
      AutocastScope autocast(device, place_.autocast);
      {
        std::optional<nn::RecordSites> record;
        if (records_sites_) record.emplace(student_sites);
        logits = net_->forward(x);
      }
      if (teacher_) {
        torch::NoGradGuard no_grad;
        std::optional<nn::RecordSites> record;
        if (records_sites_) record.emplace(teacher_sites);
        teacher_logits = (*teacher_)->forward(x);
      }
    }
    logits = logits.to(torch::kFloat);
    if (teacher_logits.defined()) teacher_logits = teacher_logits.to(torch::kFloat);
    const Step step{y, logits, teacher_logits, student_sites, teacher_sites};
    std::optional<torch::Tensor> task;
    for (auto& m : methods_)
      if (!task) task = m->task_loss(step);
    torch::Tensor loss = task ? *task : torch::nn::functional::cross_entropy(logits, y);
    for (auto& m : methods_)
      if (auto extra = m->extra_loss(step)) loss = loss + *extra;
    if (scaler_) {
      scaler_->scale(loss).backward();
      if (scaler_->unscale_and_update(net_->parameters())) optimizer_->step();
    } else {
      loss.backward();
      optimizer_->step();
    }
    const int64_t b = y.size(0);
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor l = loss.detach();
      if (scaler_) {
        // fp16: an overflowing step is skipped by the scaler, not fatal; its
        // loss is left out of the sum.
        loss_acc += torch::where(l.isfinite(), l, torch::zeros_like(l)).to(torch::kDouble) * static_cast<double>(b);
      } else {
        nonfinite.logical_or_(l.isfinite().logical_not());
        loss_acc += l.to(torch::kDouble) * static_cast<double>(b);
      }
      correct_acc += logits.detach().argmax(1).eq(y).sum();
    }
    seen += b;
    ++batch_index;
    if (scaler_ && scaler_->current_scale() < 1.0 / (1 << 24))
      return Status::failed_precondition("epoch " + std::to_string(epoch + 1) + ", batch " +
                                         std::to_string(batch_index) + ": fp16 loss scale fell below 2^-24 (" +
                                         std::to_string(scaler_->skipped_steps()) +
                                         " steps skipped): gradients are not finite; try bf16 or a lower lr");
    const auto now = Clock::now();
    if (hooks_.on_batch && (now - last_read > std::chrono::milliseconds(500) || batch_index == loader.batches())) {
      last_read = now;
      double loss_mean = 0, top1 = 0;
      if (!read(loss_mean, top1)) return nan_error();
      const double secs = seconds_since(train_start);
      hooks_.on_batch({epoch + 1, t.epochs, batch_index, loader.batches(), loss_mean, top1, secs > 0 ? seen / secs : 0});
    }
  }
  double train_loss = 0, train_top1 = 0;
  if (!read(train_loss, train_top1)) return nan_error();
  const double train_secs = seconds_since(train_start);
  images_trained_ += seen;
  seconds_training_ += train_secs;
  spec::EpochRecord rec;
  rec.epoch = epoch + 1;
  rec.lr = lr;
  rec.train_loss = train_loss;
  rec.train_top1 = train_top1;
  // With a validation split the test set is measured once, at the end (a
  // method may end the run at any epoch, a stopped run ends where it stops):
  // the epochs before follow validation top-1. train.eval_every thins the
  // evaluations out; the last epoch of the run is always evaluated.
  const bool may_end = std::any_of(methods_.begin(), methods_.end(), [](const auto& m) { return m->may_end_early(); });
  const bool last = epoch + 1 == t.epochs || may_end || (run_.stop_after > 0 && epoch + 1 >= run_.stop_after) ||
                    (hooks_.stop && hooks_.stop->load());
  const bool eval_now = last || (epoch + 1) % std::max<int64_t>(1, t.eval_every) == 0;
  const bool test_now = last || (!val_data_ && eval_now);
  if (test_now) {
    Eval ev = evaluate(test_data_);
    rec.loss = ev.loss;
    rec.top1 = ev.top1;
    rec.top5 = ev.top5;
  }
  rec.images_per_second = train_secs > 0 ? seen / train_secs : 0;
  if (val_data_ && eval_now) {
    Eval val = evaluate(val_data_);
    rec.val_top1 = val.top1;
    rec.val_loss = val.loss;
  }
  for (auto& m : methods_) m->epoch_end(*ctx_, rec);
  rec.seconds = seconds_since(epoch_start);
  result_.epochs.push_back(rec);
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : result_.epochs) history.push_back(nlohmann::json::parse(to_json(e).dump()));
  const std::string ckpt_path = (std::filesystem::path(out_dir_) / "checkpoint.pt").string();
  DR_RETURN_IF_ERROR(save_checkpoint(ckpt_path, {to_json(job_), epoch + 1, history, methods_state()}, net_, *optimizer_));
  if (hooks_.on_epoch) hooks_.on_epoch(rec);
  return true;
}

Status TrainingSession::train() {
  const int64_t epochs = job_.train.epochs;
  for (int64_t epoch = start_epoch_; epoch < epochs && !stopped_ && !any_done(); ++epoch) {
    auto finished = run_epoch(epoch);
    if (!finished.ok()) return finished.status();
    if (!*finished) {
      stopped_ = true;
      break;
    }
    if (run_.stop_after > 0 && epoch + 1 >= run_.stop_after && epoch + 1 < epochs && !any_done()) stopped_ = true;
  }
  return Status();
}

Result<spec::TrialResult> TrainingSession::finish() {
  spec::TrialResult& result = result_;
  if (!result.epochs.empty()) {
    const auto& last = result.epochs.back();
    result.top1 = last.top1;
    result.top5 = last.top5;
    result.loss = last.loss.value_or(0);
    result.val_top1 = last.val_top1;
  }
  result.images_per_second = seconds_training_ > 0 ? images_trained_ / seconds_training_ : 0;
  // A run completes at its last epoch, or where a method reached its goal.
  result.completed =
      !stopped_ && (static_cast<int64_t>(result.epochs.size()) == job_.train.epochs || any_done());
  if (result.completed) {
    for (auto& m : methods_) DR_RETURN_IF_ERROR(m->finish(*ctx_, result));
    // model.pt holds plain contiguous weights whatever layout trained them.
    if (place_.format != torch::MemoryFormat::Contiguous) set_memory_format(*net_, torch::MemoryFormat::Contiguous);
    const std::filesystem::path dir(out_dir_);
    DR_RETURN_IF_ERROR(save_model((dir / "model.pt").string(), net_, job_.data.dataset));
    DR_RETURN_IF_ERROR(write_file_atomic((dir / "result.json").string(), to_json(result).dump(2) + "\n"));
  }
  return result;
}

}  // namespace deepreduce::train
