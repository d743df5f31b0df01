// Method at: attention transfer (Zagoruyko & Komodakis, ICLR 2017) beside the
// job's KD form, as SENet's fine-tuning distils activation maps. At every ReLU
// site the attention map of an output f [N, C, H, W] is the channel mean of f²,
// flattened per image and L2-normalised; the loss adds
//   at_weight * Σ_sites mean((at(student) - at(teacher))²),
// the sites' post-ReLU (post-mask) outputs of the step's forward passes. Any
// method's job may use it (train.kd.at_weight > 0 with a teacher).
#include "train/methods/registry.h"

namespace deepreduce::train::methods {
namespace {

torch::Tensor attention(const torch::Tensor& f) {
  const torch::Tensor a = f.to(torch::kFloat).pow(2).mean(1).flatten(1);
  return torch::nn::functional::normalize(a, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1));
}

class AttentionTransfer final : public Method {
 public:
  explicit AttentionTransfer(double weight) : weight_(weight) {}
  const char* name() const override { return "at"; }
  Status prepare(SessionContext& ctx) override {
    if (!ctx.teacher) return Status::invalid_argument("train.kd.at_weight: attention transfer needs a teacher (train.kd.teacher)");
    return Status();
  }
  bool records_sites() const override { return true; }
  std::optional<torch::Tensor> extra_loss(const Step& s) override {
    std::optional<torch::Tensor> sum;
    for (const auto& [site, out] : s.student_sites.out) {
      auto t = s.teacher_sites.out.find(site);
      if (t == s.teacher_sites.out.end()) continue;  // a site the teacher culled has no map to match
      const torch::Tensor d = (attention(out) - attention(t->second)).pow(2).mean();
      sum = sum ? *sum + d : d;
    }
    if (!sum) return std::nullopt;
    return weight_ * *sum;
  }

 private:
  double weight_;
};

}  // namespace

MethodDef at_method_def() {
  return {"at", "attention transfer beside KD: the students' post-ReLU attention maps matched to the teacher's",
          [](const spec::TrainJob& job, const spec::RunOptions&) {
            // Without a teacher too, so that prepare() refuses it rather than the weight being ignored.
            return job.train.kd.at_weight > 0;
          },
          [](const spec::TrainJob& job, const spec::RunOptions&) -> std::unique_ptr<Method> {
            return std::make_unique<AttentionTransfer>(job.train.kd.at_weight);
          }};
}

}  // namespace deepreduce::train::methods
