#include "train/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "spec/model_json.h"

namespace deepreduce::train {
namespace {

constexpr int64_t kModelFormat = 1;
constexpr int64_t kCheckpointFormat = 1;

Status save_archive(const std::string& path, torch::serialize::OutputArchive& archive) {
  std::ostringstream os;
  archive.save_to(os);
  return write_file_atomic(path, os.str());
}

}  // namespace


Status save_model(const std::string& path, nn::Network& net, const std::string& dataset) {
  try {
    torch::serialize::OutputArchive archive;
    archive.write("deepreduce_model_format", c10::IValue(kModelFormat));
    archive.write("spec", c10::IValue(spec::to_json(net->spec()).dump()));
    if (!dataset.empty()) archive.write("dataset", c10::IValue(dataset));
    torch::serialize::OutputArchive weights;
    net->save(weights);
    archive.write("weights", weights);
    return save_archive(path, archive);
  } catch (const c10::Error& e) {
    return Status::io_error(path + ": " + e.what_without_backtrace());
  }
}

Result<nn::Network> load_model(const std::string& path, torch::Device device, std::string* dataset) {
  if (!std::filesystem::exists(path)) return Status::not_found(path + ": no such model file");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    c10::IValue format, spec_text;
    if (!archive.try_read("deepreduce_model_format", format) || !archive.try_read("spec", spec_text))
      return Status::corruption(path + ": not a deepreduce model file (no spec inside)");
    if (format.toInt() != kModelFormat)
      return Status::corruption(path + ": model format " + std::to_string(format.toInt()) +
                                ", this build reads format " + std::to_string(kModelFormat));
    auto spec = spec::model_spec_from_json(nlohmann::json::parse(spec_text.toStringRef()), "spec");
    if (!spec.ok()) return spec.status().with_context(path);
    auto net = nn::build_model(*spec);
    if (!net.ok()) return net.status().with_context(path);
    (*net)->to(device);
    if (dataset) {
      c10::IValue d;
      *dataset = archive.try_read("dataset", d) && d.isString() ? d.toStringRef() : "";
    }
    torch::serialize::InputArchive weights;
    archive.read("weights", weights);
    (*net)->load(weights);
    return *net;
  } catch (const std::exception& e) {
    return Status::corruption(path + ": cannot read model: " + e.what());
  }
}

Status save_checkpoint(const std::string& path, const Checkpoint& meta, nn::Network& net,
                       torch::optim::Optimizer& optimizer) {
  try {
    torch::serialize::OutputArchive archive;
    archive.write("deepreduce_checkpoint_format", c10::IValue(kCheckpointFormat));
    archive.write("job", c10::IValue(meta.job.dump()));
    archive.write("epoch", c10::IValue(meta.epoch));
    archive.write("history", c10::IValue(meta.history.dump()));
    if (!meta.state.is_null()) archive.write("state", c10::IValue(meta.state.dump()));
    archive.write("torch_rng", torch::globalContext().defaultGenerator(torch::kCPU).get_state());
    torch::serialize::OutputArchive model, optim;
    net->save(model);
    optimizer.save(optim);
    archive.write("model", model);
    archive.write("optimizer", optim);
    return save_archive(path, archive);
  } catch (const c10::Error& e) {
    return Status::io_error(path + ": " + e.what_without_backtrace());
  }
}

Result<Checkpoint> read_checkpoint_meta(const std::string& path) {
  if (!std::filesystem::exists(path)) return Status::not_found(path + ": no such checkpoint");
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue format, job, epoch, history;
    if (!archive.try_read("deepreduce_checkpoint_format", format))
      return Status::corruption(path + ": not a deepreduce checkpoint");
    if (format.toInt() != kCheckpointFormat)
      return Status::corruption(path + ": checkpoint format " + std::to_string(format.toInt()) +
                                ", this build reads " + std::to_string(kCheckpointFormat));
    archive.read("job", job);
    archive.read("epoch", epoch);
    archive.read("history", history);
    Checkpoint c{nlohmann::json::parse(job.toStringRef()), epoch.toInt(), nlohmann::json::parse(history.toStringRef())};
    c10::IValue state;
    if (archive.try_read("state", state)) c.state = nlohmann::json::parse(state.toStringRef());
    return c;
  } catch (const std::exception& e) {
    return Status::corruption(path + ": cannot read checkpoint: " + e.what());
  }
}

Status load_checkpoint_state(const std::string& path, nn::Network& net,
                             torch::optim::Optimizer& optimizer, torch::Device device) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    torch::serialize::InputArchive model, optim;
    archive.read("model", model);
    archive.read("optimizer", optim);
    net->load(model);
    optimizer.load(optim);
    torch::Tensor rng;
    archive.read("torch_rng", rng);
    at::Generator generator = torch::globalContext().defaultGenerator(torch::kCPU);  // a shared handle
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng.to(torch::kCPU));
    return Status();
  } catch (const std::exception& e) {
    return Status::corruption(path + ": cannot restore checkpoint: " + e.what());
  }
}

}  // namespace deepreduce::train
