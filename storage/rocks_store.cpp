// The RocksDB implementation of Store: one column family per kind of record.
//
//   default      schema_version
//   experiments  name -> Experiment JSON
//   trials       id -> TrialRecord JSON
//   trial_index  "<state>/<id>" -> role (find pending trials without a scan; count roles)
//   results      id -> result JSON
//   artifacts    "<id>/<kind>/meta" -> {size, blake2b, file}  (the bytes: artifacts/<file>)
//                (stores written before artifact files: "<id>/<kind>/<chunk:08>" -> bytes, still read)
//   events       8-byte big-endian seq -> Event JSON
//   workers      name -> WorkerRecord JSON
//   decisions    "<experiment>\0<key>" -> DecisionRecord JSON
//
// Three units under it: the database (storage/rocks_db.h: families, creation,
// commits), the artifact files (storage/artifact_files.h) and the trial
// lifecycle (storage/lifecycle.h: every change to a trial record). A mutex
// serialises read-modify-write calls; each builds one WriteBatch that holds
// every record the call changes plus its event, written with sync=true under
// Durability::kSync.
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "common/digest.h"
#include "storage/artifact_files.h"
#include "storage/lifecycle.h"
#include "storage/rocks_db.h"
#include "storage/store.h"

#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>

namespace deepreduce::storage {
namespace {

nlohmann::json event_json(const Event& e) {
  return {{"seq", e.seq}, {"time_ms", e.time_ms}, {"type", e.type}, {"trial", e.trial}, {"worker", e.worker},
          {"detail", e.detail}};
}

nlohmann::json experiment_json(const Experiment& e) {
  return {{"name", e.name},         {"config_yaml", e.config_yaml},       {"strategy", e.strategy},
          {"created_ms", e.created_ms}, {"schema_version", e.schema_version}, {"definition", e.definition},
          {"config", e.config},         {"revision", e.revision}};
}

// The artifacts-family key naming a done trial's result copy ("<id>/result/copy"), and the copy's format.
constexpr char kCopyKey[] = "/result/copy";
constexpr char kCopyFormat[] = "deepreduce-result-copy-1";

class RocksStore final : public Store {
 public:
  RocksStore(std::string path, StoreOptions options, std::unique_ptr<rocksdb::Env> owned_env = nullptr)
      : owned_memory_(owned_env != nullptr),
        db_(std::move(path), options, std::move(owned_env)),
        files_(db_.env(), db_.path()),
        path_(db_.path()), options_(options), env_(db_.env()) {}

  Status open() {
    // The result copies are listed before the records are read: a copy a
    // running writer adds meanwhile is then of an event the records hold.
    const std::vector<std::string> listed = files_.list();
    DR_RETURN_IF_ERROR(db_.open());
    // The next event number continues after the last one stored.
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("events")));
    it->SeekToLast();
    last_seq_ = it->Valid() ? from_be64(it->key()) : 0;
    if (!options_.recovering) DR_RETURN_IF_ERROR(check_results_kept(listed));
    if (!options_.read_only) {
      DR_RETURN_IF_ERROR(from_rocks(env_->CreateDirIfMissing(files_.dir()), files_.dir() + ": cannot create"));
      // A repair keeps every file until readopt() has looked at it.
      if (!options_.recovering) DR_RETURN_IF_ERROR(remove_orphan_artifacts());
    }
    if (!options_.read_only) DR_RETURN_IF_ERROR(load_state_index());
    return Status();
  }

