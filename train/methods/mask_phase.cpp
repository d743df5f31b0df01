#include "train/methods/mask_phase.h"

#include <filesystem>

#include "common/files.h"
#include "nn/masks.h"
#include "spec/counts.h"

namespace deepreduce::train::methods {

void MaskPhase::epoch_end(SessionContext& ctx, spec::EpochRecord& record) {
  const int64_t alive = nn::alive_relus(ctx.net, o_.threshold);
  record.relus = alive;
  counted(record.epoch, alive, record);
}

Status MaskPhase::finish(SessionContext& ctx, spec::TrialResult& result) {
  // Binarised, and cut to the budget where the count still exceeds it: the
  // mask a fine-tuning trains under.
  spec::MaskOutcome outcome;
  const spec::MaskValues values = nn::binarize(ctx.net, o_.threshold, o_.budget, &outcome);
  outcome.reached = reached_budget();
  outcome.epochs = static_cast<int64_t>(result.epochs.size());
  result.mask_outcome = outcome;
  result.mask = spec::fixed_masks(values);
  spec::ModelSpec masked = ctx.job.model;
  masked.masks = result.mask;
  result.relus = spec::count(masked)->relus;
  return write_file_atomic((std::filesystem::path(ctx.out_dir) / "mask.bin").string(), spec::encode_mask(values));
}

}  // namespace deepreduce::train::methods
