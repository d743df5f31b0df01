// The knowledge-distillation loss of Hinton et al. (2015), as DeepReDuce uses it
// (paper Sec. 3.5):
//   (1 - lambda) * CE(student, y) + lambda * T^2 * KL(softmax(t/T) || softmax(s/T))
// with the KL term averaged over the batch.
#pragma once

#include <torch/torch.h>

namespace deepreduce::train {

torch::Tensor kd_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                      const torch::Tensor& targets, double temperature, double lambda);

// SNL's form (train.kd.form: sum): CE(student, y) + T^2 * KL(softmax(t/T) || softmax(s/T)).
torch::Tensor kd_sum_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                          const torch::Tensor& targets, double temperature);

}  // namespace deepreduce::train
