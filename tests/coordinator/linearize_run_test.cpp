// Learned linearization through real processes: a coordinator and workers
// run a chain of three budgets (each mask phase from the previous one, each
// fine-tuned under its mask), with the worker that trains a mask phase
// SIGKILLed mid-way. Every trial ends done exactly once, every mask reaches
// the store verified and meets its budget, and the fine-tunings train under
// exactly the masks their mask phases learned.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <thread>

#include "spec/counts.h"
#include "spec/relu_mask.h"
#include "tests/coordinator/fault_fixture.h"
#include "tests/needs_torch.h"

namespace deepreduce::testing {
namespace {

class LinearizeRunTest : public FaultTest {
 protected:
  std::string chain_config() {
    std::ofstream(dir_ / "lin.yaml") << "name: lin\n"
                                        "dataset: {name: synthetic, train_subset: 384, test_subset: 100}\n"
                                        "model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n"
                                        "train: {epochs: 2, batch: 32, lr: 0.05}\n"
                                        "search:\n"
                                        "  strategy: linearize\n"
                                        "  budgets: [6000, 3000, 1500]\n"
                                        "  start: previous_budget\n"
                                        "  lambda: 0.01\n"
                                        "  patience: 1\n"
                                        "  lambda_growth: 1.5\n"
                                        "  alpha_lr: 0.05\n"
                                        "  mask_epochs: 4\n"
                                        "  finetune_epochs: 1\n"
                                        "  finetune_lr: 0.01\n";
    return path("lin.yaml");
  }
};

TEST_F(LinearizeRunTest, AChainOfThreeBudgetsSurvivesAKilledWorker) {
  DEEPREDUCE_NEEDS_TORCH();
  auto coord = coordinator(chain_config(), "db");
  auto w1 = worker("w1");
  // Kill the worker while it trains a mask phase (after the baseline is done).
  bool killed = false;
  for (int i = 0; i < 1200 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto s = peek("db");
    if (!s) continue;
    for (const auto& t : *s->list_trials(storage::TrialState::kLeased))
      if (t.spec.role == spec::Role::kMask && !t.progress.is_null()) {
        ::kill(w1->pid(), SIGKILL);
        killed = true;
        break;
      }
  }
  ASSERT_TRUE(killed) << "no mask phase was seen training\n" << coord->log();
  w1->wait(10);
  auto w2 = worker("w2");
  // 1 baseline, 3 mask phases, 3 fine-tunings.
  expect_both_finish(*coord, *w2, "db", 7);
  auto s = read("db");
  ASSERT_TRUE(s);
  std::map<std::string, std::string> mask_of;  // mask phase -> the digest it stored
  int finetunes = 0;
  const auto trials = *s->list_trials();
  for (const auto& t : trials) {
    const auto result = spec::trial_result_from_json(**s->get_result(t.id));
    if (t.spec.role == spec::Role::kMask) {
      ASSERT_TRUE(result.mask.has_value()) << t.id;
      EXPECT_LE(result.relus, t.spec.job.train.linearize.budget) << "the mask meets its budget";
      auto bytes = s->get_artifact(t.id, deepreduce::spec::ArtifactKind::kMask);  // verified on read
      ASSERT_TRUE(bytes.ok() && bytes->has_value()) << t.id;
      auto values = spec::decode_mask(**bytes);
      ASSERT_TRUE(values.ok());
      EXPECT_EQ(spec::mask_digest(*values), result.mask->digest);
      mask_of[t.id] = result.mask->digest;
      // Each smaller budget's mask phase starts from the next larger one's.
      if (t.spec.job.train.linearize.budget < 6000)
        EXPECT_EQ((*s->get_trial(t.spec.base)).spec.role, spec::Role::kMask) << t.id;
    }
  }
  for (const auto& t : trials) {
    const auto result = spec::trial_result_from_json(**s->get_result(t.id));
    if (t.spec.role == spec::Role::kFinetune) {
      ++finetunes;
      ASSERT_TRUE(t.spec.job.model.masks.has_value());
      EXPECT_EQ(t.spec.job.model.masks->digest, mask_of.count(t.spec.base) ? mask_of[t.spec.base] : "")
          << "a fine-tuning trains under the very mask its mask phase stored";
      EXPECT_EQ(result.relus, spec::count(t.spec.job.model)->relus);
    }
  }
  EXPECT_EQ(finetunes, 3);
  EXPECT_NE(coord->log().find("lost"), std::string::npos) << "the killed worker was noticed";
}

}  // namespace
}  // namespace deepreduce::testing
