#include "train/kd.h"

namespace deepreduce::train {

torch::Tensor kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                      const torch::Tensor& targets, double temperature, double lambda) {
  const torch::Tensor hard = torch::nn::functional::cross_entropy(student_logits, targets);
  const torch::Tensor log_p_student = torch::log_softmax(student_logits / temperature, 1);
  const torch::Tensor log_p_teacher = torch::log_softmax(teacher_logits / temperature, 1);
  // KL(teacher || student) per example, then the batch mean ("batchmean").
  const torch::Tensor kl =
      (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(1).mean();
  return (1.0 - lambda) * hard + lambda * temperature * temperature * kl;
}

torch::Tensor kd_sum_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                          const torch::Tensor& targets, double temperature) {
  // (1 - 1/2) CE + 1/2 T^2 KL, twice: CE + T^2 KL.
  return 2.0 * kd_loss(student_logits, teacher_logits, targets, temperature, 0.5);
}

}  // namespace deepreduce::train
