#include "train/trial_runner.h"

#include <filesystem>
#include <fstream>

#include "common/files.h"
#include "train/checkpoint.h"

namespace deepreduce::train {
namespace fs = std::filesystem;

Result<std::string> FileArtifacts::fetch(const std::string& path, spec::ArtifactKind kind) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return Status::not_found(path + ": no such file (the " + spec::artifact_kind_name(kind) + " to start from)");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::io_error(path + ": read error");
  return bytes;
}

namespace {

// The artifact, written into the trial's folder as `name`.
Result<std::string> fetch_into(ArtifactSource& source, const std::string& trial, spec::ArtifactKind kind,
                               const fs::path& dir, const std::string& name, const std::string& what) {
  auto bytes = source.fetch(trial, kind);
  if (!bytes.ok()) return bytes.status().with_context(what);
  const std::string path = (dir / name).string();
  DR_RETURN_IF_ERROR(write_file_atomic(path, *bytes));
  return path;
}

}  // namespace

Result<spec::TrialResult> run_trial(const TrialRun& t, ArtifactSource& source, const TrainHooks& hooks) {
  const spec::TrialSpec& spec = t.spec;
  const fs::path dir = t.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error(t.dir + ": cannot create the trial's folder: " + ec.message());
  spec::TrainJob job = spec.job;
  spec::RunOptions run = t.run;
  auto log = [&](const std::string& line) {
    if (t.log) t.log(line);
  };

  // KD: the teacher's final weights.
  if (!spec.teacher.empty()) {
    auto teacher = fetch_into(source, spec.teacher, spec::ArtifactKind::kModel, dir, "teacher.pt", "the teacher's weights (" + spec.teacher + ")");
    if (!teacher.ok()) return teacher.status();
    job.train.kd.teacher = *teacher;
  }
  if (t.resume_own_checkpoint) {
    // A re-leased trial continues from the last checkpoint it sent, if any;
    // without one it starts over from its inputs.
    auto own = source.fetch(t.id, spec::ArtifactKind::kCheckpoint);
    if (own.ok()) {
      const std::string path = (dir / "checkpoint.pt").string();
      DR_RETURN_IF_ERROR(write_file_atomic(path, *own));
      run.resume = path;
      auto meta = read_checkpoint_meta(path);
      log("resuming from the checkpoint of epoch " + (meta.ok() ? std::to_string(meta->epoch) : std::string("?")));
      return run_training(job, run, t.dir, hooks);
    }
    if (own.status().code() != Status::Code::kNotFound) return own.status().with_context("its own checkpoint");
  }
  if (!run.resume.empty()) {
    // Resumed from a checkpoint the caller gave (`deepreduce train --resume`): it holds the weights.
  } else if (spec.prune) {
    // Channel pruning: the fine-tuning starts from the trained base, cut to
    // this network by the criterion (the "prune" method).
    if (spec.base.empty()) return Status::invalid_argument("a pruning trial needs a base trial");
    auto base = fetch_into(source, spec.base, spec::ArtifactKind::kModel, dir, "base.pt", "the weights of base " + spec.base);
    if (!base.ok()) return base.status();
    run.prune_base = *base;
    run.prune_criterion = spec.prune->criterion;
  } else if (!spec.base.empty() && job.model.masks) {
    // Learned linearization: a mask phase starts from its base's weights (the
    // trained baseline, or the previous budget's mask phase with its α); a
    // fine-tuning from its mask phase's weights, under the mask it learned.
    auto base = fetch_into(source, spec.base, spec::ArtifactKind::kModel, dir, "base.pt", "the weights of base " + spec.base);
    if (!base.ok()) return base.status();
    run.init = *base;
    if (!job.model.masks->learnable && run.mask.empty()) {
      auto mask = fetch_into(source, spec.base, spec::ArtifactKind::kMask, dir, "mask.bin", "the mask of base " + spec.base);
      if (!mask.ok()) return mask.status();
      run.mask = *mask;
    }
  } else if (spec.continues_base()) {
    // A longer budget continues the shorter one's schedule from its checkpoint.
    auto ckpt = fetch_into(source, spec.base, spec::ArtifactKind::kCheckpoint, dir, "base-checkpoint.pt",
                           "the checkpoint of base " + spec.base);
    if (!ckpt.ok()) return ckpt.status();
    run.resume = *ckpt;
  }
  return run_training(job, run, t.dir, hooks);
}

}  // namespace deepreduce::train
