// Successive halving around a strategy's candidates (search.successive_halving):
// candidates first train min_epochs of the full schedule; within each of
// `bands` log-spaced ReLU bands the best 1/eta of a finished rung continue
// from their checkpoint to eta times the budget, up to train.epochs.
#include <algorithm>
#include <cmath>

#include "search/registry.h"
#include "spec/counts.h"

namespace deepreduce::search {
namespace {

using spec::Role;
using spec::TrialSpec;
using storage::TrialState;

bool halved_role(Role role) {
  return role == Role::kCandidate || role == Role::kCulling || role == Role::kThinning || role == Role::kReshaping;
}

class HalvingStrategy : public Strategy {
 public:
  HalvingStrategy(SweepConfig c, std::unique_ptr<Strategy> inner) : c_(std::move(c)), inner_(std::move(inner)) {
    const int64_t full = c_.base.train.epochs;
    for (int64_t b = c_.halving.min_epochs; ; b = std::min(b * c_.halving.eta, full)) {
      budgets_.push_back(b);
      if (b >= full) break;
    }
  }

  std::string blocked(const Seen& seen) const override { return inner_->blocked(seen); }

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    auto proposed = inner_->propose(seen);
    if (!proposed.ok()) return proposed.status();
    Plan plan;
    std::vector<PlannedTrial> candidates;
    for (auto& t : *proposed) {
      if (halved_role(t.role)) {
        candidates.push_back(std::move(t));
      } else {
        plan.add(t.spec, t.role);
      }
    }
    if (candidates.empty()) return plan.take();
    // Log-spaced ReLU bands: promotion compares networks of similar cost only,
    // so the front keeps a candidate at every budget.
    std::vector<double> logs;
    for (const auto& t : candidates) {
      auto counts = spec::count(t.spec.job.model);
      if (!counts.ok()) return counts.status();
      logs.push_back(std::log10(static_cast<double>(std::max<int64_t>(counts->relus, 1))));
    }
    const double lo = *std::min_element(logs.begin(), logs.end()), hi = *std::max_element(logs.begin(), logs.end());
    const int64_t bands = c_.halving.bands;
    auto band_of = [&](size_t i) {
      if (hi <= lo) return int64_t{0};
      return std::min<int64_t>(bands - 1, static_cast<int64_t>((logs[i] - lo) / (hi - lo) * static_cast<double>(bands)));
    };
    const size_t rungs = budgets_.size();
    std::vector<std::vector<std::string>> ids(candidates.size(), std::vector<std::string>(rungs));
    std::vector<size_t> alive(candidates.size());
    for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
    for (size_t r = 0; r < rungs; ++r) {
      for (size_t i : alive) {
        TrialSpec s = candidates[i].spec;
        s.job.train.epochs = budgets_[r];
        s.job.train.horizon = c_.base.train.epochs;
        s.base = r > 0 ? ids[i][r - 1] : "";
        ids[i][r] = plan.add(s, r + 1 == rungs ? candidates[i].role : Role::kRung, candidates[i].role);
      }
      if (r + 1 == rungs) break;
      std::vector<size_t> promoted;
      for (int64_t band = 0; band < bands; ++band) {
        std::vector<size_t> members;
        for (size_t i : alive)
          if (band_of(i) == band) members.push_back(i);
        if (members.empty()) continue;
        bool all_finished = true;
        std::vector<std::pair<double, size_t>> done;
        for (size_t i : members) {
          auto it = seen.find(ids[i][r]);
          if (it == seen.end() || !finished(it->second.state)) {
            all_finished = false;
            break;
          }
          if (it->second.state == TrialState::kDone && it->second.top1) done.push_back({*it->second.top1, i});
        }
        if (!all_finished) continue;  // this band's rung is still training
        std::stable_sort(done.begin(), done.end(), [&](const auto& a, const auto& b) {
          return a.first != b.first ? a.first > b.first : ids[a.second][r] < ids[b.second][r];
        });
        const size_t keep = std::min(done.size(), (members.size() + c_.halving.eta - 1) / c_.halving.eta);
        for (size_t k = 0; k < keep; ++k) promoted.push_back(done[k].second);
      }
      std::sort(promoted.begin(), promoted.end());
      alive = promoted;
    }
    return plan.take();
  }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    return inner_->whole_space(order);  // at full budget: the candidates themselves, no rungs
  }

 private:
  SweepConfig c_;
  std::unique_ptr<Strategy> inner_;
  std::vector<int64_t> budgets_;
};

}  // namespace

std::unique_ptr<Strategy> with_halving(const SweepConfig& c, std::unique_ptr<Strategy> inner) {
  return std::make_unique<HalvingStrategy>(c, std::move(inner));
}

}  // namespace deepreduce::search
