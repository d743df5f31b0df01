#include "spec/job_schema.h"

#include "common/nearest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <limits>

namespace deepreduce::spec {
namespace {

#define DR_FIELD(expr) [](TrainJob& j) -> void* { return &j.expr; }
#define DR_CHOICES(table) [] { return enum_names(table); }

// Enum fields are read and written as their int index.
static_assert(sizeof(Schedule) == sizeof(int) && sizeof(Precision) == sizeof(int) &&
              sizeof(OptimizerKind) == sizeof(int) && sizeof(KdForm) == sizeof(int) &&
              sizeof(LinearizeMethod) == sizeof(int));

}  // namespace

const std::vector<JobKey>& job_keys() {
  // clang-format off
  static const std::vector<JobKey> kKeys = {
    {"data.dataset", "dataset.name", "dataset", KeyType::kString,
     "dataset: synthetic, mnist, fashion-mnist, cifar10, cifar100, tiny-imagenet", false, false, "fashion-mnist",
     DR_FIELD(data.dataset)},
    {"data.data_dir", "dataset.path", "data-dir", KeyType::kString,
     "folder of the dataset's files (fashion-mnist: Debian's /usr/share/datasets/fashion-mnist by default); "
     "not part of a trial's id", false, false, nullptr, DR_FIELD(data.data_dir)},
    {"data.train_subset", "dataset.train_subset", "train-subset", KeyType::kInt,
     "class-balanced training subset size (0: all)", false, false, nullptr, DR_FIELD(data.train_subset)},
    {"data.test_subset", "dataset.test_subset", "test-subset", KeyType::kInt,
     "class-balanced test subset size (0: all)", false, false, nullptr, DR_FIELD(data.test_subset)},
    {"data.val_split", "dataset.val_split", "val-split", KeyType::kInt,
     "images held out of the training set (stratified, seeded) as a validation split; a search decides on "
     "validation top-1 and reports test top-1 (0: none)", true, false, nullptr, DR_FIELD(data.val_split)},
    {"data.augment", "dataset.augment", "no-augment", KeyType::kBool,
     "no random crop / flip", false, true, nullptr, DR_FIELD(data.augment)},
    {"train.epochs", "train.epochs", "epochs", KeyType::kInt, "epochs", false, false, nullptr, DR_FIELD(train.epochs)},
    {"train.horizon", "", "", KeyType::kInt,
     "length of the learning-rate schedule (0: epochs); set by successive halving", false, false, nullptr,
     DR_FIELD(train.horizon)},
    {"train.batch", "train.batch", "batch", KeyType::kInt, "batch size", false, false, nullptr,
     DR_FIELD(train.batch_size)},
    {"train.lr", "train.lr", "lr", KeyType::kDouble, "peak learning rate (SGD)", false, false, nullptr,
     DR_FIELD(train.lr)},
    {"train.momentum", "train.momentum", "momentum", KeyType::kDouble, "SGD momentum", false, false, nullptr,
     DR_FIELD(train.momentum)},
    {"train.nesterov", "train.nesterov", "nesterov", KeyType::kBool, "Nesterov momentum", false, false, nullptr,
     DR_FIELD(train.nesterov)},
    {"train.weight_decay", "train.weight_decay", "weight-decay", KeyType::kDouble, "weight decay", false, false,
     nullptr, DR_FIELD(train.weight_decay)},
    {"train.schedule", "train.schedule", "schedule", KeyType::kEnum, "cosine, multistep or constant", false, false,
     nullptr, DR_FIELD(train.schedule), DR_CHOICES(kScheduleNames)},
    {"train.milestones", "train.milestones", "milestones", KeyType::kIntList,
     "multistep: epochs after which lr *= gamma, e.g. 100,150", false, false, nullptr, DR_FIELD(train.milestones)},
    {"train.gamma", "train.gamma", "gamma", KeyType::kDouble, "multistep decay factor", false, false, nullptr,
     DR_FIELD(train.gamma)},
    {"train.warmup_epochs", "train.warmup_epochs", "warmup-epochs", KeyType::kInt, "linear warm-up epochs", false,
     false, nullptr, DR_FIELD(train.warmup_epochs)},
    {"train.eval_every", "train.eval_every", "eval-every", KeyType::kInt,
     "evaluate every N epochs and after the last (validation split if held out, else test); no part of a trial's "
     "id (1: every epoch)", true, false, nullptr, DR_FIELD(train.eval_every)},
    {"train.seed", "train.seed", "seed", KeyType::kUint, "seed of weights, data order and augmentation", false, false,
     nullptr, DR_FIELD(train.seed)},
    {"train.precision", "train.precision", "precision", KeyType::kEnum,
     "fp32; bf16 (autocast, CPU or CUDA); fp16 (autocast with a dynamic loss scale, CUDA only); auto (bf16 where "
     "the hardware computes it natively: AVX512-BF16 or AMX CPUs, GPUs of compute capability 8+; fp32 elsewhere)",
     true, false,
     nullptr, DR_FIELD(train.precision), DR_CHOICES(kPrecisionNames)},
    {"train.kd.teacher", "", "teacher", KeyType::kString,
     "a model.pt from an earlier run: train with KD from it (a sweep names teachers by role)", false, false, nullptr,
     DR_FIELD(train.kd.teacher)},
    {"train.kd.temperature", "kd.temperature", "kd-temperature", KeyType::kDouble, "KD temperature T", false, false,
     nullptr, DR_FIELD(train.kd.temperature)},
    {"train.kd.lambda", "kd.lambda", "kd-lambda", KeyType::kDouble, "KD weight lambda of the soft-target term",
     false, false, nullptr, DR_FIELD(train.kd.lambda)},
    {"train.kd.form", "kd.form", "kd-form", KeyType::kEnum,
     "hinton: (1-lambda) CE + lambda T^2 KL; sum: CE + T^2 KL (SNL's)", true, false, nullptr, DR_FIELD(train.kd.form), DR_CHOICES(kKdFormNames)},
    {"train.kd.at_weight", "kd.at_weight", "kd-at-weight", KeyType::kDouble,
     "attention transfer beside the KD form: + this weight x the mean squared difference of the student's and the "
     "teacher's normalised attention maps at every ReLU site (SENet's fine-tuning: 1000; 0: none)", true, false,
     nullptr, DR_FIELD(train.kd.at_weight)},
    {"train.optimizer", "train.optimizer", "optimizer", KeyType::kEnum,
     "sgd (momentum, nesterov, weight decay) or adam", true, false, nullptr, DR_FIELD(train.optimizer), DR_CHOICES(kOptimizerNames)},
    {"train.linearize.budget", "", "linearize-budget", KeyType::kInt,
     "the mask phase of learned linearization: train the network's learnable ReLU masks (--mask-learnable) "
     "under a growing L1 penalty until at most this many ReLUs stay (0: not a mask phase)", true, false, nullptr,
     DR_FIELD(train.linearize.budget)},
    {"train.linearize.lambda", "", "linearize-lambda", KeyType::kDouble, "the mask phase's initial L1 weight", true,
     false, nullptr, DR_FIELD(train.linearize.lambda)},
    {"train.linearize.growth", "", "linearize-growth", KeyType::kDouble,
     "the factor the L1 weight grows by after an epoch that did not lower the ReLU count", true, false, nullptr,
     DR_FIELD(train.linearize.growth)},
    {"train.linearize.patience", "", "linearize-patience", KeyType::kInt,
     "the L1 weight may grow after an epoch whose 0-based index is this or more (SNL's rule: 5, the first growth "
     "after the sixth epoch)", true, false, nullptr, DR_FIELD(train.linearize.patience)},
    {"train.linearize.threshold", "", "linearize-threshold", KeyType::kDouble,
     "a mask value above this keeps its ReLU", true, false, nullptr, DR_FIELD(train.linearize.threshold)},
    {"train.linearize.method", "", "linearize-method", KeyType::kEnum,
     "snl: masks learned under a growing L1 penalty; senet_sensitivity: SENet's per-layer budgets from a measured "
     "sensitivity, each site's top units by |teacher - student| summed over the epoch; senet: the same with every "
     "layer at one share (an ablation)", true, false, nullptr, DR_FIELD(train.linearize.method), DR_CHOICES(kLinearizeMethodNames)},
    {"train.linearize.alpha_lr", "", "linearize-alpha-lr", KeyType::kDouble,
     "the mask values' own learning rate (0: the job's lr)", true, false, nullptr, DR_FIELD(train.linearize.alpha_lr)},
  };
  // clang-format on
  return kKeys;
}

#undef DR_FIELD
#undef DR_CHOICES

const JobKey* key_by_path(const std::string& path) {
  for (const auto& k : job_keys())
    if (path == k.path) return &k;
  return nullptr;
}

const JobKey* key_by_sweep(const std::string& sweep) {
  for (const auto& k : job_keys())
    if (*k.sweep && sweep == k.sweep) return &k;
  return nullptr;
}

const JobKey* key_by_option(const std::string& option) {
  for (const auto& k : job_keys())
    if (*k.option && option == k.option) return &k;
  return nullptr;
}

const char* expected_text(KeyType type) {
  switch (type) {
    case KeyType::kInt: return "an integer";
    case KeyType::kUint: return "an integer >= 0";
    case KeyType::kDouble: return "a number";
    case KeyType::kBool: return "true or false";
    case KeyType::kString: return "a string";
    case KeyType::kIntList: return "a list of integers";
    case KeyType::kEnum: return "one of its names";
  }
  return "a value";
}

std::string expected_text(const JobKey& key) {
  if (key.type != KeyType::kEnum) return expected_text(key.type);
  const std::vector<std::string> names = key.choices();
  std::string listed;
  for (size_t i = 0; i < names.size(); ++i)
    listed += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return listed;
}

nlohmann::json get_key(const JobKey& key, const TrainJob& job) {
  void* f = key.field(const_cast<TrainJob&>(job));
  switch (key.type) {
    case KeyType::kInt: return *static_cast<int64_t*>(f);
    case KeyType::kUint: return *static_cast<uint64_t*>(f);
    case KeyType::kDouble: return *static_cast<double*>(f);
    case KeyType::kBool: return *static_cast<bool*>(f);
    case KeyType::kString: return *static_cast<std::string*>(f);
    case KeyType::kIntList: return *static_cast<std::vector<int64_t>*>(f);
    case KeyType::kEnum: {
      int index = 0;
      std::memcpy(&index, f, sizeof index);
      return key.choices().at(static_cast<size_t>(index));
    }
  }
  return nullptr;
}

Status set_key(const JobKey& key, TrainJob& job, const nlohmann::json& v) {
  void* f = key.field(job);
  auto wrong = [&] {
    std::string shown = v.dump();
    if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
    return Status::invalid_argument(fmt::format("{}: expected {}, got {}", key.path, expected_text(key.type), shown));
  };
  switch (key.type) {
    case KeyType::kInt:
      if (!v.is_number_integer()) return wrong();
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return wrong();
      *static_cast<int64_t*>(f) = v.get<int64_t>();
      return Status();
    case KeyType::kUint:
      if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0)) return wrong();
      *static_cast<uint64_t*>(f) = v.get<uint64_t>();
      return Status();
    case KeyType::kDouble:
      if (!v.is_number()) return wrong();
      *static_cast<double*>(f) = v.get<double>();
      return Status();
    case KeyType::kBool:
      if (!v.is_boolean()) return wrong();
      *static_cast<bool*>(f) = v.get<bool>();
      return Status();
    case KeyType::kString:
      if (!v.is_string()) return wrong();
      *static_cast<std::string*>(f) = v.get<std::string>();
      return Status();
    case KeyType::kIntList: {
      if (!v.is_array()) return wrong();
      std::vector<int64_t> out;
      for (const auto& item : v) {
        if (!item.is_number_integer()) return wrong();
        out.push_back(item.get<int64_t>());
      }
      *static_cast<std::vector<int64_t>*>(f) = std::move(out);
      return Status();
    }
    case KeyType::kEnum: {
      const std::vector<std::string> names = key.choices();
      const std::string listed = expected_text(key);
      if (!v.is_string()) {
        std::string shown = v.dump();
        if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
        return Status::invalid_argument(fmt::format("{}: expected {}, got {}", key.path, listed, shown));
      }
      const std::string text = v.get<std::string>();
      const auto it = std::find(names.begin(), names.end(), text);
      if (it == names.end()) {
        const std::string near = nearest(text, names);
        return Status::invalid_argument(fmt::format("{}: expected {}, got \"{}\"{}", key.path, listed,
                                                    text.substr(0, 80), near.empty() ? "" : "; did you mean " + near + "?"));
      }
      const int index = static_cast<int>(it - names.begin());
      std::memcpy(f, &index, sizeof index);
      return Status();
    }
  }
  return wrong();
}