  // A result copy's file name: "<id>.result.<seq>.json" (seq: the event that made it done).
  static std::optional<std::pair<std::string, uint64_t>> parse_copy_name(const std::string& f) {
    static constexpr char kMid[] = ".result.", kEnd[] = ".json";
    if (f.size() < 32 + 8 + 1 + 5 || f.compare(32, 8, kMid) != 0 || f.compare(f.size() - 5, 5, kEnd) != 0)
      return std::nullopt;
    const std::string id = f.substr(0, 32), digits = f.substr(40, f.size() - 45);
    if (!is_lower_hex(id, 32) || digits.empty() || digits.size() > 19 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    return std::make_pair(id, std::stoull(digits));
  }
  static std::string copy_name(const std::string& id, uint64_t seq) {
    return id + ".result." + std::to_string(seq) + ".json";
  }

  // The records must hold every result whose copy is on disk. Events are
  // numbered without gaps and written one batch at a time, so a copy whose
  // trial is not done is either the one in flight when the writer stopped
  // (its event is the next, last_seq + 1: the commit never happened) or
  // proof that the records lost a commit they had made.
  Status check_results_kept(const std::vector<std::string>& listed) {
    std::map<std::string, uint64_t> newest;  // id -> seq of its newest copy
    for (const auto& f : listed)
      if (auto c = parse_copy_name(f)) newest[c->first] = std::max(newest[c->first], c->second);
    if (newest.empty()) return Status();
    std::set<std::string> done;
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trial_index")));
    const std::string prefix = std::string(state_name(TrialState::kDone)) + "/";
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      done.insert(it->key().ToString().substr(prefix.size()));
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    std::vector<std::string> lost;
    uint64_t latest = 0;
    for (const auto& [id, seq] : newest) {
      if (done.count(id) || seq == last_seq_ + 1) continue;
      lost.push_back(id);
      latest = std::max(latest, seq);
    }
    if (lost.empty()) return Status();
    return Status::corruption(damaged_store(
        path_, fmt::format("{} finished trial(s) ({}{}) have their results and models on disk but not in its records, "
                           "which end at event {} where results on disk go to event {} (its write-ahead log or "
                           "tables lost records it had committed)",
                           lost.size(), lost.front().substr(0, 12), lost.size() > 1 ? ", ..." : "", last_seq_,
                           latest)));
  }

  // The writer keeps the ids of each state in memory, read once here from the
  // trial_index family: dispatch, counts and unblocking never seek through the
  // index's pile of deleted keys, and cost what they return, not the store's size.
  Status load_state_index() {
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trial_index")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      const size_t slash = key.find('/');
      if (slash == std::string::npos) return Status::corruption(path_ + ": trial index key \"" + key + "\"");
      auto state = parse_state(key.substr(0, slash));
      if (!state.ok()) return state.status().with_context(path_ + ": trial index");
      by_state_[static_cast<size_t>(*state)].insert(key.substr(slash + 1));
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    indexed_ = true;
    return Status();
  }

  // Files in artifacts/ that no record names: a crash between writing a file
  // and committing its record, or between a commit and removing the file it
  // replaced.
  Status remove_orphan_artifacts() {
    std::set<std::string> named;
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("artifacts")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key().ends_with(kCopyKey)) named.insert(it->value().ToString());
      if (!it->key().ends_with("/meta")) continue;
      if (auto file = file_of(it->value().ToString())) named.insert(*file);
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": artifacts"));
    files_.remove_others(named);
    return Status();
  }

  // --- experiments
  Status put_experiment(const Experiment& e) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    auto existing = get_experiment_locked(e.name);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      const Experiment& old = **existing;
      const bool same = (old.definition.empty() || e.definition.empty()) ? old.config_yaml == e.config_yaml
                                                                          : old.definition == e.definition;
      if (old.config_yaml == e.config_yaml && old.definition == e.definition && old.config == e.config) return Status();
      // Another definition is a revision: the caller keeps the trials it
      // still plans (search::revise); the same one in another text is not.
      Experiment updated = old;
      updated.config_yaml = e.config_yaml;
      if (!e.definition.empty()) updated.definition = e.definition;
      if (!e.config.is_null() || !same) updated.config = e.config;
      if (!same) {
        updated.revision = old.revision + 1;
        updated.strategy = e.strategy;
      }
      rocksdb::WriteBatch batch;
      batch.Put(cf("experiments"), e.name, experiment_json(updated).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      add_event(batch, {0, 0, same ? "experiment_updated" : "experiment_revised", "", "",
                        {{"name", e.name}, {"revision", updated.revision}}});
      return commit(batch);
    }
    Experiment copy = e;
    if (!copy.created_ms) copy.created_ms = now_ms();
    rocksdb::WriteBatch batch;
    batch.Put(cf("experiments"), e.name, experiment_json(copy).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    add_event(batch, {0, 0, "experiment_created", "", "", {{"name", e.name}, {"strategy", e.strategy}}});
    return commit(batch);
  }

  Result<std::optional<Experiment>> get_experiment(const std::string& name) override {
    auto lock = locked();
    return get_experiment_locked(name);
  }

  Result<std::vector<Experiment>> list_experiments() override {
    std::vector<Experiment> out;
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("experiments")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto e = parse_experiment(it->key().ToString(), it->value().ToString());
      if (!e.ok()) return e.status();
      out.push_back(*e);
    }
    return out;
  }

  // --- trials
  Result<std::vector<AddResult>> add_trials(const std::string& experiment,
                                            const std::vector<spec::TrialSpec>& trials) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    std::vector<AddResult> out;
    std::map<std::string, TrialState> in_batch;
    LifecycleContext ctx = context();
    const auto stored_state = ctx.state_of;
    ctx.state_of = [&](const std::string& dep) -> std::optional<TrialState> {
      if (auto it = in_batch.find(dep); it != in_batch.end()) return it->second;
      return stored_state(dep);
    };
    for (const auto& spec : trials) {
      const std::string id = trial_id(spec);
      if (auto it = in_batch.find(id); it != in_batch.end()) {
        out.push_back({id, false, it->second});
        continue;
      }
      auto existing = get_trial_locked(id);
      if (existing.ok()) {
        out.push_back({id, false, existing->state});
        in_batch[id] = existing->state;
        // The same trial asked for again: it keeps everything but learns where
        // its data now is (unless finished) and a role it had none of. None
        // of this is part of what the trial is (its id), nor of its lifecycle.
        TrialRecord r = *existing;
        if (r.state != TrialState::kDone && r.state != TrialState::kCancelled)
          r.spec.job.data.data_dir = spec.job.data.data_dir;
        if (r.spec.role == spec::Role::kNone) r.spec.role = spec.role;
        if (r.spec.phase == spec::Role::kNone) r.spec.phase = spec.phase;
        if (r.spec.name.empty()) r.spec.name = spec.name;
        if (r.spec.strategy.empty()) r.spec.strategy = spec.strategy;
        if (to_json(r.spec) != to_json(existing->spec)) {
          r.updated_ms = ctx.now_ms;
          put_trial(batch, r, r.state);
        }
        continue;
      }
      if (existing.status().code() != Status::Code::kNotFound) return existing.status();
      auto change = transition(TrialRecord{}, action::Create{experiment, spec}, ctx);
      if (!change.ok()) return change.status();
      write_change(batch, *change);
      out.push_back({id, true, change->record.state});
      in_batch[id] = change->record.state;
    }
    DR_RETURN_IF_ERROR(commit(batch));
    return out;
  }

  Status set_role(const std::string& id, spec::Role role, spec::Role phase) override {
    return apply(id, action::SetRole{role, phase}).status();
  }

  Result<TrialRecord> get_trial(const std::string& id) override {
    auto lock = locked();
    return get_trial_locked(id);
  }

  Result<std::vector<TrialRecord>> list_trials(std::optional<TrialState> state) override {
    auto lock = locked();  // get_trial_locked reads the cache
    std::vector<TrialRecord> out;
    if (state && indexed_) {
      for (const auto& id : by_state_[static_cast<size_t>(*state)]) {
        auto r = get_trial_locked(id);
        if (!r.ok()) return r.status();
        out.push_back(*r);
      }
      return out;
    }
    if (state) {
      const std::string prefix = std::string(state_name(*state)) + "/";
      std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trial_index")));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        auto r = get_trial_locked(it->key().ToString().substr(prefix.size()));
        if (!r.ok()) return r.status();
        out.push_back(*r);
      }
      return out;
    }
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trials")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto r = parse_trial(it->key().ToString(), it->value().ToString());
      if (!r.ok()) return r.status();
      out.push_back(*r);
    }
    return out;
  }

  Result<std::vector<std::pair<TrialState, int64_t>>> count_by_state() override {
    std::vector<std::pair<TrialState, int64_t>> out;
    if (indexed_) {
      auto lock = locked();
      for (auto s : all_states()) out.push_back({s, static_cast<int64_t>(by_state_[static_cast<size_t>(s)].size())});
      return out;
    }
    for (auto s : all_states()) {
      const std::string prefix = std::string(state_name(s)) + "/";
      int64_t n = 0;
      std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trial_index")));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
      out.push_back({s, n});
    }
    return out;
  }

  Result<std::map<std::string, int64_t>> count_by_role() override {
    std::map<std::string, int64_t> out;
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trial_index")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++out[it->value().ToString()];
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    return out;
  }

  Result<std::vector<std::string>> trial_ids(TrialState state, size_t limit) override {
    std::vector<std::string> out;
    if (indexed_) {
      auto lock = locked();
      for (const auto& id : by_state_[static_cast<size_t>(state)]) {
        if (out.size() >= limit) break;
        out.push_back(id);
      }
      return out;
    }
    const std::string prefix = std::string(state_name(state)) + "/";
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("trial_index")));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next())
      out.push_back(it->key().ToString().substr(prefix.size()));
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    return out;
  }

  Result<TrialRecord> lease(const std::string& id, const std::string& worker, int64_t deadline_ms,
                            const std::string& lease) override {
    return apply(id, action::Lease{worker, deadline_ms, lease});
  }

  Status renew(const std::string& id, const std::string& worker, int64_t attempt, int64_t deadline_ms) override {
    return apply(id, action::Renew{worker, attempt, deadline_ms}).status();
  }

  Result<TrialRecord> release(const std::string& id, const std::string& reason, ReleaseCause cause,
                              const AttemptLimits& limits) override {
    return apply(id, action::Release{reason, cause, limits});
  }

  Status record_progress(const std::string& id, const std::string& worker, const nlohmann::json& progress) override {
    return apply(id, action::Progress{worker, progress}).status();
  }

  Status complete(const std::string& id, const std::string& worker, int64_t attempt, const std::string& lease,
                  const nlohmann::json& result, const std::optional<std::string>& weights,
                  const std::map<spec::ArtifactKind, std::string>& more) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    auto change = transition(*r, action::Complete{worker, attempt, lease, result.value("top1", nlohmann::json())},
                             context());
    if (!change.ok()) return change.status();
    rocksdb::WriteBatch batch;
    nlohmann::json metas = nlohmann::json::object();
    if (weights) DR_RETURN_IF_ERROR(put_artifact_batch(batch, id, spec::ArtifactKind::kModel, *weights, &metas));
    for (const auto& [kind, bytes] : more) DR_RETURN_IF_ERROR(put_artifact_batch(batch, id, kind, bytes, &metas));
    write_change(batch, *change);
    batch.Put(cf("results"), id, result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    // The result's copy beside its artifacts, durable before the batch that
    // makes the trial done (named by that batch's event): what a repair
    // brings back when the records lose it, and what an open checks them by.
    DR_RETURN_IF_ERROR(put_result_copy(batch, change->record, result, metas, last_seq_));
    return commit(batch);
  }

  Status fail(const std::string& id, const std::string& reason) override {
    return apply(id, action::Fail{reason}).status();
  }
  Status cancel(const std::string& id, const std::string& reason) override {
    return apply(id, action::Cancel{reason}).status();
  }

  Result<std::vector<std::string>> damage(const std::string& id, const std::string& reason, bool retrain) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    const LifecycleContext ctx = context();
    auto change = transition(*r, action::Damage{reason, retrain}, ctx);
    if (!change.ok()) return change.status();
    rocksdb::WriteBatch batch;
    write_change(batch, *change);
    // Not done any more: its result copy goes (a repair must not bring back what was damaged).
    std::string copy;
    if (raw()->Get(rocksdb::ReadOptions(), cf("artifacts"), id + kCopyKey, &copy).ok()) {
      doomed_.push_back(copy);
      batch.Delete(cf("artifacts"), id + kCopyKey);
    }
    // What depends on it waits for its retraining.
    std::vector<std::string> blocked;
    const std::vector<std::string> pending(by_state_[static_cast<size_t>(TrialState::kPending)].begin(),
                                           by_state_[static_cast<size_t>(TrialState::kPending)].end());
    for (const auto& pid : pending) {
      if (pid == id) continue;
      auto p = get_trial_locked(pid);
      if (!p.ok()) return p.status();
      const auto deps = p->spec.dependencies();
      if (std::find(deps.begin(), deps.end(), id) == deps.end()) continue;
      auto wait = transition(*p, action::WaitFor{id}, ctx);
      if (!wait.ok()) return wait.status();
      write_change(batch, *wait);
      blocked.push_back(pid);
    }
    DR_RETURN_IF_ERROR(commit(batch));
    return blocked;
  }

  Status retrain(const std::string& id, const std::string& why) override {
    return apply(id, action::Retrain{why}).status();
  }

  Status set_retired(const std::string& id, const std::string& why) override {
    return apply(id, action::Retire{why}).status();
  }

  Status retry(const std::string& id, const std::string& why) override {
    return apply(id, action::Retry{why}).status();
  }

  Result<std::vector<std::string>> unblock_ready() override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    std::vector<std::string> changed;
    rocksdb::WriteBatch batch;
    const LifecycleContext ctx = context();
    const std::vector<std::string> blocked(by_state_[static_cast<size_t>(TrialState::kBlocked)].begin(),
                                           by_state_[static_cast<size_t>(TrialState::kBlocked)].end());
    for (const auto& blocked_id : blocked) {
      auto r = get_trial_locked(blocked_id);
      if (!r.ok()) return r.status();
      auto change = transition(*r, action::Unblock{}, ctx);
      if (!change.ok()) return change.status();
      if (!change->changed) continue;
      write_change(batch, *change);
      changed.push_back(blocked_id);
    }
    if (!changed.empty()) DR_RETURN_IF_ERROR(commit(batch));
    return changed;
  }

  // --- results and artifacts
  Result<std::optional<nlohmann::json>> get_result(const std::string& id) override {
    std::string value;
    auto s = raw()->Get(rocksdb::ReadOptions(), cf("results"), id, &value);
    if (s.IsNotFound()) return std::optional<nlohmann::json>();
    DR_RETURN_IF_ERROR(from_rocks(s, "result " + id));
    try {
      return std::optional<nlohmann::json>(nlohmann::json::parse(value));
    } catch (const nlohmann::json::exception& e) {
      return Status::corruption("result of trial " + id + " is not JSON: " + e.what());
    }
  }

  Status put_artifact(const std::string& id, spec::ArtifactKind kind, const std::string& bytes) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    DR_RETURN_IF_ERROR(put_artifact_batch(batch, id, kind, bytes));
    add_event(batch, {0, 0, "artifact", id, "", {{"kind", artifact_kind_name(kind)}, {"bytes", bytes.size()}}});
    return commit(batch);
  }

  Result<std::optional<std::string>> get_artifact(const std::string& id, spec::ArtifactKind kind_enum) override {
    if (!is_lower_hex(id, 32)) return std::optional<std::string>();
    const std::string kind = artifact_kind_name(kind_enum);
    const std::string base = id + "/" + kind + "/";
    const std::string what = "artifact " + kind + " of trial " + id;
    {
      // One snapshot: a concurrent replacement never mixes two versions.
      const rocksdb::Snapshot* snap = raw()->GetSnapshot();
      rocksdb::ReadOptions ro;
      ro.snapshot = snap;
      auto release = std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>>(
          snap, [this](const rocksdb::Snapshot* sn) { raw()->ReleaseSnapshot(sn); });
      std::string meta_text;
      auto s = raw()->Get(ro, cf("artifacts"), base + "meta", &meta_text);
      if (s.IsNotFound()) return std::optional<std::string>();
      DR_RETURN_IF_ERROR(from_rocks(s, "artifact " + base + "meta"));
      nlohmann::json meta = nlohmann::json::parse(meta_text, nullptr, false);
      if (!meta.is_object() || !meta.contains("size") || !meta["size"].is_number_unsigned() ||
          !meta.contains("blake2b") || !meta["blake2b"].is_string())
        return Status::corruption(what + ": unreadable metadata");
      const uint64_t size = meta["size"].get<uint64_t>();
      std::string bytes;
      if (meta.contains("file") && meta["file"].is_string()) {
        const std::string file = files_.dir() + "/" + meta["file"].get<std::string>();
        if (!env_->FileExists(file).ok()) {
          if (options_.read_only)  // a view opened beside the writer, which has replaced it since
            return Status::unavailable(what + ": " + file + " was replaced since this read-only view opened; "
                                       "open the store again");
          return Status::corruption(what + ": its file " + file + " is missing");
        }
        DR_RETURN_IF_ERROR(from_rocks(rocksdb::ReadFileToString(env_, file, &bytes), what + ": reading " + file));
      } else {
        const uint64_t chunks = meta.value("chunks", uint64_t{0});
        bytes.reserve(size);
        for (uint64_t c = 0; c < chunks; ++c) {
          std::string chunk;
          auto cs = raw()->Get(ro, cf("artifacts"), chunk_key(base, c), &chunk);
          if (cs.IsNotFound()) return Status::corruption(what + ": chunk " + std::to_string(c) + " is missing");
          DR_RETURN_IF_ERROR(from_rocks(cs, what));
          bytes += chunk;
        }
      }
      if (bytes.size() != size)
        return Status::corruption(what + ": " + std::to_string(bytes.size()) + " bytes, metadata says " +
                                  std::to_string(size));
      if (blake2b_hex(bytes) != meta["blake2b"].get<std::string>())
        return Status::corruption(what + ": checksum mismatch (the stored bytes are damaged)");
      return std::optional<std::string>(std::move(bytes));
    }
  }

  Result<bool> has_artifact(const std::string& id, spec::ArtifactKind kind_enum) override {
    if (!is_lower_hex(id, 32)) return false;
    const std::string kind = artifact_kind_name(kind_enum);
    std::string meta;
    auto s = raw()->Get(rocksdb::ReadOptions(), cf("artifacts"), id + "/" + kind + "/meta", &meta);
    if (s.IsNotFound()) return false;
    DR_RETURN_IF_ERROR(from_rocks(s, "artifact " + id + "/" + kind));
    return true;
  }

  Result<std::map<spec::ArtifactKind, std::string>> artifact_digests(const std::string& id) override {
    std::map<spec::ArtifactKind, std::string> out;
    if (!is_lower_hex(id, 32)) return out;
    const std::string prefix = id + "/";
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("artifacts")));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string key = it->key().ToString();
      if (!it->key().ends_with("/meta")) continue;
      const std::string kind = key.substr(prefix.size(), key.size() - prefix.size() - 5);
      auto meta = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!meta.is_object() || !meta.contains("blake2b") || !meta["blake2b"].is_string())
        return Status::corruption("artifact " + kind + " of trial " + id + ": unreadable metadata");
      auto parsed = parse_enum(kind, spec::kArtifactKindNames);
      if (!parsed.ok()) return Status::corruption("artifact of trial " + id + ": kind " + parsed.status().message());
      out[*parsed] = meta["blake2b"].get<std::string>();
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), "artifacts of trial " + id));
    return out;
  }

  // --- decisions
  Status put_decisions(const std::string& experiment, const std::vector<DecisionRecord>& decisions) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    bool any = false;
    for (const auto& d : decisions) {
      const std::string key = experiment + std::string(1, '\0') + d.key;
      std::string old;
      auto s = raw()->Get(rocksdb::ReadOptions(), cf("decisions"), key, &old);
      if (!s.ok() && !s.IsNotFound()) return from_rocks(s, "decision " + d.key);
      if (s.ok()) {
        auto j = nlohmann::json::parse(old, nullptr, false);
        if (j.is_object() && j.value("value", nlohmann::json()) == d.value && j.value("why", std::string()) == d.why)
          continue;
      }
      const nlohmann::json record = {{"key", d.key}, {"value", d.value}, {"why", d.why}, {"time_ms", now_ms()}};
      batch.Put(cf("decisions"), key, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      add_event(batch, {0, 0, "decided", "", "", {{"experiment", experiment}, {"key", d.key}, {"why", d.why}}});
      any = true;
    }
    return any ? commit(batch) : Status();
  }

  Result<std::vector<DecisionRecord>> list_decisions(const std::string& experiment) override {
    std::vector<DecisionRecord> out;
    if (!cf("decisions")) return out;  // an older store, read-only
    const std::string prefix = experiment + std::string(1, '\0');
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("decisions")));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      auto j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
        return Status::corruption(path_ + ": a decision of experiment " + experiment + " is not a record");
      out.push_back({j["key"].get<std::string>(), j.value("value", nlohmann::json()), j.value("why", std::string()),
                     j.value("time_ms", int64_t{0})});
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": decisions"));
    return out;
  }

  Status remove_artifact(const std::string& id, spec::ArtifactKind kind_enum) override {
    DR_RETURN_IF_ERROR(db_.writable());
    if (!is_lower_hex(id, 32)) return Status();
    const std::string kind = artifact_kind_name(kind_enum);
    auto lock = locked();
    const std::string base = id + "/" + kind + "/";
    std::string old_text;
    auto s = raw()->Get(rocksdb::ReadOptions(), cf("artifacts"), base + "meta", &old_text);
    if (s.IsNotFound()) return Status();
    DR_RETURN_IF_ERROR(from_rocks(s, "artifact " + base + "meta"));
    if (auto old = file_of(old_text)) doomed_.push_back(*old);
    rocksdb::WriteBatch batch;
    batch.DeleteRange(cf("artifacts"), base + "00000000", base + "99999999~");
    batch.Delete(cf("artifacts"), base + "meta");
    add_event(batch, {0, 0, "artifact_removed", id, "", {{"kind", kind}}});
    return commit(batch);
  }

  // --- workers
  Status put_worker(const WorkerRecord& w) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    nlohmann::json j = {{"name", w.name},     {"host", w.host},       {"state", enum_name(w.state, kWorkerStateNames)},
                        {"reason", w.reason}, {"devices", w.devices}, {"updated_ms", w.updated_ms ? w.updated_ms : now_ms()}};
    rocksdb::WriteBatch batch;
    batch.Put(cf("workers"), w.name, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return commit(batch);
  }

  Result<std::vector<WorkerRecord>> list_workers() override {
    std::vector<WorkerRecord> out;
    if (!cf("workers")) return out;
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("workers")));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!j.is_object()) return Status::corruption(path_ + ": worker " + it->key().ToString() + ": not JSON");
      auto state = parse_enum(j.value("state", ""), kWorkerStateNames);
      if (!state.ok())
        return Status::corruption(path_ + ": worker " + it->key().ToString() + ": state: " + state.status().message());
      out.push_back({j.value("name", ""), j.value("host", ""), *state, j.value("reason", ""),
                     j.value("devices", nlohmann::json::array()), j.value("updated_ms", int64_t{0})});
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": workers"));
    return out;
  }

  // --- events
  Status append_event(const Event& e) override {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    add_event(batch, e);
    return commit(batch);
  }

  Result<std::vector<Event>> events(uint64_t after_seq, size_t limit) override {
    std::vector<Event> out;
    std::unique_ptr<rocksdb::Iterator> it(raw()->NewIterator(rocksdb::ReadOptions(), cf("events")));
    for (it->Seek(be64(after_seq + 1)); it->Valid() && out.size() < limit; it->Next()) {
      try {
        auto j = nlohmann::json::parse(it->value().ToString());
        out.push_back({j.at("seq").get<uint64_t>(), j.at("time_ms").get<int64_t>(), j.at("type").get<std::string>(),
                       j.at("trial").get<std::string>(), j.at("worker").get<std::string>(), j.at("detail")});
      } catch (const nlohmann::json::exception& e) {
        return Status::corruption("event " + std::to_string(from_be64(it->key())) + ": " + e.what());
      }
    }
    return out;
  }

  uint64_t last_seq() override {
    auto lock = locked();
    return last_seq_;
  }

  Status sync() override { return db_.sync(); }

  // --- damage
  Status verify_records() override {
    auto s = raw()->VerifyChecksum();
    if (s.IsCorruption()) return Status::corruption(damaged_store(path_, "its records fail their checksums (" + s.ToString() + ")"));
    return from_rocks(s, path_ + ": verifying its records");
  }

  Result<std::string> checkpoint(int keep) override {
    DR_RETURN_IF_ERROR(db_.writable());
    if (owned_memory_) return Status::failed_precondition(path_ + ": a store in memory has no checkpoints");
    auto lock = locked();
    const std::string dir = path_ + "/checkpoints";
    DR_RETURN_IF_ERROR(from_rocks(env_->CreateDirIfMissing(dir), dir + ": cannot create"));
    // Named by the last event it holds and its time: sorted by name, oldest first.
    const std::string name = fmt::format("{:012}-{}", last_seq_, now_ms());
    rocksdb::Checkpoint* raw_cp = nullptr;
    DR_RETURN_IF_ERROR(from_rocks(rocksdb::Checkpoint::Create(raw(), &raw_cp), path_ + ": checkpoint"));
    std::unique_ptr<rocksdb::Checkpoint> cp(raw_cp);
    DR_RETURN_IF_ERROR(from_rocks(cp->CreateCheckpoint(dir + "/" + name), path_ + ": checkpoint " + name));
    std::vector<std::string> all;
    (void)env_->GetChildren(dir, &all);
    std::vector<std::string> kept;
    for (const auto& c : all)
      if (c.size() > 13 && c[12] == '-' && c.find_first_not_of("0123456789-") == std::string::npos) kept.push_back(c);
    std::sort(kept.begin(), kept.end());
    std::error_code ec;
    for (size_t i = 0; i + static_cast<size_t>(std::max(1, keep)) < kept.size(); ++i)
      std::filesystem::remove_all(dir + "/" + kept[i], ec);
    return dir + "/" + name;
  }

  Result<Readopted> readopt() override {
    DR_RETURN_IF_ERROR(db_.writable());
    Readopted out;
    std::map<std::string, std::pair<uint64_t, std::string>> newest;  // id -> (seq, file)
    for (const auto& f : files_.list())
      if (auto c = parse_copy_name(f))
        if (!newest.count(c->first) || newest[c->first].first < c->second) newest[c->first] = {c->second, f};
    for (const auto& [id, at] : newest) {
      out.newest_result_seq = std::max(out.newest_result_seq, at.first);
      const std::string& file = at.second;
      // A copy that cannot bring its trial back is removed (the trial is trained
      // again), or every later open would find it again.
      auto unusable = [&](const std::string& why) {
        out.unusable.push_back({file, why});
        files_.remove(file);
      };
      std::string text;
      if (Status s = files_.read(file, &text, "result copy"); !s.ok()) {
        unusable(s.message());
        continue;
      }
      const nlohmann::json copy = nlohmann::json::parse(text, nullptr, false);
      if (!copy.is_object() || copy.value("format", "") != kCopyFormat || !copy.contains("record") ||
          !copy.contains("result") || !copy["result"].is_object() || !copy.contains("artifacts") ||
          !copy["artifacts"].is_object()) {
        unusable("not a result copy of this deepreduce");
        continue;
      }
      auto copied = trial_record_from_json(copy["record"]);
      if (!copied.ok() || copied->id != id || spec::trial_id(copied->spec) != id) {
        unusable("its record is not of trial " + id);
        continue;
      }
      // Every artifact it names, whole: its file, its size, its BLAKE2b.
      std::string bad;
      for (const auto& [kind, meta] : copy["artifacts"].items()) {
        if (!parse_enum(kind, spec::kArtifactKindNames).ok() || !meta.is_object() || !meta.contains("file") ||
            !meta["file"].is_string() || !meta.contains("blake2b") || !meta.contains("size")) {
          bad = "its " + kind + " record is unreadable";
          break;
        }
        std::string bytes;
        if (Status s = files_.read(meta["file"].get<std::string>(), &bytes, "its " + kind); !s.ok()) {
          bad = s.message();
          break;
        }
        if (nlohmann::json(bytes.size()) != meta["size"] || blake2b_hex(bytes) != meta["blake2b"]) {
          bad = "its " + kind + " file is damaged (size or BLAKE2b differ from its record)";
          break;
        }
      }
      if (!bad.empty()) {
        unusable(bad);
        continue;
      }
      auto lock = locked();
      auto existing = get_trial_locked(id);
      if (existing.ok() && existing->state == TrialState::kDone) continue;  // the records kept it
      if (!existing.ok() && existing.status().code() != Status::Code::kNotFound) return existing.status();
      const std::string why = "re-adopted by repair: its result and artifacts were found whole on disk";
      Change change;
      if (existing.ok()) {
        auto c = transition(*existing, action::Readopt{why, copied->worker}, context());
        if (!c.ok()) return c.status();
        change = *c;
      } else {
        // Its record is gone too: the copy's, as it was when the trial was done.
        change.record = *copied;
        change.record.reasons.push_back(why);
        change.record.updated_ms = now_ms();
        change.from.reset();
        change.event = ChangeEvent{"readopted", "", {{"reason", why}}};
      }
      rocksdb::WriteBatch batch;
      write_change(batch, change);
      batch.Put(cf("results"), id, copy["result"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      for (const auto& [kind, meta] : copy["artifacts"].items()) {
        const std::string base = id + "/" + kind + "/";
        batch.DeleteRange(cf("artifacts"), base + "00000000", base + "99999999~");
        batch.Put(cf("artifacts"), base + "meta", meta.dump());
      }
      batch.Put(cf("artifacts"), id + kCopyKey, file);
      DR_RETURN_IF_ERROR(commit(batch));
      out.trials.push_back(id);
    }
    return out;
  }

 private:
  rocksdb::DB* raw() const { return db_.db(); }
  rocksdb::ColumnFamilyHandle* cf(const std::string& family) const { return db_.cf(family); }

  // Every call holds the mutex for its whole read-modify-write, and starts with
  // no staged records (a call that returned early must not leak its records
  // into the next commit's cache update).
  std::unique_lock<std::mutex> locked() {
    std::unique_lock<std::mutex> lock(mu_);
    staged_.clear();
    moves_.clear();
    doomed_.clear();
    written_.clear();
    return lock;
  }

  // What the lifecycle sees of the store (the store is locked).
  LifecycleContext context() {
    LifecycleContext ctx;
    ctx.now_ms = now_ms();
    ctx.state_of = [this](const std::string& id) -> std::optional<TrialState> {
      auto d = get_trial_locked(id);
      if (!d.ok()) return std::nullopt;
      return d->state;
    };
    // "1a2b3c4d5e6f (baseline)", by its name or role where it has one.
    ctx.describe = [this](const std::string& dep) {
      auto d = get_trial_locked(dep);
      std::string about;
      if (d.ok() && d->spec.role != spec::Role::kNone) about = role_name(d->spec.role);
      if (d.ok() && !d->spec.name.empty()) about = d->spec.name;
      return dep.substr(0, 12) + (about.empty() ? "" : " (" + about + ")");
    };
    return ctx;
  }

  // One action on one trial, written with its event in one batch.
  Result<TrialRecord> apply(const std::string& id, const Action& a) {
    DR_RETURN_IF_ERROR(db_.writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    auto change = transition(*r, a, context());
    if (!change.ok()) return change.status();
    if (!change->changed) return change->record;
    rocksdb::WriteBatch batch;
    write_change(batch, *change);
    DR_RETURN_IF_ERROR(commit(batch));
    return change->record;
  }

  void write_change(rocksdb::WriteBatch& batch, const Change& c) {
    put_trial(batch, c.record, c.from);
    if (c.event) add_event(batch, {0, 0, c.event->type, c.record.id, c.event->worker, c.event->detail});
  }

  static std::string chunk_key(const std::string& base, uint64_t c) {
    return base + fmt::format("{:08}", c);
  }

  // The file an artifact record names (records of earlier builds, with chunks, name none).
  static std::optional<std::string> file_of(const std::string& meta_text) {
    auto meta = nlohmann::json::parse(meta_text, nullptr, false);
    if (!meta.is_object() || !meta.contains("file") || !meta["file"].is_string()) return std::nullopt;
    return meta["file"].get<std::string>();
  }


  // Writes the bytes to their file and puts the record that names them in the
  // batch; the file of the version it replaces is removed after the commit.
  Status put_artifact_batch(rocksdb::WriteBatch& batch, const std::string& id, spec::ArtifactKind kind_enum,
                            const std::string& bytes, nlohmann::json* metas = nullptr) {
    const std::string kind = artifact_kind_name(kind_enum);
    if (!is_lower_hex(id, 32))
      return Status::invalid_argument("artifact \"" + kind + "\" of trial \"" + id + "\": not a trial id");
    const std::string base = id + "/" + kind + "/";
    const std::string hash = blake2b_hex(bytes);
    const std::string file = ArtifactFiles::name(id, kind, hash);
    std::string old_text;
    if (raw()->Get(rocksdb::ReadOptions(), cf("artifacts"), base + "meta", &old_text).ok())
      if (auto old = file_of(old_text); old && *old != file) doomed_.push_back(*old);
    DR_RETURN_IF_ERROR(files_.write(file, bytes, "the " + kind + " of trial " + id));
    written_.push_back(file);
    // The chunks of a version stored by an earlier build, if any.
    batch.DeleteRange(cf("artifacts"), base + "00000000", base + "99999999~");
    nlohmann::json meta = {{"size", bytes.size()}, {"blake2b", hash}, {"file", file}};
    batch.Put(cf("artifacts"), base + "meta", meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (metas) (*metas)[kind] = meta;
    return Status();
  }

  // A done trial's result copy (artifacts/<id>.result.<seq>.json): its record,
  // its result and its artifacts' records, written durably now; the batch
  // names it (the key <id>/result/copy) and replaces an older one.
  Status put_result_copy(rocksdb::WriteBatch& batch, const TrialRecord& record, const nlohmann::json& result,
                         const nlohmann::json& metas, uint64_t seq) {
    const nlohmann::json copy = {{"format", kCopyFormat}, {"seq", seq},       {"record", to_json(record)},
                                 {"result", result},      {"artifacts", metas}};
    const std::string file = copy_name(record.id, seq);
    std::string old;
    if (raw()->Get(rocksdb::ReadOptions(), cf("artifacts"), record.id + kCopyKey, &old).ok() && old != file)
      doomed_.push_back(old);
    DR_RETURN_IF_ERROR(files_.write(file, copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                    "the result copy of trial " + record.id));
    written_.push_back(file);
    batch.Put(cf("artifacts"), record.id + kCopyKey, file);
    return Status();
  }

  void put_trial(rocksdb::WriteBatch& batch, const TrialRecord& r, std::optional<TrialState> old_state) {
    batch.Put(cf("trials"), r.id, to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    staged_.push_back(r);
    moves_.push_back({r.id, old_state, r.state});
    if (old_state && *old_state != r.state) batch.Delete(cf("trial_index"), std::string(state_name(*old_state)) + "/" + r.id);
    // The index entry's value is the trial's role: counts per role need no record.
    batch.Put(cf("trial_index"), std::string(state_name(r.state)) + "/" + r.id, role_name(r.spec.role));
  }

  // Adds the event to the batch with the next sequence number. The number is
  // taken back if the commit fails, so sequences stay gap-free.
  void add_event(rocksdb::WriteBatch& batch, Event e) {
    e.seq = ++last_seq_;
    ++pending_events_;
    e.time_ms = now_ms();
    batch.Put(cf("events"), be64(e.seq), event_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  Status commit(rocksdb::WriteBatch& batch) {
    Status s = db_.commit(batch);
    // A failed write takes its event numbers back, so sequences stay gap-free.
    if (!s.ok()) last_seq_ -= pending_events_;
    pending_events_ = 0;
    // Artifact files: the replaced versions go once their successor is
    // committed; a failed commit takes back the files it wrote.
    for (const auto& f : s.ok() ? doomed_ : written_) files_.remove(f);
    doomed_.clear();
    written_.clear();
    // The records just written become the cached ones, and the state sets
    // follow; a failed write changes neither. Only leased trials are cached
    // (progress, renewals and results read them again and again): the cache
    // grows with the workers, not with the experiment.
    if (s.ok()) {
      for (auto& r : staged_) {
        if (r.state == TrialState::kLeased)
          cache_[r.id] = std::move(r);
        else
          cache_.erase(r.id);
      }
      if (indexed_)
        for (const auto& m : moves_) {
          if (m.from) by_state_[static_cast<size_t>(*m.from)].erase(m.id);
          by_state_[static_cast<size_t>(m.to)].insert(m.id);
        }
    }
    staged_.clear();
    moves_.clear();
    return s;
  }

  Result<TrialRecord> parse_trial(const std::string& id, const std::string& value) {
    try {
      auto r = trial_record_from_json(nlohmann::json::parse(value));
      if (!r.ok()) return Status::corruption(path_ + ": trial " + id + ": " + r.status().message());
      return r;
    } catch (const nlohmann::json::exception& e) {
      return Status::corruption(path_ + ": trial " + id + ": record is not JSON (" + e.what() + ")");
    }
  }

  Result<TrialRecord> get_trial_locked(const std::string& id) {
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    std::string value;
    auto s = raw()->Get(rocksdb::ReadOptions(), cf("trials"), id, &value);
    if (s.IsNotFound()) return Status::not_found("no trial " + id);
    DR_RETURN_IF_ERROR(from_rocks(s, "trial " + id));
    auto r = parse_trial(id, value);
    // Only the writer caches: it is the one process that changes records, so
    // its cache cannot go stale. A read-only view reads through.
    if (r.ok() && !options_.read_only && r->state == TrialState::kLeased) cache_[id] = *r;
    return r;
  }

  Result<Experiment> parse_experiment(const std::string& name, const std::string& value) {
    try {
      auto j = nlohmann::json::parse(value);
      Experiment e{j.at("name").get<std::string>(),       j.at("config_yaml").get<std::string>(),
                   j.at("strategy").get<std::string>(),   j.at("created_ms").get<int64_t>(),
                   j.at("schema_version").get<int64_t>(), j.value("definition", std::string()),
                   j.value("config", nlohmann::json())};
      e.revision = j.value("revision", int64_t{1});  // none before config revisions
      return e;
    } catch (const nlohmann::json::exception& e) {
      return Status::corruption(path_ + ": experiment " + name + ": " + e.what());
    }
  }

  Result<std::optional<Experiment>> get_experiment_locked(const std::string& name) {
    std::string value;
    auto s = raw()->Get(rocksdb::ReadOptions(), cf("experiments"), name, &value);
    if (s.IsNotFound()) return std::optional<Experiment>();
    DR_RETURN_IF_ERROR(from_rocks(s, "experiment " + name));
    auto e = parse_experiment(name, value);
    if (!e.ok()) return e.status();
    return std::optional<Experiment>(*e);
  }

  const bool owned_memory_;  // a store in memory (open_memory_store)
  RocksDb db_;
  ArtifactFiles files_;
  const std::string path_;
  const StoreOptions options_;
  rocksdb::Env* env_;
  std::mutex mu_;
  uint64_t last_seq_ = 0;
  uint64_t pending_events_ = 0;
  // Parsed trial records of this writer, kept coherent by commit(): the
  // coordinator reads a trial on every lease and result.
  std::unordered_map<std::string, TrialRecord> cache_;
  std::vector<TrialRecord> staged_;  // records of the batch being built
  struct Move {
    std::string id;
    std::optional<TrialState> from;  // nullopt: a new trial
    TrialState to;
  };
  std::vector<Move> moves_;  // state changes of the batch being built
  // The writer's state sets (id order), loaded at open, changed on commit.
  std::array<std::set<std::string>, 7> by_state_;  // one per TrialState
  bool indexed_ = false;
  std::vector<std::string> doomed_, written_;  // artifact files the batch replaces / writes
};

}  // namespace

Result<int64_t> store_schema_version(const std::string& path) {
  rocksdb::DBOptions o;
  std::vector<std::string> families;
  auto s = rocksdb::DB::ListColumnFamilies(o, path, &families);
  if (!s.ok()) return from_rocks(s, path);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(o, path, descriptors, &handles, &raw);
  if (!s.ok()) return from_rocks(s, path);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string version;
  s = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), "schema_version", &version);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  if (s.IsNotFound()) return Status::corruption(path + ": not a complete deepreduce store (no schema version)");
  if (!s.ok()) return from_rocks(s, path);
  return static_cast<int64_t>(std::atoll(version.c_str()));
}

Result<std::unique_ptr<Store>> open_store(const std::string& path, const StoreOptions& options) {
  auto store = std::make_unique<RocksStore>(path, options);
  DR_RETURN_IF_ERROR(store->open());
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> open_memory_store(const StoreOptions& options) {
  StoreOptions o = options;
  o.env = nullptr;
  o.read_only = false;
  o.create_if_missing = true;
  auto store = std::make_unique<RocksStore>("/deepreduce-memory-store", o,
                                            std::unique_ptr<rocksdb::Env>(rocksdb::NewMemEnv(rocksdb::Env::Default())));
  DR_RETURN_IF_ERROR(store->open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace deepreduce::storage
