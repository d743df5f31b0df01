// train.seeds: every network trained once per seed (each copy distilled from
// its own seed's teacher, cut from its own seed's base); decisions on the mean
// over seeds.
#include <set>

#include "search/registry.h"

namespace deepreduce::search {
namespace {

using spec::Role;
using spec::TrialSpec;
using storage::TrialState;

class SeededStrategy : public Strategy {
 public:
  SeededStrategy(SweepConfig c, std::unique_ptr<Strategy> inner) : c_(std::move(c)), inner_(std::move(inner)) {}

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    auto view = converge(seen);
    if (!view.ok()) return view.status();
    return replicate(view->planned).trials;
  }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    auto inner = inner_->whole_space(order);
    if (!inner.ok()) return inner.status();
    return replicate(*inner).trials;
  }

  std::string blocked(const Seen& seen) const override {
    auto view = converge(seen);
    return view.ok() ? inner_->blocked(view->means) : view.status().message();
  }

  Seen decision_view(const Seen& seen) const override {
    auto view = converge(seen);
    return view.ok() ? view->means : seen;
  }

  std::vector<Decision> decisions(const Seen& seen) const override {
    auto view = converge(seen);
    if (!view.ok()) return {};
    std::set<std::string> own;
    for (const auto& p : view->planned)
      if (p.all_seeds) own.insert(spec::trial_id(p.spec));
    return inner_->decisions(merged(view->means, seen, own));
  }

 private:
  struct Copies {
    std::vector<PlannedTrial> trials;                          // every seed's copy, dependencies first
    std::map<std::string, std::vector<std::string>> ids;       // first seed's id -> the ids, seed by seed
  };
  struct View {
    std::vector<PlannedTrial> planned;  // the inner strategy's trials (the first seed)
    Seen means;                         // each of them as the mean of its seeds
  };

  // One copy per seed; a copy's teacher and base are its own seed's copies.
  // The first seed's copies are the inner strategy's trials themselves. A
  // trial the inner strategy planned for every seed itself passes through.
  Copies replicate(const std::vector<PlannedTrial>& planned) const {
    Copies out;
    Plan plan;
    for (const auto& p : planned) {
      if (p.all_seeds) {
        plan.add_all({p});
        continue;
      }
      const std::string first = spec::trial_id(p.spec);
      if (out.ids.count(first)) continue;
      auto& ids = out.ids[first];
      for (size_t k = 0; k < c_.seeds.size(); ++k) {
        TrialSpec s = p.spec;
        s.job.train.seed = c_.seeds[k];
        if (auto t = out.ids.find(s.teacher); !s.teacher.empty() && t != out.ids.end()) s.teacher = t->second[k];
        if (auto b = out.ids.find(s.base); !s.base.empty() && b != out.ids.end()) s.base = b->second[k];
        ids.push_back(spec::trial_id(s));
        plan.add_all({PlannedTrial{s, p.role}});
      }
    }
    out.trials = plan.take();
    return out;
  }

  // What the inner strategy sees: its replicated trials as the means of
  // their seeds, and the trials it plans per seed itself as they are.
  static Seen merged(const Seen& means, const Seen& seen, const std::set<std::string>& own) {
    Seen view = means;
    for (const auto& id : own)
      if (auto it = seen.find(id); it != seen.end()) view.emplace(id, it->second);
    return view;
  }

  // What the inner strategy decides on: each of its trials as the mean of its
  // seeds (done when every seed is; failed when any seed failed). Deciding
  // can open a phase whose trials then have results of their own, so this
  // repeats until the inner strategy's plan stops changing.
  Result<View> converge(const Seen& seen) const {
    View view;
    std::set<std::string> own;  // the trials the inner strategy plans per seed itself
    for (int round = 0; round < 256; ++round) {
      auto planned = inner_->propose(merged(view.means, seen, own));
      if (!planned.ok()) return planned.status();
      const Copies copies = replicate(*planned);
      std::set<std::string> now_own;
      for (const auto& p : *planned)
        if (p.all_seeds) now_own.insert(spec::trial_id(p.spec));
      Seen means;
      for (const auto& [first, ids] : copies.ids) {
        std::vector<double> tops;
        bool any = false, failed = false, done = true, leased = false;
        for (const auto& id : ids) {
          auto it = seen.find(id);
          if (it == seen.end()) {
            done = false;
            continue;
          }
          any = true;
          failed |= it->second.state == TrialState::kFailed;
          leased |= it->second.state == TrialState::kLeased;
          if (it->second.state == TrialState::kDone && it->second.top1) tops.push_back(*it->second.top1);
          else done = false;
        }
        if (!any) continue;
        Observation o;
        if (failed) {
          o.state = TrialState::kFailed;
        } else if (done) {
          o.state = TrialState::kDone;
          double sum = 0;
          for (double t : tops) sum += t;
          o.top1 = sum / static_cast<double>(tops.size());
        } else {
          o.state = leased ? TrialState::kLeased : TrialState::kPending;
        }
        means[first] = o;
      }
      view.planned = std::move(*planned);
      if (means == view.means && now_own == own) return view;
      view.means = std::move(means);
      own = std::move(now_own);
    }
    return Status::internal("train.seeds: the strategy's plan did not settle");
  }

  SweepConfig c_;
  std::unique_ptr<Strategy> inner_;
};

}  // namespace

std::unique_ptr<Strategy> with_seeds(const SweepConfig& c, std::unique_ptr<Strategy> inner) {
  return std::make_unique<SeededStrategy>(c, std::move(inner));
}

}  // namespace deepreduce::search
