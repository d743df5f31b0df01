// deepreduce count: exact ReLU, MAC and parameter counts of a network, from
// its spec alone (nothing is built or run).
#include <algorithm>
#include <fmt/format.h>
#include <iostream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/format.h"
#include "common/table.h"
#include "cli/model_options.h"
#include "cli/parse.h"
#include "spec/counts.h"
#include "spec/pi_cost.h"
#include "spec/relu_plan.h"

namespace deepreduce::cli {
namespace {

nlohmann::ordered_json counts_json(const spec::ModelSpec& spec, const spec::Counts& c) {
  nlohmann::ordered_json j;
  j["arch"] = spec.arch;
  j["relus"] = c.relus;
  j["macs"] = c.macs;
  j["params"] = c.params;
  nlohmann::ordered_json stages = nlohmann::ordered_json::object();
  for (const auto& s : c.stages) stages[s.stage] = s.relus;
  j["stages"] = stages;
  j["relu_layers"] = spec::relu_layers(c);
  // Estimated private-inference cost per built-in protocol (nn/pi_cost.h).
  j["pi"] = nlohmann::ordered_json::parse(spec::pi_json(c.relus, c.macs, spec::relu_layers(c)).dump());
  return j;
}

std::string fmt_num(double x) { return fmt::format("{:g}", x); }

void print_one(const spec::ModelSpec& spec, const spec::Counts& c, bool sites) {
  std::cout << spec.arch << ": " << spec.classes << " classes, input " << spec.in_channels << "x"
            << spec.input_size << "x" << spec.input_size << ", alpha " << fmt_num(spec.alpha)
            << ", rho " << fmt_num(spec.rho) << ", ReLU plan: " << spec::plan_summary(spec) << "\n\n";
  TextTable t({"stage", "sites", "ReLUs", "of baseline", "share"});
  int64_t all = 0;
  for (const auto& s : c.stages) all += s.relus_all;
  for (const auto& s : c.stages)
    t.add({s.stage, std::to_string(s.sites_active) + "/" + std::to_string(s.sites),
           with_commas(s.relus), with_commas(s.relus_all),
           c.relus ? percent(double(s.relus) / double(c.relus)) : "-"});
  t.add({"total", "", with_commas(c.relus), with_commas(all), c.relus ? "100.0%" : "-"});
  std::cout << t.render() << "\nMACs    " << with_commas(c.macs) << "\nparams  "
            << with_commas(c.params) << "\n";
  // Estimated private-inference cost: a linear model with published constants (nn/pi_cost.cpp).
  TextTable pi({"protocol (estimate)", "online s", "online MB", "offline s", "offline MB"});
  for (const auto& p : spec::pi_presets()) {
    const auto e = spec::pi_cost(p, c.relus, c.macs, spec::relu_layers(c));
    pi.add({p.name, fmt_num(e.online_seconds), fmt_num(e.online_bytes / 1e6), fmt_num(e.offline_seconds),
            fmt_num(e.offline_bytes / 1e6)});
  }
  std::cout << "\n" << pi.render();
  if (sites) {
    TextTable st({"site", "active", "shape", "ReLUs"});
    for (const auto& s : c.sites)
      st.add({s.name, s.active ? "yes" : "no",
              std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" +
                  std::to_string(s.width),
              with_commas(s.relus())});
    std::cout << "\n" << st.render();
  }
}

void print_many(const std::vector<spec::ModelSpec>& specs, const std::vector<spec::Counts>& counts) {
  size_t max_stages = 0;
  for (const auto& c : counts) max_stages = std::max(max_stages, c.stages.size());
  std::vector<std::string> header = {"arch", "ReLUs"};
  for (size_t i = 0; i < max_stages; ++i) header.push_back(i == 0 ? "stem" : "s" + std::to_string(i));
  header.push_back("MACs");
  header.push_back("params");
  TextTable t(header);
  for (size_t k = 0; k < specs.size(); ++k) {
    std::vector<std::string> row = {specs[k].arch, with_commas(counts[k].relus)};
    for (size_t i = 0; i < max_stages; ++i)
      row.push_back(i < counts[k].stages.size() ? with_commas(counts[k].stages[i].relus) : "-");
    row.push_back(with_commas(counts[k].macs));
    row.push_back(with_commas(counts[k].params));
    t.add(row);
  }
  std::cout << t.render();
}

}  // namespace

int count_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce count: exact ReLU, MAC and parameter counts of a network, computed from its\n"
      "spec without building it. ReLUs are per image; MACs count conv and linear layers.\n\n"
      "Usage: deepreduce count --arch resnet18 --classes 100 [--cull stem,s1] [--thin s2,s3]\n"
      "                        [--alpha 0.5] [--rho 0.5] [--blocks 2,1,1,1] [--json]\n\nOptions");
  add_model_options(desc, /*arch_may_be_list=*/true);
  // clang-format off
  desc.add_options()
    ("json", po::bool_switch(), "print one JSON object: {arch, relus, macs, params, stages, relu_layers, pi}")
    ("sites", po::bool_switch(), "also list every ReLU site with its shape")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "count")) return *done;
  std::vector<std::string> archs = split_list(vm["arch"].as<std::string>());
  if (archs.size() == 1 && archs[0] == "all") archs = spec::arch_names();
  if (archs.empty()) {
    std::cerr << "deepreduce count: --arch: expected an architecture name\n";
    return kExitUsage;
  }
  std::vector<spec::ModelSpec> specs;
  std::vector<spec::Counts> counts;
  for (const auto& arch : archs) {
    auto spec = model_spec_from(vm, arch);
    if (!spec.ok()) {
      std::cerr << "deepreduce count: " << spec.status().message() << "\n";
      return kExitUsage;
    }
    auto c = spec::count(*spec);
    if (!c.ok()) {
      std::cerr << "deepreduce count: " << c.status().message() << "\n";
      return kExitUsage;
    }
    specs.push_back(*spec);
    counts.push_back(*c);
  }
  if (vm["json"].as<bool>()) {
    if (specs.size() == 1) {
      std::cout << counts_json(specs[0], counts[0]).dump() << "\n";
    } else {
      auto arr = nlohmann::ordered_json::array();
      for (size_t i = 0; i < specs.size(); ++i) arr.push_back(counts_json(specs[i], counts[i]));
      std::cout << arr.dump() << "\n";
    }
  } else if (specs.size() == 1) {
    print_one(specs[0], counts[0], vm["sites"].as<bool>());
  } else {
    print_many(specs, counts);
  }
  return kExitOk;
}

}  // namespace deepreduce::cli
