#include "spec/result.h"

#include <fmt/format.h>

#include "common/format.h"

namespace deepreduce::spec {

double TrialResult::seconds() const {
  double s = 0;
  for (const auto& e : epochs) s += e.seconds;
  return s;
}

nlohmann::ordered_json to_json(const EpochRecord& e) {
  auto j = nlohmann::ordered_json{{"epoch", e.epoch}, {"train_loss", e.train_loss}};
  if (e.top1) j["top1"] = *e.top1;
  j["seconds"] = e.seconds;
  if (e.top5) j["top5"] = *e.top5;
  if (e.loss) j["loss"] = *e.loss;
  j["train_top1"] = e.train_top1;
  j["lr"] = e.lr;
  j["images_per_second"] = e.images_per_second;
  if (e.val_top1) j["val_top1"] = *e.val_top1;
  if (e.val_loss) j["val_loss"] = *e.val_loss;
  if (e.relus) j["relus"] = *e.relus;
  if (e.l1_weight) j["l1_weight"] = *e.l1_weight;
  return j;
}

Result<EpochRecord> epoch_record_from_json(const nlohmann::json& j) {
  try {
    EpochRecord e;
    e.epoch = j.at("epoch").get<int64_t>();
    e.lr = j.at("lr").get<double>();
    e.train_loss = j.at("train_loss").get<double>();
    e.train_top1 = j.at("train_top1").get<double>();
    // Absent on the epochs before the last when a validation split is held out.
    if (j.contains("loss")) e.loss = j.at("loss").get<double>();
    if (j.contains("top1")) e.top1 = j.at("top1").get<double>();
    if (j.contains("top5")) e.top5 = j.at("top5").get<double>();
    e.seconds = j.at("seconds").get<double>();
    e.images_per_second = j.at("images_per_second").get<double>();
    if (j.contains("val_top1") && j["val_top1"].is_number()) e.val_top1 = j["val_top1"].get<double>();
    if (j.contains("val_loss") && j["val_loss"].is_number()) e.val_loss = j["val_loss"].get<double>();
    if (j.contains("relus") && j["relus"].is_number_integer()) e.relus = j["relus"].get<int64_t>();
    if (j.contains("l1_weight") && j["l1_weight"].is_number()) e.l1_weight = j["l1_weight"].get<double>();
    return e;
  } catch (const std::exception& ex) {
    return Status::corruption(std::string("epoch record: ") + ex.what());
  }
}

nlohmann::ordered_json to_json(const MaskOutcome& m) {
  nlohmann::ordered_json j;
  j["reached"] = m.reached;
  j["epochs"] = m.epochs;
  j["alive"] = m.alive;
  j["cut"] = m.cut;
  j["kept_alpha_min"] = m.kept_alpha_min;
  j["kept_alpha_mean"] = m.kept_alpha_mean;
  j["dropped_alpha_max"] = m.dropped_alpha_max;
  return j;
}

std::string mask_outcome_text(const MaskOutcome& m) {
  std::string how = m.reached ? fmt::format("reached its budget in {} epoch{}", m.epochs, m.epochs == 1 ? "" : "s")
                              : fmt::format("hit its cap of {} epoch{} with {} ReLUs alive: {} cut to the budget",
                                            m.epochs, m.epochs == 1 ? "" : "s", with_commas(m.alive), with_commas(m.cut));
  return how + fmt::format("; kept \u03b1 {:.3g} to 1 (mean {:.3g}), made linear up to {:.3g}", m.kept_alpha_min,
                           m.kept_alpha_mean, m.dropped_alpha_max);
}

nlohmann::ordered_json to_json(const TrialResult& r) {
  nlohmann::ordered_json epochs = nlohmann::ordered_json::array();
  for (const auto& e : r.epochs) epochs.push_back(to_json(e));
  nlohmann::ordered_json j;
  if (r.top1) j["top1"] = *r.top1;
  if (r.top5) j["top5"] = *r.top5;
  if (r.noop) {
    j["noop"] = true;
    return j;
  }
  j["loss"] = r.loss;
  j["relus"] = r.relus;
  j["macs"] = r.macs;
  j["params"] = r.params;
  j["epochs"] = epochs;
  j["images_per_second"] = r.images_per_second;
  j["completed"] = r.completed;
  j["device"] = r.device;
  if (!r.precision.empty()) j["precision"] = r.precision;
  if (!r.memory_format.empty()) j["memory_format"] = r.memory_format;
  // The search decides on this when present (TrialResult::decision_top1).
  if (r.val_top1) j["val_top1"] = *r.val_top1;
  if (r.mask) {
    nlohmann::ordered_json kept = nlohmann::ordered_json::object();
    for (const auto& [site, n] : r.mask->kept) kept[site] = n;
    j["mask"] = {{"granularity", spec::granularity_name(r.mask->granularity)}, {"kept", kept}, {"digest", r.mask->digest}};
  }
  if (r.mask_outcome) j["mask_phase"] = to_json(*r.mask_outcome);
  return j;
}

namespace {

template <typename T>
void number(const nlohmann::json& j, const char* key, T& out) {
  if (j.contains(key) && j[key].is_number()) out = j[key].get<T>();
}
void number(const nlohmann::json& j, const char* key, std::optional<double>& out) {
  if (j.contains(key) && j[key].is_number()) out = j[key].get<double>();
}

}  // namespace

std::optional<ProgressTop1> progress_top1(const nlohmann::json& epoch) {
  if (!epoch.is_object()) return std::nullopt;
  for (const auto& [key, split] : {std::pair<const char*, const char*>{"top1", "test"}, {"val_top1", "val"},
                                   {"train_top1", "train"}})
    if (epoch.contains(key) && epoch[key].is_number()) return ProgressTop1{epoch[key].get<double>(), split};
  return std::nullopt;
}

TrialResult trial_result_from_json(const nlohmann::json& j) {
  TrialResult r;
  if (!j.is_object()) return r;
  number(j, "top1", r.top1);
  number(j, "top5", r.top5);
  number(j, "val_top1", r.val_top1);
  number(j, "loss", r.loss);
  number(j, "relus", r.relus);
  number(j, "macs", r.macs);
  number(j, "params", r.params);
  number(j, "images_per_second", r.images_per_second);
  if (j.contains("completed") && j["completed"].is_boolean()) r.completed = j["completed"].get<bool>();
  if (j.contains("noop") && j["noop"].is_boolean()) r.noop = j["noop"].get<bool>();
  if (j.contains("device") && j["device"].is_string()) r.device = j["device"].get<std::string>();
  if (j.contains("precision") && j["precision"].is_string()) r.precision = j["precision"].get<std::string>();
  if (j.contains("memory_format") && j["memory_format"].is_string())
    r.memory_format = j["memory_format"].get<std::string>();
  if (j.contains("mask") && j["mask"].is_object()) {
    const auto& m = j["mask"];
    spec::ReluMasks masks;
    bool ok = m.contains("digest") && m["digest"].is_string() && m.contains("kept") && m["kept"].is_object();
    if (ok && m.contains("granularity") && m["granularity"].is_string()) {
      auto g = spec::parse_granularity(m["granularity"].get<std::string>());
      ok = g.ok();
      if (ok) masks.granularity = *g;
    }
    if (ok) {
      masks.digest = m["digest"].get<std::string>();
      for (auto k = m["kept"].begin(); k != m["kept"].end(); ++k)
        if (k.value().is_number_integer()) masks.kept[k.key()] = k.value().get<int64_t>();
      r.mask = masks;
    }
  }
  if (j.contains("mask_phase") && j["mask_phase"].is_object()) {
    const auto& m = j["mask_phase"];
    MaskOutcome o;
    if (m.contains("reached") && m["reached"].is_boolean()) o.reached = m["reached"].get<bool>();
    number(m, "epochs", o.epochs);
    number(m, "alive", o.alive);
    number(m, "cut", o.cut);
    number(m, "kept_alpha_min", o.kept_alpha_min);
    number(m, "kept_alpha_mean", o.kept_alpha_mean);
    number(m, "dropped_alpha_max", o.dropped_alpha_max);
    r.mask_outcome = o;
  }
  if (j.contains("epochs") && j["epochs"].is_array())
    for (const auto& e : j["epochs"]) {
      EpochRecord rec;
      if (e.is_object()) {
        number(e, "epoch", rec.epoch);
        number(e, "lr", rec.lr);
        number(e, "train_loss", rec.train_loss);
        number(e, "train_top1", rec.train_top1);
        number(e, "loss", rec.loss);
        number(e, "top1", rec.top1);
        number(e, "top5", rec.top5);
        number(e, "seconds", rec.seconds);
        number(e, "images_per_second", rec.images_per_second);
        number(e, "val_top1", rec.val_top1);
        number(e, "val_loss", rec.val_loss);
        if (e.contains("relus") && e["relus"].is_number_integer()) rec.relus = e["relus"].get<int64_t>();
        number(e, "l1_weight", rec.l1_weight);
      }
      r.epochs.push_back(rec);
    }
  return r;
}

}  // namespace deepreduce::spec
