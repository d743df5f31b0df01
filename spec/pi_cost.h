// What a network costs under a private-inference protocol: estimated online
// and offline seconds and bytes from its ReLUs, MACs and ReLU layers.
//
// A deliberately small, linear model (per ReLU, per MAC, per ReLU layer) whose
// constants come from published measurements, cited with each preset in
// pi_cost.cpp. It ranks networks; it does not replace measuring on your own
// machines: a sweep can override every constant (`pi_cost:` in its YAML).
// Under a garbled-circuit protocol ReLUs dominate; under an OT-based one
// (Cheetah) MACs weigh about as much, and the estimate shows it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::spec {

struct PiProtocol {
  std::string name;
  std::string source;  // where the constants come from, and how sure they are
  double relu_online_seconds = 0, relu_online_bytes = 0;    // per ReLU
  double relu_offline_seconds = 0, relu_offline_bytes = 0;  // per ReLU (garbling, transfer)
  double mac_online_seconds = 0, mac_online_bytes = 0;      // per MAC of conv / linear layers
  double mac_offline_seconds = 0, mac_offline_bytes = 0;
  double layer_online_seconds = 0;  // per ReLU layer (communication rounds)
};

struct PiCost {
  double online_seconds = 0, online_bytes = 0, offline_seconds = 0, offline_bytes = 0;
};

// The built-in protocols: "delphi" (garbled-circuit ReLUs, HE linear layers
// offline) and "cheetah" (OT-based ReLUs, HE linear layers online).
const std::vector<PiProtocol>& pi_presets();
Result<PiProtocol> pi_preset(const std::string& name);

PiCost pi_cost(const PiProtocol& p, int64_t relus, int64_t macs, int64_t relu_layers);
nlohmann::json to_json(const PiCost& c);
// {"delphi": {...}, "cheetah": {...}} for the given counts.
nlohmann::json pi_json(int64_t relus, int64_t macs, int64_t relu_layers);

// A protocol with the keys of `overrides` replaced (a sweep's `pi_cost:`):
// protocol (the preset to start from), relu_online_us, relu_online_bytes,
// relu_offline_us, relu_offline_bytes, mac_online_ns, mac_online_bytes,
// mac_offline_ns, mac_offline_bytes, layer_online_ms. Unknown keys and
// negative values are refused, naming the key.
Result<PiProtocol> pi_protocol_from_json(const nlohmann::json& overrides);

}  // namespace deepreduce::spec
