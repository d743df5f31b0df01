#include "search/sweep.h"

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
#include "search/yaml_lint.h"
#include "spec/datasets.h"

namespace deepreduce::search {
namespace {


// Typed reads of YAML nodes whose errors carry file:line and the key path.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  std::string at(const YAML::Node& n) const { return path_ + ":" + std::to_string(n.Mark().line + 1); }

  Status error(const YAML::Node& n, const std::string& key, const std::string& what) const {
    return Status::invalid_argument(at(n) + ": " + key + ": " + what);
  }

  static std::string shown(const YAML::Node& n) {
    if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "nothing";
  }

  Status keys(const YAML::Node& map, const std::string& key, std::initializer_list<const char*> known) const {
    return keys(map, key, std::vector<std::string>(known.begin(), known.end()));
  }
  Status keys(const YAML::Node& map, const std::string& key, const std::vector<std::string>& known) const {
    if (!map.IsMap()) return error(map, key, "expected a mapping, got " + shown(map));
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>();
      bool ok = false;
      std::string list;
      for (const auto& name : known) {
        ok |= k == name;
        list += (list.empty() ? "" : ", ") + name;
      }
      if (!ok) return error(kv.first, key.empty() ? k : key + "." + k, "unknown key (known: " + list + ")");
    }
    return Status();
  }

  // The schema's keys a sweep spells "SECTION.leaf": their leaves.
  static std::vector<std::string> job_section(const std::string& section) {
    std::vector<std::string> leaves;
    for (const auto& k : train::job_keys()) {
      const std::string sweep = k.sweep;
      if (sweep.rfind(section + ".", 0) == 0) leaves.push_back(sweep.substr(section.size() + 1));
    }
    return leaves;
  }

  // Every key of the schema that `section` (a mapping) sets, into the job;
  // a wrong value is named at its line with the sweep's spelling.
  Status job_keys(const YAML::Node& map, const std::string& section, train::TrainJob& job) const {
    for (const auto& leaf : job_section(section)) {
      const YAML::Node n = map[leaf];
      if (!n) continue;
      const train::JobKey& key = *train::key_by_sweep(section + "." + leaf);
      auto wrong = [&](const YAML::Node& at) {
        return error(at, key.sweep, std::string("expected ") + train::expected_text(key.type) + ", got " + shown(at));
      };
      std::string text;  // as the command line would give it: a list is "3,5"
      if (key.type == train::KeyType::kIntList) {
        if (!n.IsSequence()) return wrong(n);
        for (const auto& item : n) {
          if (!item.IsScalar()) return wrong(item);
          text += (text.empty() ? "" : ",") + item.Scalar();
        }
      } else {
        if (!n.IsScalar()) return wrong(n);
        text = n.Scalar();
      }
      if (Status s = train::set_key_from_text(key, job, text); !s.ok())
        return error(n, key.sweep, s.message().substr(std::string(key.path).size() + 2));
    }
    return Status();
  }

  template <typename T>
  Status scalar(const YAML::Node& n, const std::string& key, const char* expected, T& out) const {
    return read_scalar(n, path_, key, expected, out);
  }

  // A name read through `parse` (text -> Result<T>): "expected EXPECTED, got "TEXT"" when it does not parse.
  template <typename T, typename Parse>
  Status choice(const YAML::Node& n, const std::string& key, const char* expected, Parse parse, T& out) const {
    std::string text;
    DR_RETURN_IF_ERROR(scalar(n, key, expected, text));
    auto parsed = parse(text);
    if (!parsed.ok()) return error(n, key, std::string("expected ") + expected + ", got \"" + text + "\"");
    out = *parsed;
    return Status();
  }

  // A list of T, or of lists of T (nested).
  template <typename T>
  Status list(const YAML::Node& n, const std::string& key, const char* expected, std::vector<T>& out) const {
    if (!n.IsSequence()) return error(n, key, std::string("expected a list of ") + expected + ", got " + shown(n));
    out.clear();
    for (const auto& item : n) {
      T v;
      if (!item.IsScalar()) return error(item, key, std::string("expected a list of ") + expected + ", got " + shown(item));
      try {
        v = item.as<T>();
      } catch (const YAML::Exception&) {
        return error(item, key, std::string("expected a list of ") + expected + ", got " + shown(item));
      }
      out.push_back(v);
    }
    return Status();
  }

