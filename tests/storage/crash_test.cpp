// Crash safety with real processes: a child process drives random legal
// transitions with artifacts; the parent SIGKILLs it at random moments, reopens
// the store and checks its invariants, over and over.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "storage/store.h"

namespace deepreduce::storage {
namespace {
namespace fs = std::filesystem;
const std::string kToken = "0123456789abcdef0123456789abcdef";

[[noreturn]] void child_workload(const std::string& path, uint64_t seed) {
  auto opened = open_store(path);
  if (!opened.ok()) _exit(3);
  auto& store = *opened;
  std::mt19937_64 rng(seed);
  auto pick = [&](TrialState s) -> std::string {
    auto list = store->list_trials(s);
    if (!list.ok() || list->empty()) return "";
    return (*list)[rng() % list->size()].id;
  };
  auto blob = [&](size_t max) {
    std::string b(rng() % max + 1, '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    return b;
  };
  for (uint64_t step = 0;; ++step) {
    switch (rng() % 7) {
      case 0: {  // a teacher and its KD student, plus an independent trial
        spec::TrialSpec t, s, u;
        t.job.train.seed = seed * 1000000 + step;
        s = t;
        s.job.model.alpha = 0.5;
        s.teacher = trial_id(t);
        u = t;
        u.job.model.alpha = 0.25;
        (void)store->add_trials("crash", {t, s, u});
        break;
      }
      case 1:
        if (auto id = pick(TrialState::kPending); !id.empty()) (void)store->lease(id, "w" + std::to_string(rng() % 4), now_ms() + 1000, kToken);
        break;
      case 2:
        if (auto id = pick(TrialState::kLeased); !id.empty()) {
          auto r = store->get_trial(id);
          if (r.ok()) (void)store->record_progress(id, r->worker, {{"epoch", step}});
        }
        break;
      case 3:
        if (auto id = pick(TrialState::kLeased); !id.empty()) (void)store->put_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint, blob(2500000));
        break;
      case 4:
        if (auto id = pick(TrialState::kLeased); !id.empty()) {
          auto r = store->get_trial(id);
          if (r.ok()) (void)store->complete(id, r->worker, r->attempt, kToken, {{"top1", double(rng() % 100)}}, blob(1500000));
        }
        break;
      case 5:
        if (auto id = pick(TrialState::kLeased); !id.empty()) (void)store->release(id, "worker lost", ReleaseCause::kWorkerLost, {3, 3});
        break;
      case 6:
        (void)store->unblock_ready();
        break;
    }
  }
}

void check_invariants(const std::string& path, int round) {
  auto opened = open_store(path);
  ASSERT_TRUE(opened.ok()) << "round " << round << ": " << opened.status().message();
  auto& store = *opened;
  auto all = store->list_trials();
  ASSERT_TRUE(all.ok()) << all.status().message();
  std::map<std::string, TrialState> state_of;
  for (const auto& r : *all) state_of[r.id] = r.state;
  // The state index agrees with the records: every trial in exactly one state.
  std::map<std::string, int> listed;
  for (auto s : all_states()) {
    auto in_state = store->list_trials(s);
    ASSERT_TRUE(in_state.ok());
    for (const auto& r : *in_state) {
      ++listed[r.id];
      EXPECT_EQ(r.state, s) << "round " << round << ": trial " << r.id << " indexed as " << state_name(s);
    }
  }
  for (const auto& [id, s] : state_of) EXPECT_EQ(listed[id], 1) << "round " << round << ": trial " << id;
  EXPECT_EQ(listed.size(), state_of.size());
  // A result exists exactly for done trials, with its weights, and verifies.
  int done = 0;
  size_t artifacts = 0;
  for (const auto& [id, s] : state_of) {
    auto result = store->get_result(id);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->has_value(), s == TrialState::kDone) << "round " << round << ": trial " << id;
    for (const auto kind : {spec::ArtifactKind::kModel, spec::ArtifactKind::kCheckpoint}) {
      auto a = store->get_artifact(id, kind);
      EXPECT_TRUE(a.ok()) << "round " << round << ": " << a.status().message();
      if (kind == spec::ArtifactKind::kModel) {
        EXPECT_EQ(a.ok() && a->has_value(), s == TrialState::kDone);
      }
      artifacts += a.ok() && a->has_value();
    }
    done += s == TrialState::kDone;
  }
  // Exactly one file per stored artifact and one result copy per done trial:
  // nothing orphaned by a kill survives an open.
  size_t files = 0, copies = 0;
  for (const auto& e : fs::directory_iterator(fs::path(path) / "artifacts")) {
    files += e.is_regular_file();
    copies += e.path().filename().string().find(".result.") != std::string::npos;
  }
  EXPECT_EQ(files - copies, artifacts) << "round " << round;
  EXPECT_EQ(copies, static_cast<size_t>(done)) << "round " << round;
  // Events: 1..N without a gap; one done event per done trial.
  auto events = store->events(0, 10000000);
  ASSERT_TRUE(events.ok());
  int done_events = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    ASSERT_EQ((*events)[i].seq, i + 1) << "round " << round;
    done_events += (*events)[i].type == "done";
  }
  EXPECT_EQ(store->last_seq(), events->size());
  EXPECT_EQ(done_events, done) << "round " << round;
}

TEST(CrashTest, SigkillAtRandomMomentsLeavesAConsistentStore) {
  const fs::path dir = fs::temp_directory_path() / ("deepreduce_crash_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::mt19937_64 rng(20261124);
  constexpr int kRounds = 60;
  int killed_mid_work = 0;
  for (int round = 0; round < kRounds; ++round) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) child_workload(dir.string(), rng() + round);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 250));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    waitpid(pid, &status, 0);
    killed_mid_work += WIFSIGNALED(status);
    check_invariants(dir.string(), round);
    if (HasFatalFailure() || HasNonfatalFailure()) break;
  }
  EXPECT_EQ(killed_mid_work, kRounds);  // every child was still working when killed
  auto store = open_store(dir.string());
  ASSERT_TRUE(store.ok());
  auto counts = *(*store)->count_by_state();
  int64_t total = 0, done = 0;
  for (auto [s, n] : counts) {
    total += n;
    if (s == TrialState::kDone) done = n;
  }
  EXPECT_GT(total, 50);  // the workload made real progress across the kills
  EXPECT_GT(done, 5);
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deepreduce::storage
