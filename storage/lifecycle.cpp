#include "storage/lifecycle.h"

#include <algorithm>

namespace deepreduce::storage {
namespace {

// The state a trial waits in when it is asked for again: pending when every
// dependency is done, else blocked.
TrialState ready_or_blocked(const TrialRecord& t, const LifecycleContext& ctx) {
  for (const auto& dep : t.spec.dependencies()) {
    auto s = ctx.state_of(dep);
    if (!s || *s != TrialState::kDone) return TrialState::kBlocked;
  }
  return TrialState::kPending;
}

std::string dependency_failed(const std::string& dep, const LifecycleContext& ctx) {
  return "a dependency failed: trial " + ctx.describe(dep);
}

Status check_lease(const TrialRecord& r, const std::string& worker, int64_t attempt) {
  if (r.state != TrialState::kLeased || r.worker != worker || r.attempt != attempt)
    return Status::failed_precondition("trial " + r.id + ": no lease of " + worker + " attempt " +
                                       std::to_string(attempt) + " (it is " + state_name(r.state) +
                                       (r.worker.empty() ? "" : " by " + r.worker) + ", attempt " +
                                       std::to_string(r.attempt) + ")");
  return Status();
}

// The one place a state changes: checked against the table, stamped.
Status move(TrialRecord& r, TrialState to, int64_t now) {
  DR_RETURN_IF_ERROR(check_transition(r.id, r.state, to));
  r.state = to;
  r.updated_ms = now;
  return Status();
}

void clear_lease(TrialRecord& r) {
  r.worker.clear();
  r.lease.clear();
  r.lease_deadline_ms = 0;
}

// Applies each action; `c` holds the record before and receives the change.
struct Apply {
  Change& c;
  const LifecycleContext& ctx;
  TrialRecord& r() { return c.record; }
  Status event(std::string type, std::string worker, nlohmann::json detail) {
    c.event = ChangeEvent{std::move(type), std::move(worker), std::move(detail)};
    return Status();
  }
  Status unchanged() {
    c.changed = false;
    return Status();
  }

  Status operator()(const action::Create& a) {
    TrialRecord t;
    t.id = trial_id(a.spec);
    t.experiment = a.experiment;
    t.spec = a.spec;
    t.created_ms = t.updated_ms = ctx.now_ms;
    t.state = TrialState::kPending;
    for (const auto& dep : a.spec.dependencies()) {
      auto s = ctx.state_of(dep);
      if (!s)
        return Status::invalid_argument("trial " + t.id + " depends on " + dep + ", which is not in the store");
      if (*s == TrialState::kFailed) {
        t.state = TrialState::kFailed;
        t.reasons.push_back(dependency_failed(dep, ctx));
        break;
      }
      if (*s != TrialState::kDone) t.state = TrialState::kBlocked;
    }
    c.record = t;
    c.from.reset();
    return event("trial_created", "", {{"state", state_name(t.state)}, {"experiment", a.experiment}});
  }

  Status operator()(const action::Lease& a) {
    DR_RETURN_IF_ERROR(move(r(), TrialState::kLeased, ctx.now_ms));
    r().attempt += 1;
    r().worker = a.worker;
    r().lease_deadline_ms = a.deadline_ms;
    r().lease = a.token;
    return event("leased", a.worker, {{"attempt", r().attempt}, {"deadline_ms", a.deadline_ms}});
  }

  Status operator()(const action::Renew& a) {
    DR_RETURN_IF_ERROR(check_lease(r(), a.worker, a.attempt));
    r().lease_deadline_ms = a.deadline_ms;
    return Status();  // no event: renewals are heartbeats, not history
  }