  template <typename T>
  Status list_of_lists(const YAML::Node& n, const std::string& key, const char* expected,
                       std::vector<std::vector<T>>& out) const {
    if (!n.IsSequence() || n.size() == 0)
      return error(n, key, std::string("expected a non-empty list of lists of ") + expected + ", got " + shown(n));
    out.clear();
    for (const auto& item : n) {
      std::vector<T> inner;
      DR_RETURN_IF_ERROR(list(item, key, expected, inner));
      out.push_back(inner);
    }
    return Status();
  }

 private:
  std::string path_;
};

Status parse_pruning(const YAML::Node& n, const Reader& r, SweepConfig& c) {
  if (!n) return Status();
  auto& p = c.pruning;
  p.enabled = true;
  DR_RETURN_IF_ERROR(r.keys(n, "channel_pruning", {"criteria", "scope", "macs", "rates", "epochs", "lr", "kd"}));
  if (n["scope"])
    DR_RETURN_IF_ERROR(r.choice(n["scope"], "channel_pruning.scope", "coupled or inner", nn::parse_prune_scope, p.scope));
  if (n["criteria"]) {
    std::vector<std::string> names;
    DR_RETURN_IF_ERROR(r.list(n["criteria"], "channel_pruning.criteria", "criteria (l1, fpgm)", names));
    p.criteria.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      auto c = nn::parse_criterion(names[i]);
      if (!c.ok()) return r.error(n["criteria"][i], "channel_pruning.criteria", "expected l1 or fpgm, got \"" + names[i] + "\"");
      p.criteria.push_back(*c);
    }
  }
  if (n["macs"]) DR_RETURN_IF_ERROR(r.list(n["macs"], "channel_pruning.macs", "fractions of the baseline's MACs in (0, 1)", p.macs_targets));
  for (size_t i = 0; i < p.macs_targets.size(); ++i)
    if (!(p.macs_targets[i] > 0 && p.macs_targets[i] < 1))
      return r.error(n["macs"][i], "channel_pruning.macs", "expected a fraction of the baseline's MACs in (0, 1)");
    else if (auto shape = nn::prune_to_macs(c.base.model, p.macs_targets[i], p.scope); !shape.ok())
      return r.error(n["macs"][i], "channel_pruning.macs", shape.status().message());
  if (n["rates"]) DR_RETURN_IF_ERROR(r.list(n["rates"], "channel_pruning.rates", "pruning rates in (0, 1)", p.rates));
  for (size_t i = 0; i < p.rates.size(); ++i)
    if (!(p.rates[i] > 0 && p.rates[i] < 1))
      return r.error(n["rates"][i], "channel_pruning.rates", "expected a pruning rate in (0, 1)");
  if (p.macs_targets.empty() && p.rates.empty())
    return r.error(n, "channel_pruning", "give macs (targets) or rates");
  if (n["epochs"]) DR_RETURN_IF_ERROR(r.scalar(n["epochs"], "channel_pruning.epochs", "an integer", p.epochs));
  if (p.epochs < 0) return r.error(n["epochs"], "channel_pruning.epochs", "expected >= 1 (0: train.epochs)");
  if (n["lr"]) DR_RETURN_IF_ERROR(r.scalar(n["lr"], "channel_pruning.lr", "a number > 0", p.lr));
  if (!(p.lr > 0)) return r.error(n["lr"], "channel_pruning.lr", "expected a number > 0");
  if (n["kd"]) DR_RETURN_IF_ERROR(r.list(n["kd"], "channel_pruning.kd", "true/false", p.kd));
  if (c.base.model.arch == "mobilenetv1" || c.base.model.arch.rfind("resnet", 0) == 0) return Status();
  return r.error(n, "channel_pruning", "not supported for " + c.base.model.arch);
}

// pi_cost: {protocol: cheetah, relu_online_us: 0.8, mac_online_ns: 20, ...}
Status parse_pi_cost(const YAML::Node& n, const Reader& r, SweepConfig& c) {
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
  auto p = nn::pi_protocol_from_json(j);
  if (!p.ok()) return r.error(n, "pi_cost", p.status().message());
  c.pi = *p;
  return Status();
}

Status parse_report(const YAML::Node& n, const Reader& r, SweepConfig& c) {
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

}  // namespace

bool DeepReduceSpace::has(const std::string& phase) const {
  return std::find(phases.begin(), phases.end(), phase) != phases.end();
}

