// Analytic ReLU, MAC and parameter counts of a ModelSpec, without building it.
//
// Conventions (the private-inference literature's):
//  - ReLUs: one per activated element of one input image (C x H x W per site).
//  - MACs: multiply-accumulates of conv and linear layers only; BN, residual
//    adds, pooling and ReLUs count nothing.
//  - Params: trainable parameters (conv and linear weights, linear bias, BN
//    weight and bias); BN running statistics are buffers, not parameters.
// tests/nn/counts_test.cpp holds these against counts measured on the built
// LibTorch model and against the seed's published table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::spec {

struct ReluSite {
  std::string name;   // "stem", "s2.b1.relu1", ...
  std::string stage;  // "stem", "s1", ...
  int64_t channels;
  int64_t height;
  int64_t width;
  bool active;        // false: this ReLU is an identity in the spec's plan
  // A site under a fixed mask: the ReLUs it keeps (masked units x ReLUs per
  // unit); -1 when it keeps all.
  int64_t kept = -1;
  // The ReLUs the site evaluates when active, and its whole activation.
  int64_t relus() const { return kept >= 0 ? kept : full(); }
  int64_t full() const { return channels * height * width; }
};

struct StageCount {
  std::string stage;
  int64_t relus = 0;         // active ReLUs in the stage
  int64_t relus_all = 0;     // ReLUs the stage has in the all-ReLU baseline
  int64_t sites = 0;         // ReLU sites in the stage
  int64_t sites_active = 0;  // of which active
};

struct Counts {
  int64_t relus = 0;
  int64_t macs = 0;
  int64_t params = 0;
  std::vector<StageCount> stages;  // "stem", "s1", ..., in order
  std::vector<ReluSite> sites;     // every site in forward order
};

// Every ReLU site of the spec's network with its shape and whether it is active.
Result<std::vector<ReluSite>> relu_sites(const ModelSpec& spec);

// The exact counts of the spec's network, or why the spec is invalid.
Result<Counts> count(const ModelSpec& spec);

// Active ReLU sites that keep at least one ReLU: the ReLU layers a
// private-inference protocol evaluates (each one a round of communication).
int64_t relu_layers(const Counts& c);

}  // namespace deepreduce::spec
