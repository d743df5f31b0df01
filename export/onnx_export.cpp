#include "export/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <limits>
#include <map>

namespace deepreduce::exporting {
namespace {

// Builds the graph: initializers from the network's (folded) weights, one node per op.
class GraphBuilder {
 public:
  GraphBuilder(nn::Network& net, onnx::GraphProto* graph) : net_(net), g_(graph) {
    for (const auto& p : net->named_parameters(true)) tensors_[p.key()] = p.value().detach().to(torch::kCPU);
    for (const auto& b : net->named_buffers(true)) tensors_[b.key()] = b.value().detach().to(torch::kCPU);
    for (const auto& m : net->named_modules("", false))
      if (auto* bn = m.value()->as<torch::nn::BatchNorm2dImpl>()) eps_[m.key()] = bn->options.eps();
  }

  Result<torch::Tensor> tensor(const std::string& name) {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) return Status::internal("export: the network has no tensor \"" + name + "\"");
    return it->second;
  }

  // name -> an initializer holding `t` (float32 or int64).
  std::string initializer(const std::string& name, const torch::Tensor& t) {
    onnx::TensorProto* p = g_->add_initializer();
    p->set_name(name);
    const torch::Tensor c = t.contiguous();
    for (int64_t d : c.sizes()) p->add_dims(d);
    if (c.scalar_type() == torch::kLong) {
      p->set_data_type(onnx::TensorProto::INT64);
      p->set_raw_data(c.data_ptr(), c.numel() * sizeof(int64_t));
    } else {
      const torch::Tensor f = c.to(torch::kFloat).contiguous();
      p->set_data_type(onnx::TensorProto::FLOAT);
      p->set_raw_data(f.data_ptr(), f.numel() * sizeof(float));
    }
    return name;
  }

  onnx::NodeProto* node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                        const std::string& output) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }
  static void ints(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void int_attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }

  // A conv (no bias of its own), with the BN after it folded in when there is one:
  // W' = W * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps).
  Result<std::string> conv(const spec::ResolvedLayer& l, const spec::ResolvedLayer* bn, const std::string& input,
                           const std::string& output) {
    auto w = tensor(l.path + ".weight");
    if (!w.ok()) return w.status();
    torch::Tensor weight = *w, bias;
    if (bn) {
      auto folded = fold(bn->path);
      if (!folded.ok()) return folded.status();
      weight = ((*w).to(torch::kDouble) * folded->first.view({-1, 1, 1, 1})).to(torch::kFloat);
      bias = folded->second.to(torch::kFloat);
    }
    std::vector<std::string> inputs = {input, initializer(output + ".weight", weight)};
    if (bias.defined()) inputs.push_back(initializer(output + ".bias", bias));
    auto* n = node("Conv", output, inputs, output);
    ints(n, "kernel_shape", {l.kernel, l.kernel});
    ints(n, "strides", {l.stride, l.stride});
    const int64_t pad = l.kernel / 2;
    ints(n, "pads", {pad, pad, pad, pad});
    ints(n, "dilations", {1, 1});
    int_attr(n, "group", l.groups);
    return output;
  }

  // A BN that follows no conv (pre-activation blocks): y = x * scale + shift,
  // per channel, as Mul and Add with [C, 1, 1] constants.
  Result<std::string> affine(const spec::ResolvedLayer& l, const std::string& input, const std::string& output) {
    auto folded = fold(l.path);
    if (!folded.ok()) return folded.status();
    const int64_t c = folded->first.size(0);
    const std::string scaled = output + ".scale";
    node("Mul", scaled, {input, initializer(scaled + ".value", folded->first.to(torch::kFloat).view({c, 1, 1}))},
         scaled);
    node("Add", output, {scaled, initializer(output + ".shift", folded->second.to(torch::kFloat).view({c, 1, 1}))},
         output);
    return output;
  }

  // A BN's per-channel scale g / sqrt(var + eps) and shift beta - mean * scale, in double.
  Result<std::pair<torch::Tensor, torch::Tensor>> fold(const std::string& bn) {
    auto gamma = tensor(bn + ".weight");
    auto beta = tensor(bn + ".bias");
    auto mean = tensor(bn + ".running_mean");
    auto var = tensor(bn + ".running_var");
    for (const auto* r : {&gamma, &beta, &mean, &var})
      if (!r->ok()) return r->status();
    const double eps = eps_.count(bn) ? eps_[bn] : 1e-5;
    const torch::Tensor scale = (*gamma).to(torch::kDouble) / ((*var).to(torch::kDouble) + eps).sqrt();
    return std::make_pair(scale, (*beta).to(torch::kDouble) - (*mean).to(torch::kDouble) * scale);
  }

  // The site's ReLU when it is active; else the input flows on (no node at all).
  // The site's ReLU when it is active; else the input flows on (no node at
  // all). A masked site evaluates ReLU on its kept units only: one Slice per
  // run of consecutive kept or linear units (channels along axis 1; pixels
  // along the flattened activation, reshaped there and back), Relu on the
  // kept runs, Concat in order. Gather and uneven Split would be shorter;
  // OpenCV 4.6's importer refuses both.
  Result<std::string> relu(const spec::ResolvedLayer& l, const std::string& input) {
    const std::string& site = l.site;
    if (net_->spec().relu_off.count(site)) return input;
    auto mask = tensors_.find(l.path + ".mask");
    if (mask == tensors_.end()) {
      node("Relu", site, {input}, site);
      return site;
    }
    const spec::MaskGranularity g = net_->spec().masks->granularity;
    const torch::Tensor keep = mask->second.to(torch::kFloat).flatten().gt(0.5).contiguous();
    const int64_t units = keep.numel();
    const bool* k = keep.data_ptr<bool>();
    int64_t kept = 0;
    for (int64_t i = 0; i < units; ++i) kept += k[i];
    if (kept == 0) return input;
    if (kept == units) {
      node("Relu", site, {input}, site);
      return site;
    }
    const int64_t c = l.in_channels, hw = l.in_size;
    std::string x = input;
    if (g == spec::MaskGranularity::kPixel) {
      x = site + ".flat";
      node("Reshape", x, {input, initializer(x + ".shape", torch::tensor({batch_, units}))}, x);
    }
    std::vector<std::string> parts;
    for (int64_t begin = 0, run = 0; begin < units; ++run) {
      int64_t end = begin;
      while (end < units && k[end] == k[begin]) ++end;
      const std::string part = site + ".part" + std::to_string(run);
      node("Slice", part,
           {x, initializer(part + ".starts", torch::tensor({begin})), initializer(part + ".ends", torch::tensor({end})),
            initializer(part + ".axes", torch::tensor({int64_t{1}}))},
           part);
      if (k[begin]) {
        const std::string r = site + (parts.empty() && end == units ? "" : ".relu" + std::to_string(run));
        node("Relu", r, {part}, r);
        parts.push_back(r);
      } else {
        parts.push_back(part);
      }
      begin = end;
    }
    const std::string joined = g == spec::MaskGranularity::kPixel ? site + ".joined" : site;
    auto* concat = node("Concat", joined, parts, joined);
    int_attr(concat, "axis", 1);
    if (g == spec::MaskGranularity::kPixel)
      node("Reshape", site, {joined, initializer(site + ".shape", torch::tensor({batch_, c, hw, hw}))}, site);
    return site;
  }
  void set_batch(int64_t batch) { batch_ = batch; }

  nn::Network& net_;
  int64_t batch_ = 1;
  onnx::GraphProto* g_;
  std::map<std::string, torch::Tensor> tensors_;
  std::map<std::string, double> eps_;
};

