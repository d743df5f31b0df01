#include "search/sweep.h"

#include "common/format.h"
#include "common/nearest.h"
#include "common/utf8.h"

#include "spec/job_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/files.h"
#include "spec/prune.h"
#include "spec/relu_plan.h"
#include "search/criticality.h"
#include "search/references.h"
#include "search/config_reader.h"
#include "search/registry.h"
#include "search/yaml_lint.h"
#include "spec/datasets.h"

namespace deepreduce::search {
namespace {


// pi_cost: {protocol: cheetah, relu_online_us: 0.8, mac_online_ns: 20, ...}
Status parse_pi_cost(const YAML::Node& n, const ConfigReader& r, SweepConfig& c) {
  if (!n) return Status();
  DR_RETURN_IF_ERROR(r.keys(n, "pi_cost", {"protocol", "relu_online_us", "relu_online_bytes", "relu_offline_us",
                                          "relu_offline_bytes", "mac_online_ns", "mac_online_bytes", "mac_offline_ns",
                                          "mac_offline_bytes", "layer_online_ms"}));
  nlohmann::json j = nlohmann::json::object();
  for (const auto& kv : n) {
    const std::string k = kv.first.as<std::string>();
    if (k == "protocol") {
      std::string v;
      DR_RETURN_IF_ERROR(r.scalar(kv.second, "pi_cost.protocol", "a protocol name (delphi, cheetah)", v));
      j[k] = v;
    } else {
      double v = 0;
      DR_RETURN_IF_ERROR(r.scalar(kv.second, "pi_cost." + k, "a number >= 0", v));
      j[k] = v;
    }
  }
  auto p = spec::pi_protocol_from_json(j);
  if (!p.ok()) return r.error(n, "pi_cost", p.status().message());
  c.pi = *p;
  return Status();
}

Status parse_report(const YAML::Node& n, const ConfigReader& r, SweepConfig& c) {
  // Without a list, every built-in set is offered: the report draws those
  // measured on this experiment's task and names the others it left out.
  auto all_sets = [&] {
    for (const auto& set : reference_sets()) c.references.insert(c.references.end(), set.points.begin(), set.points.end());
    return Status();
  };
  if (!n) return all_sets();
  DR_RETURN_IF_ERROR(r.keys(n, "report", {"references"}));
  const YAML::Node refs = n["references"];
  if (!refs) return all_sets();
  if (!refs.IsSequence()) return r.error(refs, "report.references", "expected a list of reference names or points");
  for (const auto& item : refs) {
    if (item.IsScalar()) {
      auto set = reference_set(item.Scalar());
      if (!set.ok()) return r.error(item, "report.references", set.status().message());
      c.references.insert(c.references.end(), set->begin(), set->end());
      continue;
    }
    DR_RETURN_IF_ERROR(r.keys(item, "report.references",
                              {"series", "label", "relus", "top1", "macs", "source", "dataset", "arch"}));
    ReferencePoint p;
    p.series = "reference";
    for (const char* key : {"label", "relus", "top1"})
      if (!item[key]) return r.error(item, std::string("report.references.") + key, "missing");
    if (item["series"]) DR_RETURN_IF_ERROR(r.scalar(item["series"], "report.references.series", "a name", p.series));
    DR_RETURN_IF_ERROR(r.scalar(item["label"], "report.references.label", "a label", p.label));
    DR_RETURN_IF_ERROR(r.scalar(item["relus"], "report.references.relus", "a ReLU count", p.relus));
    DR_RETURN_IF_ERROR(r.scalar(item["top1"], "report.references.top1", "a top-1 in percent", p.top1));
    if (item["macs"]) DR_RETURN_IF_ERROR(r.scalar(item["macs"], "report.references.macs", "a MAC count", p.macs));
    if (item["source"]) DR_RETURN_IF_ERROR(r.scalar(item["source"], "report.references.source", "a citation", p.source));
    if (item["dataset"]) DR_RETURN_IF_ERROR(r.scalar(item["dataset"], "report.references.dataset", "a dataset name", p.dataset));
    if (item["arch"]) DR_RETURN_IF_ERROR(r.scalar(item["arch"], "report.references.arch", "an architecture name", p.arch));
    if (p.relus < 1 || p.top1 < 0 || p.top1 > 100)
      return r.error(item, "report.references", "expected relus >= 1 and top1 in [0, 100]");
    c.references.push_back(p);
  }
  return Status();
}

// The top-level keys: the config's own and the sections of registered strategies.
std::vector<std::string> top_level_keys() {
  std::vector<std::string> keys = {"name", "dataset", "model", "train", "kd", "search", "report", "pi_cost"};
  for (const auto& d : strategy_registry())
    if (d.section != "search") keys.push_back(d.section);
  return keys;
}

// search: successive_halving, shared by the strategies that allow it.
Status parse_halving(const YAML::Node& sh, const ConfigReader& r, SweepConfig& c) {
  auto& h = c.halving;
  if (h.enabled) return r.error(sh, "search.successive_halving", "given twice: one entry of search may have it");
  h.enabled = true;
  DR_RETURN_IF_ERROR(r.keys(sh, "search.successive_halving", {"min_epochs", "eta", "bands"}));
  if (sh["min_epochs"]) DR_RETURN_IF_ERROR(r.scalar(sh["min_epochs"], "search.successive_halving.min_epochs", "an integer", h.min_epochs));
  if (sh["eta"]) DR_RETURN_IF_ERROR(r.scalar(sh["eta"], "search.successive_halving.eta", "an integer", h.eta));
  if (sh["bands"]) DR_RETURN_IF_ERROR(r.scalar(sh["bands"], "search.successive_halving.bands", "an integer", h.bands));
  const int64_t epochs = c.base.train.epochs;
  if (h.min_epochs < 1 || h.min_epochs >= epochs)
    return r.error(sh, "search.successive_halving.min_epochs",
                   "expected 1 .. train.epochs - 1 (" + std::to_string(epochs - 1) + "), got " + std::to_string(h.min_epochs));
  if (h.eta < 2) return r.error(sh, "search.successive_halving.eta", "expected an integer >= 2");
  if (h.bands < 1) return r.error(sh, "search.successive_halving.bands", "expected an integer >= 1");
  return Status();
}

// Every method the config names, each read by its registered strategy.
Status parse_methods(const YAML::Node& root, const ConfigReader& r, SweepConfig& c) {
  const YAML::Node sr = root["search"];
  std::vector<YAML::Node> entries;
  if (sr.IsSequence()) {
    for (const auto& e : sr) entries.push_back(e);
    if (entries.empty()) return r.error(sr, "search", "expected a strategy, or a list of them");
  } else {
    entries.push_back(sr);
  }
  // "grid, deepreduce or linearize"
  std::string names;
  const auto known = search_strategy_names();
  for (size_t i = 0; i < known.size(); ++i) names += (i == 0 ? "" : i + 1 == known.size() ? " or " : ", ") + known[i];
  for (const YAML::Node& entry : entries) {
    if (!entry.IsMap()) return r.error(entry, "search", "expected a mapping with strategy: " + names);
    if (!entry["strategy"]) return r.error(entry, "search.strategy", "missing (" + names + ")");
    std::string name;
    DR_RETURN_IF_ERROR(r.scalar(entry["strategy"], "search.strategy", "a strategy name", name));
    auto def = find_strategy(name);
    if (!def.ok() || (*def)->section != "search") {
      const std::string near = nearest(name, search_strategy_names());
      return r.error(entry["strategy"], "search.strategy",
                     "expected " + names + ", got \"" + name + "\"" + (near.empty() ? "" : "; did you mean " + near + "?"));
    }
    if (has_method(c, name)) return r.error(entry["strategy"], "search.strategy", name + " is named twice");
    if ((name == "grid" && has_method(c, "deepreduce")) || (name == "deepreduce" && has_method(c, "grid")))
      return r.error(entry["strategy"], "search.strategy",
                     "grid and deepreduce cannot share an experiment (both read search.alpha, rho, blocks and kd)");
    // Its keys; a key of another strategy is a mistake, not an option to ignore.
    std::vector<std::string> known = (*def)->keys;
    known.insert(known.begin(), "strategy");
    if ((*def)->halving) known.push_back("successive_halving");
    for (const auto& kv : entry) {
      const std::string k = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      for (const auto& other : strategy_registry())
        if (other.section == "search" && std::find(other.keys.begin(), other.keys.end(), k) != other.keys.end())
          return r.error(kv.first, "search." + k, "not an option of strategy " + name);
      return r.error(kv.first, "search." + k, ConfigReader::unknown_key(k, known));
    }
    auto options = (*def)->read(r, entry, c);
    if (!options.ok()) return options.status();
    if (entry["successive_halving"]) DR_RETURN_IF_ERROR(parse_halving(entry["successive_halving"], r, c));
    c.methods.push_back({name, *options});
  }
  c.strategy = c.methods.front().strategy;
  for (const auto& def : strategy_registry()) {
    if (def.section == "search" || !root[def.section]) continue;
    const YAML::Node n = root[def.section];
    DR_RETURN_IF_ERROR(r.keys(n, def.section, def.keys));
    auto options = def.read(r, n, c);
    if (!options.ok()) return options.status();
    c.methods.push_back({def.name, *options});
  }
  return Status();
}

}  // namespace

bool DeepReduceSpace::has(const std::string& phase) const {
  return std::find(phases.begin(), phases.end(), phase) != phases.end();
}

bool looks_like_sweep(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return true;  // the sweep parser names the line of the syntax error
  }
  if (!root.IsMap()) return true;
  // Told apart by their keys: a key only one kind has decides; else the kind
  // whose keys the unknown ones are nearest (`serach` is a sweep's search,
  // `trails` a list's trials), so the error names the misspelt key.
  const std::vector<std::string> list_only = {"defaults", "trials"};
  std::vector<std::string> sweep_only;
  for (const auto& k : top_level_keys())
    if (k != "name") sweep_only.push_back(k);
  auto in = [](const std::string& k, const std::vector<std::string>& set) {
    return std::find(set.begin(), set.end(), k) != set.end();
  };
  for (const auto& kv : root) {
    const std::string k = kv.first.Scalar();
    if (in(k, sweep_only)) return true;
    if (in(k, list_only)) return false;
  }
  std::vector<std::string> all = sweep_only;
  all.insert(all.end(), list_only.begin(), list_only.end());
  for (const auto& kv : root) {
    const std::string near = nearest(kv.first.Scalar(), all);
    if (!near.empty()) return !in(near, list_only);
  }
  return true;
}

