#include "cli/model_options.h"

#include <map>
#include <sstream>

#include "common/files.h"
#include "spec/prune.h"
#include "spec/relu_plan.h"

namespace deepreduce::cli {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

Result<std::vector<int64_t>> parse_int_list(const std::string& s, const std::string& option) {
  std::vector<int64_t> out;
  for (const auto& item : split_list(s)) {
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty())
      return Status::invalid_argument("--" + option + ": expected comma-separated integers, got \"" +
                                      s + "\"");
    out.push_back(v);
  }
  return out;
}

void add_model_options(po::options_description& desc, bool arch_may_be_list) {
  std::string arch_help = "architecture: ";
  for (const auto& n : spec::arch_names()) arch_help += n + " ";
  if (arch_may_be_list) arch_help += "(a comma-separated list, or \"all\")";
  // clang-format off
  desc.add_options()
    ("arch", po::value<std::string>()->default_value("resnet18"), arch_help.c_str())
    ("classes", po::value<int64_t>()->default_value(10), "number of classes")
    ("in-channels", po::value<int64_t>()->default_value(3), "input channels (3 for CIFAR, 1 for MNIST)")
    ("input-size", po::value<int64_t>()->default_value(32), "input size in pixels (square)")
    ("alpha", po::value<double>()->default_value(1.0), "width multiplier in (0, 4]")
    ("rho", po::value<double>()->default_value(1.0),
     "resolution multiplier, a power of 1/2 (0.5 = stem stride 2)")
    ("blocks", po::value<std::string>(), "blocks per stage, e.g. 2,1,1,1 (default: the arch's own)")
    ("cull", po::value<std::string>(), "stages whose ReLUs are all removed, e.g. stem,s1")
    ("thin", po::value<std::string>(), "stages whose blocks lose their second ReLU, e.g. s2,s3")
    ("only", po::value<std::string>(), "keep ReLUs in this one stage only (criticality profiling)")
    ("relus", po::value<std::string>(), "keep exactly these ReLU sites, e.g. stem,s1.b0.relu1")
    ("no-relus", po::bool_switch(), "remove every ReLU")
    ("thin-position", po::value<std::string>()->default_value("second"),
     "which ReLU of a block --thin removes: second (after the residual add; the default) or first")
    ("prune-rate", po::value<double>(),
     "channel pruning's shape: each block (and, coupled, each residual stage) keeps 1-RATE of its channels")
    ("prune-macs", po::value<double>(),
     "channel pruning's shape: the least uniform rate that brings MACs to this fraction, e.g. 0.5")
    ("prune-scope", po::value<std::string>()->default_value("coupled"),
     "coupled: block outputs too, the same channels across each residual stage and its shortcut (as FPGM and "
     "LFPC prune ResNet-56); inner: only the inner channels of basic blocks")
    ("mask-learnable", po::value<std::string>(),
     "learned linearization's mask phase: a learnable mask per unit of every ReLU site: pixel or channel "
     "(train it with --linearize-budget)")
    ("mask", po::value<std::string>(),
     "a learned mask (the mask.bin of a mask phase): its sites keep ReLUs on their kept units only");
  // clang-format on
}

const std::vector<std::string>& model_option_names() {
  static const std::vector<std::string> kNames = {"arch", "classes", "in-channels", "input-size", "alpha",
                                                  "rho",  "blocks",  "cull",        "thin",   "only",
                                                  "relus", "no-relus", "thin-position", "prune-rate", "prune-macs", "prune-scope",
                                                  "mask-learnable", "mask"};
  return kNames;
}

std::string model_option_for_key(const std::string& key_path) {
  static const std::map<std::string, std::string> kOptions = {
      {"model.arch", "arch"},   {"model.classes", "classes"}, {"model.in_channels", "in-channels"},
      {"model.input_size", "input-size"}, {"model.alpha", "alpha"}, {"model.rho", "rho"}, {"model.blocks", "blocks"}};
  auto it = kOptions.find(key_path);
  return it == kOptions.end() ? "" : it->second;
}

