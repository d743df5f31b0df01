// deepreduce export-model: found networks out of the tool, as ONNX for
// private-inference runtimes (or a plain state dict for Python), each with a
// JSON sidecar that says what it is.
#include <unistd.h>
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/parse.h"
#include "common/files.h"
#include "common/format.h"
#include "common/nearest.h"
#include "common/table.h"
#include "export/onnx_export.h"
#include "spec/counts.h"
#include "spec/model_json.h"
#include "common/utf8.h"
#include "report/report.h"
#include "report/text.h"
#include "storage/export.h"
#include "storage/store.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace deepreduce::cli {
namespace po = boost::program_options;
namespace {
namespace fs = std::filesystem;

struct Source {
  std::optional<spec::TrainJob> job;  // stored trials: what it was trained and evaluated on
  std::string trial;           // "" for --model
  std::string dataset;         // "" when unknown
  std::optional<double> top1;  // the stored accuracy
  std::string method;          // the method its network belongs to (stored trials)
};

// write_file_atomic (common/files.h) into a folder made if missing.
Status write_bytes(const fs::path& path, const std::string& bytes) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  return write_file_atomic(path.string(), bytes);
}

// What a runtime user needs beside the graph: the spec, where the ReLUs are,
// what it costs and how inputs are normalised.
nlohmann::json sidecar(nn::Network& net, const Source& src, const std::string& format, const std::string& file,
                       int64_t batch) {
  const spec::ModelSpec& spec = net->spec();
  auto counts = spec::count(spec);
  nlohmann::json stages = nlohmann::json::object(), sites = nlohmann::json::object();
  if (counts.ok()) {
    for (const auto& s : counts->stages) stages[s.stage] = s.relus;
    for (const auto& s : counts->sites)
      if (s.active) sites[s.name] = s.relus();
  }
  nlohmann::json normalization = nullptr;
  if (!src.dataset.empty())
    if (auto d = spec::find_dataset(src.dataset); d.ok())
      normalization = {{"mean", (*d)->normalization.mean}, {"std", (*d)->normalization.std},
                       {"note", "inputs are pixels / 255, minus mean, divided by std, per channel"}};
  return {{"file", file},
          {"format", format},
          {"opset", format == "onnx" ? nlohmann::json(13) : nlohmann::json("none: a state dict, read with torch.load")},
          {"trial", src.trial.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.trial)},
          {"method", src.method.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.method)},
          {"top1", src.top1 ? nlohmann::json(*src.top1) : nlohmann::json(nullptr)},
          {"dataset", src.dataset.empty() ? nlohmann::json(nullptr) : nlohmann::json(src.dataset)},
          {"spec", spec::to_json(spec)},
          {"relus", counts.ok() ? counts->relus : 0},
          {"relu_layers", counts.ok() ? spec::relu_layers(*counts) : 0},
          {"macs", counts.ok() ? counts->macs : 0},
          {"params", counts.ok() ? counts->params : 0},
          {"relus_per_stage", stages},
          {"relus_per_site", sites},
          {"input", {{"name", "input"}, {"shape", {batch, spec.in_channels, spec.input_size, spec.input_size}},
                     {"layout", "NCHW"}, {"normalization", normalization}}},
          {"output", {{"name", "logits"}, {"shape", {batch, spec.classes}}}}};
}

// FILE.test.f32 (float32 [N, C, H, W], normalised) and FILE.test.i64 (labels):
// the test images the stored top-1 was measured on, to check the export with
// another runtime (scripts/verify_export.py).
Status write_test_set(const Source& src, const fs::path& out, const std::string& data_root) {
  if (!src.job) return Status::invalid_argument("--test-set needs a stored trial (--db)");
  spec::TrainJob job = *src.job;
  if (!data_root.empty()) job.data.data_dir = data_root;
  auto set = train::evaluation_set(job);
  if (!set.ok()) return set.status().with_context("--test-set");
  const torch::Tensor images = set->first.to(torch::kFloat).contiguous(), labels = set->second.to(torch::kLong).contiguous();
  DR_RETURN_IF_ERROR(write_bytes(out.string() + ".test.f32",
                                 std::string(static_cast<const char*>(images.data_ptr()), images.numel() * sizeof(float))));
  return write_bytes(out.string() + ".test.i64",
                     std::string(static_cast<const char*>(labels.data_ptr()), labels.numel() * sizeof(int64_t)));
}

