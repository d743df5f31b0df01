#include "nn/model.h"

namespace deepreduce::nn {
namespace F = torch::nn::functional;

namespace {

// Tracing stands in for PyTorch's forward hooks, which the C++ frontend lacks:
// layers report what they actually computed while a tracer is installed on
// this thread. Off (nullptr), it costs one branch per layer.
struct Tracer {
  MeasuredCounts counts;
  // The convs executed since the last ReLU site, and by site what fed it.
  std::vector<torch::Tensor> pending;
  std::map<std::string, std::vector<torch::Tensor>> site_convs;
};
thread_local Tracer* tl_tracer = nullptr;
thread_local SiteRecord* tl_record = nullptr;

torch::Tensor traced(torch::nn::Conv2d& conv, const torch::Tensor& x) {
  torch::Tensor y = conv(x);
  if (tl_tracer) {
    const auto& w = conv->weight;  // [out, in/groups, kh, kw]
    const int64_t per_output = w.size(1) * w.size(2) * w.size(3);
    tl_tracer->counts.macs += (y.numel() / y.size(0)) * per_output;
    tl_tracer->pending.push_back(w);
  }
  return y;
}

torch::Tensor traced(torch::nn::Linear& fc, const torch::Tensor& x) {
  torch::Tensor y = fc(x);
  if (tl_tracer) tl_tracer->counts.macs += (y.numel() / y.size(0)) * fc->weight.size(1);
  return y;
}

}  // namespace

ReluGateImpl::ReluGateImpl(std::string name, bool active, const spec::ReluMasks* masks, std::vector<int64_t> shape)
    : name_(std::move(name)), active_(active), shape_(std::move(shape)) {
  if (!masks || !active_) return;
  granularity_ = masks->granularity;
  const std::vector<int64_t> mshape = granularity_ == spec::MaskGranularity::kPixel
                                          ? std::vector<int64_t>{1, shape_[0], shape_[1], shape_[2]}
                                          : std::vector<int64_t>{1, shape_[0], 1, 1};
  if (masks->learnable) {
    alpha_ = register_parameter("alpha", torch::ones(mshape));
  } else if (masks->kept.count(name_)) {
    // Its values come with the weights (model.pt) or from the mask artifact (nn/masks.h).
    mask_ = register_buffer("mask", torch::ones(mshape));
  }
}

torch::Tensor ReluGateImpl::forward(torch::Tensor x) {
  torch::Tensor y = gate(x);
  if (tl_record) {
    tl_record->in[name_] = x.detach();
    tl_record->out[name_] = tl_record->with_grad ? y : y.detach();
  }
  return y;
}

torch::Tensor ReluGateImpl::gate(const torch::Tensor& x) {
  if (!active_) return x;
  if (tl_tracer) {
    const int64_t per_image = x.numel() / x.size(0);
    // A fixed mask evaluates ReLUs on its kept units only.
    const int64_t relus =
        mask_.defined() ? mask_.sum().item<int64_t>() * (granularity_ == spec::MaskGranularity::kPixel ? 1 : x.size(2) * x.size(3))
                        : per_image;
    tl_tracer->counts.relus += relus;
    if (relus > 0) tl_tracer->counts.site_relus[name_] += relus;
    auto& convs = tl_tracer->site_convs[name_];
    convs.insert(convs.end(), tl_tracer->pending.begin(), tl_tracer->pending.end());
    tl_tracer->pending.clear();
  }
  if (alpha_.defined()) return x + alpha_ * (torch::relu(x) - x);
  if (mask_.defined()) return x + mask_.to(x.scalar_type()) * (torch::relu(x) - x);
  return torch::relu(x);
}

LayerGraph::LayerGraph(torch::nn::Module& owner, const spec::ResolvedBlock& block, const spec::ModelSpec& spec)
    : block_(std::make_shared<const spec::ResolvedBlock>(block)) {
  for (const spec::ResolvedLayer& l : block_->layers) {
    Step step{&l};
    switch (l.kind) {
      case spec::LayerKind::kConv:
        step.conv = owner.register_module(l.name, torch::nn::Conv2d(torch::nn::Conv2dOptions(l.in_channels, l.out_channels, l.kernel)
                                                                      .stride(l.stride)
                                                                      .padding(l.kernel / 2)
                                                                      .groups(l.groups)
                                                                      .bias(false)));
        break;
      case spec::LayerKind::kBatchNorm:
        step.bn = owner.register_module(l.name, torch::nn::BatchNorm2d(l.out_channels));
        break;
      case spec::LayerKind::kRelu:
        step.relu = owner.register_module(
            l.name, ReluGate(l.site, spec.relu_off.count(l.site) == 0, spec.masks ? &*spec.masks : nullptr,
                             std::vector<int64_t>{l.in_channels, l.in_size, l.in_size}));
        break;
      case spec::LayerKind::kAdd:
      case spec::LayerKind::kZeroPad:
        break;
    }
    steps_.push_back(step);
  }
}

torch::Tensor LayerGraph::forward(const torch::Tensor& x) {
  if (!block_ || block_->output < 0) return x;
  std::vector<torch::Tensor> values(steps_.size());
  auto in = [&](const spec::ResolvedLayer& l, size_t i) -> const torch::Tensor& {
    return l.inputs[i] < 0 ? x : values[l.inputs[i]];
  };
  for (int k : block_->order) {
    Step& s = steps_[k];
    const spec::ResolvedLayer& l = *s.layer;
    switch (l.kind) {
      case spec::LayerKind::kConv: values[k] = traced(s.conv, in(l, 0)); break;
      case spec::LayerKind::kBatchNorm: values[k] = s.bn(in(l, 0)); break;
      case spec::LayerKind::kRelu: values[k] = s.relu(in(l, 0)); break;
      case spec::LayerKind::kAdd: values[k] = in(l, 0) + in(l, 1); break;
      case spec::LayerKind::kZeroPad: {
        // Option A (He et al. 2016, CIFAR): subsample, then zero-pad the new channels.
        torch::Tensor y = in(l, 0);
        if (l.stride != 1) y = y.slice(2, 0, y.size(2), l.stride).slice(3, 0, y.size(3), l.stride);
        if (l.out_channels != l.in_channels) {
          const int64_t front = (l.out_channels - l.in_channels) / 2, back = l.out_channels - l.in_channels - front;
          y = F::pad(y, F::PadFuncOptions({0, 0, 0, 0, front, back}));
        }
        values[k] = y;
        break;
      }
    }
  }
  return values[block_->output];
}

NetworkImpl::NetworkImpl(const spec::ModelSpec& spec) : spec_(spec) {
  const spec::ResolvedArch arch = resolve_unchecked(spec);
  stem_ = LayerGraph(*this, arch.stem, spec);
  for (const auto& b : arch.blocks) blocks_.push_back(register_module(b.module, Block(b, spec)));
  head_ = LayerGraph(*this, arch.head, spec);
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
  x = stem_.forward(x);
  for (auto& b : blocks_) x = b->forward(x);
  x = head_.forward(x);
  x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
  return traced(fc_, x);
}

Result<Network> build_model(const spec::ModelSpec& spec) {
  DR_RETURN_IF_ERROR(validate(spec));
  return Network(spec);
}

void copy_weights(Network& from, Network& to) {
  torch::NoGradGuard no_grad;
  auto src_params = from->named_parameters(true);
  auto src_buffers = from->named_buffers(true);
  auto take = [](torch::Tensor& dst, const torch::Tensor* src) {
    if (src && src->sizes() == dst.sizes()) dst.copy_(*src);
  };
  for (auto& p : to->named_parameters(true)) take(p.value(), src_params.find(p.key()));
  for (auto& b : to->named_buffers(true)) take(b.value(), src_buffers.find(b.key()));
}

RecordSites::RecordSites(SiteRecord& record) { tl_record = &record; }
RecordSites::~RecordSites() { tl_record = nullptr; }

namespace {

// One traced forward pass (eval mode, no grad, a batch of 2 zero images).
Tracer trace(Network& net) {
  Tracer tracer;
  for (const auto& p : net->parameters()) tracer.counts.params += p.numel();
  const spec::ModelSpec& spec = net->spec();
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
  return tracer;
}

}  // namespace

MeasuredCounts measure_counts(Network& net) { return trace(net).counts; }

std::map<std::string, std::vector<torch::Tensor>> convs_before_sites(Network& net) {
  return trace(net).site_convs;
}

}  // namespace deepreduce::nn
