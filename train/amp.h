// Mixed precision for the training loop: an autocast scope (bf16 on CPU or
// CUDA, fp16 on CUDA) and, for fp16, a dynamic loss scale.
//
// LibTorch's C++ frontend has neither torch.autocast nor GradScaler; these are
// the same mechanisms as PyTorch's, over the ATen autocast switches (which are
// thread-local, so trials training on several threads of one worker do not see
// each other's settings).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "spec/job.h"

namespace deepreduce::train {

// The precision "auto" means on a device: "bf16" where the hardware computes
// bf16 natively (a CPU whose flags list avx512_bf16 or amx_bf16, a CUDA GPU
// whose cuDNN runs bf16 convolutions: compute capability 8 or more), else
// "fp32". Any other name is returned as it is.
spec::Precision resolve_precision(spec::Precision precision, const torch::Device& device);
// Whether this machine's CPU computes bf16 natively (/proc/cpuinfo's flags).
bool cpu_has_native_bf16();

// The autocast dtype of a precision name on a device: nullopt for fp32;
// an error for fp16 on CPU (LibTorch's CPU autocast computes in bf16 only).
Result<std::optional<torch::ScalarType>> autocast_dtype(spec::Precision precision, const torch::Device& device);

// While alive, ops on `device` run under autocast to `dtype` (matmuls and
// convolutions in the lower precision, reductions and losses in fp32), as in
// `with torch.autocast(device_type, dtype)`. A disengaged scope does nothing.
class AutocastScope {
 public:
  AutocastScope(const torch::Device& device, std::optional<torch::ScalarType> dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool engaged_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  torch::ScalarType was_dtype_ = torch::kFloat;
};

// Dynamic loss scaling for fp16 (Micikevicius et al. 2018; PyTorch's
// GradScaler with its defaults): the loss is multiplied by the scale before
// backward, the gradients divided by it before the step; a step whose
// gradients hold an inf or a NaN is skipped and halves the scale, and 2000
// clean steps in a row double it. Deciding to skip reads one flag from the
// device per step, as GradScaler.step does.
class GradScaler {
 public:
  explicit GradScaler(double initial_scale = 65536.0, int64_t growth_interval = 2000)
      : scale_(initial_scale), growth_interval_(growth_interval) {}
  torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }
  // Unscales the gradients of `params` in place and reports whether they are
  // all finite; updates the scale. The caller steps only when it returns true.
  bool unscale_and_update(const std::vector<torch::Tensor>& params);
  double current_scale() const { return scale_; }
  int64_t skipped_steps() const { return skipped_; }

 private:
  double scale_;
  int64_t growth_interval_;
  int64_t clean_steps_ = 0;
  int64_t skipped_ = 0;
};

// Parameters of rank 4 (convolution weights) to `format`; a module's inputs
// must be converted to match (Tensor::contiguous(format)).
void set_memory_format(torch::nn::Module& module, torch::MemoryFormat format);

}  // namespace deepreduce::train
