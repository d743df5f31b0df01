#include "nn/model.h"

namespace deepreduce::nn {
namespace F = torch::nn::functional;

namespace {

// Tracing stands in for PyTorch's forward hooks, which the C++ frontend lacks:
// layers report what they actually computed while a tracer is installed on
// this thread. Off (nullptr), it costs one branch per layer.
struct Tracer {
  MeasuredCounts counts;
};
thread_local Tracer* tl_tracer = nullptr;

torch::Tensor traced(torch::nn::Conv2d& conv, const torch::Tensor& x) {
  torch::Tensor y = conv(x);
  if (tl_tracer) {
    const auto& w = conv->weight;  // [out, in/groups, kh, kw]
    const int64_t per_output = w.size(1) * w.size(2) * w.size(3);
    tl_tracer->counts.macs += (y.numel() / y.size(0)) * per_output;
  }
  return y;
}

torch::Tensor traced(torch::nn::Linear& fc, const torch::Tensor& x) {
  torch::Tensor y = fc(x);
  if (tl_tracer) tl_tracer->counts.macs += (y.numel() / y.size(0)) * fc->weight.size(1);
  return y;
}

torch::nn::Conv2d conv3x3(int64_t cin, int64_t cout, int64_t stride, int64_t groups = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(cin, cout, 3).stride(stride).padding(1).groups(groups).bias(false));
}

torch::nn::Conv2d conv1x1(int64_t cin, int64_t cout, int64_t stride = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(cin, cout, 1).stride(stride).bias(false));
}

std::string site_name(const std::string& stage, int64_t block, const char* suffix) {
  return stage + ".b" + std::to_string(block) + "." + suffix;
}

// ResNet basic block (He et al. 2016): conv3x3-BN-relu1-conv3x3-BN, + shortcut, relu2.
class BasicBlock : public BlockImpl {
 public:
  BasicBlock(int64_t cin, int64_t inner, int64_t cout, int64_t stride, Shortcut shortcut,
             const std::string& stage, int64_t index, const std::set<std::string>& off)
      : stride_(stride), cin_(cin), cout_(cout), shortcut_(shortcut) {
    conv1_ = register_module("conv1", conv3x3(cin, inner, stride));
    bn1_ = register_module("bn1", torch::nn::BatchNorm2d(inner));
    const auto n1 = site_name(stage, index, "relu1");
    relu1_ = register_module("relu1", ReluGate(n1, off.count(n1) == 0));
    conv2_ = register_module("conv2", conv3x3(inner, cout, 1));
    bn2_ = register_module("bn2", torch::nn::BatchNorm2d(cout));
    const auto n2 = site_name(stage, index, "relu2");
    relu2_ = register_module("relu2", ReluGate(n2, off.count(n2) == 0));
    if ((stride != 1 || cin != cout) && shortcut == Shortcut::kProjection) {
      proj_conv_ = register_module("proj_conv", conv1x1(cin, cout, stride));
      proj_bn_ = register_module("proj_bn", torch::nn::BatchNorm2d(cout));
    }
  }

  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor out = relu1_(bn1_(traced(conv1_, x)));
    out = bn2_(traced(conv2_, out));
    return relu2_(out + shortcut(x));
  }

 private:
  torch::Tensor shortcut(const torch::Tensor& x) {
    if (stride_ == 1 && cin_ == cout_) return x;
    if (shortcut_ == Shortcut::kProjection) return proj_bn_(traced(proj_conv_, x));
    // Option A (He et al. 2016, CIFAR): subsample, then zero-pad the new channels.
    torch::Tensor y = x;
    if (stride_ != 1)
      y = y.slice(2, 0, y.size(2), stride_).slice(3, 0, y.size(3), stride_);
    if (cout_ != cin_) {
      const int64_t front = (cout_ - cin_) / 2, back = cout_ - cin_ - front;
      y = F::pad(y, F::PadFuncOptions({0, 0, 0, 0, front, back}));
    }
    return y;
  }

  int64_t stride_, cin_, cout_;
  Shortcut shortcut_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, proj_conv_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, proj_bn_{nullptr};
  ReluGate relu1_{nullptr}, relu2_{nullptr};
};