Result<SweepConfig> load_sweep(const std::string& path) {
  auto text = read_text_file(path, kMaxConfigBytes);
  if (!text.ok()) return text.status();
  return parse_sweep(*text, path);
}

Result<SweepConfig> parse_sweep(const std::string& text, const std::string& path, bool require_data) {
  SweepConfig c;
  c.path = path;
  c.yaml_text = text;
  ConfigReader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) return Status::invalid_argument(path + ":1: expected a mapping (name, dataset, model, train, kd, search)");
  DR_RETURN_IF_ERROR(lint_yaml(root, path, text));
  DR_RETURN_IF_ERROR(
      r.keys(root, "", top_level_keys()));
  for (const char* required : {"name", "dataset", "model", "search"})
    if (!root[required]) return r.error(root, required, "missing (a sweep needs name, dataset, model, search)");
  DR_RETURN_IF_ERROR(r.scalar(root["name"], "name", "a name", c.name));
  if (const std::string why = name_problem(c.name); !why.empty())
    return r.error(root["name"], "name", "not a usable experiment name: " + why);

  // dataset
  auto& d = c.base.data;
  const YAML::Node ds = root["dataset"];
  DR_RETURN_IF_ERROR(r.keys(ds, "dataset", ConfigReader::job_section("dataset")));
  if (!ds["name"]) return r.error(ds, "dataset.name", "missing");
  DR_RETURN_IF_ERROR(r.job_keys(ds, "dataset", c.base));
  auto dataset = spec::find_dataset(d.dataset);
  if (!dataset.ok()) return r.error(ds["name"], "dataset.name", dataset.status().message());
  if (d.data_dir.empty()) d.data_dir = spec::default_data_dir(**dataset);
  if (require_data && d.data_dir.empty() && (*dataset)->needs_files)
    return r.error(ds, "dataset.path", "missing: where are the " + d.dataset + " files? (nothing is downloaded)");

  // model
  auto& m = c.base.model;
  const YAML::Node md = root["model"];
  if (md.IsMap() && md["input"])  // the key's name is the trial's: model.input_size
    return r.error(md["input"], "model.input", "it is called input_size (the input's side in pixels)");
  DR_RETURN_IF_ERROR(r.keys(md, "model", {"arch", "classes", "in_channels", "input_size", "alpha", "rho", "blocks"}));
  if (!md["arch"]) return r.error(md, "model.arch", "missing");
  DR_RETURN_IF_ERROR(r.scalar(md["arch"], "model.arch", "an architecture name", m.arch));
  spec::apply_dataset_defaults(**dataset, m);
  if (md["classes"]) DR_RETURN_IF_ERROR(r.scalar(md["classes"], "model.classes", "an integer", m.classes));
  if (md["in_channels"]) DR_RETURN_IF_ERROR(r.scalar(md["in_channels"], "model.in_channels", "an integer", m.in_channels));
  if (md["input_size"]) DR_RETURN_IF_ERROR(r.scalar(md["input_size"], "model.input_size", "an integer", m.input_size));
  if (md["alpha"]) DR_RETURN_IF_ERROR(r.scalar(md["alpha"], "model.alpha", "a number in (0, 4]", m.alpha));
  if (md["rho"]) DR_RETURN_IF_ERROR(r.scalar(md["rho"], "model.rho", "a power of 1/2", m.rho));
  if (md["blocks"]) DR_RETURN_IF_ERROR(r.list(md["blocks"], "model.blocks", "integers", m.blocks));
  if (Status s = spec::validate(m); !s.ok()) {
    // spec::validate says "KEY: what"; point at that key where it was written.
    const std::string& msg = s.message();
    const size_t colon = msg.find(": ");
    const std::string key = colon == std::string::npos ? "" : msg.substr(0, colon);
    if (!key.empty() && md[key]) return r.error(md[key], "model." + key, msg.substr(colon + 2));
    return r.error(md, key.empty() ? "model" : "model." + key, colon == std::string::npos ? msg : msg.substr(colon + 2));
  }

  // train and kd
  auto& t = c.base.train;
  if (const YAML::Node tr = root["train"]) {
    auto known = ConfigReader::job_section("train");
    known.push_back("seeds");
    DR_RETURN_IF_ERROR(r.keys(tr, "train", known));
    DR_RETURN_IF_ERROR(r.job_keys(tr, "train", c.base));
    if (const YAML::Node seeds = tr["seeds"]) {
      if (tr["seed"]) return r.error(tr["seed"], "train.seed", "give train.seed or train.seeds, not both");
      std::vector<int64_t> listed;
      DR_RETURN_IF_ERROR(r.list(seeds, "train.seeds", "seeds (integers >= 0)", listed));
      for (int64_t s : listed) {
        if (s < 0) return r.error(seeds, "train.seeds", "expected seeds >= 0, got " + std::to_string(s));
        c.seeds.push_back(static_cast<uint64_t>(s));
      }
      if (c.seeds.empty()) return r.error(seeds, "train.seeds", "expected at least one seed");
      if (c.seeds.size() > 32) return r.error(seeds, "train.seeds", "expected at most 32 seeds");
      for (size_t i = 0; i < c.seeds.size(); ++i)
        for (size_t j = 0; j < i; ++j)
          if (c.seeds[i] == c.seeds[j])
            return r.error(seeds, "train.seeds", "seed " + std::to_string(c.seeds[i]) + " is listed twice");
      c.base.train.seed = c.seeds.front();
    }
  }
  if (const YAML::Node kd = root["kd"]) {
    DR_RETURN_IF_ERROR(r.keys(kd, "kd", ConfigReader::job_section("kd")));
    DR_RETURN_IF_ERROR(r.job_keys(kd, "kd", c.base));
  }
  if (Status s = spec::validate(c.base); !s.ok()) {
    // The message starts with the job's key path ("train.kd.lambda: ..."):
    // name the config's own key (kd.lambda) on the line it was written, or
    // its section's line when the value was a default.
    const std::string& msg = s.message();
    const size_t colon = msg.find(": ");
    std::string key = colon == std::string::npos ? "" : msg.substr(0, colon);
    std::string section, leaf;
    if (const spec::JobKey* k = spec::key_by_path(key); k && *k->sweep) {
      const std::string sweep = k->sweep;
      section = sweep.substr(0, sweep.find('.'));
      leaf = sweep.substr(sweep.find('.') + 1);
    } else if (key.rfind("model.", 0) == 0) {
      section = "model", leaf = key.substr(6);
    }
    const YAML::Node sec = section.empty() ? YAML::Node() : root[section];
    const YAML::Node where = sec && sec.IsMap() && sec[leaf] ? sec[leaf] : sec ? sec : root;
    if (section.empty()) return Status::invalid_argument(r.at(where) + ": " + msg);
    return r.error(where, section + "." + leaf, msg.substr(colon + 2));
  }

  // search: one entry or a list of them, each read by its strategy (search/registry.h);
  // then the strategies with sections of their own (channel_pruning)
  DR_RETURN_IF_ERROR(parse_methods(root, r, c));
  DR_RETURN_IF_ERROR(parse_report(root["report"], r, c));
  DR_RETURN_IF_ERROR(parse_pi_cost(root["pi_cost"], r, c));
  return c;
}

