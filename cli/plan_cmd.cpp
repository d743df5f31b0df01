// deepreduce plan: what a sweep will train, checked, counted and priced, without training.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/live_page.h"
#include "common/files.h"
#include "common/format.h"
#include "common/table.h"
#include "cli/model_options.h"
#include "cli/parse.h"
#include "cli/trial_list.h"
#include "spec/counts.h"
#include "spec/pi_cost.h"
#include "spec/relu_plan.h"
#include "coordinator/coordinator.h"
#include "protocol/transport.h"
#include "storage/export.h"
#include "storage/store.h"
#include "spec/datasets.h"
#include "cli/experiment_support.h"
#include "search/revise.h"

namespace deepreduce::cli {

int plan_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce plan: the trials an experiment CONFIG would start first (id, arch, ReLU plan,\n"
      "alpha, rho, blocks, KD, ReLUs, MACs, epochs) and the size of its whole space, without\n"
      "training. With --all: every trial of the whole space at full budget, later phases planned\n"
      "under an assumed culling order, with the total epochs and, given a throughput, GPU-hours.\n"
      "Validates the config: errors name file:line and the key.\n\n"
      "Usage: deepreduce plan CONFIG [--json]\n"
      "       deepreduce plan CONFIG --all [--assume-order stem,s1,s4,s2,s3] [--images-per-second N] [--json]\n\n"
      "Options");
  // clang-format off
  desc.add_options()
    ("config", po::value<std::string>(), "a sweep config or a YAML trial list")
    ("all", po::bool_switch(), "the whole space at full budget (no successive-halving rungs), not what starts first")
    ("assume-order", po::value<std::string>(),
     "with --all: the stages least critical first (what the criticality study will say is unknown "
     "before it runs; default: the config's order, else network order)")
    ("images-per-second", po::value<double>(),
     "with --all: training throughput of one GPU, to estimate GPU-hours (measure it: bench/gpu_throughput.sh)")
    ("json", po::bool_switch(), "one JSON object: {name, strategy, space, trials: [...]} (and totals with --all)")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "plan", "config")) return *done;
  auto e = experiment_arg(vm, "plan");
  if (!e) return kExitUsage;
  const bool all = vm["all"].as<bool>();
  if (!all && (vm.count("assume-order") || vm.count("images-per-second"))) {
    std::cerr << "deepreduce plan: --assume-order and --images-per-second go with --all\n";
    return kExitUsage;
  }
  const double ips = vm.count("images-per-second") ? vm["images-per-second"].as<double>() : 0;
  if (vm.count("images-per-second") && !(ips > 0)) {
    std::cerr << "deepreduce plan: --images-per-second: expected a number > 0\n";
    return kExitUsage;
  }
  // The data is read where trials train (`run` refuses to start without it; a
  // coordinator's workers need it where they are): a note, not an error.
  if (!vm["json"].as<bool>()) {  // --json prints one object and nothing else
    std::set<std::pair<std::string, std::string>> data;
    if (e->sweep) data.insert({e->sweep->base.data.dataset, e->sweep->base.data.data_dir});
    for (const auto& t : e->trials) data.insert({t.job.data.dataset, t.job.data.data_dir});
    for (const auto& [dataset, dir] : data)
      if (Status s = spec::check_data_files(dataset, dir); !s.ok())
        std::cerr << "note: " << s.message() << ": the data is not readable here (run needs it here; a "
                  << "coordinator's workers need it where they run, or --data-root)\n";
  }
  // What is listed: what starts first, or the whole space.
  std::vector<spec::TrialSpec> listed = e->trials;
  std::vector<std::string> roles = e->roles;
  if (all && e->search) {
    std::vector<std::string> order;
    if (vm.count("assume-order")) {
      auto o = split_list(vm["assume-order"].as<std::string>());
      order.assign(o.begin(), o.end());
    }
    auto space = e->search->whole_space(order);
    if (!space.ok()) {
      std::cerr << "deepreduce plan: " << space.status().message() << "\n";
      return kExitUsage;
    }
    listed.clear();
    roles.clear();
    for (const auto& p : *space) {
      listed.push_back(p.spec);
      roles.push_back(spec::role_name(p.role));
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  // The private-inference estimate: the config's pi_cost, else delphi (nn/pi_cost.h).
  const spec::PiProtocol protocol = e->sweep ? e->sweep->pi : *spec::pi_preset("delphi");
  TextTable t({"trial", "role", "arch", "plan", "alpha", "rho", "blocks", "KD", "seed", "ReLUs", "MACs", "epochs",
               "online s (" + protocol.name + ")"});
  int64_t total_epochs = 0;
  double total_images = 0;
  for (size_t i = 0; i < listed.size(); ++i) {
    const auto& spec = listed[i];
    const auto& m = spec.job.model;
    auto c = spec::count(m);
    auto resolved = spec::resolve(m);
    std::vector<int64_t> stage_blocks;
    if (resolved.ok())
      for (const auto& st : resolved->stages) stage_blocks.push_back(st.blocks);
    const std::string blocks = fmt::format("{}", fmt::join(stage_blocks, ","));
    const std::string id = spec::trial_id(spec);
    std::string role = roles[i];
    if (spec.prune) role += std::string(" ") + spec::criterion_name(spec.prune->criterion);
    if (spec.job.train.horizon > spec.job.train.epochs)
      role += " " + std::to_string(spec.job.train.epochs) + "/" + std::to_string(spec.job.train.horizon) + " ep";
    const std::string alpha = fmt::format("{:g}", m.alpha), rho = fmt::format("{:g}", m.rho);
    // A mask phase keeps at most its budget's ReLUs, and stops once it gets
    // there: its network is priced at its budget, its epochs are a cap.
    const int64_t budget = spec.job.train.linearize.budget;
    const int64_t relus = c.ok() ? (budget > 0 ? std::min(budget, c->relus) : c->relus) : 0;
    const spec::PiCost pi = c.ok() ? spec::pi_cost(protocol, relus, c->macs, spec::relu_layers(*c)) : spec::PiCost{};
    const std::string online = fmt::format("{:.3g}", pi.online_seconds);
    // What training it costs: its epochs over its training images (a subset, or the whole split).
    const int64_t epochs = spec.kind == spec::TrialKind::kNoop ? 0 : spec.job.train.epochs;
    auto dataset = spec::find_dataset(spec.job.data.dataset);
    const int64_t images = (spec.job.data.train_subset > 0 ? spec.job.data.train_subset
                            : dataset.ok()                 ? (*dataset)->train_images
                                                           : 0) -
                           spec.job.data.val_split;  // held out: evaluated, not trained on
    total_epochs += epochs;
    total_images += static_cast<double>(epochs) * static_cast<double>(images);
    t.add({id.substr(0, 12), role, m.arch, spec::plan_summary(m), alpha, rho, blocks,
           spec.teacher.empty() ? "no" : "yes", std::to_string(spec.job.train.seed),
           budget > 0 ? "<= " + with_commas(budget) : with_commas(c.ok() ? c->relus : 0),
           with_commas(c.ok() ? c->macs : 0),
           // SNL's phases stop at their budget; SENet's meet it every epoch and train them all.
           (budget > 0 && spec.job.train.linearize.method == spec::LinearizeMethod::kSnl ? "<= " : "") +
               std::to_string(epochs),
           online});
    rows.push_back({{"id", id}, {"role", role}, {"arch", m.arch}, {"plan", spec::plan_summary(m)},
                    {"alpha", m.alpha}, {"rho", m.rho}, {"blocks", blocks}, {"kd", !spec.teacher.empty()},
                    {"seed", spec.job.train.seed},
                    {"teacher", spec.teacher}, {"relus", relus}, {"macs", c.ok() ? c->macs : 0},
                    {"epochs", epochs}, {"pi", {{"protocol", protocol.name}, {"estimate", spec::to_json(pi)}}}});
  }
  int64_t space = static_cast<int64_t>(e->trials.size());
  if (e->search) {
    auto size = e->search->space_size();
    if (!size.ok()) {
      std::cerr << "deepreduce plan: " << size.status().message() << "\n";
      return kExitUsage;
    }
    space = *size;
  }
  // GPU-hours at the given throughput; KD students also run their teacher's
  // forward pass (about a third of a step), which this leaves out.
  const double gpu_hours = ips > 0 ? total_images / ips / 3600.0 : 0;
  if (vm["json"].as<bool>()) {
    nlohmann::json out{{"name", e->name}, {"strategy", e->strategy}, {"space", space}, {"trials", rows}};
    if (all) {
      out["total_epochs"] = total_epochs;
      out["total_images"] = total_images;
      if (ips > 0) out["gpu_hours"] = gpu_hours;
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";  // never a throw on bad UTF-8
    return kExitOk;
  }
  if (all) {
    std::cout << "experiment " << e->name << ": strategy " << e->strategy << ", the whole space at full budget: "
              << listed.size() << " trial(s)"
              << (e->search && e->sweep && e->sweep->strategy == "deepreduce"
                      ? std::string(" (culling order assumed: ") +
                            (vm.count("assume-order") ? vm["assume-order"].as<std::string>() : "the config's, else network order") + ")"
                      : std::string())
              << "\n\n"
              << t.render() << "\ntotal: " << with_commas(total_epochs) << " epochs, "
              << with_commas(static_cast<int64_t>(total_images)) << " training images";
    if (ips > 0)
      std::cout << ", about " << fixed(gpu_hours, 1) << " GPU-hours at " << fixed(ips, 0)
                << " images/s (KD students' teacher passes not counted)";
    else
      std::cout << " (give --images-per-second for GPU-hours)";
    std::cout << "\n";
    const bool masks = std::any_of(listed.begin(), listed.end(),
                                   [](const spec::TrialSpec& s) { return s.job.train.linearize.budget > 0; });
    const bool snl = std::any_of(listed.begin(), listed.end(), [](const spec::TrialSpec& s) {
      return s.job.train.linearize.budget > 0 && s.job.train.linearize.method == spec::LinearizeMethod::kSnl;
    });
    if (masks)
      std::cout << "(" << (snl ? "SNL's mask phases are priced at their epoch cap, mask_epochs: they stop once they meet "
                                 "their budget; "
                               : "")
                << "fine-tunings are listed with the counts their masks will keep, their ids known once the masks are)\n";
    return kExitOk;
  }
  if (e->search) {
    std::cout << "experiment " << e->name << ": strategy " << e->strategy << ", " << space
              << " trial(s) in the whole space at full budget (plan --all lists them); these " << e->trials.size()
              << " start first (later phases open as results arrive; KD students wait for their teacher)\n\n"
              << t.render();
  } else {
    std::cout << "experiment " << e->name << ": a list of " << e->trials.size()
              << " trial(s), all startable now (KD students wait for their teacher)\n\n"
              << t.render();
  }
  return kExitOk;
}

}  // namespace deepreduce::cli
