// Method prune: the fine-tuning of a channel-pruned network starts from its
// base's trained weights, cut to the job's (narrower) network by the
// criterion (nn/prune_weights.h); the rest is plain training.
#include <filesystem>

#include "nn/prune_weights.h"
#include "train/checkpoint.h"
#include "train/methods/registry.h"

namespace deepreduce::train::methods {
namespace {

class Prune final : public Method {
 public:
  const char* name() const override { return "prune"; }
  Status prepare(SessionContext& ctx) override {
    if (!ctx.run.resume.empty()) return Status();  // the checkpoint holds the weights
    // On the CPU, as a file's weights are: the pruned ones go to the device by copy.
    auto base = load_model(ctx.run.prune_base);
    if (!base.ok()) return base.status().with_context("the base to prune");
    auto pruned = nn::prune_network(*base, ctx.job.model, ctx.run.prune_criterion);
    if (!pruned.ok()) return pruned.status();
    // Kept beside the run: the surviving weights fine-tuning starts from.
    DR_RETURN_IF_ERROR(save_model((std::filesystem::path(ctx.out_dir) / "pruned.pt").string(), *pruned,
                                  ctx.job.data.dataset));
    nn::copy_weights(*pruned, ctx.net);
    return Status();
  }
};

}  // namespace

MethodDef prune_method_def() {
  return {"prune", "channel pruning's fine-tuning: the base's weights cut to the job's network by the criterion",
          [](const spec::TrainJob&, const spec::RunOptions& run) { return !run.prune_base.empty(); },
          [](const spec::TrainJob&, const spec::RunOptions&) -> std::unique_ptr<Method> { return std::make_unique<Prune>(); }};
}

}  // namespace deepreduce::train::methods
