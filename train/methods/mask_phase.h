// What the mask-phase methods share (snl.cpp, senet.cpp): the network's
// learnable masks α are what the phase trains or sets; after each epoch it
// counts the ReLUs whose α is above the threshold, and a completed phase
// binarises α, cuts it to the budget and leaves the mask beside the model
// (mask.bin, the trial's "mask" artifact) and in the result.
#pragma once

#include "train/method.h"

namespace deepreduce::train::methods {

class MaskPhase : public Method {
 public:
  explicit MaskPhase(const spec::LinearizeOptions& o) : o_(o) {}
  // A mask phase may meet its budget after any epoch.
  bool may_end_early() const override { return true; }
  // The count after the epoch (and the L1 weight it trained with, where there is one).
  void epoch_end(SessionContext& ctx, spec::EpochRecord& record) override;
  Status finish(SessionContext& ctx, spec::TrialResult& result) override;

 protected:
  // Whether the count met the budget before the epoch cap (SNL: its penalty
  // got there; SENet: its budgets hold from the first epoch).
  virtual bool reached_budget() const = 0;
  // What the epoch's count means to the method (SNL's λ rule); `alive` ReLUs keep α.
  virtual void counted(int64_t epoch, int64_t alive, spec::EpochRecord& record) {}
  const spec::LinearizeOptions o_;
};

}  // namespace deepreduce::train::methods
