#include "train/amp.h"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <fstream>
#include <sstream>

namespace deepreduce::train {
namespace {

// PyTorch 2.4 replaced the per-device autocast switches by ones taking the
// device type; the old names remain only as deprecated wrappers.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(bool cuda) { return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_enabled(bool cuda, bool on) { at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, on); }
torch::ScalarType autocast_dtype_of(bool cuda) { return at::autocast::get_autocast_dtype(cuda ? at::kCUDA : at::kCPU); }
void set_autocast_dtype_of(bool cuda, torch::ScalarType t) {
  at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, t);
}
#else
bool autocast_enabled(bool cuda) { return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void set_autocast_enabled(bool cuda, bool on) {
  if (cuda)
    at::autocast::set_enabled(on);
  else
    at::autocast::set_cpu_enabled(on);
}
torch::ScalarType autocast_dtype_of(bool cuda) {
  return cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype_of(bool cuda, torch::ScalarType t) {
  if (cuda)
    at::autocast::set_autocast_gpu_dtype(t);
  else
    at::autocast::set_autocast_cpu_dtype(t);
}
#endif

}  // namespace

bool cpu_has_native_bf16() {
  static const bool native = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("flags", 0) != 0) continue;
      std::istringstream flags(line.substr(line.find(':') + 1));
      for (std::string f; flags >> f;)
        if (f == "avx512_bf16" || f == "amx_bf16") return true;
      return false;  // every core lists the same flags
    }
    return false;
  }();
  return native;
}

spec::Precision resolve_precision(spec::Precision precision, const torch::Device& device) {
  if (precision != spec::Precision::kAuto) return precision;
  if (device.is_cuda())
    return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8() ? spec::Precision::kBf16 : spec::Precision::kFp32;
  return cpu_has_native_bf16() ? spec::Precision::kBf16 : spec::Precision::kFp32;
}

Result<std::optional<torch::ScalarType>> autocast_dtype(spec::Precision precision, const torch::Device& device) {
  switch (resolve_precision(precision, device)) {
    case spec::Precision::kFp32: return std::optional<torch::ScalarType>();
    case spec::Precision::kBf16: return std::optional<torch::ScalarType>(torch::kBFloat16);
    case spec::Precision::kFp16:
      if (!device.is_cuda())
        return Status::invalid_argument("train.precision fp16 needs a CUDA device (LibTorch autocasts CPU work to "
                                        "bf16 only); use bf16 on " + device.str());
      return std::optional<torch::ScalarType>(torch::kHalf);
    case spec::Precision::kAuto: break;
  }
  return Status::internal("train.precision: auto did not resolve");
}

AutocastScope::AutocastScope(const torch::Device& device, std::optional<torch::ScalarType> dtype) {
  if (!dtype) return;
  engaged_ = true;
  cuda_ = device.is_cuda();
  was_enabled_ = autocast_enabled(cuda_);
  was_dtype_ = autocast_dtype_of(cuda_);
  set_autocast_dtype_of(cuda_, *dtype);
  set_autocast_enabled(cuda_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!engaged_) return;
  // The cast weights are cached for the scope's life; leaving the outermost
  // scope frees them (the next step's weights differ).
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(cuda_, was_enabled_);
  set_autocast_dtype_of(cuda_, was_dtype_);
}

bool GradScaler::unscale_and_update(const std::vector<torch::Tensor>& params) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return true;
  const double inv = 1.0 / scale_;
  torch::Tensor finite = torch::ones({}, grads.front().options().dtype(torch::kBool));
  for (auto& g : grads) {
    g.mul_(inv);
    finite.logical_and_(g.isfinite().all());
  }
  const bool ok = finite.item<bool>();  // the one read per step
  if (!ok) {
    scale_ *= 0.5;
    clean_steps_ = 0;
    ++skipped_;
  } else if (++clean_steps_ >= growth_interval_) {
    scale_ *= 2.0;
    clean_steps_ = 0;
  }
  return ok;
}

void set_memory_format(torch::nn::Module& module, torch::MemoryFormat format) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters(true))
    if (p.dim() == 4) p.set_data(p.data().contiguous(format));
}

}  // namespace deepreduce::train