Status read_reshaping(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  auto& g = c.grid;
  const spec::ModelSpec& m = c.base.model;
  if (sr["thin_position"])
    DR_RETURN_IF_ERROR(
        r.choice(sr["thin_position"], "search.thin_position", "first or second", spec::parse_thin_position, c.thin_position));
  if (sr["alpha"]) DR_RETURN_IF_ERROR(r.list(sr["alpha"], "search.alpha", "numbers in (0, 4]", g.alpha));
  if (sr["rho"]) DR_RETURN_IF_ERROR(r.list(sr["rho"], "search.rho", "powers of 1/2", g.rho));
  if (sr["blocks"]) DR_RETURN_IF_ERROR(r.list_of_lists(sr["blocks"], "search.blocks", "integers", g.blocks));
  if (sr["kd"]) DR_RETURN_IF_ERROR(r.list(sr["kd"], "search.kd", "true/false", g.kd));
  // Every value of the space must make a valid network: check each where it is written.
  for (size_t i = 0; i < g.alpha.size(); ++i) {
    spec::ModelSpec s = m;
    s.alpha = g.alpha[i];
    if (Status st = spec::validate(s); !st.ok()) return r.error(sr["alpha"][i], "search.alpha", st.message());
  }
  for (size_t i = 0; i < g.rho.size(); ++i) {
    spec::ModelSpec s = m;
    s.rho = g.rho[i];
    if (Status st = spec::validate(s); !st.ok()) return r.error(sr["rho"][i], "search.rho", st.message());
  }
  for (size_t i = 0; i < g.blocks.size(); ++i) {
    spec::ModelSpec s = m;
    s.blocks = g.blocks[i];
    if (Status st = spec::validate(s); !st.ok()) return r.error(sr["blocks"][i], "search.blocks", st.message());
  }
  return Status();
}