void tensor_type(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
}

// The ONNX name of a layer's output: "s2.b1.conv1", "stem.conv".
std::string onnx_name(const spec::ResolvedBlock& blk, const spec::ResolvedLayer& l) {
  if (!blk.module.empty()) return blk.name + "." + l.name;
  std::string n = l.name;
  if (auto u = n.find('_'); u != std::string::npos) n[u] = '.';
  return n;
}

// A block's layers as nodes, in the order they run: a conv and the BN reading
// only it become one Conv; a ReLU site that is off is no node at all.
Result<std::string> emit(GraphBuilder& b, const spec::ResolvedBlock& blk, const std::string& input) {
  if (blk.output < 0) return input;
  const size_t n = blk.layers.size();
  std::vector<int> uses(n, 0);
  for (const auto& l : blk.layers)
    for (int in : l.inputs)
      if (in >= 0) ++uses[in];
  ++uses[blk.output];
  std::vector<std::string> value(n);
  std::vector<bool> folded(n, false);
  auto in = [&](const spec::ResolvedLayer& l, size_t i) { return l.inputs[i] < 0 ? input : value[l.inputs[i]]; };
  for (int k : blk.order) {
    const spec::ResolvedLayer& l = blk.layers[k];
    const std::string name = onnx_name(blk, l);
    switch (l.kind) {
      case spec::LayerKind::kConv: {
        // The BN that reads only this conv's output, folded into it.
        const spec::ResolvedLayer* bn = nullptr;
        for (size_t j = 0; j < n; ++j)
          if (blk.layers[j].kind == spec::LayerKind::kBatchNorm && blk.layers[j].inputs[0] == k && uses[k] == 1) {
            bn = &blk.layers[j];
            folded[j] = true;
          }
        auto out = b.conv(l, bn, in(l, 0), name);
        if (!out.ok()) return out.status();
        value[k] = *out;
        break;
      }
      case spec::LayerKind::kBatchNorm: {
        if (folded[k]) {
          value[k] = value[l.inputs[0]];
          break;
        }
        auto out = b.affine(l, in(l, 0), name);
        if (!out.ok()) return out.status();
        value[k] = *out;
        break;
      }
      case spec::LayerKind::kRelu:
      {
        auto out = b.relu(l, in(l, 0));
        if (!out.ok()) return out.status();
        value[k] = *out;
      }
        break;
      case spec::LayerKind::kAdd:
        b.node("Add", name, {in(l, 0), in(l, 1)}, name);
        value[k] = name;
        break;
      case spec::LayerKind::kZeroPad: {
        // Option A: subsample (strided Slice), then zero-pad the new channels (Pad).
        std::string cur = in(l, 0);
        if (l.stride != 1) {
          const std::string out = name + ".subsample";
          b.node("Slice", out,
                 {cur, b.initializer(out + ".starts", torch::tensor({int64_t{0}, int64_t{0}})),
                  b.initializer(out + ".ends", torch::tensor({l.in_size, l.in_size})),
                  b.initializer(out + ".axes", torch::tensor({int64_t{2}, int64_t{3}})),
                  b.initializer(out + ".steps", torch::tensor({l.stride, l.stride}))},
                 out);
          cur = out;
        }
        if (l.out_channels != l.in_channels) {
          const int64_t front = (l.out_channels - l.in_channels) / 2, back = l.out_channels - l.in_channels - front;
          auto* pad = b.node("Pad", name,
                             {cur, b.initializer(name + ".pads", torch::tensor({int64_t{0}, front, int64_t{0},
                                                                                int64_t{0}, int64_t{0}, back,
                                                                                int64_t{0}, int64_t{0}}))},
                             name);
          auto* mode = pad->add_attribute();
          mode->set_name("mode");
          mode->set_type(onnx::AttributeProto::STRING);
          mode->set_s("constant");
          cur = name;
        }
        value[k] = cur;
        break;
      }
    }
  }
  return value[blk.output];
}

}  // namespace