Result<spec::ModelSpec> model_spec_from(const po::variables_map& vm, const std::string& arch) {
  spec::ModelSpec spec;
  spec.arch = arch;
  spec.classes = vm["classes"].as<int64_t>();
  spec.in_channels = vm["in-channels"].as<int64_t>();
  spec.input_size = vm["input-size"].as<int64_t>();
  spec.alpha = vm["alpha"].as<double>();
  spec.rho = vm["rho"].as<double>();
  if (vm.count("blocks")) {
    auto blocks = parse_int_list(vm["blocks"].as<std::string>(), "blocks");
    if (!blocks.ok()) return blocks.status();
    spec.blocks = *blocks;
  }
  DR_RETURN_IF_ERROR(spec::validate(spec));

  const int plan_sources = (vm.count("only") ? 1 : 0) + (vm.count("relus") ? 1 : 0) +
                           (vm["no-relus"].as<bool>() ? 1 : 0);
  if (plan_sources > 1 || (plan_sources == 1 && (vm.count("cull") || vm.count("thin"))))
    return Status::invalid_argument(
        "--only, --relus and --no-relus each give a whole plan: use one of them, or "
        "--cull/--thin");
  if (vm.count("only")) return spec::only(spec, vm["only"].as<std::string>());
  if (vm.count("relus")) return spec::keep_sites(spec, split_list(vm["relus"].as<std::string>()));
  if (vm["no-relus"].as<bool>()) return spec::no_relus(spec);
  if (vm.count("cull")) {
    auto r = spec::cull(spec, split_list(vm["cull"].as<std::string>()));
    if (!r.ok()) return r.status();
    spec = *r;
  }
  if (vm.count("thin")) {
    auto position = spec::parse_thin_position(vm["thin-position"].as<std::string>());
    if (!position.ok()) return Status::invalid_argument("--thin-position: expected first or second");
    auto r = spec::thin(spec, split_list(vm["thin"].as<std::string>()), *position);
    if (!r.ok()) return r.status();
    spec = *r;
  }
  if (vm.count("prune-rate") && vm.count("prune-macs"))
    return Status::invalid_argument("--prune-rate and --prune-macs both give the pruned shape: use one");
  auto scope = spec::parse_prune_scope(vm["prune-scope"].as<std::string>());
  if (!scope.ok()) return scope.status().with_context("--prune-scope");
  if (vm.count("prune-rate")) {
    auto pruned = spec::prune_rate(spec, vm["prune-rate"].as<double>(), *scope);
    if (!pruned.ok()) return pruned.status();
    spec = *pruned;
  } else if (vm.count("prune-macs")) {
    auto shape = spec::prune_to_macs(spec, vm["prune-macs"].as<double>(), *scope);
    if (!shape.ok()) return shape.status();
    spec = shape->spec;
  }
  if (vm.count("mask-learnable") && vm.count("mask"))
    return Status::invalid_argument("--mask-learnable and --mask: a network's mask is learned or given, not both");
  if (vm.count("mask-learnable")) {
    auto g = spec::parse_granularity(vm["mask-learnable"].as<std::string>());
    if (!g.ok()) return g.status().with_context("--mask-learnable");
    spec.masks = spec::ReluMasks{*g, true, {}, ""};
  } else if (vm.count("mask")) {
    const std::string file = vm["mask"].as<std::string>();
    auto bytes = read_text_file(file, size_t{256} << 20);
    if (!bytes.ok()) return bytes.status().with_context("--mask");
    auto values = spec::decode_mask(*bytes);
    if (!values.ok()) return values.status().with_context("--mask " + file);
    DR_RETURN_IF_ERROR(spec::check_mask_values(spec, *values).with_context("--mask " + file));
    spec.masks = spec::fixed_masks(*values);
  }
  DR_RETURN_IF_ERROR(spec::validate(spec));
  return spec;
}

}  // namespace deepreduce::cli
