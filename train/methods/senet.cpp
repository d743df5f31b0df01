// The mask phases of SENet (Kundu et al., ICLR 2023): per-layer ReLU
// budgets, α set (not trained) to each site's top units.
//
// senet_sensitivity (SENet's): before the first epoch each site's
// sensitivity is measured on the trained network the phase starts from. As
// SENet reads it from a sparse network (a layer that loses more of its
// weights to pruning is more sensitive to losing ReLUs), the convs that feed
// ReLU sites are pruned together by magnitude to a density of 10%, and a
// site's sensitivity is 1 - the density its convs keep. (SENet trains the
// sparse network; deepreduce prunes the trained one: README, "Learned
// linearization".) A site keeps the share c * sensitivity of its units (at
// most all), c chosen so that the shares meet the budget. The first epoch trains
// under a random mask of those shares (seeded), as SENet's pipeline does;
// after every epoch but the last, each site keeps its units of largest
// |teacher post-ReLU output - student post-mask output| summed over the
// epoch's training batches.
//
// senet (uniform, an ablation): every site keeps the same share (the budget
// over all of them), its units chosen before every epoch by |teacher output -
// student input| at the site on the first 8 training batches.
//
// α meets the budget every epoch, so either phase trains all its epochs.
#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "nn/masks.h"
#include "train/loader.h"
#include "train/methods/mask_phase.h"
#include "train/methods/registry.h"

namespace deepreduce::train::methods {
namespace {

class SenetUniform final : public MaskPhase {
 public:
  using MaskPhase::MaskPhase;
  const char* name() const override { return "senet"; }
  Status prepare(SessionContext& ctx) override {
    if (!ctx.teacher)
      return Status::invalid_argument("train.linearize.method: senet needs a teacher (train.kd.teacher)");
    return Status();
  }
  ParamPlace place_parameter(const std::string& name) const override {
    const bool alpha = name.size() > 6 && name.compare(name.size() - 6, 6, ".alpha") == 0;
    return alpha ? ParamPlace{ParamPlace::kFrozen} : ParamPlace{};
  }
  Status epoch_start(SessionContext& ctx, int64_t) override;
  bool reached_budget() const override { return true; }  // each epoch's masks are within it
};

Status SenetUniform::epoch_start(SessionContext& ctx, int64_t) {
  constexpr int kBatches = 8;
  nn::Network& net = ctx.net;
  nn::Network& teacher = *ctx.teacher;
  const bool was_training = net->is_training();
  net->eval();
  torch::NoGradGuard no_grad;
  LoaderOptions lo;
  lo.batch_size = 128;
  lo.shuffle = false;
  lo.augment = false;
  lo.norm = ctx.dataset.normalization;
  lo.pin_memory = ctx.place.device.is_cuda();
  BatchLoader loader(ctx.train_data, lo);
  std::map<std::string, torch::Tensor> importance;
  int64_t images = 0;
  for (int b = 0; b < kBatches; ++b) {
    auto batch = loader.next();
    if (!batch) break;
    const torch::Tensor x = ctx.place.to_device(batch->images);
    nn::SiteRecord t, s;
    {
      nn::RecordSites record(t);
      teacher->forward(x);
    }
    {
      nn::RecordSites record(s);
      net->forward(x);
    }
    for (auto& g : nn::learnable_gates(net)) {
      const std::string& site = g->name();
      if (!t.out.count(site) || !s.in.count(site))
        return Status::internal("per-layer budgets: the teacher has no site " + site);
      torch::Tensor d = (t.out[site].to(torch::kFloat) - s.in[site].to(torch::kFloat)).abs().sum(0);  // [C, H, W]
      if (g->granularity() == spec::MaskGranularity::kChannel) d = d.sum({1, 2});
      importance[site] = importance.count(site) ? importance[site] + d : d;
    }
    images += batch->labels.size(0);
  }
  net->train(was_training);
  if (images == 0) return Status::invalid_argument("per-layer budgets: no training images");
  return nn::set_top_k(net, importance, o_.budget);
}

// The density of SENet's sparse reference network: the share of the convs'
// weights that global magnitude pruning keeps.
constexpr double kDensity = 0.1;

class Senet final : public MaskPhase {
 public:
  explicit Senet(const spec::LinearizeOptions& o, uint64_t seed) : MaskPhase(o), seed_(seed) {}
  const char* name() const override { return "senet_sensitivity"; }
  Status prepare(SessionContext& ctx) override {
    if (!ctx.teacher)
      return Status::invalid_argument("train.linearize.method: senet_sensitivity needs a teacher (train.kd.teacher)");
    gates_ = nn::learnable_gates(ctx.net);  // once: extra_loss runs every step
    return Status();
  }
  ParamPlace place_parameter(const std::string& name) const override {
    const bool alpha = name.size() > 6 && name.compare(name.size() - 6, 6, ".alpha") == 0;
    return alpha ? ParamPlace{ParamPlace::kFrozen} : ParamPlace{};
  }
  void restore(const nlohmann::json& state) override {
    if (!state.contains("senet_units")) return;
    units_ = state.at("senet_units").get<std::map<std::string, int64_t>>();
    sensitivity_ = state.value("senet_sensitivity", std::map<std::string, double>{});
  }
  bool records_sites() const override { return true; }
  Status epoch_start(SessionContext& ctx, int64_t epoch) override;
  std::optional<torch::Tensor> extra_loss(const Step& step) override;
  void epoch_end(SessionContext& ctx, spec::EpochRecord& record) override;
  nlohmann::json state() const override { return {{"senet_units", units_}, {"senet_sensitivity", sensitivity_}}; }
  bool reached_budget() const override { return true; }