// MobileNetV1 block (Howard et al. 2017): dw3x3-BN-ReLU(dw), pw1x1-BN-ReLU(pw).
class DepthwiseSeparableBlock : public BlockImpl {
 public:
  DepthwiseSeparableBlock(int64_t cin, int64_t cout, int64_t stride, const std::string& stage,
                          int64_t index, const std::set<std::string>& off) {
    dw_conv_ = register_module("dw_conv", conv3x3(cin, cin, stride, cin));
    dw_bn_ = register_module("dw_bn", torch::nn::BatchNorm2d(cin));
    const auto n1 = site_name(stage, index, "dw");
    dw_relu_ = register_module("dw_relu", ReluGate(n1, off.count(n1) == 0));
    pw_conv_ = register_module("pw_conv", conv1x1(cin, cout));
    pw_bn_ = register_module("pw_bn", torch::nn::BatchNorm2d(cout));
    const auto n2 = site_name(stage, index, "pw");
    pw_relu_ = register_module("pw_relu", ReluGate(n2, off.count(n2) == 0));
  }

  torch::Tensor forward(torch::Tensor x) override {
    x = dw_relu_(dw_bn_(traced(dw_conv_, x)));
    return pw_relu_(pw_bn_(traced(pw_conv_, x)));
  }

 private:
  torch::nn::Conv2d dw_conv_{nullptr}, pw_conv_{nullptr};
  torch::nn::BatchNorm2d dw_bn_{nullptr}, pw_bn_{nullptr};
  ReluGate dw_relu_{nullptr}, pw_relu_{nullptr};
};

}  // namespace

torch::Tensor ReluGateImpl::forward(torch::Tensor x) {
  if (!active_) return x;
  if (tl_tracer) {
    const int64_t per_image = x.numel() / x.size(0);
    tl_tracer->counts.relus += per_image;
    tl_tracer->counts.site_relus[name_] += per_image;
  }
  return torch::relu(x);
}

NetworkImpl::NetworkImpl(const ModelSpec& spec) : spec_(spec) {
  const ResolvedArch arch = resolve_unchecked(spec);
  stem_conv_ = register_module(
      "stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(spec.in_channels, arch.stem_width, 3)
                                         .stride(arch.stem_stride)
                                         .padding(1)
                                         .bias(false)));
  stem_bn_ = register_module("stem_bn", torch::nn::BatchNorm2d(arch.stem_width));
  stem_relu_ = register_module("stem_relu", ReluGate("stem", spec.relu_off.count("stem") == 0));
  for (const auto& b : arch.blocks) {
    std::shared_ptr<BlockImpl> block;
    if (arch.def->block == BlockKind::kBasic)
      block = std::make_shared<BasicBlock>(b.in, b.inner, b.out, b.stride, arch.def->shortcut, b.stage, b.index,
                                           spec.relu_off);
    else
      block = std::make_shared<DepthwiseSeparableBlock>(b.in, b.out, b.stride, b.stage, b.index, spec.relu_off);
    blocks_.push_back(register_module(b.module, block));
  }
  fc_ = register_module("fc", torch::nn::Linear(arch.out_channels, spec.classes));

  // torchvision's ResNet/MobileNet initialisation.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
}

torch::Tensor NetworkImpl::forward(torch::Tensor x) {
  x = stem_relu_(stem_bn_(traced(stem_conv_, x)));
  for (auto& b : blocks_) x = b->forward(x);
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return traced(fc_, x);
}

Result<Network> build_model(const ModelSpec& spec) {
  DR_RETURN_IF_ERROR(validate(spec));
  return Network(spec);
}

MeasuredCounts measure_counts(Network& net) {
  Tracer tracer;
  for (const auto& p : net->parameters()) tracer.counts.params += p.numel();
  const ModelSpec& spec = net->spec();
  const bool was_training = net->is_training();
  net->eval();
  {
    torch::NoGradGuard no_grad;
    tl_tracer = &tracer;
    // A batch of 2 so that a per-image count cannot be confused with a total.
    auto device = net->parameters().front().device();
    net->forward(torch::zeros({2, spec.in_channels, spec.input_size, spec.input_size},
                              torch::TensorOptions().device(device)));
    tl_tracer = nullptr;
  }
  net->train(was_training);
  return tracer.counts;
}

}  // namespace deepreduce::nn