bool looks_like_sweep(const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    return root.IsMap() && root["search"];
  } catch (const YAML::Exception&) {
    return false;
  }
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
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) return Status::invalid_argument(path + ":1: expected a mapping (name, dataset, model, train, kd, search)");
  DR_RETURN_IF_ERROR(lint_yaml(root, path, text));
  DR_RETURN_IF_ERROR(
      r.keys(root, "", {"name", "dataset", "model", "train", "kd", "search", "channel_pruning", "report", "pi_cost"}));
  for (const char* required : {"name", "dataset", "model", "search"})
    if (!root[required]) return r.error(root, required, "missing (a sweep needs name, dataset, model, search)");
  DR_RETURN_IF_ERROR(r.scalar(root["name"], "name", "a name", c.name));

  // dataset
  auto& d = c.base.data;
  const YAML::Node ds = root["dataset"];
  DR_RETURN_IF_ERROR(r.keys(ds, "dataset", Reader::job_section("dataset")));
  if (!ds["name"]) return r.error(ds, "dataset.name", "missing");
  DR_RETURN_IF_ERROR(r.job_keys(ds, "dataset", c.base));
  auto dataset = train::find_dataset(d.dataset);
  if (!dataset.ok()) return r.error(ds["name"], "dataset.name", dataset.status().message());
  if (d.data_dir.empty()) d.data_dir = train::default_data_dir(**dataset);
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
  train::apply_dataset_defaults(**dataset, m);
  if (md["classes"]) DR_RETURN_IF_ERROR(r.scalar(md["classes"], "model.classes", "an integer", m.classes));
  if (md["in_channels"]) DR_RETURN_IF_ERROR(r.scalar(md["in_channels"], "model.in_channels", "an integer", m.in_channels));
  if (md["input_size"]) DR_RETURN_IF_ERROR(r.scalar(md["input_size"], "model.input_size", "an integer", m.input_size));
  if (md["alpha"]) DR_RETURN_IF_ERROR(r.scalar(md["alpha"], "model.alpha", "a number in (0, 4]", m.alpha));
  if (md["rho"]) DR_RETURN_IF_ERROR(r.scalar(md["rho"], "model.rho", "a power of 1/2", m.rho));
  if (md["blocks"]) DR_RETURN_IF_ERROR(r.list(md["blocks"], "model.blocks", "integers", m.blocks));
  if (Status s = nn::validate(m); !s.ok()) {
    // nn::validate says "KEY: what"; point at that key where it was written.
    const std::string& msg = s.message();
    const size_t colon = msg.find(": ");
    const std::string key = colon == std::string::npos ? "" : msg.substr(0, colon);
    if (!key.empty() && md[key]) return r.error(md[key], "model." + key, msg.substr(colon + 2));
    return r.error(md, key.empty() ? "model" : "model." + key, colon == std::string::npos ? msg : msg.substr(colon + 2));
  }

  // train and kd
  auto& t = c.base.train;
  if (const YAML::Node tr = root["train"]) {
    auto known = Reader::job_section("train");
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
    DR_RETURN_IF_ERROR(r.keys(kd, "kd", Reader::job_section("kd")));
    DR_RETURN_IF_ERROR(r.job_keys(kd, "kd", c.base));
  }
  if (Status s = train::validate(c.base); !s.ok()) {
    // The message starts with the job's key path ("train.kd.lambda: ..."):
    // name the config's own key (kd.lambda) on the line it was written, or
    // its section's line when the value was a default.
    const std::string& msg = s.message();
    const size_t colon = msg.find(": ");
    std::string key = colon == std::string::npos ? "" : msg.substr(0, colon);
    std::string section, leaf;
    if (const train::JobKey* k = train::key_by_path(key); k && *k->sweep) {
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

  // search
  const YAML::Node sr = root["search"];
  DR_RETURN_IF_ERROR(r.keys(sr, "search", {"strategy", "cull", "thin", "alpha", "rho", "blocks", "kd", "phases",
                                           "metric", "rank_with_kd", "order", "relu_budget", "successive_halving",
                                           "thin_position"}));
  if (!sr["strategy"]) return r.error(sr, "search.strategy", "missing (grid or deepreduce)");
  DR_RETURN_IF_ERROR(r.scalar(sr["strategy"], "search.strategy", "a strategy name", c.strategy));
  if (c.strategy != "grid" && c.strategy != "deepreduce")
    return r.error(sr["strategy"], "search.strategy", "expected grid or deepreduce, got \"" + c.strategy + "\"");
  // Keys of the other strategy are mistakes, not options to ignore.
  for (const char* key : c.strategy == "grid" ? std::vector<const char*>{"phases", "metric", "rank_with_kd", "order", "relu_budget"}
                                              : std::vector<const char*>{"cull", "thin"})
    if (sr[key])
      return r.error(sr[key], std::string("search.") + key, "not an option of strategy " + c.strategy);
  if (sr["thin_position"])
    DR_RETURN_IF_ERROR(
        r.choice(sr["thin_position"], "search.thin_position", "first or second", nn::parse_thin_position, c.thin_position));
  auto& g = c.grid;
  if (c.strategy == "deepreduce") {
    g.kd = {false, true};  // the paper trains every candidate without and with KD
    auto& dr = c.deepreduce;
    if (sr["phases"]) {
      DR_RETURN_IF_ERROR(r.list(sr["phases"], "search.phases", "phase names", dr.phases));
      for (size_t i = 0; i < dr.phases.size(); ++i)
        if (dr.phases[i] != "criticality" && dr.phases[i] != "culling" && dr.phases[i] != "thinning" &&
            dr.phases[i] != "reshaping")
          return r.error(sr["phases"][i], "search.phases",
                         "expected criticality, culling, thinning or reshaping, got \"" + dr.phases[i] + "\"");
    }
    if (sr["metric"]) {
      DR_RETURN_IF_ERROR(r.scalar(sr["metric"], "search.metric", "a metric name", dr.metric));
      if (auto m = parse_metric(dr.metric); !m.ok()) return r.error(sr["metric"], "search.metric", m.status().message());
    }
    if (sr["rank_with_kd"]) DR_RETURN_IF_ERROR(r.scalar(sr["rank_with_kd"], "search.rank_with_kd", "true or false", dr.rank_with_kd));
    const auto stages = nn::stage_names(*nn::resolve_unchecked(m).def);
    if (sr["order"]) {
      DR_RETURN_IF_ERROR(r.list(sr["order"], "search.order", "stage names", dr.order));
      std::vector<std::string> sorted = dr.order, want = stages;
      std::sort(sorted.begin(), sorted.end());
      std::sort(want.begin(), want.end());
      if (sorted != want) {
        std::string list;
        for (const auto& st : stages) list += (list.empty() ? "" : ", ") + st;
        return r.error(sr["order"], "search.order", "expected every stage once (" + list + "), least critical first");
      }
    }
    if (!dr.has("criticality") && dr.order.empty() && (dr.has("culling") || dr.has("thinning") || dr.has("reshaping")))
      return r.error(sr, "search.order", "missing: without the criticality phase, say which stages to cull first");
    if (sr["relu_budget"]) {
      std::vector<int64_t> budget;
      DR_RETURN_IF_ERROR(r.list(sr["relu_budget"], "search.relu_budget", "two ReLU counts [min, max]", budget));
      if (budget.size() != 2 || budget[0] < 0 || budget[1] < budget[0])
        return r.error(sr["relu_budget"], "search.relu_budget", "expected [min, max] with 0 <= min <= max");
      dr.relu_min = budget[0];
      dr.relu_max = budget[1];
    }
  }
  if (const YAML::Node sh = sr["successive_halving"]) {
    auto& h = c.halving;
    h.enabled = true;
    DR_RETURN_IF_ERROR(r.keys(sh, "search.successive_halving", {"min_epochs", "eta", "bands"}));
    if (sh["min_epochs"]) DR_RETURN_IF_ERROR(r.scalar(sh["min_epochs"], "search.successive_halving.min_epochs", "an integer", h.min_epochs));
    if (sh["eta"]) DR_RETURN_IF_ERROR(r.scalar(sh["eta"], "search.successive_halving.eta", "an integer", h.eta));
    if (sh["bands"]) DR_RETURN_IF_ERROR(r.scalar(sh["bands"], "search.successive_halving.bands", "an integer", h.bands));
    if (h.min_epochs < 1 || h.min_epochs >= t.epochs)
      return r.error(sh, "search.successive_halving.min_epochs",
                     "expected 1 .. train.epochs - 1 (" + std::to_string(t.epochs - 1) + "), got " + std::to_string(h.min_epochs));
    if (h.eta < 2) return r.error(sh, "search.successive_halving.eta", "expected an integer >= 2");
    if (h.bands < 1) return r.error(sh, "search.successive_halving.bands", "expected an integer >= 1");
  }
  if (sr["cull"]) DR_RETURN_IF_ERROR(r.list_of_lists(sr["cull"], "search.cull", "stage names", g.cull));
  if (sr["thin"]) DR_RETURN_IF_ERROR(r.list_of_lists(sr["thin"], "search.thin", "stage names", g.thin));
  if (sr["alpha"]) DR_RETURN_IF_ERROR(r.list(sr["alpha"], "search.alpha", "numbers in (0, 4]", g.alpha));
  if (sr["rho"]) DR_RETURN_IF_ERROR(r.list(sr["rho"], "search.rho", "powers of 1/2", g.rho));
  if (sr["blocks"]) DR_RETURN_IF_ERROR(r.list_of_lists(sr["blocks"], "search.blocks", "integers", g.blocks));
  if (sr["kd"]) DR_RETURN_IF_ERROR(r.list(sr["kd"], "search.kd", "true/false", g.kd));
  // Every value of the space must make a valid network: check each where it is written.
  for (size_t i = 0; i < g.alpha.size(); ++i) {
    nn::ModelSpec s = m;
    s.alpha = g.alpha[i];
    if (Status st = nn::validate(s); !st.ok()) return r.error(sr["alpha"][i], "search.alpha", st.message());
  }
  for (size_t i = 0; i < g.rho.size(); ++i) {
    nn::ModelSpec s = m;
    s.rho = g.rho[i];
    if (Status st = nn::validate(s); !st.ok()) return r.error(sr["rho"][i], "search.rho", st.message());
  }
  for (size_t i = 0; i < g.blocks.size(); ++i) {
    nn::ModelSpec s = m;
    s.blocks = g.blocks[i];
    if (Status st = nn::validate(s); !st.ok()) return r.error(sr["blocks"][i], "search.blocks", st.message());
  }
  if (c.strategy == "deepreduce" && c.deepreduce.has("criticality") &&
      std::find(g.kd.begin(), g.kd.end(), c.deepreduce.rank_with_kd) == g.kd.end())
    return r.error(sr["kd"] ? sr["kd"] : sr, "search.kd",
                   std::string("stages are ranked by the accuracies ") + (c.deepreduce.rank_with_kd ? "with" : "without") +
                       " KD (rank_with_kd), so kd must include " + (c.deepreduce.rank_with_kd ? "true" : "false"));
  for (const char* key : {"cull", "thin"}) {
    const auto& sets = std::string(key) == "cull" ? g.cull : g.thin;
    for (size_t i = 0; i < sets.size(); ++i) {
      auto planned = std::string(key) == "cull" ? nn::cull(m, sets[i]) : nn::thin(m, sets[i], c.thin_position);
      if (!planned.ok()) return r.error(sr[key][i], std::string("search.") + key, planned.status().message());
    }
  }
  DR_RETURN_IF_ERROR(parse_pruning(root["channel_pruning"], r, c));
  DR_RETURN_IF_ERROR(parse_report(root["report"], r, c));
  DR_RETURN_IF_ERROR(parse_pi_cost(root["pi_cost"], r, c));
  return c;
}

Result<std::vector<PlannedTrial>> grid_trials(const SweepConfig& c) {
  const auto& g = c.grid;
  const std::vector<double> alphas = g.alpha.empty() ? std::vector<double>{c.base.model.alpha} : g.alpha;
  const std::vector<double> rhos = g.rho.empty() ? std::vector<double>{c.base.model.rho} : g.rho;
  const std::vector<std::vector<int64_t>> depths =
      g.blocks.empty() ? std::vector<std::vector<int64_t>>{c.base.model.blocks} : g.blocks;
  std::vector<PlannedTrial> out;
  std::set<std::string> seen;
  auto add = [&](storage::TrialSpec spec, storage::Role role) {
    const std::string id = storage::trial_id(spec);
    if (seen.insert(id).second) out.push_back({std::move(spec), role});
    return id;
  };
  for (double alpha : alphas)
    for (double rho : rhos)
      for (const auto& blocks : depths) {
        storage::TrialSpec base;
        base.job = c.base;
        base.job.model.alpha = alpha;
        base.job.model.rho = rho;
        base.job.model.blocks = blocks;
        base.job.model.relu_off.clear();
        base.job.train.kd.teacher.clear();
        const bool any_kd = std::find(g.kd.begin(), g.kd.end(), true) != g.kd.end();
        std::string teacher;
        if (any_kd) teacher = add(base, storage::Role::kBaseline);  // the KD teacher: the all-ReLU network of this shape
        for (const auto& culled : g.cull)
          for (const auto& thinned : g.thin) {
            auto planned = nn::cull(base.job.model, culled);
            if (!planned.ok()) return planned.status();
            planned = nn::thin(*planned, thinned, c.thin_position);
            if (!planned.ok()) return planned.status();
            for (bool kd : g.kd) {
              storage::TrialSpec s = base;
              s.job.model = *planned;
              if (kd) s.teacher = teacher;
              add(s, s.job.model.relu_off.empty() && !kd ? storage::Role::kBaseline : storage::Role::kCandidate);
            }
          }
      }
  return out;
}

}  // namespace deepreduce::search