 private:
  Status measure(SessionContext& ctx);
  std::vector<nn::ReluGate> gates_;
  uint64_t seed_;
  std::map<std::string, double> sensitivity_;
  std::map<std::string, int64_t> units_;          // what each site keeps
  std::map<std::string, torch::Tensor> importance_;  // summed over the epoch's batches
  std::string error_;
};

// Each site's sensitivity, then its units: c * sensitivity of them, c found
// by bisection so that the sites' ReLUs meet the budget.
Status Senet::measure(SessionContext& ctx) {
  nn::Network& net = ctx.net;
  torch::NoGradGuard no_grad;
  // Global magnitude pruning of the convs that feed ReLU sites, at kDensity:
  // what survives of each site's convs is its density d; its sensitivity 1 - d.
  const auto feeds = nn::convs_before_sites(net);
  std::vector<torch::Tensor> all;
  std::set<const void*> seen;
  for (const auto& [site, convs] : feeds)
    for (const auto& w : convs)
      if (seen.insert(w.data_ptr()).second) all.push_back(w.detach().abs().flatten().to(torch::kCPU, torch::kFloat));
  if (all.empty()) return Status::invalid_argument("senet_sensitivity: no conv feeds a ReLU site");
  const torch::Tensor magnitudes = torch::cat(all);
  const int64_t keep = std::max<int64_t>(1, static_cast<int64_t>(kDensity * static_cast<double>(magnitudes.numel())));
  const double threshold = std::get<0>(magnitudes.topk(keep)).min().item<double>();
  auto gates = nn::learnable_gates(net);
  std::map<std::string, double> full;
  for (auto& g : gates) {
    auto it = feeds.find(g->name());
    int64_t kept = 0, total = 0;
    if (it != feeds.end())
      for (const auto& w : it->second) {
        kept += (w.detach().abs() >= threshold).sum().item<int64_t>();
        total += w.numel();
      }
    sensitivity_[g->name()] = total ? 1.0 - static_cast<double>(kept) / static_cast<double>(total) : 0.0;
    int64_t relus = 1;
    for (int64_t d : g->shape()) relus *= d;
    full[g->name()] = static_cast<double>(relus);
  }
  double total = 0;
  for (const auto& [site, v] : sensitivity_) total += v;
  std::map<std::string, double> shares;
  if (!(total > 0)) {
    spdlog::warn("senet_sensitivity: every site's convs survive pruning whole; every site keeps one share");
  } else {
    auto kept = [&](double c) {
      double sum = 0;
      for (const auto& [site, v] : sensitivity_) sum += std::min(1.0, c * v) * full[site];
      return sum;
    };
    double lo_c = 0, hi_c = 1;
    while (kept(hi_c) < static_cast<double>(o_.budget) && hi_c < 1e30) hi_c *= 2;
    for (int i = 0; i < 200; ++i) {
      const double mid = 0.5 * (lo_c + hi_c);
      (kept(mid) <= static_cast<double>(o_.budget) ? lo_c : hi_c) = mid;
    }
    for (const auto& [site, v] : sensitivity_) shares[site] = std::min(1.0, lo_c * v);
  }
  auto units = nn::site_units(net, shares, o_.budget);
  if (!units.ok()) return units.status();
  units_ = *units;
  std::string line;
  for (auto& g : gates) {
    const double share = static_cast<double>(units_[g->name()]) / static_cast<double>(g->alpha().numel());
    line += fmt::format(" {} {:.3g} ({:.3g})", g->name(), share, sensitivity_[g->name()]);
  }
  spdlog::info("senet_sensitivity: the share each site keeps (its sensitivity):{}", line);
  return Status();
}

Status Senet::epoch_start(SessionContext& ctx, int64_t epoch) {
  if (!error_.empty()) return Status::internal(error_);
  if (epoch > 0 || !units_.empty()) return Status();  // the mask was set after the last epoch
  DR_RETURN_IF_ERROR(measure(ctx));
  // The first epoch's mask: random units at the measured shares.
  std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ULL + 29);
  std::uniform_real_distribution<float> u(0, 1);
  std::map<std::string, torch::Tensor> random;
  for (auto& g : nn::learnable_gates(ctx.net)) {
    torch::Tensor r = torch::empty({g->alpha().numel()});
    float* p = r.data_ptr<float>();
    for (int64_t i = 0; i < r.numel(); ++i) p[i] = u(rng);
    random[g->name()] = r;
  }
  return nn::set_top_k(ctx.net, random, units_);
}

std::optional<torch::Tensor> Senet::extra_loss(const Step& step) {
  torch::NoGradGuard no_grad;
  for (auto& g : gates_) {
    auto s = step.student_sites.out.find(g->name());
    auto t = step.teacher_sites.out.find(g->name());
    if (s == step.student_sites.out.end() || t == step.teacher_sites.out.end()) {
      error_ = "senet_sensitivity: site " + g->name() + " has no output in the student or the teacher";
      continue;
    }
    torch::Tensor d = (t->second.detach().to(torch::kFloat) - s->second.detach().to(torch::kFloat)).abs().sum(0);
    if (g->granularity() == spec::MaskGranularity::kChannel) d = d.sum({1, 2});
    auto& acc = importance_[g->name()];
    acc = acc.defined() ? acc + d : d;
  }
  return std::nullopt;
}

void Senet::epoch_end(SessionContext& ctx, spec::EpochRecord& record) {
  MaskPhase::epoch_end(ctx, record);
  // After every epoch but the last: the next epoch's mask, from this one's
  // differences (the last epoch's mask is the one evaluated and kept).
  if (record.epoch < ctx.job.train.epochs && importance_.size() == units_.size()) {
    if (Status s = nn::set_top_k(ctx.net, importance_, units_); !s.ok()) error_ = s.message();
  }
  importance_.clear();
}

}  // namespace

MethodDef senet_sensitivity_method_def() {
  return {"senet_sensitivity",
          "SENet's mask phase: per-layer budgets from a measured sensitivity, each site's units chosen by "
          "|teacher - student| summed over every epoch",
          [](const spec::TrainJob& job, const spec::RunOptions&) {
            return job.train.linearize.budget > 0 && job.train.linearize.method == spec::LinearizeMethod::kSenet;
          },
          [](const spec::TrainJob& job, const spec::RunOptions&) -> std::unique_ptr<Method> {
            return std::make_unique<Senet>(job.train.linearize, job.train.seed);
          }};
}

MethodDef senet_method_def() {
  return {"senet", "per-layer budgets of one share each, the units chosen by |teacher - student| before every epoch",
          [](const spec::TrainJob& job, const spec::RunOptions&) {
            return job.train.linearize.budget > 0 && job.train.linearize.method == spec::LinearizeMethod::kSenetUniform;
          },
          [](const spec::TrainJob& job, const spec::RunOptions&) -> std::unique_ptr<Method> {
            return std::make_unique<SenetUniform>(job.train.linearize);
          }};
}

}  // namespace deepreduce::train::methods
