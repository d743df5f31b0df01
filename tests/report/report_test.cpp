// Reports from a real store: the front is non-dominated and built from
// full-schedule results only; the files a person opens are written.
#include "report/report.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "spec/counts.h"
#include "spec/relu_plan.h"
#include "tests/test_dirs.h"

namespace deepreduce::report {
namespace {

using namespace deepreduce::search;  // the sweeps and strategies the reports are made of

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string text_of_saving(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2g", x);
  return buf;
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    open_experiment("report",
                    "name: rep\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 4}\n"
                    "search: {strategy: deepreduce}\nchannel_pruning: {macs: [0.5]}\n"
                    // A built-in set of another task (left out) and a point given without a task (drawn).
                    "report: {references: [deepreduce-resnet56-cifar10, {series: 'paper: channel pruning', "
                    "label: 'ResNet-56 pruned (CIFAR-10)', relus: 311700, top1: 93.34, macs: 59100000}]}\n",
                    /*require_data=*/true);
  }
  // A store in a fresh folder holding one experiment of this config.
  void open_experiment(const std::string& prefix, const std::string& yaml, bool require_data) {
    dir_ = testing::fresh_test_dir(prefix);
    auto c = parse_sweep(yaml, prefix + ".yaml", require_data);
    ASSERT_TRUE(c.ok()) << c.status().message();
    config_ = *c;
    store_ = std::move(*storage::open_store((dir_ / "db").string()));
    ASSERT_TRUE(store_->put_experiment({config_.name, config_.yaml_text, "deepreduce", 0, storage::kSchemaVersion, "", to_json(config_)}).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string done(spec::TrialSpec spec, double top1) {
    auto added = store_->add_trials(config_.name, {spec});
    EXPECT_TRUE(added.ok()) << added.status().message();
    const std::string id = (*added)[0].id;
    EXPECT_TRUE(store_->unblock_ready().ok());
    auto leased = store_->lease(id, "w", storage::now_ms() + 60000, "0123456789abcdef0123456789abcdef");
    EXPECT_TRUE(leased.ok()) << leased.status().message();
    EXPECT_TRUE(store_->complete(id, "w", leased->attempt, "0123456789abcdef0123456789abcdef", {{"top1", top1}}, std::nullopt).ok());
    return id;
  }
  spec::TrialSpec culled(const std::vector<std::string>& stages) {
    spec::TrialSpec s = baseline_trial(config_);
    s.job.model = *spec::cull(s.job.model, stages);
    return s;
  }
  std::filesystem::path dir_;
  SweepConfig config_;
  std::unique_ptr<storage::Store> store_;
};

TEST_F(ReportTest, TheFrontIsNonDominatedAndLeavesOutShortenedRungs) {
  const std::string base = done(baseline_trial(config_), 90);
  const std::string a = done(culled({"stem"}), 89);
  done(culled({"s4"}), 80);                       // more ReLUs than a, less accurate: dominated
  const std::string c = done(culled({"stem", "s1"}), 85);
  spec::TrialSpec rung = culled({"stem", "s1", "s2"});
  rung.job.train.epochs = 1;
  rung.job.train.horizon = 4;
  const std::string r = done(rung, 99);           // a 1-epoch rung: evidence, not a result
  spec::TrialSpec kd = culled({"stem", "s1", "s2"});
  kd.teacher = base;
  const std::string k = done(kd, 70);

  auto report = build_report(*store_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  std::vector<std::string> front;
  for (const auto& p : report->front) front.push_back(p.id);
  EXPECT_EQ(front, (std::vector<std::string>{k, c, a, base}));
  for (const auto& p : report->points) {
    EXPECT_NE(p.id, r);
    for (const auto& f : report->front)
      EXPECT_FALSE(dominates({p.relus, p.top1, p.id}, {f.relus, f.top1, f.id})) << p.id << " dominates " << f.id;
  }
  ASSERT_TRUE(report->baseline);
  EXPECT_EQ(report->baseline->id, base);
  EXPECT_EQ(report->front.front().series, "DeepReDuce with KD") << "DeepReDuce's points are named by method and KD";
  EXPECT_EQ(report->front.front().method, "DeepReDuce");
  EXPECT_EQ(report->references.size(), 1u);
  EXPECT_EQ(report->references_left_out, std::vector<std::string>{"deepreduce-resnet56-cifar10 (resnet56 on cifar10)"});
  EXPECT_EQ(report->trained_epochs, 4 * 5 + 1);
}

TEST_F(ReportTest, WritesTheHtmlPlotTablesAndCsvs) {
  const std::string base = done(baseline_trial(config_), 90);
  done(culled({"stem"}), 89);
  // A pruned baseline, and the criticality study's stem network.
  spec::TrialSpec pruned = baseline_trial(config_);
  pruned.job.model = (*make_strategy(config_))->propose({})->back().spec.job.model;
  ASSERT_FALSE(pruned.job.model.widths.empty());
  pruned.base = base;
  pruned.prune = *spec::prune_spec_from_json({{"criterion", "fpgm"}, {"macs_target", 0.5}});
  done(pruned, 88);
  done(criticality_trials(baseline_trial(config_), {false})[0].spec, 60);
  done(culled({"stem", "s1"}), 80);

  auto report = build_report(*store_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->pruning.size(), 1u);
  EXPECT_EQ(report->pruning[0].method, "FPGM to 50% MACs");
  EXPECT_EQ(*report->pruning[0].baseline_top1, 90);
  ASSERT_TRUE(report->pruning[0].nearest);
  EXPECT_EQ(report->criticality.rows[0].stage, "stem");
  EXPECT_EQ(*report->criticality.rows[0].top1, 60);
  EXPECT_FALSE(report->criticality.complete);

  ASSERT_TRUE(write_report(*report, (dir_ / "out").string()).ok());
  for (const char* f : {"report.html", "summary.md", "pareto.csv", "trials.csv", "criticality.csv", "pruning.csv",
                        "figure-relus.svg", "figure-latency.svg", "figure-criticality.svg", "figure-macs.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / f)) << f;
  // Paper figures: titled with the task, the baseline marked, the fronts with and without KD, front
  // points labelled, the iso-accuracy and iso-ReLU arrows against pruning; a bar chart of criticality.
  const std::string relus = slurp(dir_ / "out" / "figure-relus.svg");
  EXPECT_EQ(relus.rfind("<svg xmlns='http://www.w3.org/2000/svg'", 0), 0u);
  EXPECT_NE(relus.find(">rep: ReLUs against accuracy</text>"), std::string::npos);
  EXPECT_NE(relus.find(">resnet18 on synthetic, 4 epochs</text>"), std::string::npos);
  EXPECT_NE(relus.find(">baseline ("), std::string::npos) << "the baseline labelled with its ReLUs";
  EXPECT_NE(relus.find("front DeepReDuce without KD"), std::string::npos);
  EXPECT_NE(relus.find(">Pareto front of every method</text>"), std::string::npos);
  // Pruning's 88% here beats the front at its ReLUs: no saving and no gain to draw (see the next test).
  EXPECT_EQ(relus.find("ReLU saving at"), std::string::npos);
  EXPECT_EQ(relus.find("accuracy gain at"), std::string::npos);
  const std::string crit = slurp(dir_ / "out" / "figure-criticality.svg");
  EXPECT_NE(crit.find("ReLU criticality (ReLUs in one stage only)"), std::string::npos);
  EXPECT_NE(crit.find("<title>stem without KD: 60.00%</title>"), std::string::npos);
  EXPECT_NE(slurp(dir_ / "out" / "figure-macs.svg").find("MACs per image (log scale)"), std::string::npos);
  // Where Debian's rsvg-convert is installed (scripts/install-deps.sh), each figure is also a PDF: a real
  // renderer read every SVG.
  if (std::system("command -v rsvg-convert >/dev/null 2>&1") == 0) {
    for (const char* f : {"figure-relus.pdf", "figure-latency.pdf", "figure-criticality.pdf", "figure-macs.pdf"})
      EXPECT_EQ(slurp(dir_ / "out" / f).rfind("%PDF", 0), 0u) << f;
  } else {
    std::printf("rsvg-convert not installed: PDFs not checked\n");
  }
  const std::string html = slurp(dir_ / "out" / "report.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("ReLUs per image (log scale)"), std::string::npos);
  EXPECT_NE(html.find("channel pruning"), std::string::npos);
  EXPECT_NE(html.find("ResNet-56 pruned (CIFAR-10)"), std::string::npos);
  EXPECT_NE(html.find("Reference sets of another task, not drawn: deepreduce-resnet56-cifar10 (resnet56 on cifar10)"),
            std::string::npos);
  for (const auto& p : report->front) EXPECT_NE(html.find(p.id.substr(0, 12)), std::string::npos);
  const std::string csv = slurp(dir_ / "out" / "pareto.csv");
  size_t fronts = 0;
  for (const auto& f : report->fronts) fronts += f.points.size();
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), static_cast<long>(fronts + 1)) << "every method's front";
  EXPECT_NE(csv.find(",channel pruning,"), std::string::npos) << "each point names its method";
  // Whether a point is on the experiment's front (every method together).
  for (const auto& p : report->front) EXPECT_NE(csv.find(p.id + ","), std::string::npos);
  size_t on_front = 0;
  for (size_t at = csv.find(",true\n"); at != std::string::npos; at = csv.find(",true\n", at + 1)) ++on_front;
  EXPECT_EQ(on_front, report->front.size()) << csv;
  // The latency view: estimates under the default protocol, in the CSV and as a second plot with its own front.
  EXPECT_NE(csv.find(",relu_layers,protocol,online_seconds,online_bytes,offline_seconds,offline_bytes,seeds,top1_std,method,on_front\n"),
            std::string::npos) << csv;
  EXPECT_NE(html.find("estimated online seconds per image under delphi"), std::string::npos);
  ASSERT_FALSE(report->latency_front.empty());
  for (const auto& p : report->points) EXPECT_GE(p.pi.online_seconds, 0.0);
  EXPECT_GT(report->front.front().pi.online_seconds, 0.0);
  EXPECT_NE(slurp(dir_ / "out" / "criticality.csv").find("stem,16384,60.0000"), std::string::npos);
  const std::string summary = slurp(dir_ / "out" / "summary.md");
  EXPECT_NE(summary.find("a ReLU saving of"), std::string::npos) << summary;
  // 80% with 57,344 ReLUs against the pruned network's 88%: -8 points at its ReLU count.
  EXPECT_NE(summary.find("the other methods' best network scores -8.00 points"), std::string::npos) << summary;
  // The paper's points are a reference series: both figures against them.
  EXPECT_NE(summary.find("Against paper: channel pruning (ResNet-56 pruned (CIFAR-10)"), std::string::npos) << summary;
}

// Where the front beats the best pruned network, the ReLU figure draws both
// figures of merit against it: the ReLU saving at its accuracy and the
// accuracy gain at its ReLU count.
TEST_F(ReportTest, TheReluFigureDrawsTheSavingAndTheGainAgainstPruning) {
  const std::string base = done(baseline_trial(config_), 90);
  spec::TrialSpec pruned = baseline_trial(config_);
  pruned.job.model = (*make_strategy(config_))->propose({})->back().spec.job.model;
  pruned.base = base;
  pruned.prune = *spec::prune_spec_from_json({{"criterion", "l1"}, {"macs_target", 0.5}});
  done(pruned, 70);
  done(culled({"stem", "s1"}), 85);
  auto report = build_report(*store_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  const std::string svg = plot_svg(*report);
  const double saving = static_cast<double>(spec::count(pruned.job.model)->relus) /
                        static_cast<double>(spec::count(culled({"stem", "s1"}).job.model)->relus);
  EXPECT_NE(svg.find("ReLU saving at 70.00%: " + text_of_saving(saving) + "x fewer"), std::string::npos) << svg;
  EXPECT_NE(svg.find(" ReLUs: +15.00 points (85.00% against 70.00%)"), std::string::npos);
  EXPECT_NE(svg.find("arrows: the front against channel pruning"), std::string::npos);
}

// An experiment on the paper's task (ResNet18 on CIFAR-100), without report.references.
class ReportReferencesTest : public ReportTest {
 protected:
  void SetUp() override {
    open_experiment("report_refs",
                    "name: r18c100\ndataset: {name: cifar100, path: /nowhere}\nmodel: {arch: resnet18}\n"
                    "train: {epochs: 1}\nsearch: {strategy: deepreduce}\n",
                    /*require_data=*/false);
  }
};

// Without report.references every built-in set is offered: those measured on
// the experiment's task are drawn (the paper's ResNet18 networks on CIFAR-100
// and other methods' CIFAR-100 fronts here), the others are named as left out.
TEST_F(ReportReferencesTest, OnlyTheSetsOfTheExperimentsTaskAreDrawn) {
  auto report = build_report(*store_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  // The criticality study (five stages, with and without KD), the paper's front, and the other methods'
  // CIFAR-100 fronts, which hold for any architecture.
  std::map<std::string, int> drawn;
  for (const auto& q : report->references) {
    ++drawn[q.set];
    EXPECT_FALSE(q.source.empty());
  }
  EXPECT_EQ(drawn, (std::map<std::string, int>{{"deepreduce-criticality-resnet18-cifar100", 10},
                                               {"deepreduce-resnet18-cifar100", 7},
                                               {"snl-cifar100", 14},
                                               {"senet-resnet18-cifar100", 2},
                                               {"sphynx-cifar100", 7},
                                               {"cryptonas-cifar100", 5}}));
  EXPECT_EQ(report->references_left_out,
            (std::vector<std::string>{"deepreduce-resnet56-cifar10 (resnet56 on cifar10)",
                                      "deepreduce-resnet56-cifar100 (resnet56 on cifar100)",
                                      "deepreduce-criticality-resnet34-cifar100 (resnet34 on cifar100)",
                                      "deepreduce-resnet18-tiny-imagenet (resnet18 on tiny-imagenet)",
                                      "snl-cifar10 (any architecture on cifar10)",
                                      "snl-tiny-imagenet (any architecture on tiny-imagenet)",
                                      "sphynx-tiny-imagenet (any architecture on tiny-imagenet)",
                                      "cryptonas-cifar10 (any architecture on cifar10)"}));
  // The S2-only network: its ReLU count is the stage's exact count.
  spec::ModelSpec only_s2;
  only_s2.classes = 100;
  auto counts = spec::count(*spec::only(only_s2, "s2"));
  ASSERT_TRUE(counts.ok());
  bool found = false;
  for (const auto& q : report->references) found |= q.relus == counts->relus && q.top1 == 67.63;
  EXPECT_TRUE(found);
}

// On the paper's task the published fronts are drawn, each in its own open
// marker joined by a line and named in the legend, and the summary sets the
// front against each: its largest ReLU saving and accuracy gain.
TEST_F(ReportReferencesTest, PublishedFrontsAreDrawnApartAndComparedWithTheFront) {
  done(baseline_trial(config_), 78);            // 557,056 ReLUs
  done(culled({"stem", "s1"}), 76.5);           // 229,376
  done(culled({"stem", "s1", "s4"}), 75);       // 196,608
  auto report = build_report(*store_);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->front.size(), 3u);
  ASSERT_TRUE(write_report(*report, (dir_ / "out").string()).ok());
  const std::string svg = slurp(dir_ / "out" / "figure-relus.svg");
  for (const char* series : {"paper: DeepReDuce", "SNL (Cho et al. 2022)", "SENet (Kundu et al. 2023)",
                             "Sphynx (Cho et al. 2022)", "CryptoNAS (Ghodsi et al. 2020)",
                             "paper: one stage&#39;s ReLUs + KD"})
    EXPECT_NE(svg.find(std::string("font-size='11'>") + series + "</text>"), std::string::npos) << series;
  // The legend names only the fronts drawn: no network was trained with KD here.
  EXPECT_NE(svg.find(">front DeepReDuce without KD</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">front DeepReDuce with KD</text>"), std::string::npos);
  // Five published fronts joined by lines; the criticality study's scattered points are not.
  size_t lines = 0;
  for (size_t at = svg.find("stroke-opacity='0.7'"); at != std::string::npos; at = svg.find("stroke-opacity='0.7'", at + 1))
    ++lines;
  EXPECT_EQ(lines, 5u);
  // Each point's tooltip names its source.
  EXPECT_NE(svg.find("SNL (CIFAR-100): 49,400 ReLUs, 73.75% (Cho et al., Selective Network Linearization"),
            std::string::npos);
  const std::string summary = slurp(dir_ / "out" / "summary.md");
  // DeepReDuce's 229.38K network at 76.22%: this front's 229,376-ReLU network reaches 76.5%.
  EXPECT_NE(summary.find("Against paper: DeepReDuce (7 of its 7 points' accuracies reached), the largest ReLU "
                         "saving (DeepReDuce ResNet18 (CIFAR-100), 229,380 ReLUs, 76.22%): 1.00x fewer ReLUs at its "
                         "accuracy, +0.28 points at its ReLU count."),
            std::string::npos)
      << summary;
  // SNL reaches 77.7% at 248.4K: beyond this front's 76.5% below 557,056 ReLUs.
  EXPECT_NE(summary.find("Against SNL (Cho et al. 2022) (14 of its 14 points' accuracies reached), the largest "
                         "ReLU saving"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("snl-cifar10 (any architecture on cifar10)"), std::string::npos);
}

// train.seeds: one point per network with the mean and spread of its seeds,
// error bars on the plot, the front on means.
TEST(ReportSeedsTest, ANetworkTrainedPerSeedIsOnePointWithMeanAndSpread) {
  const auto dir = testing::fresh_test_dir("report_seeds");
  auto c = parse_sweep(
      "name: seeds\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\n"
      "train: {epochs: 2, seeds: [3, 1]}\nsearch: {strategy: deepreduce}\n",
      "seeds.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto store = std::move(*storage::open_store((dir / "db").string()));
  ASSERT_TRUE(store->put_experiment({c->name, c->yaml_text, "deepreduce", 0, storage::kSchemaVersion, "", to_json(*c)}).ok());
  auto planned = (*make_strategy(*c))->propose({});
  ASSERT_TRUE(planned.ok());
  std::vector<spec::TrialSpec> specs;
  for (const auto& p : *planned) specs.push_back(p.spec);
  ASSERT_TRUE(store->add_trials(c->name, specs).ok());
  ASSERT_TRUE(store->unblock_ready().ok());
  // Both baselines: 90 (seed 3) and 86 (seed 1).
  std::map<uint64_t, std::string> base;
  for (const auto& p : *planned)
    if (p.role == spec::Role::kBaseline) base[p.spec.job.train.seed] = spec::trial_id(p.spec);
  ASSERT_EQ(base.size(), 2u);
  const std::string token(32, 'a');
  for (const auto& [seed, id] : base) {
    auto leased = store->lease(id, "w", storage::now_ms() + 60000, token);
    ASSERT_TRUE(leased.ok()) << leased.status().message();
    ASSERT_TRUE(store->complete(id, "w", leased->attempt, token, {{"top1", seed == 3 ? 90.0 : 86.0}}, std::nullopt).ok());
  }
  auto report = build_report(*store);
  ASSERT_TRUE(report.ok()) << report.status().message();
  ASSERT_EQ(report->points.size(), 1u);
  const ReportPoint& p = report->points[0];
  EXPECT_EQ(p.seeds, 2);
  EXPECT_DOUBLE_EQ(p.top1, 88.0);
  EXPECT_NEAR(p.top1_std, 2.8284, 1e-3);
  EXPECT_EQ(p.id, base[1]) << "the point is named by its smallest seed's trial";
  EXPECT_EQ(p.seed_ids.size(), 2u);
  ASSERT_TRUE(report->baseline);
  EXPECT_DOUBLE_EQ(report->baseline->top1, 88.0);
  ASSERT_TRUE(write_report(*report, (dir / "out").string()).ok());
  const std::string html = slurp(dir / "out" / "report.html");
  EXPECT_NE(html.find("88.00 \u00b1 2.83 (n=2)"), std::string::npos);
  EXPECT_NE(html.find("h6M"), std::string::npos) << "an error bar";
  EXPECT_NE(slurp(dir / "out" / "pareto.csv").find(",2,2.8284,DeepReDuce,true\n"), std::string::npos);
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace deepreduce::report
