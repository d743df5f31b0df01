#include "train/options.h"

#include <algorithm>
#include <cmath>

#include "nn/spec_json.h"
#include "train/dataset.h"

namespace deepreduce::train {

double learning_rate(const TrainOptions& t, int64_t epoch) {
  double lr = t.lr;
  if (t.schedule == "cosine") {
    lr = 0.5 * t.lr * (1.0 + std::cos(M_PI * static_cast<double>(epoch) / static_cast<double>(schedule_epochs(t))));
  } else if (t.schedule == "multistep") {
    for (int64_t m : t.milestones)
      if (epoch >= m) lr *= t.gamma;
  }
  if (epoch < t.warmup_epochs)
    lr *= static_cast<double>(epoch + 1) / static_cast<double>(t.warmup_epochs + 1);
  return lr;
}

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> kNames = {"fp32", "bf16", "fp16"};
  return kNames;
}

Status validate(const TrainJob& job) {
  if (Status s = nn::validate(job.model); !s.ok()) return Status::invalid_argument("model." + s.message());
  auto classes = classes_for(job.data.dataset);
  if (!classes.ok()) return Status::invalid_argument("data.dataset: " + classes.status().message());
  if (job.model.classes != *classes)
    return Status::invalid_argument("model.classes: " + job.data.dataset + " has " +
                                    std::to_string(*classes) + " classes, the model " +
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
  if (t.schedule != "cosine" && t.schedule != "multistep" && t.schedule != "constant")
    return Status::invalid_argument("train.schedule: expected cosine, multistep or constant, got \"" + t.schedule + "\"");
  if (t.horizon != 0 && t.horizon < t.epochs)
    return Status::invalid_argument("train.horizon: expected 0 (= epochs) or >= epochs (" + std::to_string(t.epochs) +
                                    "), got " + std::to_string(t.horizon));
  if (t.warmup_epochs < 0 || t.warmup_epochs >= t.epochs)
    return Status::invalid_argument("train.warmup_epochs: expected 0 .. epochs-1");
  if (std::find(precision_names().begin(), precision_names().end(), t.precision) == precision_names().end())
    return Status::invalid_argument("train.precision: expected fp32, bf16 or fp16, got \"" + t.precision + "\"");
  // Checked with or without a teacher: a wrong value is a mistake either way.
  if (!(t.kd.temperature > 0)) return Status::invalid_argument("train.kd.temperature: expected a number > 0");
  if (t.kd.lambda < 0 || t.kd.lambda > 1) return Status::invalid_argument("train.kd.lambda: expected a number in [0, 1]");
  return Status();
}

nlohmann::json to_json(const TrainJob& job) {
  nlohmann::json j;
  j["model"] = nn::to_json(job.model);
  j["data"] = {{"dataset", job.data.dataset},
               {"data_dir", job.data.data_dir},
               {"train_subset", job.data.train_subset},
               {"test_subset", job.data.test_subset},
               {"augment", job.data.augment}};
  const auto& t = job.train;
  j["train"] = {{"epochs", t.epochs},       {"horizon", t.horizon},
                {"batch", t.batch_size},
                {"lr", t.lr},               {"momentum", t.momentum},
                {"nesterov", t.nesterov},   {"weight_decay", t.weight_decay},
                {"schedule", t.schedule},   {"milestones", t.milestones},
                {"gamma", t.gamma},         {"warmup_epochs", t.warmup_epochs},
                {"seed", t.seed},
                {"kd", {{"teacher", t.kd.teacher}, {"temperature", t.kd.temperature}, {"lambda", t.kd.lambda}}}};
  // Only when not the default, so that every fp32 trial keeps the id it had
  // before precision existed (and likewise without a validation split).
  if (t.precision != "fp32") j["train"]["precision"] = t.precision;
  if (job.data.val_split > 0) j["data"]["val_split"] = job.data.val_split;
  return j;
}

namespace {

template <typename T>
Status get(const nlohmann::json& obj, const std::string& key, const std::string& path, T& out) {
  if (!obj.contains(key)) return Status();
  const auto& v = obj.at(key);
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) throw std::invalid_argument("boolean");
    } else if constexpr (std::is_integral_v<T>) {
      if (!v.is_number_integer()) throw std::invalid_argument("integer");
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!v.is_number()) throw std::invalid_argument("number");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) throw std::invalid_argument("string");
    }
    out = v.get<T>();
  } catch (const std::exception& e) {
    return Status::invalid_argument(path + "." + key + ": expected " +
                                    (dynamic_cast<const std::invalid_argument*>(&e) ? e.what() : "a value of another type") +
                                    ", got " + v.dump());
  }
  return Status();
}

