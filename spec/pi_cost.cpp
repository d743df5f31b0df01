#include "spec/pi_cost.h"

#include <map>

namespace deepreduce::spec {

const std::vector<PiProtocol>& pi_presets() {
  static const std::vector<PiProtocol> kPresets = [] {
    std::vector<PiProtocol> v;
    // DELPHI-style (Mishra et al., USENIX Security 2020): ReLUs as garbled
    // circuits, linear layers under HE in the offline phase.
    //  - ReLU online: the garbled-circuit evaluation measured by the Cryptonite
    //    simulator (kvgarimella/cryptonite, simulator/experiments/utils/gc_models.py):
    //    5.445e-3 s for 100 ReLUs evaluated on the server (AMD EPYC 7502, one
    //    thread), 54 us per ReLU. ReLU offline: garbling 1.037e-2 s per 100, 104 us.
    //  - Bytes: 1,184 B online (labels) and 17,072 B offline (the garbled
    //    circuit) per ReLU, figures quoted from the same simulator's survey;
    //    not found in the files read here: uncertain.
    //  - Linear layers offline under HE: the simulator's he_models.py gives
    //    292.4 s for ResNet-18 on CIFAR at one thread; with its 555.4M MACs
    //    (deepreduce count) that is 0.53 us per MAC. Online linear layers are
    //    plaintext-secret-share products: taken as free.
    PiProtocol d;
    d.name = "delphi";
    d.source = "Cryptonite simulator gc_models.py/he_models.py (GC ReLU 54 us online, 104 us garbling, EPYC 7502, "
               "1 thread; HE linear 0.53 us/MAC offline); bytes per ReLU (1,184 online, 17,072 offline) uncertain";
    d.relu_online_seconds = 54.45e-6;
    d.relu_online_bytes = 1184;
    d.relu_offline_seconds = 103.7e-6;
    d.relu_offline_bytes = 17072;
    d.mac_offline_seconds = 0.53e-6;
    d.layer_online_seconds = 0;  // one round per layer: set layer_online_ms for a WAN
    v.push_back(d);
    // Cheetah (Huang et al., USENIX Security 2022): OT-based ReLUs and HE
    // linear layers, both online, no heavy offline phase.
    //  - ReLU bytes: OpenCheetah issue 26 reports 258.67 MiB of ReLU traffic for
    //    ResNet-50 on ImageNet (about 9.4M ReLUs): about 29 B per ReLU.
    //  - About 1 us per ReLU and 22-27 ns per MAC (25 ns used) as quoted from a
    //    run without AVX512-IFMA in the same thread; uncertain, and the paper's
    //    figures (with IFMA) are faster.
    PiProtocol c;
    c.name = "cheetah";
    c.source = "OpenCheetah issue 26 (ReLU traffic 258.67 MiB for ResNet-50: ~29 B/ReLU); ~1 us/ReLU and ~25 ns/MAC "
               "online without AVX512-IFMA, uncertain";
    c.relu_online_seconds = 1e-6;
    c.relu_online_bytes = 29;
    c.mac_online_seconds = 25e-9;
    v.push_back(c);
    return v;
  }();
  return kPresets;
}

Result<PiProtocol> pi_preset(const std::string& name) {
  std::string known;
  for (const auto& p : pi_presets()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  return Status::invalid_argument("unknown private-inference protocol \"" + name + "\"; known: " + known);
}

PiCost pi_cost(const PiProtocol& p, int64_t relus, int64_t macs, int64_t relu_layers) {
  const double r = static_cast<double>(relus), m = static_cast<double>(macs), l = static_cast<double>(relu_layers);
  PiCost c;
  c.online_seconds = r * p.relu_online_seconds + m * p.mac_online_seconds + l * p.layer_online_seconds;
  c.online_bytes = r * p.relu_online_bytes + m * p.mac_online_bytes;
  c.offline_seconds = r * p.relu_offline_seconds + m * p.mac_offline_seconds;
  c.offline_bytes = r * p.relu_offline_bytes + m * p.mac_offline_bytes;
  return c;
}

nlohmann::json to_json(const PiCost& c) {
  return {{"online_seconds", c.online_seconds},
          {"online_bytes", c.online_bytes},
          {"offline_seconds", c.offline_seconds},
          {"offline_bytes", c.offline_bytes}};
}

nlohmann::json pi_json(int64_t relus, int64_t macs, int64_t relu_layers) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& p : pi_presets()) j[p.name] = to_json(pi_cost(p, relus, macs, relu_layers));
  return j;
}

Result<PiProtocol> pi_protocol_from_json(const nlohmann::json& o) {
  if (!o.is_object()) return Status::invalid_argument("pi_cost: expected a mapping");
  auto base = pi_preset(o.contains("protocol") && o["protocol"].is_string() ? o["protocol"].get<std::string>()
                                                                             : std::string("delphi"));
  if (!base.ok()) return base.status().with_context("pi_cost.protocol");
  PiProtocol p = *base;
  const std::map<std::string, std::pair<double PiProtocol::*, double>> keys = {
      {"relu_online_us", {&PiProtocol::relu_online_seconds, 1e-6}},
      {"relu_online_bytes", {&PiProtocol::relu_online_bytes, 1}},
      {"relu_offline_us", {&PiProtocol::relu_offline_seconds, 1e-6}},
      {"relu_offline_bytes", {&PiProtocol::relu_offline_bytes, 1}},
      {"mac_online_ns", {&PiProtocol::mac_online_seconds, 1e-9}},
      {"mac_online_bytes", {&PiProtocol::mac_online_bytes, 1}},
      {"mac_offline_ns", {&PiProtocol::mac_offline_seconds, 1e-9}},
      {"mac_offline_bytes", {&PiProtocol::mac_offline_bytes, 1}},
      {"layer_online_ms", {&PiProtocol::layer_online_seconds, 1e-3}},
  };
  bool changed = false;
  for (const auto& [key, value] : o.items()) {
    if (key == "protocol") continue;
    auto it = keys.find(key);
    if (it == keys.end()) {
      std::string known = "protocol";
      for (const auto& [k, unused] : keys) known += ", " + k;
      return Status::invalid_argument("pi_cost." + key + ": unknown key; known: " + known);
    }
    if (!value.is_number() || value.get<double>() < 0)
      return Status::invalid_argument("pi_cost." + key + ": expected a number >= 0");
    p.*(it->second.first) = value.get<double>() * it->second.second;
    changed = true;
  }
  if (changed) {
    p.source = "calibrated by the sweep's pi_cost (starting from " + p.name + ")";
    p.name += " (calibrated)";
  }
  return p;
}

}  // namespace deepreduce::spec
