#include "spec/job.h"

#include <algorithm>
#include <cmath>

#include "spec/model_json.h"
#include "spec/counts.h"
#include "spec/job_schema.h"
#include "spec/datasets.h"

namespace deepreduce::spec {

double learning_rate(const TrainOptions& t, int64_t epoch) {
  double lr = t.lr;
  if (t.schedule == Schedule::kCosine) {
    lr = 0.5 * t.lr * (1.0 + std::cos(M_PI * static_cast<double>(epoch) / static_cast<double>(schedule_epochs(t))));
  } else if (t.schedule == Schedule::kMultistep) {
    for (int64_t m : t.milestones)
      if (epoch >= m) lr *= t.gamma;
  }
  if (epoch < t.warmup_epochs)
    lr *= static_cast<double>(epoch + 1) / static_cast<double>(t.warmup_epochs + 1);
  return lr;
}

Status validate(const TrainJob& job) {
  if (Status s = spec::validate(job.model); !s.ok()) return Status::invalid_argument("model." + s.message());
  auto dataset = find_dataset(job.data.dataset);
  if (!dataset.ok()) return Status::invalid_argument("data.dataset: " + dataset.status().message());
  if (job.model.classes != (*dataset)->classes)
    return Status::invalid_argument("model.classes: " + job.data.dataset + " has " +
                                    std::to_string((*dataset)->classes) + " classes, the model " +
                                    std::to_string(job.model.classes));
  if (job.data.train_subset < 0)
    return Status::invalid_argument("data.train_subset: expected a size >= 0 (0 keeps the whole split)");
  if (job.data.val_split < 0)
    return Status::invalid_argument("data.val_split: expected a number of images >= 0 (0: no validation split)");
  if (job.data.train_subset > 0 && job.data.val_split >= job.data.train_subset)
    return Status::invalid_argument("data.val_split: expected fewer images than data.train_subset (" +
                                    std::to_string(job.data.train_subset) + ")");
  if (job.data.test_subset < 0)
    return Status::invalid_argument("data.test_subset: expected a size >= 0 (0 keeps the whole split)");
  const auto& t = job.train;
  if (t.epochs < 1) return Status::invalid_argument("train.epochs: expected >= 1, got " + std::to_string(t.epochs));
  if (t.batch_size < 1) return Status::invalid_argument("train.batch: expected >= 1, got " + std::to_string(t.batch_size));
  if (!(t.lr > 0) || !std::isfinite(t.lr)) return Status::invalid_argument("train.lr: expected a positive number");
  if (t.momentum < 0 || t.momentum >= 1) return Status::invalid_argument("train.momentum: expected a number in [0, 1)");
  if (t.nesterov && t.momentum == 0) return Status::invalid_argument("train.nesterov: needs momentum > 0");
  if (t.weight_decay < 0) return Status::invalid_argument("train.weight_decay: expected >= 0");
  if (t.horizon != 0 && t.horizon < t.epochs)
    return Status::invalid_argument("train.horizon: expected 0 (= epochs) or >= epochs (" + std::to_string(t.epochs) +
                                    "), got " + std::to_string(t.horizon));
  if (t.eval_every < 1) return Status::invalid_argument("train.eval_every: expected >= 1 (epochs between evaluations)");
  if (t.warmup_epochs < 0 || t.warmup_epochs >= t.epochs)
    return Status::invalid_argument("train.warmup_epochs: expected 0 .. epochs-1");
  const auto& lin = t.linearize;
  if (lin.budget < 0) return Status::invalid_argument("train.linearize.budget: expected a ReLU count >= 0");
  if (lin.budget > 0) {
    if (!job.model.masks || !job.model.masks->learnable)
      return Status::invalid_argument(
          "train.linearize.budget: a mask phase trains learnable masks: the model needs masks: {learnable: true}");
    // As a sweep's budgets: fewer ReLUs than the network has, or there is nothing to learn.
    if (auto c = count(job.model); c.ok() && lin.budget >= c->relus)
      return Status::invalid_argument("train.linearize.budget: expected a ReLU count in 1.." +
                                      std::to_string(c->relus - 1) + " (the network has " + std::to_string(c->relus) +
                                      "), got " + std::to_string(lin.budget));
    if (!(lin.lambda >= 0) || !std::isfinite(lin.lambda))
      return Status::invalid_argument("train.linearize.lambda: expected a number >= 0");
    if (!(lin.growth >= 1) || !std::isfinite(lin.growth))
      return Status::invalid_argument("train.linearize.growth: expected a number >= 1");
    if (lin.patience < 0) return Status::invalid_argument("train.linearize.patience: expected an epoch index >= 0");
    if (!(lin.threshold > 0 && lin.threshold < 1))
      return Status::invalid_argument("train.linearize.threshold: expected a number in (0, 1)");
    if (!(lin.alpha_lr >= 0) || !std::isfinite(lin.alpha_lr))
      return Status::invalid_argument("train.linearize.alpha_lr: expected a number >= 0 (0: the job's lr)");
  } else if (job.model.masks && job.model.masks->learnable) {
    return Status::invalid_argument("model.masks: learnable masks are trained by a mask phase (train.linearize.budget)");
  }
  // Checked with or without a teacher: a wrong value is a mistake either way.
  if (!(t.kd.temperature > 0)) return Status::invalid_argument("train.kd.temperature: expected a number > 0");
  if (!(t.kd.at_weight >= 0) || !std::isfinite(t.kd.at_weight))
    return Status::invalid_argument("train.kd.at_weight: expected a number >= 0 (0: no attention transfer)");
  if (t.kd.lambda < 0 || t.kd.lambda > 1) return Status::invalid_argument("train.kd.lambda: expected a number in [0, 1]");
  return Status();
}

nlohmann::json to_json(const TrainJob& job) {
  nlohmann::json j;
  j["model"] = spec::to_json(job.model);
  static const TrainJob defaults;
  for (const auto& key : job_keys()) {
    nlohmann::json v = get_key(key, job);
    // Only when not the default, so that every trial keeps the id it had
    // before the key existed (fp32 before precision, no validation split).
    if (key.omit_at_default && v == get_key(key, defaults)) continue;
    std::string pointer = std::string("/") + key.path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    j[nlohmann::json::json_pointer(pointer)] = std::move(v);
  }
  return j;
}

namespace {

// The keys of job_keys() directly under `prefix` ("data", "train", "train.kd").
std::string known_keys(const std::string& prefix, const std::vector<std::string>& sections) {
  std::string list;
  for (const auto& k : job_keys()) {
    const std::string path = k.path;
    if (path.rfind(prefix + ".", 0) != 0) continue;
    const std::string rest = path.substr(prefix.size() + 1);
    if (rest.find('.') != std::string::npos) continue;
    list += (list.empty() ? "" : ", ") + rest;
  }
  for (const auto& s : sections) list += (list.empty() ? "" : ", ") + s;
  return list;
}

// Reads the object at `prefix` into the job, key by key; nested sections
// (train.kd) recurse.
Status read_section(const nlohmann::json& obj, const std::string& prefix, TrainJob& job) {
  if (!obj.is_object()) return Status::invalid_argument(prefix + ": expected an object");
  const std::vector<std::string> sections = prefix == "train" ? std::vector<std::string>{"kd", "linearize"}
                                                              : std::vector<std::string>{};
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string path = prefix + "." + it.key();
    if (std::find(sections.begin(), sections.end(), it.key()) != sections.end()) {
      DR_RETURN_IF_ERROR(read_section(it.value(), path, job));
      continue;
    }
    const JobKey* key = key_by_path(path);
    if (!key)
      return Status::invalid_argument(path + ": unknown key (known: " + known_keys(prefix, sections) + ")");
    DR_RETURN_IF_ERROR(set_key(*key, job, it.value()));
  }
  return Status();
}

}  // namespace

Result<TrainJob> train_job_from_json(const nlohmann::json& j, bool check) {
  TrainJob job;
  if (!j.is_object()) return Status::invalid_argument("job: expected an object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "model" && it.key() != "data" && it.key() != "train")
      return Status::invalid_argument("job." + it.key() + ": unknown key (known: model, data, train)");
  if (j.contains("model")) {
    auto m = spec::model_spec_from_json(j["model"], "model", check);
    if (!m.ok()) return m.status();
    job.model = *m;
  }
  if (j.contains("data")) DR_RETURN_IF_ERROR(read_section(j["data"], "data", job));
  if (j.contains("train")) DR_RETURN_IF_ERROR(read_section(j["train"], "train", job));
  if (check) DR_RETURN_IF_ERROR(validate(job));
  return job;
}

}  // namespace deepreduce::spec
