// The report's figures, each a standalone SVG (inline in report.html, and
// written beside it as figure-*.svg and, with Debian's rsvg-convert, as PDF):
//
//   relus        ReLUs (log) against top-1: every network with its error bar,
//                the fronts without and with KD, the overall front labelled,
//                the baseline marked, channel pruning and the published
//                points of the same task, and the iso-accuracy ReLU saving and
//                iso-ReLU accuracy gain against the best comparison point
//   latency      estimated online seconds (log) against top-1
//   criticality  top-1 of the networks that keep one stage's ReLUs, without
//                and with KD, per stage, with each stage's rank
//   macs         MACs (log) against top-1: DeepReDuce against channel pruning
//
// Every figure carries a title naming the experiment, the task and the budget.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "report/report.h"

namespace deepreduce::report {

// "" when the report has nothing to draw in that figure (no criticality
// study, no pruning).
std::string criticality_svg(const Report& report);
std::string macs_svg(const Report& report);

// Writes figure-relus.svg, figure-latency.svg and, when they have content,
// figure-criticality.svg and figure-macs.svg into `dir`, and a PDF of each
// through rsvg-convert when it is installed. Returns the files written; a
// missing rsvg-convert is said in `note`, a failing one is an error.
Result<std::vector<std::string>> write_figures(const Report& report, const std::string& dir, std::string* note);

}  // namespace deepreduce::report
