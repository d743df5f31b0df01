// The recipe of every trial kind, in one place: a trial from scratch, a KD
// student (its teacher's weights), a pruned network (its base's weights, cut
// by the criterion, then fine-tuned), a longer budget continuing a shorter one
// (its base's checkpoint), learned linearization (a mask phase from its base's
// weights; a fine-tuning under the mask its base learned), and a re-leased
// trial resuming its own checkpoint.
// The worker runs trials through it with artifacts fetched from the
// coordinator; `deepreduce train` with artifacts from local files.
#pragma once

#include <functional>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "spec/result.h"
#include "spec/trial.h"
#include "train/trainer.h"

namespace deepreduce::train {

// Where a trial's inputs come from. `trial` is what the spec names (a trial id
// in a store; for `deepreduce train`, a file).
class ArtifactSource {
 public:
  virtual ~ArtifactSource() = default;
  // The bytes, NotFound when there are none, or why they cannot be had
  // (Unavailable: the worker is stopping or its coordinator could not send them).
  virtual Result<std::string> fetch(const std::string& trial, spec::ArtifactKind kind) = 0;
};

// Artifacts that are local files: the name is the path.
class FileArtifacts : public ArtifactSource {
 public:
  Result<std::string> fetch(const std::string& path, spec::ArtifactKind kind) override;
};

struct TrialRun {
  std::string id;              // the trial's id (or a label): what its own checkpoint is fetched as
  spec::TrialSpec spec;     // its job's data_dir already where this host has the data
  std::string dir;             // where it trains: inputs, checkpoint.pt, model.pt, result.json
  // Device, threads, memory format, stop_after; a resume checkpoint given here
  // holds the weights (the base's are not fetched).
  spec::RunOptions run;
  // A re-leased trial: continue from its own last checkpoint (if the source
  // has one) rather than from its inputs.
  bool resume_own_checkpoint = false;
  Log log;  // one line per thing worth telling
};

Result<spec::TrialResult> run_trial(const TrialRun& t, ArtifactSource& source, const TrainHooks& hooks = {});

}  // namespace deepreduce::train
