#include "storage/migrate.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "common/digest.h"

namespace deepreduce::storage {
namespace {
namespace fs = std::filesystem;

void say(const MigrationOptions& o, const std::string& line) {
  if (o.log) o.log(line);
}

Status sync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::io_error(dir.string() + ": cannot open to sync");
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? Status() : Status::io_error(dir.string() + ": fsync failed");
}

Status rename_dir(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) return Status::io_error("cannot rename " + from.string() + " to " + to.string() + ": " + ec.message());
  return sync_dir(to.parent_path().empty() ? fs::path(".") : to.parent_path());
}

// Old trials ordered so that every trial comes after its dependencies.
Result<std::vector<TrialRecord>> dependency_order(std::vector<TrialRecord> trials) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < trials.size(); ++i) index[trials[i].id] = i;
  std::vector<TrialRecord> out;
  std::vector<int> mark(trials.size(), 0);  // 0 new, 1 visiting, 2 done
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    if (mark[i] == 2) return Status();
    if (mark[i] == 1) return Status::corruption("trial " + trials[i].id + " depends on itself (a cycle)");
    mark[i] = 1;
    for (const auto& dep : trials[i].spec.dependencies()) {
      auto it = index.find(dep);
      if (it == index.end())
        return Status::corruption("trial " + trials[i].id + " depends on " + dep + ", which is not in the store");
      DR_RETURN_IF_ERROR(visit(it->second));
    }
    mark[i] = 2;
    out.push_back(trials[i]);
    return Status();
  };
  for (size_t i = 0; i < trials.size(); ++i) DR_RETURN_IF_ERROR(visit(i));
  return out;
}

// Where a trial's state ends up when several old trials merge into one: the
// furthest along wins (done, then leased/pending work, then failures).
int progress_rank(TrialState s) {
  switch (s) {
    case TrialState::kDone: return 5;
    case TrialState::kLeased: return 4;
    case TrialState::kPending: return 3;
    case TrialState::kBlocked: return 2;
    case TrialState::kFailed: return 1;
    case TrialState::kCancelled: return 0;
    case TrialState::kDamaged: return 1;
  }
  return 0;
}

// Builds the current version's store in `target` from the open old store.
Status build(Store& old, const std::string& target, const MigrationOptions& o, MigrationSummary& sum) {
  StoreOptions so;
  so.durability = Durability::kGroupCommit;  // one sync at the end; the rename makes it visible
  auto opened = open_store(target, so);
  if (!opened.ok()) return opened.status();
  Store& neu = **opened;

  auto experiments = old.list_experiments();
  if (!experiments.ok()) return experiments.status();
  for (auto e : *experiments) {
    e.schema_version = kSchemaVersion;
    if (o.definition) e.definition = o.definition(e.config_yaml);
    if (o.config) {
      auto config = o.config(e);
      if (!config.ok()) return config.status().with_context("experiment " + e.name);
      e.config = *config;
    }
    DR_RETURN_IF_ERROR(neu.put_experiment(e));
  }
  auto workers = old.list_workers();
  if (workers.ok())
    for (const auto& w : *workers) DR_RETURN_IF_ERROR(neu.put_worker(w));

  auto listed = old.list_trials();
  if (!listed.ok()) return listed.status();
  auto ordered = dependency_order(*listed);
  if (!ordered.ok()) return ordered.status();
  sum.trials = static_cast<int64_t>(ordered->size());

  // Old trials that become one new trial: the one furthest along is carried over.
  std::map<std::string, std::string>& ids = sum.ids;
  std::map<std::string, const TrialRecord*> chosen;  // new id -> old record
  std::vector<std::pair<std::string, spec::TrialSpec>> order;  // new id, new spec, dependencies first
  std::map<std::string, size_t> position;               // new id -> its index in order
  for (const auto& t : *ordered) {
    spec::TrialSpec spec = t.spec;
    if (!spec.teacher.empty()) spec.teacher = ids.at(spec.teacher);
    if (!spec.base.empty()) spec.base = ids.at(spec.base);
    const std::string id = trial_id(spec);
    ids[t.id] = id;
    auto it = chosen.find(id);
    if (it == chosen.end()) {
      chosen[id] = &t;
      position[id] = order.size();
      order.push_back({id, spec});
    } else {
      ++sum.merged;
      say(o, "trials " + it->second->id + " and " + t.id + " differ only in where their data lived: they become " + id);
      if (progress_rank(t.state) > progress_rank(it->second->state)) {
        it->second = &t;
        order[position.at(id)].second.job.data.data_dir = t.spec.job.data.data_dir;
      }
    }
  }

  int64_t n = 0;
  for (const auto& [id, spec] : order) {
    const TrialRecord& t = *chosen.at(id);
    auto added = neu.add_trials(t.experiment, {spec});
    if (!added.ok()) return added.status().with_context("trial " + t.id);
    TrialState state = added->front().state;
    auto model = old.get_artifact(t.id, spec::ArtifactKind::kModel);
    if (!model.ok()) return model.status().with_context("trial " + t.id);
    auto checkpoint = old.get_artifact(t.id, spec::ArtifactKind::kCheckpoint);
    if (!checkpoint.ok()) return checkpoint.status().with_context("trial " + t.id);
    auto take_lease = [&]() -> Result<TrialRecord> {
      return neu.lease(id, "migrate", now_ms() + 3600 * 1000, random_hex(16));
    };
    if (t.state == TrialState::kDone) {
      auto result = old.get_result(t.id);
      if (!result.ok()) return result.status().with_context("trial " + t.id);
      if (!*result) return Status::corruption("trial " + t.id + " is done without a result");
      if (state != TrialState::kPending)
        return Status::failed_precondition("trial " + t.id + " is done but its dependencies are not (" +
                                           state_name(state) + " in the new store)");
      auto leased = take_lease();
      if (!leased.ok()) return leased.status();
      DR_RETURN_IF_ERROR(neu.complete(id, "migrate", leased->attempt, leased->lease, **result,
                                      *model ? std::optional<std::string>(**model) : std::nullopt));
      ++sum.results;
      if (*model) ++sum.artifacts;
    } else if (t.state == TrialState::kFailed && state == TrialState::kPending) {
      auto leased = take_lease();
      if (!leased.ok()) return leased.status();
      DR_RETURN_IF_ERROR(neu.fail(id, t.reasons.empty() ? "failed (before migration)" : t.reasons.back()));
    } else if (t.state == TrialState::kCancelled && state != TrialState::kCancelled) {
      DR_RETURN_IF_ERROR(neu.cancel(id, t.reasons.empty() ? "" : t.reasons.back()));
    }
    if (*checkpoint) {
      DR_RETURN_IF_ERROR(neu.put_artifact(id, spec::ArtifactKind::kCheckpoint, **checkpoint));
      ++sum.artifacts;
    }
    DR_RETURN_IF_ERROR(neu.append_event({0, 0, "migrated", id, "", {{"from_id", t.id}, {"from_schema", sum.from_version}}}));
    if (++n % 100 == 0) say(o, "migrated " + std::to_string(n) + " of " + std::to_string(order.size()) + " trials");
  }
  if (o.assign_roles) DR_RETURN_IF_ERROR(o.assign_roles(neu));
  return neu.sync();
}

}  // namespace