bool has_method(const SweepConfig& c, const std::string& strategy) { return find_method(c, strategy) != nullptr; }

const Method* find_method(const SweepConfig& c, const std::string& strategy) {
  for (const auto& m : c.methods)
    if (m.strategy == strategy) return &m;
  return nullptr;
}

namespace {

nlohmann::json reference_json(const ReferencePoint& p) {
  return {{"series", p.series},   {"label", p.label},   {"relus", p.relus},
          {"top1", p.top1},       {"macs", p.macs},     {"baseline_top1", p.baseline_top1 ? nlohmann::json(*p.baseline_top1) : nlohmann::json(nullptr)},
          {"source", p.source},   {"dataset", p.dataset}, {"arch", p.arch},
          {"set", p.set},         {"curve", p.curve}};
}

ReferencePoint reference_from_json(const nlohmann::json& j) {
  ReferencePoint p;
  p.series = j.at("series").get<std::string>();
  p.label = j.at("label").get<std::string>();
  p.relus = j.at("relus").get<int64_t>();
  p.top1 = j.at("top1").get<double>();
  p.macs = j.at("macs").get<int64_t>();
  if (j.at("baseline_top1").is_number()) p.baseline_top1 = j["baseline_top1"].get<double>();
  p.source = j.at("source").get<std::string>();
  p.dataset = j.at("dataset").get<std::string>();
  p.arch = j.at("arch").get<std::string>();
  p.set = j.at("set").get<std::string>();
  p.curve = j.at("curve").get<bool>();
  return p;
}

nlohmann::json protocol_json(const spec::PiProtocol& p) {
  return {{"name", p.name},
          {"source", p.source},
          {"relu_online_seconds", p.relu_online_seconds},
          {"relu_online_bytes", p.relu_online_bytes},
          {"relu_offline_seconds", p.relu_offline_seconds},
          {"relu_offline_bytes", p.relu_offline_bytes},
          {"mac_online_seconds", p.mac_online_seconds},
          {"mac_online_bytes", p.mac_online_bytes},
          {"mac_offline_seconds", p.mac_offline_seconds},
          {"mac_offline_bytes", p.mac_offline_bytes},
          {"layer_online_seconds", p.layer_online_seconds}};
}

spec::PiProtocol protocol_from_json(const nlohmann::json& j) {
  spec::PiProtocol p;
  p.name = j.at("name").get<std::string>();
  p.source = j.at("source").get<std::string>();
  p.relu_online_seconds = j.at("relu_online_seconds").get<double>();
  p.relu_online_bytes = j.at("relu_online_bytes").get<double>();
  p.relu_offline_seconds = j.at("relu_offline_seconds").get<double>();
  p.relu_offline_bytes = j.at("relu_offline_bytes").get<double>();
  p.mac_online_seconds = j.at("mac_online_seconds").get<double>();
  p.mac_online_bytes = j.at("mac_online_bytes").get<double>();
  p.mac_offline_seconds = j.at("mac_offline_seconds").get<double>();
  p.mac_offline_bytes = j.at("mac_offline_bytes").get<double>();
  p.layer_online_seconds = j.at("layer_online_seconds").get<double>();
  return p;
}

}  // namespace

