// The one schema of a training job's data, optimisation and KD keys.
//
// Every key is declared once, in job_keys(): its canonical name (the key path
// in a trial's JSON, which is what its id hashes), its spelling in a sweep's
// YAML and on the command line (mechanically related: a sweep groups the
// data keys under `dataset:` and the KD keys under `kd:`, and an option is
// the key's name with dashes), its type, its help and where its default
// comes from (the TrainJob struct's member initialisers, nowhere else).
// The JSON reader and writer, the command-line options, trial files and
// sweeps all iterate this table, and validate() names the canonical path,
// which each surface translates back to the spelling its user wrote.
//
// The network (`model`) has its own schema in spec/model_json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/job.h"

namespace deepreduce::spec {

// kEnum: one of a closed set of names (an enum field; JobKey::choices).
enum class KeyType { kInt, kUint, kDouble, kBool, kString, kIntList, kEnum };

struct JobKey {
  const char* path;    // "train.kd.temperature": the key in a trial's JSON
  const char* sweep;   // "kd.temperature": the key in a sweep ("" where a sweep cannot set it)
  const char* option;  // "kd-temperature": the command-line option ("" where the command line cannot)
  KeyType type;
  const char* help;
  // Left out of the canonical JSON at its default, so that the ids of trials
  // from before the key existed stay what they were.
  bool omit_at_default = false;
  // A bool that defaults to true is switched off on the command line: --no-augment.
  bool negated_switch = false;
  // The command line's default where it differs from the struct's (train's
  // --dataset is fashion-mnist, a job with no dataset is synthetic).
  const char* option_default = nullptr;
  // The field inside a job.
  void* (*field)(TrainJob&) = nullptr;
  // kEnum: the names of its values, in the enum's order (the field is an enum
  // of int's size, its value the index).
  std::vector<std::string> (*choices)() = nullptr;
};

// Every data, train and KD key, in the order help and JSON list them.
const std::vector<JobKey>& job_keys();

// The key with this canonical path, sweep key or option name; nullptr if none.
const JobKey* key_by_path(const std::string& path);
const JobKey* key_by_sweep(const std::string& sweep);
const JobKey* key_by_option(const std::string& option);

// A key's value in a job, as JSON.
nlohmann::json get_key(const JobKey& key, const TrainJob& job);
// Sets a key from JSON; a wrong type is "PATH: expected an integer, got "x"".
Status set_key(const JobKey& key, TrainJob& job, const nlohmann::json& value);
// Parses a key from the command line's text ("100,150" for a list).
Status set_key_from_text(const JobKey& key, TrainJob& job, const std::string& text);
// The default value, as the command line's help shows it.
std::string default_text(const JobKey& key);
// "an integer", "a number", "true or false", ...: what a key takes.
const char* expected_text(KeyType type);
// The same for a key: an enum's names ("sgd or adam").
std::string expected_text(const JobKey& key);

// The canonical path of the message's leading key ("train.kd.lambda: ...");
// empty when the message does not start with one of job_keys().
std::string leading_key(const std::string& message);

}  // namespace deepreduce::spec
