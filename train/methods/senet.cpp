// Method senet-uniform (train.linearize.method: senet): per-layer budgets set,
// not learned. Before every epoch each ReLU site keeps the same share of its
// units (the budget over all of them), the units whose input in the student
// is farthest from the teacher's output at the same site on the first 8
// training batches (in order, unaugmented, eval mode). α is set, not trained,
// and meets the budget every epoch, so the phase trains all its epochs.
#include <map>

#include "nn/masks.h"
#include "train/loader.h"
#include "train/methods/mask_phase.h"
#include "train/methods/registry.h"

namespace deepreduce::train::methods {
namespace {

class SenetUniform final : public MaskPhase {
 public:
  using MaskPhase::MaskPhase;
  const char* name() const override { return "senet"; }
  Status prepare(SessionContext& ctx) override {
    if (!ctx.teacher)
      return Status::invalid_argument("train.linearize.method: senet needs a teacher (train.kd.teacher)");
    return Status();
  }
  ParamPlace place_parameter(const std::string& name) const override {
    const bool alpha = name.size() > 6 && name.compare(name.size() - 6, 6, ".alpha") == 0;
    return alpha ? ParamPlace{ParamPlace::kFrozen} : ParamPlace{};
  }
  Status epoch_start(SessionContext& ctx, int64_t) override;
  bool reached_budget() const override { return true; }  // each epoch's masks are within it
};

Status SenetUniform::epoch_start(SessionContext& ctx, int64_t) {
  constexpr int kBatches = 8;
  nn::Network& net = ctx.net;
  nn::Network& teacher = *ctx.teacher;
  const bool was_training = net->is_training();
  net->eval();
  torch::NoGradGuard no_grad;
  LoaderOptions lo;
  lo.batch_size = 128;
  lo.shuffle = false;
  lo.augment = false;
  lo.norm = ctx.dataset.normalization;
  lo.pin_memory = ctx.place.device.is_cuda();
  BatchLoader loader(ctx.train_data, lo);
  std::map<std::string, torch::Tensor> importance;
  int64_t images = 0;
  for (int b = 0; b < kBatches; ++b) {
    auto batch = loader.next();
    if (!batch) break;
    const torch::Tensor x = ctx.place.to_device(batch->images);
    nn::SiteRecord t, s;
    {
      nn::RecordSites record(t);
      teacher->forward(x);
    }
    {
      nn::RecordSites record(s);
      net->forward(x);
    }
    for (auto& g : nn::learnable_gates(net)) {
      const std::string& site = g->name();
      if (!t.out.count(site) || !s.in.count(site))
        return Status::internal("per-layer budgets: the teacher has no site " + site);
      torch::Tensor d = (t.out[site].to(torch::kFloat) - s.in[site].to(torch::kFloat)).abs().sum(0);  // [C, H, W]
      if (g->granularity() == spec::MaskGranularity::kChannel) d = d.sum({1, 2});
      importance[site] = importance.count(site) ? importance[site] + d : d;
    }
    images += batch->labels.size(0);
  }
  net->train(was_training);
  if (images == 0) return Status::invalid_argument("per-layer budgets: no training images");
  return nn::set_top_k(net, importance, o_.budget);
}

}  // namespace

MethodDef senet_method_def() {
  return {"senet", "per-layer budgets of one share each, the units chosen by |teacher - student| before every epoch",
          [](const spec::TrainJob& job, const spec::RunOptions&) {
            return job.train.linearize.budget > 0 && job.train.linearize.method == spec::LinearizeMethod::kSenet;
          },
          [](const spec::TrainJob& job, const spec::RunOptions&) -> std::unique_ptr<Method> {
            return std::make_unique<SenetUniform>(job.train.linearize);
          }};
}

}  // namespace deepreduce::train::methods