Status only_keys(const nlohmann::json& obj, const std::string& path, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) return Status::invalid_argument(path + ": expected an object");
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    std::string list;
    for (const char* k : keys) {
      known |= it.key() == k;
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    if (!known) return Status::invalid_argument(path + "." + it.key() + ": unknown key (known: " + list + ")");
  }
  return Status();
}

}  // namespace

Result<TrainJob> train_job_from_json(const nlohmann::json& j, bool check) {
  TrainJob job;
  DR_RETURN_IF_ERROR(only_keys(j, "job", {"model", "data", "train"}));
  if (j.contains("model")) {
    auto m = nn::model_spec_from_json(j["model"], "model", check);
    if (!m.ok()) return m.status();
    job.model = *m;
  }
  if (j.contains("data")) {
    const auto& d = j["data"];
    DR_RETURN_IF_ERROR(
        only_keys(d, "data", {"dataset", "data_dir", "train_subset", "test_subset", "val_split", "augment"}));
    DR_RETURN_IF_ERROR(get(d, "dataset", "data", job.data.dataset));
    DR_RETURN_IF_ERROR(get(d, "data_dir", "data", job.data.data_dir));
    DR_RETURN_IF_ERROR(get(d, "train_subset", "data", job.data.train_subset));
    DR_RETURN_IF_ERROR(get(d, "test_subset", "data", job.data.test_subset));
    DR_RETURN_IF_ERROR(get(d, "val_split", "data", job.data.val_split));
    DR_RETURN_IF_ERROR(get(d, "augment", "data", job.data.augment));
  }
  if (j.contains("train")) {
    const auto& t = j["train"];
    auto& o = job.train;
    DR_RETURN_IF_ERROR(only_keys(t, "train", {"epochs", "horizon", "batch", "lr", "momentum", "nesterov", "weight_decay",
                                              "schedule", "milestones", "gamma", "warmup_epochs", "seed", "precision", "kd"}));
    DR_RETURN_IF_ERROR(get(t, "epochs", "train", o.epochs));
    DR_RETURN_IF_ERROR(get(t, "horizon", "train", o.horizon));
    DR_RETURN_IF_ERROR(get(t, "batch", "train", o.batch_size));
    DR_RETURN_IF_ERROR(get(t, "lr", "train", o.lr));
    DR_RETURN_IF_ERROR(get(t, "momentum", "train", o.momentum));
    DR_RETURN_IF_ERROR(get(t, "nesterov", "train", o.nesterov));
    DR_RETURN_IF_ERROR(get(t, "weight_decay", "train", o.weight_decay));
    DR_RETURN_IF_ERROR(get(t, "schedule", "train", o.schedule));
    DR_RETURN_IF_ERROR(get(t, "gamma", "train", o.gamma));
    DR_RETURN_IF_ERROR(get(t, "warmup_epochs", "train", o.warmup_epochs));
    DR_RETURN_IF_ERROR(get(t, "seed", "train", o.seed));
    DR_RETURN_IF_ERROR(get(t, "precision", "train", o.precision));
    if (t.contains("milestones")) {
      if (!t["milestones"].is_array()) return Status::invalid_argument("train.milestones: expected a list of epochs");
      for (const auto& m : t["milestones"]) {
        if (!m.is_number_integer()) return Status::invalid_argument("train.milestones: expected a list of epochs");
        o.milestones.push_back(m.get<int64_t>());
      }
    }
    if (t.contains("kd")) {
      const auto& k = t["kd"];
      DR_RETURN_IF_ERROR(only_keys(k, "train.kd", {"teacher", "temperature", "lambda"}));
      DR_RETURN_IF_ERROR(get(k, "teacher", "train.kd", o.kd.teacher));
      DR_RETURN_IF_ERROR(get(k, "temperature", "train.kd", o.kd.temperature));
      DR_RETURN_IF_ERROR(get(k, "lambda", "train.kd", o.kd.lambda));
    }
  }
  if (check) DR_RETURN_IF_ERROR(validate(job));
  return job;
}

}  // namespace deepreduce::train