Status export_one(nn::Network& net, const Source& src, const fs::path& out, const std::string& format, int64_t batch) {
  Result<std::string> bytes = format == "onnx" ? exporting::to_onnx(net, {batch, "deepreduce"})
                                               : exporting::to_state_dict(net);
  if (!bytes.ok()) return bytes.status();
  DR_RETURN_IF_ERROR(write_bytes(out, *bytes));
  nlohmann::json side_json = sidecar(net, src, format, out.filename().string(), batch);
  // What a masked site became in the graph, so that a runtime's user knows
  // what comes (a 4K-ReLU SENet network: thousands of Slice nodes).
  if (format == "onnx" && net->spec().masks) {
    std::vector<std::string> masked;
    for (const auto& [site, kept] : net->spec().masks->kept) masked.push_back(site);
    auto per_site = exporting::nodes_per_site(*bytes, masked);
    if (!per_site.ok()) return per_site.status();
    std::map<std::string, int64_t> total;
    for (const auto& [site, ops] : *per_site)
      for (const auto& [op, n] : ops) total[op] += n;
    side_json["masked_sites"] = {
        {"granularity", spec::granularity_name(net->spec().masks->granularity)},
        {"nodes", total},
        {"nodes_per_site", *per_site},
        {"note", "each masked site evaluates ReLU on its kept units only: one Slice per run of kept or linear units, "
                 "Relu on the kept runs, Concat in order (and Reshape around it for pixel masks)"}};
  }
  const fs::path side = out.string() + ".json";  // net.onnx.json: an ONNX and a pt export of one name do not clash
  return write_bytes(side, side_json.dump(2) + "\n");
}

// The network of a stored trial: its final weights from the store.
Result<nn::Network> stored_model(storage::Store& store, const std::string& id, Source& src) {
  auto trial = store.get_trial(id);
  if (!trial.ok()) return trial.status();
  if (trial->state != storage::TrialState::kDone)
    return Status::failed_precondition("trial " + id + " is " + storage::state_name(trial->state) +
                                       ": only done trials have final weights");
  // A mask phase's network still has learnable α (every ReLU exported, none
  // of its mask): it is evidence, not a network to deploy. The fine-tuning
  // under its binarised mask is.
  if (trial->spec.job.model.masks && trial->spec.job.model.masks->learnable) {
    std::vector<std::string> finetunes;
    if (auto all = store.list_trials(); all.ok())
      for (const auto& t : *all)
        if (t.spec.base == id && t.spec.job.model.masks && !t.spec.job.model.masks->learnable)
          finetunes.push_back(t.id.substr(0, 12) + " (" + storage::state_name(t.state) + ")");
    return Status::invalid_argument(
        "trial " + id.substr(0, 12) + " is a mask phase (its masks are still learnable α): it is not a network to "
        "deploy; export the fine-tuning under its mask instead" +
        (finetunes.empty() ? std::string(" (none is planned yet)")
                           : ": --trial " + fmt::format("{}", fmt::join(finetunes, ", --trial "))));
  }
  auto bytes = store.get_artifact(id, spec::ArtifactKind::kModel);
  if (!bytes.ok()) return bytes.status();
  if (!bytes->has_value()) return Status::not_found("trial " + id + " is done but its model is not in the store");
  const fs::path temp = fs::temp_directory_path() / ("deepreduce-export-" + std::to_string(::getpid()) + ".pt");
  DR_RETURN_IF_ERROR(write_bytes(temp, **bytes));
  auto net = train::load_model(temp.string());
  std::error_code ec;
  fs::remove(temp, ec);
  if (!net.ok()) return net.status().with_context("trial " + id);
  src.trial = id;
  src.method = report::method_of(trial->spec);
  src.job = trial->spec.job;
  src.dataset = trial->spec.job.data.dataset;
  if (auto r = store.get_result(id); r.ok() && r->has_value()) src.top1 = spec::trial_result_from_json(**r).top1;
  return net;
}

std::string top1_text(std::optional<double> top1) {
  if (!top1) return "-";
  return fmt::format("{:.2f}", *top1);
}

}  // namespace

