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

  // conv (no bias) followed by BN, folded: W' = W * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps).
  Result<std::string> conv_bn(const std::string& conv, const std::string& bn, const std::string& input,
                              const std::string& output, int64_t stride, int64_t groups) {
    auto w = tensor(conv + ".weight");
    auto gamma = tensor(bn + ".weight");
    auto beta = tensor(bn + ".bias");
    auto mean = tensor(bn + ".running_mean");
    auto var = tensor(bn + ".running_var");
    for (const auto* r : {&w, &gamma, &beta, &mean, &var})
      if (!r->ok()) return r->status();
    const double eps = eps_.count(bn) ? eps_[bn] : 1e-5;
    const torch::Tensor scale = (*gamma).to(torch::kDouble) / ((*var).to(torch::kDouble) + eps).sqrt();
    const torch::Tensor folded_w = ((*w).to(torch::kDouble) * scale.view({-1, 1, 1, 1})).to(torch::kFloat);
    const torch::Tensor folded_b = ((*beta).to(torch::kDouble) - (*mean).to(torch::kDouble) * scale).to(torch::kFloat);
    const int64_t k = (*w).size(2);
    const std::string wname = initializer(output + ".weight", folded_w);
    const std::string bname = initializer(output + ".bias", folded_b);
    auto* n = node("Conv", output, {input, wname, bname}, output);
    ints(n, "kernel_shape", {k, k});
    ints(n, "strides", {stride, stride});
    const int64_t pad = k / 2;
    ints(n, "pads", {pad, pad, pad, pad});
    ints(n, "dilations", {1, 1});
    int_attr(n, "group", groups);
    return output;
  }

  // The site's ReLU when it is active; else the input flows on (no node at all).
  std::string relu(const std::string& site, const std::string& input) {
    if (net_->spec().relu_off.count(site)) return input;
    node("Relu", site, {input}, site);
    return site;
  }

  nn::Network& net_;
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

}  // namespace

Result<std::string> to_onnx(nn::Network& net, const OnnxOptions& options) {
  if (options.batch < 1) return Status::invalid_argument("export: the batch must be at least 1");
  const nn::ModelSpec& spec = net->spec();
  auto resolved = nn::resolve(spec);
  if (!resolved.ok()) return resolved.status();
  const nn::ResolvedArch& arch = *resolved;
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
  auto x = b.conv_bn("stem_conv", "stem_bn", "input", "stem.conv", arch.stem_stride, 1);
  if (!x.ok()) return x.status();
  std::string cur = b.relu("stem", *x);
  for (const auto& blk : arch.blocks) {
    const int64_t stride = blk.stride, cin = blk.in, size = blk.in_size;
    const std::string& block = blk.name;
    const std::string& module = blk.module;
    if (arch.def->block == nn::BlockKind::kBasic) {
      const int64_t cout = blk.out;
      auto c1 = b.conv_bn(module + ".conv1", module + ".bn1", cur, block + ".conv1", stride, 1);
      if (!c1.ok()) return c1.status();
      const std::string r1 = b.relu(blk.site1, *c1);
      auto c2 = b.conv_bn(module + ".conv2", module + ".bn2", r1, block + ".conv2", 1, 1);
      if (!c2.ok()) return c2.status();
      std::string shortcut = cur;
      if (stride != 1 || cin != cout) {
        if (blk.projection) {
          auto p = b.conv_bn(module + ".proj_conv", module + ".proj_bn", cur, block + ".proj", stride, 1);
          if (!p.ok()) return p.status();
          shortcut = *p;
        } else {
          // Option A: subsample (strided Slice), then zero-pad the new channels (Pad).
          if (stride != 1) {
            const std::string out = block + ".subsample";
            b.node("Slice", out,
                   {cur, b.initializer(out + ".starts", torch::tensor({int64_t{0}, int64_t{0}})),
                    b.initializer(out + ".ends", torch::tensor({size, size})),
                    b.initializer(out + ".axes", torch::tensor({int64_t{2}, int64_t{3}})),
                    b.initializer(out + ".steps", torch::tensor({stride, stride}))},
                   out);
            shortcut = out;
          }
          if (cout != cin) {
            const std::string out = block + ".zeropad";
            const int64_t front = (cout - cin) / 2, back = cout - cin - front;
            auto* n = b.node("Pad", out,
                             {shortcut, b.initializer(out + ".pads", torch::tensor({int64_t{0}, front, int64_t{0},
                                                                                    int64_t{0}, int64_t{0}, back,
                                                                                    int64_t{0}, int64_t{0}}))},
                             out);
            auto* mode = n->add_attribute();
            mode->set_name("mode");
            mode->set_type(onnx::AttributeProto::STRING);
            mode->set_s("constant");
            shortcut = out;
          }
        }
      }
      const std::string sum = block + ".add";
      b.node("Add", sum, {*c2, shortcut}, sum);
      cur = b.relu(blk.site2, sum);
    } else {
      auto dw = b.conv_bn(module + ".dw_conv", module + ".dw_bn", cur, block + ".dw_conv", stride, cin);
      if (!dw.ok()) return dw.status();
      const std::string r1 = b.relu(blk.site1, *dw);
      auto pw = b.conv_bn(module + ".pw_conv", module + ".pw_bn", r1, block + ".pw_conv", 1, 1);
      if (!pw.ok()) return pw.status();
      cur = b.relu(blk.site2, *pw);
    }
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