  Status operator()(const action::Release& a) {
    if (r().state != TrialState::kLeased) return check_transition(r().id, r().state, TrialState::kPending);
    std::string why = a.reason;
    TrialState to = TrialState::kPending;
    if (a.cause == ReleaseCause::kTrialFailed && ++r().charged >= a.limits.max_attempts) {
      to = TrialState::kFailed;
      why += " (" + std::to_string(r().charged) + " failed attempt(s): no attempts left)";
    } else if (a.cause == ReleaseCause::kWorkerLost && ++r().lost >= a.limits.max_lost) {
      to = TrialState::kFailed;
      why += " (" + std::to_string(r().lost) + " workers lost while training it: does it crash its worker?)";
    }
    r().reasons.push_back("attempt " + std::to_string(r().attempt) + " on " + r().worker + ": " + why);
    const std::string worker = r().worker;
    DR_RETURN_IF_ERROR(move(r(), to, ctx.now_ms));
    clear_lease(r());
    static const char* kCauses[] = {"trial", "worker_lost", "not_charged"};
    return event(to == TrialState::kFailed ? "failed" : "released", worker,
                 {{"attempt", r().attempt}, {"reason", why}, {"cause", kCauses[static_cast<int>(a.cause)]}});
  }

  Status operator()(const action::Progress& a) {
    if (r().state != TrialState::kLeased || r().worker != a.worker)
      return Status::failed_precondition("trial " + r().id + ": progress from " + a.worker + " but the trial is " +
                                         state_name(r().state) + (r().worker.empty() ? "" : " by " + r().worker));
    r().progress = a.progress;
    r().updated_ms = ctx.now_ms;
    return event("progress", a.worker, a.progress);
  }

  Status operator()(const action::Complete& a) {
    if (r().state == TrialState::kDone)
      return Status::failed_precondition("trial " + r().id + " is already done; the result of " + a.worker +
                                         " attempt " + std::to_string(a.attempt) + " is ignored");
    // Only the live lease: a result from anyone else is never applied.
    DR_RETURN_IF_ERROR(check_lease(r(), a.worker, a.attempt));
    if (r().lease != a.token)
      return Status::failed_precondition("trial " + r().id + ": a result with another lease token");
    DR_RETURN_IF_ERROR(move(r(), TrialState::kDone, ctx.now_ms));
    r().worker = a.worker;
    r().lease.clear();
    r().lease_deadline_ms = 0;
    return event("done", a.worker, {{"attempt", a.attempt}, {"top1", a.top1}});
  }

  // fail and cancel: a reason joins its reasons; a leased trial that fails was charged for it.
  Status end(TrialState to, const char* type, const std::string& reason) {
    const TrialState from = r().state;
    const std::string worker = r().worker;
    DR_RETURN_IF_ERROR(move(r(), to, ctx.now_ms));
    if (!reason.empty()) r().reasons.push_back(reason);
    if (from == TrialState::kLeased && to == TrialState::kFailed) ++r().charged;  // its own failure
    clear_lease(r());
    return event(type, worker, reason.empty() ? nlohmann::json() : nlohmann::json{{"reason", reason}});
  }
  Status operator()(const action::Fail& a) { return end(TrialState::kFailed, "failed", a.reason); }
  Status operator()(const action::Cancel& a) { return end(TrialState::kCancelled, "cancelled", a.reason); }

  Status operator()(const action::Damage& a) {
    if (r().state != TrialState::kDone)
      return Status::failed_precondition("trial " + r().id + " is " + state_name(r().state) +
                                         ": only done trials are damaged");
    DR_RETURN_IF_ERROR(move(r(), TrialState::kDamaged, ctx.now_ms));
    r().reasons.push_back(a.reason);
    r().retired.clear();
    ++r().charged;  // a damaged copy counts as one of its attempts
    if (a.retrain) {
      DR_RETURN_IF_ERROR(move(r(), ready_or_blocked(r(), ctx), ctx.now_ms));
      r().reasons.back() += "; trained again";
    }
    return event("damaged", "", {{"reason", a.reason}, {"retrain", a.retrain}});
  }

  Status operator()(const action::WaitFor& a) {
    DR_RETURN_IF_ERROR(move(r(), TrialState::kBlocked, ctx.now_ms));
    r().reasons.push_back("waits: its dependency " + a.dependency.substr(0, 12) + " was damaged");
    return Status();  // no event of its own: the damage has one
  }

