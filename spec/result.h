// What a trained trial reports: per-epoch records and the final result, typed.
// result.json (written by `deepreduce train`) and the store's result records
// are its JSON form; this is the one place that reads and writes them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/relu_mask.h"

namespace deepreduce::spec {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double lr = 0;
  double train_loss = 0;
  double train_top1 = 0;  // percent, on augmented batches
  // On the test split: every epoch without a validation split; with one, the
  // last epoch only (the test set is looked at once, after every decision
  // was made on validation; the earlier epochs carry val_top1).
  std::optional<double> loss;  // test loss
  std::optional<double> top1;  // test top-1, percent
  std::optional<double> top5;
  std::optional<double> val_top1, val_loss;  // on the validation split, when the job holds one out
  double seconds = 0;     // wall time of the epoch (training and evaluation)
  double images_per_second = 0;  // training images per second
  // A mask phase: the ReLUs whose α is above the threshold after the epoch,
  // and the L1 weight the epoch trained with.
  std::optional<int64_t> relus;
  std::optional<double> l1_weight;
};

// How a mask phase ended: did its count meet the budget before its epoch
// cap (SNL: through its growing penalty; SENet: by construction), or was it
// cut to the budget at the cap; and how far from 0/1 its α were when binarised.
struct MaskOutcome {
  bool reached = false;
  int64_t epochs = 0;              // epochs it trained
  int64_t alive = 0;               // ReLUs whose α was above the threshold at the end
  int64_t cut = 0;                 // of those, cut to meet the budget (the largest α stay)
  double kept_alpha_min = 0;       // the smallest α kept (1 is a ReLU the penalty left alone)
  double kept_alpha_mean = 0;
  double dropped_alpha_max = 0;    // the largest α made linear (0: a clean cut)
};
nlohmann::ordered_json to_json(const MaskOutcome& m);
// "reached its budget through the penalty in 37 epochs; kept α 0.02 to 1 (mean 0.91), dropped up to 0.004";
// "hit its cap of 6 epochs with 15,320 ReLUs alive: 3,320 cut to the budget; ...".
std::string mask_outcome_text(const MaskOutcome& m);

struct TrialResult {
  // Of the last epoch, on the test split. Absent only in results that trained
  // nothing (a no-op trial's).
  std::optional<double> top1, top5;
  double loss = 0;
  std::optional<double> val_top1;  // of the last epoch, on the validation split (data.val_split)
  int64_t relus = 0, macs = 0, params = 0;
  std::vector<EpochRecord> epochs;
  double images_per_second = 0;  // over all training batches of this process
  bool completed = false;        // false when stopped early (stop_after or a stop request)
  // Host reads of the training loop's device-side sums (progress reports and
  // epoch ends): a handful per epoch, never one per batch. Not stored.
  int64_t host_syncs = 0;
  std::string device;
  // What it trained in: the precision (train.precision "auto" resolved on its
  // device) and the activations' layout. "" in results of earlier builds.
  std::string precision, memory_format;
  bool noop = false;  // a no-op trial's result (benchmarks of the coordinator)
  // A mask phase: the binarised mask it ends with, cut to its budget (the
  // trial's "mask" artifact holds the values). `relus` is what it keeps.
  std::optional<spec::ReluMasks> mask;
  std::optional<MaskOutcome> mask_outcome;  // a mask phase: how it ended

  // What a search decides on (criticality ranking, promotion, the front):
  // validation top-1 when there is a validation split, else test top-1.
  std::optional<double> decision_top1() const { return val_top1 ? val_top1 : top1; }
  // The wall time of its epochs.
  double seconds() const;
};

// result.json's form, keys in the documented order.
nlohmann::ordered_json to_json(const TrialResult& r);
nlohmann::ordered_json to_json(const EpochRecord& e);
// Strict: every field of an epoch record (checkpoints written by this build).
Result<EpochRecord> epoch_record_from_json(const nlohmann::json& j);
// The accuracy an epoch's progress report shows (a PROGRESS message, a leased
// trial's stored progress): test top-1 where the epoch measured it, else
// validation's, else the training batches'; `split` says which ("test", "val",
// "train"). None when it holds no number (lenient: any JSON).
struct ProgressTop1 {
  double value = 0;
  const char* split = "test";
};
std::optional<ProgressTop1> progress_top1(const nlohmann::json& epoch);
// Lenient: a stored result of any build, or a no-op's. Absent or malformed
// fields stay unset or 0; never an exception.
TrialResult trial_result_from_json(const nlohmann::json& j);

}  // namespace deepreduce::spec