nlohmann::json to_json(const SweepConfig& c) {
  nlohmann::json methods = nlohmann::json::array();
  for (const auto& m : c.methods) methods.push_back({{"strategy", m.strategy}, {"options", m.options}});
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& p : c.references) refs.push_back(reference_json(p));
  const auto& h = c.halving;
  return {{"config_version", kConfigVersion},
          {"name", c.name},
          {"job", spec::to_json(c.base)},
          {"seeds", c.seeds},
          {"methods", methods},
          {"successive_halving", h.enabled ? nlohmann::json{{"min_epochs", h.min_epochs}, {"eta", h.eta}, {"bands", h.bands}}
                                           : nlohmann::json(nullptr)},
          {"references", refs},
          {"pi_cost", protocol_json(c.pi)}};
}

Result<SweepConfig> sweep_config_from_json(const nlohmann::json& j) {
  SweepConfig c;
  try {
    const int version = j.at("config_version").get<int>();
    if (version != kConfigVersion)
      return Status::failed_precondition("stored config version " + std::to_string(version) + ", this deepreduce reads " +
                                         std::to_string(kConfigVersion));
    c.name = j.at("name").get<std::string>();
    auto job = spec::train_job_from_json(j.at("job"), /*check=*/false);
    if (!job.ok()) return job.status().with_context("stored config");
    c.base = *job;
    c.seeds = j.at("seeds").get<std::vector<uint64_t>>();
    if (j.at("successive_halving").is_object()) {
      const auto& h = j["successive_halving"];
      c.halving.enabled = true;
      c.halving.min_epochs = h.at("min_epochs").get<int64_t>();
      c.halving.eta = h.at("eta").get<int64_t>();
      c.halving.bands = h.at("bands").get<int64_t>();
    }
    for (const auto& r : j.at("references")) c.references.push_back(reference_from_json(r));
    c.pi = protocol_from_json(j.at("pi_cost"));
    for (const auto& m : j.at("methods")) {
      Method method{m.at("strategy").get<std::string>(), m.at("options")};
      auto def = find_strategy(method.strategy);
      if (!def.ok()) return def.status().with_context("stored config");
      DR_RETURN_IF_ERROR((*def)->load(method.options, c));
      c.methods.push_back(method);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("stored config: ") + e.what());
  }
  if (c.methods.empty()) return Status::corruption("stored config: no method");
  c.strategy = c.methods.front().strategy;
  return c;
}

}  // namespace deepreduce::search
