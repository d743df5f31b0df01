// Method kd: knowledge distillation from the job's teacher (train.kd.teacher)
// replaces the task loss. Forms (train.kd.form):
//   hinton  (1 - lambda) * CE + lambda * T^2 * KL   (Hinton et al. 2015; DeepReDuce Sec. 3.5)
//   sum     CE + T^2 * KL                           (SNL's mask phase and fine-tuning)
#include "train/kd.h"
#include "train/methods/registry.h"

namespace deepreduce::train::methods {
namespace {

class Kd final : public Method {
 public:
  explicit Kd(const spec::KdOptions& o) : o_(o) {}
  const char* name() const override { return "kd"; }
  std::optional<torch::Tensor> task_loss(const Step& s) override {
    if (o_.form == spec::KdForm::kSum) return kd_sum_loss(s.logits, s.teacher_logits, s.labels, o_.temperature);
    return kd_loss(s.logits, s.teacher_logits, s.labels, o_.temperature, o_.lambda);
  }

 private:
  spec::KdOptions o_;
};

}  // namespace

MethodDef kd_method_def() {
  return {"kd", "knowledge distillation from the job's teacher (train.kd): Hinton's form or SNL's sum",
          [](const spec::TrainJob& job, const spec::RunOptions&) { return !job.train.kd.teacher.empty(); },
          [](const spec::TrainJob& job, const spec::RunOptions&) -> std::unique_ptr<Method> {
            return std::make_unique<Kd>(job.train.kd);
          }};
}

}  // namespace deepreduce::train::methods