  Status operator()(const action::Retrain& a) {
    if (r().state != TrialState::kDamaged)
      return Status::failed_precondition("trial " + r().id + " is " + state_name(r().state) +
                                         ": only damaged trials are trained again this way");
    DR_RETURN_IF_ERROR(move(r(), ready_or_blocked(r(), ctx), ctx.now_ms));
    r().charged = r().lost = 0;
    r().reasons.push_back(a.why);
    return event("retrain", "", {{"reason", a.why}});
  }

  Status operator()(const action::Retire& a) {
    if (r().retired == a.why) return unchanged();
    if (!a.why.empty() && r().state != TrialState::kDone)
      return Status::failed_precondition("trial " + r().id + " is " + state_name(r().state) +
                                         ": only done trials are retired (the others are cancelled)");
    r().retired = a.why;
    r().updated_ms = ctx.now_ms;
    return event(a.why.empty() ? "planned_again" : "retired", "",
                 a.why.empty() ? nlohmann::json() : nlohmann::json{{"reason", a.why}});
  }

  Status operator()(const action::Retry& a) {
    const TrialState from = r().state;
    if (from != TrialState::kFailed && from != TrialState::kCancelled)
      return Status::failed_precondition("trial " + r().id + " is " + state_name(from) +
                                         ": only failed or cancelled trials are retried");
    const TrialState to = ready_or_blocked(r(), ctx);
    DR_RETURN_IF_ERROR(move(r(), to, ctx.now_ms));
    r().charged = r().lost = 0;
    r().reasons.push_back(a.why);
    return event("retried", "", {{"state", state_name(to)}});
  }

  Status operator()(const action::Unblock&) {
    if (r().state != TrialState::kBlocked) return unchanged();
    bool all_done = true, any_failed = false;
    std::string failed_dep, damaged_dep;
    for (const auto& dep : r().spec.dependencies()) {
      auto s = ctx.state_of(dep);
      if (!s) return Status::not_found("dependency of " + r().id + ": no trial " + dep);
      all_done &= *s == TrialState::kDone;
      if (*s == TrialState::kFailed && !any_failed) failed_dep = dep;
      // Damaged and not trained again (its attempts are spent): it waits for
      // `deepreduce repair`, and so would this one, for ever.
      if (*s == TrialState::kDamaged && !any_failed) damaged_dep = dep;
      any_failed |= *s == TrialState::kFailed || *s == TrialState::kDamaged;
    }
    if (!all_done && !any_failed) return unchanged();
    if (any_failed)
      r().reasons.push_back(!damaged_dep.empty()
                                ? "its dependency " + damaged_dep.substr(0, 12) +
                                      " is damaged (deepreduce repair trains it again; then retry this)"
                                : dependency_failed(failed_dep, ctx));
    DR_RETURN_IF_ERROR(move(r(), any_failed ? TrialState::kFailed : TrialState::kPending, ctx.now_ms));
    return event(any_failed ? "failed" : "unblocked", "", nullptr);
  }

  Status operator()(const action::SetRole& a) {
    if (r().spec.role == a.role && r().spec.phase == a.phase) return unchanged();
    r().spec.role = a.role;
    r().spec.phase = a.phase;
    return Status();
  }

  Status operator()(const action::Readopt& a) {
    if (r().state == TrialState::kDone) return unchanged();
    DR_RETURN_IF_ERROR(move(r(), TrialState::kDone, ctx.now_ms));
    clear_lease(r());
    r().worker = a.worker;
    r().progress = nullptr;
    r().reasons.push_back(a.why);
    return event("readopted", "", {{"reason", a.why}});
  }
};

}  // namespace

Result<Change> transition(const TrialRecord& before, const Action& a, const LifecycleContext& ctx) {
  Change c;
  c.record = before;
  c.from = before.state;
  Apply apply{c, ctx};
  DR_RETURN_IF_ERROR(std::visit(apply, a));
  return c;
}

}  // namespace deepreduce::storage