int export_model_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce export-model: a trained network as ONNX (opset 13, static NCHW shapes, BatchNorm\n"
      "folded into the convolutions, removed ReLUs absent) for private-inference runtimes such as\n"
      "CrypTen or EzPC, or as a plain state dict (--format pt) that Python reads with torch.load.\n"
      "Beside each file, FILE.json (net.onnx.json): the spec, ReLUs per stage and per site, MACs, parameters, the\n"
      "input's shape and normalisation, the trial id and its stored top-1.\n\n"
      "Usage: deepreduce export-model --model DIR/model.pt --out net.onnx [--dataset NAME]\n"
      "       deepreduce export-model --db STORE --trial ID --out net.onnx\n"
      "       deepreduce export-model --db STORE --front [--method NAME] --out DIR   (every network on the front)\n"
      "       deepreduce export-model --db STORE --best-under RELUS [--method NAME] --out net.onnx\n\nOptions");
  // clang-format off
  desc.add_options()
    ("model", po::value<std::string>(), "a model.pt written by train (or a worker)")
    ("db", po::value<std::string>(), "an experiment store (opened read-only)")
    ("trial", po::value<std::string>(), "with --db: a trial id or a unique prefix")
    ("front", po::bool_switch(), "with --db: every network on the Pareto front of every method, named by trial id")
    ("method", po::value<std::string>(), "with --front or --best-under: that method's networks only (as the report "
                                         "names it: DeepReDuce, learned linearization, ...)")
    ("best-under", po::value<int64_t>(), "with --db: the best network within this many ReLUs, chosen on validation "
                                         "(test top-1 without a validation split)")
    ("out", po::value<std::string>(), "the file (or, with --front, the folder) to write")
    ("format", po::value<std::string>()->default_value("onnx"), "onnx or pt")
    ("batch", po::value<int64_t>()->default_value(1), "the batch size fixed in the ONNX graph")
    ("dataset", po::value<std::string>(), "with --model: the dataset it was trained on (for the normalisation)")
    ("test-set", po::bool_switch(), "with --db: also FILE.test.f32 / FILE.test.i64, the test images the stored top-1 "
                                    "was measured on (to verify the export in another runtime)")
    ("data-root", po::value<std::string>(), "with --test-set: read the dataset from here instead of the trial's path")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "export-model")) return *done;
  const std::string format = vm["format"].as<std::string>();
  const bool front = vm["front"].as<bool>(), best_under = vm.count("best-under") > 0;
  const int sources = vm.count("model") + vm.count("trial") + (front ? 1 : 0) + (best_under ? 1 : 0);
  if (format != "onnx" && format != "pt") {
    const std::string near = nearest(format, {"onnx", "pt"});
    std::cerr << "deepreduce export-model: --format " << format << ": expected onnx or pt"
              << (near.empty() ? "" : "; did you mean " + near + "?") << "\n";
    return kExitUsage;
  }
  if (!vm.count("out") || sources != 1 || ((vm.count("trial") || front || best_under) && !vm.count("db")) ||
      vm["batch"].as<int64_t>() < 1 || (vm.count("method") && !front && !best_under) ||
      (best_under && vm["best-under"].as<int64_t>() < 0)) {
    std::cerr << "deepreduce export-model: give --out and one of --model FILE, --db STORE --trial ID, --db STORE "
                 "--front, --db STORE --best-under RELUS (--method NAME with the last two); --format onnx or pt; "
                 "--batch at least 1 (see --help)\n";
    return kExitUsage;
  }
  const fs::path out = vm["out"].as<std::string>();
  const int64_t batch = vm["batch"].as<int64_t>();
  if (vm.count("model")) {
    std::string model_dataset;
    auto net = train::load_model(vm["model"].as<std::string>(), torch::kCPU, &model_dataset);
    if (!net.ok()) {
      std::cerr << "deepreduce export-model: " << net.status().message() << "\n";
      return kExitFailure;
    }
    // What the file and a train --out folder beside it know: the dataset the
    // model says it was trained on, the top-1 of result.json.
    Source src;
    const fs::path model = vm["model"].as<std::string>();
    src.dataset = vm.count("dataset") ? vm["dataset"].as<std::string>() : model_dataset;
    if (std::ifstream in(model.parent_path() / "result.json"); in) {
      try {
        src.top1 = spec::trial_result_from_json(nlohmann::json::parse(in)).top1;
      } catch (const nlohmann::json::exception&) {  // not ours: no accuracy to quote
      }
    }
    if (Status s = export_one(*net, src, out, format, batch); !s.ok()) {
      std::cerr << "deepreduce export-model: " << s.message() << "\n";
      return kExitFailure;
    }
    std::cout << "wrote " << out.string() << " and its sidecar\n";
    return kExitOk;
  }
  storage::StoreOptions ro;
  ro.read_only = true;
  auto store = storage::open_store(vm["db"].as<std::string>(), ro);
  if (!store.ok()) {
    std::cerr << "deepreduce export-model: " << store.status().message() << "\n";
    return kExitFailure;
  }
  std::vector<std::string> ids;
  if (vm.count("trial")) {
    auto trials = (*store)->list_trials();
    if (!trials.ok()) {
      std::cerr << "deepreduce export-model: " << trials.status().message() << "\n";
      return kExitFailure;
    }
    auto id = storage::trial_by_prefix(*trials, vm["trial"].as<std::string>(), vm["db"].as<std::string>());
    if (!id.ok()) {
      std::cerr << "deepreduce export-model: " << id.status().message() << "\n";
      return kExitUsage;
    }
    ids.push_back(*id);
  } else {
    auto report = report::build_report(**store);
    if (!report.ok()) {
      std::cerr << "deepreduce export-model: " << report.status().message() << "\n";
      return kExitFailure;
    }
    std::string method;
    if (vm.count("method")) {
      method = vm["method"].as<std::string>();
      const auto methods = report::methods_of(*report);
      if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
        const std::string near = nearest(method, methods);
        std::cerr << "deepreduce export-model: --method " << printable(method) << ": "
                  << (methods.empty() ? std::string("the store has no network yet")
                                      : "its networks' methods are " + fmt::format("{}", fmt::join(methods, ", ")))
                  << (near.empty() ? "" : "; did you mean " + near + "?") << "\n";
        return kExitUsage;
      }
    }
    if (best_under) {
      const int64_t budget = vm["best-under"].as<int64_t>();
      auto best = report::best_under(*report, budget, method);
      if (!best) {
        std::cerr << "deepreduce export-model: no " << (method.empty() ? "" : method + " ") << "network of "
                  << vm["db"].as<std::string>() << " has at most " << with_commas(budget) << " ReLUs\n";
        return kExitFailure;
      }
      std::cout << "the best " << (method.empty() ? "" : method + " ") << "network within " << with_commas(budget)
                << " ReLUs, chosen on " << (report->validation ? "validation top-1" : "test top-1") << ": "
                << best->id.substr(0, 12) << " (" << best->method << ": " << best->plan << "), "
                << with_commas(best->relus) << " ReLUs, test top-1 " << report::text::top1_text(*best) << "\n";
      ids.push_back(best->id);
    } else {
      const auto* points = &report->front;
      for (const auto& f : report->fronts)
        if (f.method == method) points = &f.points;
      for (const auto& p : *points) ids.push_back(p.id);
    }
    if (ids.empty()) {
      std::cerr << "deepreduce export-model: " << vm["db"].as<std::string>() << " has no front yet (no done trial)\n";
      return kExitFailure;
    }
  }
  TextTable table({"trial", "file", "ReLUs", "MACs", "top-1"});
  for (const auto& id : ids) {
    Source src;
    auto net = stored_model(**store, id, src);
    if (!net.ok()) {
      std::cerr << "deepreduce export-model: " << net.status().message() << "\n";
      return net.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
    }
    const fs::path file = vm.count("trial") || best_under ? out : out / (id + (format == "onnx" ? ".onnx" : ".pt"));
    if (Status s = export_one(*net, src, file, format, batch); !s.ok()) {
      std::cerr << "deepreduce export-model: " << s.message() << "\n";
      return kExitFailure;
    }
    if (vm["test-set"].as<bool>())
      if (Status s = write_test_set(src, file, vm.count("data-root") ? vm["data-root"].as<std::string>() : "");
          !s.ok()) {
        std::cerr << "deepreduce export-model: " << s.message() << "\n";
        return kExitFailure;
      }
    auto c = spec::count((*net)->spec());
    table.add({id.substr(0, 12), file.string(), with_commas(c.ok() ? c->relus : 0), with_commas(c.ok() ? c->macs : 0),
               top1_text(src.top1)});
  }
  std::cout << table.render();
  return kExitOk;
}

}  // namespace deepreduce::cli
