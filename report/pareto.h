// The Pareto front of (ReLU count down, accuracy up), and the figures a paper
// quotes against a reference curve. Pure functions of their inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deepreduce::report {

struct Point {
  int64_t relus = 0;
  double accuracy = 0;  // top-1, percent
  std::string id;       // the trial (or a label for reference points)
};

// a dominates b: no more ReLUs, no less accuracy, better in at least one.
bool dominates(const Point& a, const Point& b);

// The non-dominated points, by ReLUs ascending (so accuracy ascending too). Of
// points equal in both, the one with the smallest id is kept.
std::vector<Point> pareto_front(std::vector<Point> points);

// The same front maintained one result at a time (results arrive as trials finish).
class ParetoFront {
 public:
  // True when p is on the front after the call (it may push others off).
  bool add(const Point& p);
  const std::vector<Point>& points() const { return front_; }

 private:
  std::vector<Point> front_;  // invariant: pareto_front(front_) == front_
};

// Area dominated by the front in (log10 ReLUs, accuracy), bounded by a
// reference point worse than every point (more ReLUs, less accuracy). Points
// outside the reference box contribute only their part inside it.
double hypervolume(const std::vector<Point>& front, int64_t ref_relus, double ref_accuracy);

// Fewest ReLUs with which `curve` reaches `accuracy` (nullopt: it never does).
std::optional<int64_t> relus_for_accuracy(const std::vector<Point>& curve, double accuracy);
// Best accuracy of `curve` with at most `relus` ReLUs (nullopt: no point that small).
std::optional<double> accuracy_at_relus(const std::vector<Point>& curve, int64_t relus);

// The paper's headline comparisons of `ours` against a `reference` curve:
//  - ReLU saving at iso-accuracy: reference ReLUs / our ReLUs to reach `accuracy`
//    (infinity when a network of ours reaches it with no ReLU at all; nullopt
//    when either curve does not reach it);
//  - accuracy gain at iso-ReLU: our best accuracy minus the reference's at `relus`.
std::optional<double> relu_saving_at_accuracy(const std::vector<Point>& ours, const std::vector<Point>& reference,
                                              double accuracy);
std::optional<double> accuracy_gain_at_relus(const std::vector<Point>& ours, const std::vector<Point>& reference,
                                             int64_t relus);

}  // namespace deepreduce::report