namespace {

bool parse_int(const std::string& text, int64_t& out) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

}  // namespace

Status set_key_from_text(const JobKey& key, TrainJob& job, const std::string& text) {
  auto wrong = [&] {
    return Status::invalid_argument(
        fmt::format("{}: expected {}, got \"{}\"", key.path, expected_text(key.type), text.substr(0, 80)));
  };
  switch (key.type) {
    case KeyType::kInt: {
      int64_t v;
      if (!parse_int(text, v)) return wrong();
      return set_key(key, job, v);
    }
    case KeyType::kUint: {
      if (text.empty() || text[0] == '-') return wrong();
      errno = 0;
      char* end = nullptr;
      const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
      if (errno != 0 || *end != '\0') return wrong();
      return set_key(key, job, static_cast<uint64_t>(v));
    }
    case KeyType::kDouble: {
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(text.c_str(), &end);
      if (text.empty() || errno != 0 || *end != '\0') return wrong();
      return set_key(key, job, v);
    }
    case KeyType::kBool:
      if (text == "true" || text == "yes" || text == "on") return set_key(key, job, true);
      if (text == "false" || text == "no" || text == "off") return set_key(key, job, false);
      return wrong();
    case KeyType::kString:
    case KeyType::kEnum:
      return set_key(key, job, text);
    case KeyType::kIntList: {
      nlohmann::json list = nlohmann::json::array();
      size_t begin = 0;
      while (begin <= text.size() && !text.empty()) {
        size_t end = text.find(',', begin);
        if (end == std::string::npos) end = text.size();
        int64_t v;
        if (!parse_int(text.substr(begin, end - begin), v)) return wrong();
        list.push_back(v);
        begin = end + 1;
      }
      return set_key(key, job, list);
    }
  }
  return wrong();
}

std::string default_text(const JobKey& key) {
  if (key.option_default) return key.option_default;
  const nlohmann::json v = get_key(key, TrainJob{});
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) out += (out.empty() ? "" : ",") + item.dump();
    return out;
  }
  return v.dump();
}

std::string leading_key(const std::string& message) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos) return "";
  const std::string key = message.substr(0, colon);
  return key_by_path(key) ? key : "";
}

}  // namespace deepreduce::spec