Result<std::map<std::string, std::map<std::string, int64_t>>> nodes_per_site(const std::string& model_bytes,
                                                                             const std::vector<std::string>& sites) {
  onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes)) return Status::corruption("not an ONNX model");
  std::map<std::string, std::map<std::string, int64_t>> out;
  for (const auto& n : model.graph().node())
    for (const auto& site : sites)
      if (n.name() == site || n.name().rfind(site + ".", 0) == 0) {
        ++out[site][n.op_type()];
        break;
      }
  return out;
}

Result<std::string> to_onnx(nn::Network& net, const OnnxOptions& options) {
  if (options.batch < 1) return Status::invalid_argument("export: the batch must be at least 1");
  const spec::ModelSpec& spec = net->spec();
  auto resolved = spec::resolve(spec);
  if (!resolved.ok()) return resolved.status();
  const spec::ResolvedArch& arch = *resolved;
  torch::NoGradGuard no_grad;

  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("deepreduce");
  model.set_model_version(1);
  model.set_doc_string("deepreduce " + spec.arch + " (" + std::to_string(spec.classes) +
                       " classes): BatchNorm folded, removed ReLUs absent");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(13);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name(options.graph_name);
  tensor_type(g->add_input(), "input", {options.batch, spec.in_channels, spec.input_size, spec.input_size});
  tensor_type(g->add_output(), "logits", {options.batch, spec.classes});

  GraphBuilder b(net, g);
  b.set_batch(options.batch);
  std::string cur = "input";
  for (const spec::ResolvedBlock* blk : spec::all_blocks(arch)) {
    auto out = emit(b, *blk, cur);
    if (!out.ok()) return out.status();
    cur = *out;
  }
  b.node("GlobalAveragePool", "pool", {cur}, "pool");
  auto* flat = b.node("Flatten", "flatten", {"pool"}, "flatten");
  GraphBuilder::int_attr(flat, "axis", 1);
  auto w = b.tensor("fc.weight");
  auto bias = b.tensor("fc.bias");
  if (!w.ok()) return w.status();
  if (!bias.ok()) return bias.status();
  auto* gemm = b.node("Gemm", "fc", {"flatten", b.initializer("fc.weight", *w), b.initializer("fc.bias", *bias)}, "logits");
  GraphBuilder::int_attr(gemm, "transB", 1);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) return Status::internal("export: the ONNX model does not serialize");
  return bytes;
}

Result<std::string> to_state_dict(nn::Network& net) {
  c10::Dict<std::string, torch::Tensor> dict;
  for (const auto& p : net->named_parameters(true)) dict.insert(p.key(), p.value().detach().to(torch::kCPU).clone());
  for (const auto& b : net->named_buffers(true)) dict.insert(b.key(), b.value().detach().to(torch::kCPU).clone());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace deepreduce::exporting
