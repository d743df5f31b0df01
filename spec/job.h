// What one training run is: the network, the data, the optimisation, KD. A
// plain value, free of LibTorch, with one JSON form shared by the CLI, the YAML
// trial file and (later) the store's TrialSpec.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/enum_names.h"
#include "common/status.h"
#include "spec/model_spec.h"
#include "spec/prune.h"

namespace deepreduce::spec {

// The closed choices of a job: parsed where they enter (the job schema reads
// every surface: YAML, options, JSON), compared as enums inside. Each table
// lists the names in the enum's order.
enum class Schedule { kCosine, kMultistep, kConstant };
inline constexpr EnumName<Schedule> kScheduleNames[] = {
    {Schedule::kCosine, "cosine"}, {Schedule::kMultistep, "multistep"}, {Schedule::kConstant, "constant"}};
enum class Precision { kFp32, kBf16, kFp16, kAuto };
inline constexpr EnumName<Precision> kPrecisionNames[] = {
    {Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}, {Precision::kFp16, "fp16"}, {Precision::kAuto, "auto"}};
enum class OptimizerKind { kSgd, kAdam };
inline constexpr EnumName<OptimizerKind> kOptimizerNames[] = {{OptimizerKind::kSgd, "sgd"},
                                                              {OptimizerKind::kAdam, "adam"}};
enum class KdForm { kHinton, kSum };
inline constexpr EnumName<KdForm> kKdFormNames[] = {{KdForm::kHinton, "hinton"}, {KdForm::kSum, "sum"}};
// senet is the uniform-share variant (its name from before SENet's measured
// shares existed: stored trials keep their ids); senet_sensitivity is SENet's.
enum class LinearizeMethod { kSnl, kSenetUniform, kSenet };
inline constexpr EnumName<LinearizeMethod> kLinearizeMethodNames[] = {{LinearizeMethod::kSnl, "snl"},
                                                                      {LinearizeMethod::kSenetUniform, "senet"},
                                                                      {LinearizeMethod::kSenet, "senet_sensitivity"}};
// The activations' layout while training (RunOptions: how a job runs, not what it is).
enum class MemoryFormat { kAuto, kChannelsLast, kContiguous };
inline constexpr EnumName<MemoryFormat> kMemoryFormatNames[] = {{MemoryFormat::kAuto, "auto"},
                                                                {MemoryFormat::kChannelsLast, "channels-last"},
                                                                {MemoryFormat::kContiguous, "contiguous"}};

struct DataOptions {
  std::string dataset = "synthetic";  // one of dataset_names()
  std::string data_dir;               // where its files are; unused for synthetic
  int64_t train_subset = 0;           // class-balanced subset size; 0 keeps all
  int64_t test_subset = 0;
  // Images held out of the (subsetted) training set, stratified and seeded,
  // as a validation split: the search decides on validation top-1 and reports
  // test top-1 beside it. 0: none (decisions on test top-1, as before).
  int64_t val_split = 0;
  bool augment = true;                // pad 4 + random crop + horizontal flip
};

// Knowledge distillation (Hinton et al. 2015); active when teacher is set.
struct KdOptions {
  std::string teacher;       // a model.pt written by `deepreduce train`
  double temperature = 4.0;  // T
  double lambda = 0.9;       // weight of the soft-target term
  // hinton: (1 - lambda) * CE + lambda * T^2 * KL (DeepReDuce's);
  // sum: CE + T^2 * KL (SNL's, for the mask phase and its fine-tuning).
  KdForm form = KdForm::kHinton;
  // > 0: attention transfer beside the form above (Zagoruyko & Komodakis
  // 2017, as SENet's fine-tuning uses it): + at_weight * Σ over the ReLU
  // sites of the mean squared difference between the student's and the
  // teacher's normalised attention maps (channel mean of the squared post-ReLU
  // output). 0: none.
  double at_weight = 0;
};

// The mask phase of learned linearization (SNL, Cho et al., ICML 2022): the
// network's learnable masks α (model.masks) trained with an L1 penalty that
// grows until at most `budget` ReLUs keep α above `threshold`; then α is
// binarised and cut to the budget exactly (the largest α stay).
struct LinearizeOptions {
  int64_t budget = 0;       // > 0: this job is a mask phase
  double lambda = 1e-5;     // the L1 weight it starts at
  double growth = 1.1;      // λ *= growth after an epoch that did not lower the count below its lowest
  int64_t patience = 5;     // ... once the epoch's 0-based index is this or more (SNL's rule)
  double threshold = 0.01;  // α above this keeps its ReLU
  // α's own learning rate (a second parameter group, scaled by the schedule
  // like the weights'); 0: the job's lr, as SNL trains them.
  double alpha_lr = 0;
  // snl: α trained under the L1 penalty, as above. senet: per-layer budgets
  // (SENet-style): before each epoch every site keeps the same share of its
  // ReLUs, the units where the student's input differs most from the
  // teacher's output; α is set, not trained, and meets the budget every epoch.
  LinearizeMethod method = LinearizeMethod::kSnl;
};

struct TrainOptions {
  int64_t epochs = 10;
  // Length of the learning-rate schedule in epochs; 0 = epochs. A run with
  // epochs < horizon trains the first epochs of a longer schedule, and a run
  // with more epochs and the same horizon continues it exactly from its
  // checkpoint (successive halving's promotions).
  int64_t horizon = 0;
  int64_t batch_size = 128;
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  Schedule schedule = Schedule::kCosine;
  std::vector<int64_t> milestones;  // multistep: epochs (1-based) after which lr *= gamma
  double gamma = 0.1;
  int64_t warmup_epochs = 0;        // linear warm-up to lr over these epochs
  // Evaluate every this many epochs (and always after the last): the
  // validation split when there is one (the test split is then measured once,
  // at the end), else the test split. Evaluation changes nothing in training,
  // so it is no part of a trial's id. 1: every epoch.
  int64_t eval_every = 1;
  uint64_t seed = 0;
  // Arithmetic of the forward pass: fp32, or autocast to bf16 (CPU and CUDA)
  // or fp16 (CUDA, with a dynamic loss scale), or "auto": bf16 where the
  // hardware computes it natively (a CPU with AVX512-BF16 or AMX, a GPU of
  // compute capability 8 or more), fp32 elsewhere; the result records which.
  // Part of what a trial is: its canonical JSON names it unless it is fp32,
  // so fp32 ids are unchanged.
  Precision precision = Precision::kFp32;
  OptimizerKind optimizer = OptimizerKind::kSgd;  // sgd (momentum, nesterov, weight decay) | adam (lr, weight decay)
  KdOptions kd;
  LinearizeOptions linearize;
};

struct TrainJob {
  spec::ModelSpec model;
  DataOptions data;
  TrainOptions train;
};

// Execution settings: how a job runs, not what it computes.
struct RunOptions {
  std::string device = "cpu";  // cpu | cuda | cuda:N
  int threads = 0;             // intra-op threads; 0 = every core
  std::string resume;          // a checkpoint.pt to continue from
  // A model.pt whose weights training starts from (fine-tuning a pruned
  // network); its network must have the job's shape (the ReLU plan may differ).
  // Ignored when resuming: the checkpoint holds the weights then.
  std::string init;
  // Tensor layout of activations and conv weights: "auto" is channels-last on
  // CUDA (tensor cores want NHWC) and on a CPU training in bf16 (its oneDNN
  // kernels are faster in NHWC), contiguous on a CPU in fp32 (bit-identical
  // to earlier builds); "channels-last" or "contiguous" force one.
  MemoryFormat memory_format = MemoryFormat::kAuto;
  // Channel pruning's fine-tuning (the "prune" method): a model.pt whose
  // filters `prune_criterion` cuts to the job's (narrower) network for the
  // initial weights. Ignored when resuming: the checkpoint holds the weights.
  std::string prune_base;
  spec::PruneCriterion prune_criterion = spec::PruneCriterion::kL1;
  // A mask file (deepreduce-mask, spec/relu_mask.h) holding the values of the
  // job's fixed mask (model.masks); needless when `init` holds them.
  std::string mask;
  int64_t stop_after = 0;      // stop after this epoch (a checkpoint is kept); 0 = run to the end
  bool progress = false;       // draw progress on stderr
  // Resuming: the job may have a longer schedule than the checkpoint's (its
  // epochs from there on follow the job's schedule; `train --resume CKPT
  // --epochs N` extends a finished or stopped run this way).
  bool extend = false;
};

// The schedule's length: horizon, or epochs when horizon is 0.
inline int64_t schedule_epochs(const TrainOptions& t) { return t.horizon > 0 ? t.horizon : t.epochs; }

// Learning rate of epoch `epoch` (0-based) under the job's schedule.
double learning_rate(const TrainOptions& t, int64_t epoch);

Status validate(const TrainJob& job);

// Canonical JSON (every field, fixed key order).
nlohmann::json to_json(const TrainJob& job);
// Parses a job from JSON; unknown keys and wrong types name the key path.
// `check` false skips validation (a job read back from a trusted store).
Result<TrainJob> train_job_from_json(const nlohmann::json& j, bool check = true);

}  // namespace deepreduce::spec
