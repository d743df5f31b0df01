// Method snl: the mask phase of Selective Network Linearization (Cho et al.,
// ICML 2022). α per unit (initially 1) is trained with the weights under an
// L1 penalty λ·Σ|α|; after every epoch the ReLUs with α above the threshold
// are counted and an epoch whose count did not fall below its lowest
// multiplies λ by `growth`, once the epoch's 0-based index is `patience` or
// more (SNL's `epoch >= 5`: the first growth follows the sixth epoch). The phase ends once the
// count is within the budget (or at its epoch cap); then α is binarised and
// cut to the budget (mask_phase.h).
#include <limits>

#include "nn/masks.h"
#include "train/methods/mask_phase.h"
#include "train/methods/registry.h"

namespace deepreduce::train::methods {
namespace {

bool is_alpha(const std::string& name) { return name.size() > 6 && name.compare(name.size() - 6, 6, ".alpha") == 0; }

class Snl final : public MaskPhase {
 public:
  explicit Snl(const spec::LinearizeOptions& o) : MaskPhase(o), l1_weight_(o.lambda) {}
  const char* name() const override { return "snl"; }
  Status prepare(SessionContext& ctx) override {
    net_ = &ctx.net;
    return Status();
  }
  // α in a group of its own when it has a learning rate of its own.
  ParamPlace place_parameter(const std::string& name) const override {
    if (o_.alpha_lr > 0 && is_alpha(name)) return {ParamPlace::kOwnGroup, o_.alpha_lr};
    return {};
  }
  void restore(const nlohmann::json& state) override {
    l1_weight_ = state.value("l1_weight", l1_weight_);
    lowest_ = state.value("lowest", lowest_);
    budget_met_ = state.value("budget_met", false);
  }
  std::optional<torch::Tensor> extra_loss(const Step&) override { return l1_weight_ * nn::alpha_l1(*net_); }
  bool done() const override { return budget_met_; }
  bool reached_budget() const override { return budget_met_; }
  nlohmann::json state() const override {
    return {{"l1_weight", l1_weight_}, {"lowest", lowest_}, {"budget_met", budget_met_}};
  }

 private:
  void counted(int64_t epoch, int64_t alive, spec::EpochRecord& record) override {
    record.l1_weight = l1_weight_;  // the weight this epoch trained with
    // `epoch` counts from 1; SNL's rule reads the 0-based index.
    if (epoch - 1 >= o_.patience && alive >= lowest_) l1_weight_ *= o_.growth;
    lowest_ = std::min(lowest_, alive);
    budget_met_ = alive <= o_.budget;
  }
  nn::Network* net_ = nullptr;
  double l1_weight_;
  int64_t lowest_ = std::numeric_limits<int64_t>::max();
  bool budget_met_ = false;
};

}  // namespace

MethodDef snl_method_def() {
  return {"snl", "SNL's mask phase: α trained under a growing L1 penalty until the ReLU budget is met",
          [](const spec::TrainJob& job, const spec::RunOptions&) {
            return job.train.linearize.budget > 0 && job.train.linearize.method == spec::LinearizeMethod::kSnl;
          },
          [](const spec::TrainJob& job, const spec::RunOptions&) -> std::unique_ptr<Method> {
            return std::make_unique<Snl>(job.train.linearize);
          }};
}

}  // namespace deepreduce::train::methods
