// A trial's lifecycle: every change the store makes to a trial record, as one
// checked function of the record before it and an action. Free of RocksDB:
// the store (storage/rocks_store.cpp) reads the record, asks transition()
// what the action makes of it, and writes the record and its event in one
// batch; the rules themselves live here and nowhere else.
//
// Contract: transition() never changes a record it refuses (an illegal state
// change, a lease that is not the live one, a done trial asked to change):
// it returns FailedPrecondition naming the trial and why. Every state change
// passes storage/trial.h's table (check_transition); an action that changes
// the state in two steps (damaged and straight back to pending) passes both.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "common/status.h"
#include "storage/trial.h"

namespace deepreduce::storage {

// Why a lease ends without a result (release()).
enum class ReleaseCause {
  kTrialFailed,  // the trial failed on its worker: counts against max_attempts
  kWorkerLost,   // its worker vanished (killed, hung): counts against max_lost
  kNotCharged,   // not the trial's doing: a coordinator restart, a stop, the worker's surroundings
};
struct AttemptLimits {
  int64_t max_attempts = 3;  // failures of the trial itself
  int64_t max_lost = 10;     // workers lost while training it (a trial that kills its workers)
};

// The actions, one struct each.
namespace action {
// A new trial: pending, blocked while a dependency is not done, failed when one failed.
struct Create {
  std::string experiment;
  spec::TrialSpec spec;
};
// pending -> leased by `worker` under `token` until `deadline_ms`; attempt + 1.
struct Lease {
  std::string worker;
  int64_t deadline_ms = 0;
  std::string token;
};
// A live lease of `worker` at `attempt` extended (no event: a heartbeat).
struct Renew {
  std::string worker;
  int64_t attempt = 0;
  int64_t deadline_ms = 0;
};
// leased -> pending, charging `cause`'s counter; -> failed when it reaches its limit.
struct Release {
  std::string reason;
  ReleaseCause cause = ReleaseCause::kNotCharged;
  AttemptLimits limits;
};
// The last progress report of `worker`'s live lease.
struct Progress {
  std::string worker;
  nlohmann::json progress;
};
// leased -> done, only from the live lease (worker, attempt and token).
struct Complete {
  std::string worker;
  int64_t attempt = 0;
  std::string token;
  nlohmann::json top1;  // the result's, for the event
};
// -> failed (a failure retrying cannot fix) / -> cancelled; `reason` joins its reasons.
struct Fail {
  std::string reason;
};
struct Cancel {
  std::string reason;
};
// done -> damaged (an artifact failed verification), and on to pending (or
// blocked) when `retrain`; a damaged copy counts as one of its attempts.
struct Damage {
  std::string reason;
  bool retrain = false;
};
// pending -> blocked: its dependency `dependency` was found damaged and is trained again.
struct WaitFor {
  std::string dependency;
};
// damaged -> pending (or blocked): `deepreduce repair`; its counts start over.
struct Retrain {
  std::string why;
};
// A done trial no longer planned (`why`), or planned again ("").
struct Retire {
  std::string why;
};
// failed/cancelled -> pending (or blocked): the user asks again; its counts start over.
struct Retry {
  std::string why;
};
// blocked -> pending once every dependency is done, -> failed when one failed
// or is damaged for good; unchanged otherwise.
struct Unblock {};
// The role and phase its experiment gives it (no event).
struct SetRole {
  spec::Role role = spec::Role::kNone;
  spec::Role phase = spec::Role::kNone;
};
// Any state but done -> done: `deepreduce repair` found the trial's result
// and every artifact it names whole on disk after the store lost its record
// (storage/recovery.h). `why` joins its reasons.
struct Readopt {
  std::string why;
  std::string worker;  // who trained it, as its result copy says
};
}  // namespace action

using Action = std::variant<action::Create, action::Lease, action::Renew, action::Release, action::Progress,
                            action::Complete, action::Fail, action::Cancel, action::Damage, action::WaitFor,
                            action::Retrain, action::Retire, action::Retry, action::Unblock, action::SetRole,
                            action::Readopt>;

// What the lifecycle needs to know of the rest of the store.
struct LifecycleContext {
  int64_t now_ms = 0;
  // The state of a trial this one depends on; nullopt when it is not in the store.
  std::function<std::optional<TrialState>(const std::string& id)> state_of;
  // How a failure names a dependency: "1a2b3c4d5e6f (baseline)".
  std::function<std::string(const std::string& id)> describe;
};

// The event a change logs (its sequence number and time are the store's).
struct ChangeEvent {
  std::string type;  // leased, released, failed, done, damaged, ...
  std::string worker;
  nlohmann::json detail = nullptr;
};

struct Change {
  TrialRecord record;                // the record after the action
  std::optional<TrialState> from;    // its state before (none: created)
  std::optional<ChangeEvent> event;  // none for renewals, roles and no-ops
  bool changed = true;               // false: the action leaves the record as it is
};

// What `action` makes of `before` (for Create, `before` is ignored: the record
// is made from the action). FailedPrecondition when the action is not allowed.
Result<Change> transition(const TrialRecord& before, const Action& action, const LifecycleContext& ctx);

}  // namespace deepreduce::storage