Result<MigrationSummary> migrate_store(const std::string& path_arg, const MigrationOptions& o) {
  fs::path path = fs::path(path_arg).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  const fs::path building = path.string() + ".migrating";
  auto backup_of = [&](int64_t version) { return fs::path(path.string() + ".v" + std::to_string(version)); };
  MigrationSummary sum;
  std::error_code ec;
  // A crash between the two renames: the new store is complete, finish.
  if (!fs::exists(path, ec) && fs::exists(building, ec))
    for (int64_t v = 2; v < kSchemaVersion; ++v)
      if (fs::exists(backup_of(v), ec)) {
        say(o, "finishing an interrupted migration: " + building.string() + " -> " + path.string());
        DR_RETURN_IF_ERROR(rename_dir(building, path));
        sum.from_version = v;
        sum.backup = backup_of(v).string();
        return sum;
      }
  if (!fs::exists(path, ec)) return Status::not_found(path.string() + ": no store here");
  auto version = store_schema_version(path.string());
  if (!version.ok()) return version.status();
  sum.from_version = *version;
  if (*version == kSchemaVersion)
    return Status::failed_precondition(path.string() + ": already at schema version " + std::to_string(kSchemaVersion) +
                                       ": nothing to migrate");
  if (*version < 2 || *version > kSchemaVersion)
    return Status::failed_precondition(path.string() + ": schema version " + std::to_string(*version) +
                                       "; migrate reads versions 2 to " + std::to_string(kSchemaVersion - 1));
  const fs::path backup = backup_of(*version);
  sum.backup = backup.string();
  if (fs::exists(backup, ec))
    return Status::failed_precondition(backup.string() + " exists (an earlier migration's backup?): move it away first");
  if (fs::exists(building, ec)) {
    say(o, "removing " + building.string() + " (an interrupted migration)");
    fs::remove_all(building, ec);
    if (ec) return Status::io_error(building.string() + ": cannot remove: " + ec.message());
  }
  {
    StoreOptions so;
    so.accept_schema = *version;
    so.create_if_missing = false;
    auto old = open_store(path.string(), so);  // writable: holds the lock against a running coordinator
    if (!old.ok()) return old.status();
    say(o, "building " + building.string());
    Status s = build(**old, building.string(), o, sum);
    if (!s.ok()) {
      fs::remove_all(building, ec);
      return s.with_context("migrating " + path.string() + " (the store is unchanged)");
    }
  }
  DR_RETURN_IF_ERROR(rename_dir(path, backup));
  DR_RETURN_IF_ERROR(rename_dir(building, path));
  return sum;
}

}  // namespace deepreduce::storage
