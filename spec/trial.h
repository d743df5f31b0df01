// A trial as a value: what defines it (TrialSpec), its id, why the experiment
// wants it (Role), and how a pruned network is cut (PruneSpec). Free of
// RocksDB and of LibTorch: the store, the coordinator, the search and the
// worker all read trials through this header.
//
// The types keep the namespace of their domain (spec::TrialSpec, as
// spec::ModelSpec and spec::TrainJob): the folder says which side of LibTorch
// a file is on, the namespace what it is about.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/enum_names.h"
#include "common/status.h"
#include "spec/artifact.h"
#include "spec/job.h"
#include "spec/prune.h"

namespace deepreduce::spec {

// Why an experiment wants a trial (not part of its id). kNone: a trial given
// by hand (a trial list, `train --trial`).
enum class Role {
  kNone,
  kBaseline,     // the all-ReLU network, every candidate's KD teacher
  kCriticality,  // ReLUs in one stage only (or none): ranks the stages
  kCulling,
  kThinning,
  kReshaping,
  kCandidate,    // a grid point
  kRung,         // a shortened budget of successive halving
  kPruning,      // channel pruning of the baseline, fine-tuned
  kMask,         // learned linearization's mask phase: which ReLUs stay (evidence, not a network to deploy)
  kFinetune,     // a network fine-tuned under the mask its mask phase learned
};
// "baseline", ...; "" for kNone.
const char* role_name(Role role);
// The role called `name` ("" is kNone); InvalidArgument listing the known ones.
Result<Role> parse_role(const std::string& name);
const std::vector<Role>& all_roles();
// Whether trials of this role are networks to deploy (points of a report),
// not evidence on the way (a shortened rung, a mask phase).
bool role_is_network(Role role);

// Channel pruning of the trial's base network into the trial's (narrower)
// model: which filters survive is the criterion's choice on the base's
// trained weights. The shape came from a MACs target or a uniform rate.
struct PruneSpec {
  spec::PruneCriterion criterion = spec::PruneCriterion::kL1;
  spec::PruneScope scope = spec::PruneScope::kCoupled;
  std::optional<double> macs_target;  // the fraction of the baseline's MACs the shape was made for
  std::optional<double> rate;         // the uniform rate that gave the shape
  bool operator==(const PruneSpec& o) const {
    return criterion == o.criterion && scope == o.scope && macs_target == o.macs_target && rate == o.rate;
  }
};
// {"criterion": "l1", "macs_target": 0.5, "rate": 0.29...} ("scope": "inner" only when inner, so
// that ids from before the scope existed are unchanged).
nlohmann::json to_json(const PruneSpec& p);
Result<PruneSpec> prune_spec_from_json(const nlohmann::json& j);

// Everything that defines a trial. Its canonical JSON (sorted keys, every field
// present, numbers in one form) hashes to its id, so the same spec always has
// the same id: re-running or overlapping sweeps never train a thing twice.
// What is not part of the trial is stored with it but never hashed: where its
// data was found (job.data.data_dir), the teacher's local file, the role and
// phase the experiment gave it, and the name a trial list gave it. The same
// sweep planned on two hosts with the data in two places has the same ids.
// What a worker does with a trial: train it; or nothing (a no-op returns at
// once: benchmarks and tests of the coordinator).
enum class TrialKind { kTrain, kNoop };
inline constexpr EnumName<TrialKind> kTrialKindNames[] = {{TrialKind::kTrain, "train"}, {TrialKind::kNoop, "noop"}};

struct TrialSpec {
  TrialKind kind = TrialKind::kTrain;
  spec::TrainJob job;         // job.train.kd.teacher is ignored: see teacher
  // KD: the trial whose final weights teach this one ("" = no KD). T and lambda
  // are job.train.kd.temperature / lambda.
  std::string teacher;
  // The trial this one starts from (fine-tuning a pruned network, a longer
  // budget resuming a shorter one, a mask phase or fine-tuning from the
  // weights before it); "" = from scratch.
  std::string base;
  std::optional<PruneSpec> prune;  // channel pruning of base's weights, none by default
  // Why the experiment wants it (not hashed): the strategy's role and the
  // phase it belongs to (a rung's phase is the role of the candidate it
  // shortens).
  Role role = Role::kNone;
  Role phase = Role::kNone;
  std::string name;      // given in a trial list (not hashed); "" otherwise
  // The strategy that planned it (search/registry.h; not hashed): which
  // method's front its network belongs to. "" in a trial list.
  std::string strategy;

  // Trials that must be done before this one may run (teacher, base).
  std::vector<std::string> dependencies() const;
  // Whether it continues its base's schedule from the base's checkpoint (a
  // longer budget of the same network), so the epochs it trains itself are
  // its own minus the base's; otherwise its base only gives it weights.
  bool continues_base() const { return !base.empty() && !prune && !job.model.masks; }
};

// The stored form: the canonical fields plus data_dir, role, phase, name and strategy.
nlohmann::json to_json(const TrialSpec& spec);
Result<TrialSpec> trial_spec_from_json(const nlohmann::json& j, bool check = true);
// The canonical text, which the id hashes: sorted keys, without the data
// folder, the teacher's file, the role, the phase, the name or the strategy.
std::string canonical_json(const TrialSpec& spec);
// BLAKE2b-128 of the canonical text, as 32 lowercase hex digits.
std::string trial_id(const TrialSpec& spec);

}  // namespace deepreduce::spec
