// The JSON form of a ModelSpec. `to_json` is canonical: every field present,
// keys in a fixed order, the ReLU plan as a sorted list, so equal specs give
// equal text (the store hashes it into a trial id).
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::spec {

nlohmann::json to_json(const ModelSpec& spec);
// Parses and validates; unknown keys and wrong types are errors naming the key
// (prefixed by `where`, e.g. "model").
// `check` false skips validate() for specs read back from a trusted store.
Result<ModelSpec> model_spec_from_json(const nlohmann::json& j, const std::string& where = "model",
                                       bool check = true);

}  // namespace deepreduce::spec
