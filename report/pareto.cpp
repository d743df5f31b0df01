#include "report/pareto.h"

#include <limits>

#include <algorithm>
#include <cmath>

namespace deepreduce::report {

bool dominates(const Point& a, const Point& b) {
  return a.relus <= b.relus && a.accuracy >= b.accuracy && (a.relus < b.relus || a.accuracy > b.accuracy);
}

std::vector<Point> pareto_front(std::vector<Point> points) {
  // Fewest ReLUs first; among equal ReLUs the most accurate first, then by id.
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    if (a.relus != b.relus) return a.relus < b.relus;
    if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
    return a.id < b.id;
  });
  std::vector<Point> front;
  for (const auto& p : points)
    if (front.empty() || p.accuracy > front.back().accuracy) front.push_back(p);
  return front;
}

bool ParetoFront::add(const Point& p) {
  for (const auto& q : front_)
    if (dominates(q, p) || (q.relus == p.relus && q.accuracy == p.accuracy && q.id <= p.id)) return false;
  std::vector<Point> kept;
  for (const auto& q : front_)
    if (!dominates(p, q) && !(q.relus == p.relus && q.accuracy == p.accuracy)) kept.push_back(q);
  kept.push_back(p);
  front_ = pareto_front(std::move(kept));
  return true;
}

double hypervolume(const std::vector<Point>& points, int64_t ref_relus, double ref_accuracy) {
  const std::vector<Point> front = pareto_front(points);
  const double x_ref = std::log10(static_cast<double>(std::max<int64_t>(ref_relus, 1)));
  double area = 0, y_prev = ref_accuracy;
  for (const auto& p : front) {
    // A network without ReLUs sits at log10(1) = 0 on the axis.
    const double x = std::log10(static_cast<double>(std::max<int64_t>(p.relus, 1)));
    if (x >= x_ref || p.accuracy <= y_prev) continue;
    area += (x_ref - x) * (p.accuracy - y_prev);
    y_prev = p.accuracy;
  }
  return area;
}

std::optional<int64_t> relus_for_accuracy(const std::vector<Point>& curve, double accuracy) {
  std::optional<int64_t> best;
  for (const auto& p : curve)
    if (p.accuracy >= accuracy && (!best || p.relus < *best)) best = p.relus;
  return best;
}

std::optional<double> accuracy_at_relus(const std::vector<Point>& curve, int64_t relus) {
  std::optional<double> best;
  for (const auto& p : curve)
    if (p.relus <= relus && (!best || p.accuracy > *best)) best = p.accuracy;
  return best;
}

std::optional<double> relu_saving_at_accuracy(const std::vector<Point>& ours, const std::vector<Point>& reference,
                                              double accuracy) {
  auto a = relus_for_accuracy(ours, accuracy), b = relus_for_accuracy(reference, accuracy);
  if (!a || !b) return std::nullopt;
  if (*a == 0) return std::numeric_limits<double>::infinity();  // reached with no ReLU at all
  return static_cast<double>(*b) / static_cast<double>(*a);
}

std::optional<double> accuracy_gain_at_relus(const std::vector<Point>& ours, const std::vector<Point>& reference,
                                             int64_t relus) {
  auto a = accuracy_at_relus(ours, relus), b = accuracy_at_relus(reference, relus);
  if (!a || !b) return std::nullopt;
  return *a - *b;
}

}  // namespace deepreduce::report
