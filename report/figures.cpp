#include "report/figures.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>

#include "common/files.h"
#include "common/format.h"
#include "report/text.h"
#include "search/registry.h"

extern char** environ;

namespace deepreduce::report {
namespace {

using text::esc;
using text::si;

struct Style {
  std::string series, color, shape;
};

// This project's own series, filled markers, as each strategy presents its
// networks (search/registry.h), in the registry's order.
const std::vector<Style>& styles() {
  static const std::vector<Style> kStyles = [] {
    std::vector<Style> out;
    for (const auto& def : search::strategy_registry())
      for (const auto& s : def.presentation.series)
        if (std::none_of(out.begin(), out.end(), [&](const Style& o) { return o.series == s.name; }))
          out.push_back({s.name, s.color, s.shape});
    return out;
  }();
  return kStyles;
}

// Whether a method's networks are a baseline the others are measured against.
bool is_baseline(const std::string& method) {
  const search::StrategyDef* def = search::strategy_of_method(method);
  return def && def->presentation.baseline;
}

// The primary method's two series, without and with KD (its per-KD fronts,
// its criticality study); null when no strategy presents one.
const search::Presentation* kd_presentation() {
  for (const auto& def : search::strategy_registry())
    if (def.presentation.primary && def.presentation.kd_series && def.presentation.series.size() == 2)
      return &def.presentation;
  return nullptr;
}

// A series' style; a method without one of its own gets a grey disc.
Style style_of(const std::string& series) {
  for (const auto& s : styles())
    if (series == s.series) return s;
  return {series, "#7f7f7f", "circle"};
}

// Our series present among the points, in styles()' order, then any others.
std::vector<Style> our_styles(const Report& r) {
  std::vector<Style> out;
  for (const auto& s : styles())
    if (std::any_of(r.points.begin(), r.points.end(), [&](const ReportPoint& p) { return p.series == s.series; }))
      out.push_back(s);
  for (const auto& p : r.points)
    if (std::none_of(out.begin(), out.end(), [&](const Style& s) { return s.series == p.series; }))
      out.push_back(style_of(p.series));
  return out;
}

// Published series, open markers: one colour and shape each, in the order
// the report lists them (the palette repeats past its end).
std::vector<Style> reference_styles(const std::vector<search::ReferencePoint>& refs) {
  static const std::pair<const char*, const char*> kPalette[] = {
      {"#555555", "diamond"}, {"#8c564b", "down"},   {"#e377c2", "cross"},          {"#17becf", "open-square"},
      {"#9467bd", "open-circle"}, {"#bcbd22", "plus"}, {"#2f4f4f", "open-triangle"}};
  std::vector<Style> out;
  for (const auto& q : refs) {
    if (std::any_of(out.begin(), out.end(), [&](const Style& s) { return s.series == q.series; })) continue;
    const auto& [color, shape] = kPalette[out.size() % std::size(kPalette)];
    out.push_back({q.series, color, shape});
  }
  return out;
}

// Numbers in SVG are written as printf's %g writes them ({:g}: 6 significant digits).
std::string marker(const Style& st, double x, double y, const std::string& title) {
  const std::string& shape = st.shape;
  const std::string open = "fill='none' stroke='" + st.color + "' stroke-width='1.5'";
  auto filled = [&](const char* opacity) { return "fill='" + st.color + "' fill-opacity='" + opacity + "'"; };
  std::string m;
  const char* close = "</polygon>";
  if (shape == "circle" || shape == "open-circle") {
    m = fmt::format("<circle cx='{:g}' cy='{:g}' r='4.5' {}>", x, y, shape == "circle" ? filled("0.8") : open);
    close = "</circle>";
  } else if (shape == "square" || shape == "open-square") {
    m = fmt::format("<rect x='{:g}' y='{:g}' width='8' height='8' {}>", x - 4, y - 4,
                    shape == "square" ? filled("0.8") : open);
    close = "</rect>";
  } else if (shape == "triangle" || shape == "open-triangle") {
    m = fmt::format("<polygon points='{:g},{:g} {:g},{:g} {:g},{:g}' {}>", x, y - 5.5, x - 5, y + 4, x + 5, y + 4,
                    shape == "triangle" ? filled("0.85") : open);
  } else if (shape == "down") {
    m = fmt::format("<polygon points='{:g},{:g} {:g},{:g} {:g},{:g}' {}>", x, y + 5.5, x - 5, y - 4, x + 5, y - 4, open);
  } else if (shape == "cross" || shape == "plus") {
    const double d = 4.5;
    m = shape == "cross"
            ? fmt::format("<path d='M{:g},{:g}L{:g},{:g}M{:g},{:g}L{:g},{:g}' ", x - d, y - d, x + d, y + d, x - d, y + d,
                          x + d, y - d)
            : fmt::format("<path d='M{:g},{:g}H{:g}M{:g},{:g}V{:g}' ", x - d, y, x + d, x, y - d, y + d);
    m += fmt::format("stroke='{}' stroke-width='2' fill='none'>", st.color);
    close = "</path>";
  } else {  // diamond, open or filled
    m = fmt::format("<polygon points='{:g},{:g} {:g},{:g} {:g},{:g} {:g},{:g}' {}>", x, y - 6, x + 5, y, x, y + 6, x - 5,
                    y, shape == "filled-diamond" ? filled("0.85") : open);
  }
  return m + "<title>" + esc(title) + "</title>" + close;
}

// Two lines: "EXPERIMENT: WHAT" and the task ("resnet18 on cifar100, 200 epochs, 2 seeds").
struct Title {
  std::string main, task;
};

// An SVG of W x H on white with its title.
std::string svg_open(double W, double H, const Title& title) {
  std::string s = fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{0:g}' height='{1:g}' viewBox='0 0 {0:g} {1:g}' "
      "font-family='sans-serif' font-size='12'>\n"
      "<rect width='{0:g}' height='{1:g}' fill='white'/>\n"
      "<text x='{2:g}' y='22' text-anchor='middle' font-size='15' font-weight='bold'>{3}</text>\n",
      W, H, W / 2, esc(title.main));
  if (!title.task.empty())
    s += fmt::format("<text x='{:g}' y='40' text-anchor='middle' font-size='12' fill='#444'>{}</text>\n", W / 2,
                     esc(title.task));
  return s;
}

// A plot area with a log x axis (0 drawn left of the first decade) and a
// linear y axis, inside an SVG with a title.
class Frame {
 public:
  static constexpr double W = 860, H = 530, left = 70, right = 210, top = 56, bottom = 50;

  Frame(const std::vector<double>& xs, double ylo, double yhi) {
    double lo = 1e300, hi = 0;
    for (double x : xs)
      if (x <= 0) zero_ = true; else lo = std::min(lo, x), hi = std::max(hi, x);
    if (hi == 0) lo = 1, hi = 10;
    dlo_ = std::floor(std::log10(lo)) - (zero_ ? 1 : 0);
    dhi_ = std::max(std::ceil(std::log10(hi)), dlo_ + 1);
    ylo_ = std::max(0.0, std::floor((ylo - 2) / 5) * 5);
    yhi_ = std::min(100.0, std::ceil((yhi + 2) / 5) * 5);
    if (yhi_ <= ylo_) yhi_ = ylo_ + 5;
  }
  double pw() const { return W - left - right; }
  double ph() const { return H - top - bottom; }
  double X(double v) const { return left + ((v <= 0 ? dlo_ : std::log10(v)) - dlo_) / (dhi_ - dlo_) * pw(); }
  double Y(double acc) const { return top + (1 - (acc - ylo_) / (yhi_ - ylo_)) * ph(); }

  std::string open(const Title& title, const std::string& xlabel,
                   const std::function<std::string(double)>& tick) const {
    std::string s = svg_open(W, H, title);
    auto out = std::back_inserter(s);
    fmt::format_to(out, "<rect x='{:g}' y='{:g}' width='{:g}' height='{:g}' fill='white' stroke='#444'/>\n", left, top,
                   pw(), ph());
    for (int d = static_cast<int>(dlo_); d <= static_cast<int>(dhi_); ++d) {
      const bool is_zero = zero_ && d == static_cast<int>(dlo_);
      const double x = X(std::pow(10.0, d));
      fmt::format_to(out,
                     "<line x1='{0:g}' y1='{1:g}' x2='{0:g}' y2='{2:g}' stroke='#ddd'/>"
                     "<text x='{0:g}' y='{3:g}' text-anchor='middle'>{4}</text>\n",
                     x, top, top + ph(), top + ph() + 16, is_zero ? "0" : tick(std::pow(10.0, d)));
      if (is_zero) {
        // A log axis has no 0: networks without ReLUs stand a decade to the
        // left, off scale, and the axis says so with a break.
        const double bx = (x + X(std::pow(10.0, d + 1))) / 2, by = top + ph();
        fmt::format_to(out,
                       "<path d='M{0:g},{1:g}l6,-10M{2:g},{1:g}l6,-10' stroke='#444' stroke-width='1.5'/>"
                       "<rect x='{3:g}' y='{4:g}' width='4' height='12' fill='white'/>"
                       "<text x='{5:g}' y='{6:g}' text-anchor='middle' font-size='10' fill='#555'>(off scale)</text>\n",
                       bx - 5, by + 5, bx - 1, bx - 2, by - 6, x, top + ph() + 28);
      }
    }
    const double ystep = (yhi_ - ylo_) > 40 ? 10 : (yhi_ - ylo_) > 15 ? 5 : 1;
    for (double y = ylo_; y <= yhi_ + 1e-9; y += ystep)
      fmt::format_to(out,
                     "<line x1='{0:g}' y1='{1:g}' x2='{2:g}' y2='{1:g}' stroke='#eee'/>"
                     "<text x='{3:g}' y='{4:g}' text-anchor='end'>{5:g}</text>\n",
                     left, Y(y), left + pw(), left - 6, Y(y) + 4, y);
    fmt::format_to(out, "<text x='{:g}' y='{:g}' text-anchor='middle'>{}</text>\n", left + pw() / 2, H - 10, esc(xlabel));
    fmt::format_to(out, "<text transform='translate(16,{:g}) rotate(-90)' text-anchor='middle'>top-1 accuracy (%)</text>\n",
                   top + ph() / 2);
    return s;
  }

 private:
  bool zero_ = false;
  double dlo_ = 0, dhi_ = 1, ylo_ = 0, yhi_ = 100;
};

// The staircase of a front: each network is the best until the next one.
std::string staircase(const Frame& f, std::vector<std::pair<double, double>> pts, const std::string& color, bool dashed) {
  if (pts.empty()) return "";
  std::sort(pts.begin(), pts.end());
  std::string s = fmt::format("<polyline fill='none' stroke='{}' stroke-width='2'{} points='", color,
                              dashed ? " stroke-dasharray='6,4'" : "");
  auto out = std::back_inserter(s);
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i > 0) fmt::format_to(out, "{:g},{:g} ", f.X(pts[i].first), f.Y(pts[i - 1].second));
    fmt::format_to(out, "{:g},{:g} ", f.X(pts[i].first), f.Y(pts[i].second));
  }
  return s + "'/>\n";
}

// The baseline's marker: a five-pointed star of outer radius `outer` at (x, y).
std::string star(double x, double y, double outer) {
  std::string s = "<polygon points='";
  for (int i = 0; i < 10; ++i) {
    const double a = -M_PI / 2 + i * M_PI / 5, rad = i % 2 ? outer * 0.45 : outer;
    fmt::format_to(std::back_inserter(s), "{:g},{:g} ", x + rad * std::cos(a), y + rad * std::sin(a));
  }
  return s + "' fill='#ffd700' stroke='#222' stroke-width='1'";
}

Title figure_title(const Report& r, const std::string& what) {
  const std::string name = r.experiments.empty() ? "deepreduce" : r.experiments.front().name;
  return {name + ": " + what, r.task};
}

struct ScatterOptions {
  Title title;
  std::string xlabel;
  std::function<double(const ReportPoint&)> x;
  std::function<std::string(double)> tick;
  std::vector<ReportPoint> front;  // ringed and drawn as a staircase
  std::string front_label = "Pareto front";
  bool relu_figure = false;        // KD fronts, labels, baseline, references, iso-lines
  bool references_by_macs = false;
};

std::string scatter(const Report& r, const ScatterOptions& o) {
  struct Dot {
    double x, top1;
    std::string series, title;
    double err = 0;  // one standard deviation over seeds
    bool reference = false;  // a published point (its series named by its source)
    bool curve = false;      // a published front's point
  };
  std::vector<Dot> dots;
  for (const auto& p : r.points)
    dots.push_back({o.x(p), p.top1, p.series,
                    p.id.substr(0, 12) + " " + p.plan + (p.kd ? " +KD" : "") + ": " + with_commas(p.relus) +
                        " ReLUs, " + with_commas(p.macs) + " MACs, " + text::top1_text(p) + "%, est. online " +
                        fmt::format("{:.3g}", p.pi.online_seconds) + " s (" + r.protocol.name + ")",
                    p.top1_std});
  if (o.relu_figure || o.references_by_macs)
    for (const auto& q : r.references) {
      const double x = o.references_by_macs ? static_cast<double>(q.macs) : static_cast<double>(q.relus);
      if (o.references_by_macs && q.macs <= 0) continue;
      dots.push_back({x, q.top1, q.series,
                      q.label + ": " + with_commas(q.relus) + " ReLUs, " + fmt::format("{:.2f}", q.top1) + "% (" + q.source +
                          ")",
                      0, true, q.curve});
    }
  const std::vector<Style> ref_styles = reference_styles(r.references);
  // Each style with the dots it marks: ours first, then the published series.
  std::vector<std::pair<Style, std::vector<const Dot*>>> groups;
  const std::vector<Style> own_styles = our_styles(r);
  for (bool reference : {false, true})
    for (const auto& st : reference ? ref_styles : own_styles) {
      std::vector<const Dot*> members;
      for (const auto& d : dots)
        if (d.reference == reference && d.series == st.series) members.push_back(&d);
      if (!members.empty()) groups.push_back({st, members});
    }
  std::vector<double> xs;
  double ylo = 100, yhi = 0;
  for (const auto& d : dots) {
    xs.push_back(d.x);
    ylo = std::min(ylo, d.top1 - d.err);
    yhi = std::max(yhi, d.top1 + d.err);
  }
  if (dots.empty()) ylo = 0, yhi = 100;
  const Frame f(xs, ylo, yhi);
  std::string s = f.open(o.title, o.xlabel, o.tick);
  auto out = std::back_inserter(s);
  // Fronts: the overall one solid; with the ReLU figure also one per KD setting, dashed in its colour.
  std::vector<std::pair<double, double>> overall;
  for (const auto& p : o.front) overall.push_back({o.x(p), p.top1});
  std::vector<std::string> kd_fronts;  // the per-KD fronts drawn, for the legend
  if (o.relu_figure && kd_presentation())
    for (const auto& kd_series : kd_presentation()->series) {
      const std::string& series = kd_series.name;
      std::vector<std::pair<double, double>> pts;
      const auto front = front_of(
          r.points, [&](const ReportPoint& p) { return p.series == series; },
          [](const ReportPoint& p) { return p.relus; });
      for (const auto& p : front) pts.push_back({o.x(p), p.top1});
      if (pts.size() < 2) continue;
      s += staircase(f, pts, style_of(series).color, true);
      kd_fronts.push_back(series);
    }
  s += staircase(f, overall, "#2a9d4b", false);
  // The other methods' fronts, each in its colour, beside the primary one's.
  std::vector<std::string> method_fronts;
  if (o.relu_figure)
    for (const auto& mf : r.fronts) {
      const search::StrategyDef* def = search::strategy_of_method(mf.method);
      if ((def && def->presentation.primary) || mf.points.size() < 2) continue;  // drawn per KD setting above
      bool same = mf.points.size() == o.front.size();
      for (size_t i = 0; same && i < mf.points.size(); ++i) same = mf.points[i].id == o.front[i].id;
      if (same) continue;  // the report's front, drawn above
      std::vector<std::pair<double, double>> pts;
      for (const auto& p : mf.points) pts.push_back({o.x(p), p.top1});
      s += staircase(f, pts, style_of(mf.method).color, false);
      method_fronts.push_back(mf.method);
    }
  for (const auto& d : dots)
    if (d.err > 0) {
      const double x = f.X(d.x), y0 = f.Y(d.top1 - d.err), y1 = f.Y(d.top1 + d.err);
      fmt::format_to(out, "<path d='M{0:g},{1:g}V{2:g}M{3:g},{1:g}h6M{3:g},{2:g}h6' stroke='#666' stroke-width='1' "
                          "fill='none'/>\n",
                     x, y0, y1, x - 3);
    }
  // A published front is joined by a thin line through its points, as the
  // papers draw it; scattered points (the criticality study's) are not.
  for (const auto& [st, members] : groups) {
    std::vector<std::pair<double, double>> pts;
    for (const Dot* d : members)
      if (d->curve) pts.push_back({d->x, d->top1});
    if (pts.size() < 2) continue;
    std::sort(pts.begin(), pts.end());
    fmt::format_to(out, "<polyline fill='none' stroke='{}' stroke-width='1' stroke-opacity='0.7' points='", st.color);
    for (const auto& [x, y] : pts) fmt::format_to(out, "{:g},{:g} ", f.X(x), f.Y(y));
    s += "'/>\n";
  }
  for (const auto& [st, members] : groups)
    for (const Dot* d : members) s += marker(st, f.X(d->x), f.Y(d->top1), d->title) + "\n";
  for (size_t i = 0; i < o.front.size(); ++i) {  // ring the networks on the front, and label them
    const auto& p = o.front[i];
    fmt::format_to(out, "<circle cx='{:g}' cy='{:g}' r='8' fill='none' stroke='#2a9d4b' stroke-width='1.5'/>\n",
                   f.X(o.x(p)), f.Y(p.top1));
    // Above and below in turn, so that neighbours do not overlap; the
    // baseline's count is in its own label (one label per point).
    const bool is_baseline = r.baseline && r.baseline->id == p.id;
    if (o.relu_figure && !is_baseline)
      fmt::format_to(out, "<text x='{:g}' y='{:g}' font-size='10' fill='#2a9d4b'>{}</text>\n", f.X(o.x(p)) + 4,
                     f.Y(p.top1) + (i % 2 ? 20 : -11), si(p.relus));
  }
  if (o.relu_figure && r.baseline) {  // the all-ReLU network, a star
    const double bx = f.X(o.x(*r.baseline)), by = f.Y(r.baseline->top1);
    fmt::format_to(out, "{}><title>baseline: {} ReLUs, {}%</title></polygon>\n", star(bx, by, 9),
                   with_commas(r.baseline->relus), esc(text::top1_text(*r.baseline)));
    fmt::format_to(out, "<text x='{:g}' y='{:g}' text-anchor='end' font-size='11'>baseline ({})</text>\n", bx - 10,
                   by - 12, si(r.baseline->relus));
  }
  // Iso-accuracy ReLU saving and iso-ReLU accuracy gain of the front against
  // the best comparison point: a baseline's (channel pruning), else a published
  // one. With a baseline, the front measured is the other methods'.
  if (o.relu_figure && !o.front.empty()) {
    std::optional<std::pair<double, double>> q;  // (ReLUs, top-1)
    std::string against;
    auto consider = [&](int64_t relus, double top1, const std::string& what) {
      if (q && top1 <= q->second) return;
      q = std::pair<double, double>{static_cast<double>(relus), top1};
      against = what;
    };
    for (const auto& p : r.points)
      if (is_baseline(p.method)) consider(p.relus, p.top1, p.method);
    const bool against_baseline = q.has_value();
    if (!q)
      for (const auto& ref : r.references) consider(ref.relus, ref.top1, ref.label);
    if (q && q->first > 0) {
      const ReportPoint* fewest = nullptr;  // fewest ReLUs at q's accuracy or better
      const ReportPoint* best = nullptr;    // best accuracy at q's ReLUs or fewer
      for (const auto& p : against_baseline ? r.compared_front : o.front) {
        if (p.top1 >= q->second && (!fewest || p.relus < fewest->relus)) fewest = &p;
        if (p.relus <= q->first && (!best || p.top1 > best->top1)) best = &p;
      }
      const double qx = f.X(q->first), qy = f.Y(q->second);
      bool drawn = false;
      std::vector<std::string> notes;
      if (fewest && fewest->relus > 0 && fewest->relus < q->first) {
        drawn = true;
        const double fx = f.X(static_cast<double>(fewest->relus));
        fmt::format_to(out,
                       "<line x1='{0:g}' y1='{1:g}' x2='{2:g}' y2='{1:g}' stroke='#6a3d9a' stroke-width='1.5' "
                       "stroke-dasharray='4,3'/><path d='M{2:g},{1:g}l8,-4v8z' fill='#6a3d9a'/>\n",
                       qx, qy, fx + 6);
        notes.push_back("ReLU saving at " + fmt::format("{:.2f}", q->second) + "%: " +
                        fmt::format("{:.2g}", q->first / static_cast<double>(fewest->relus)) + "x fewer (" +
                        si(fewest->relus) + " against " + si(static_cast<int64_t>(q->first)) + ")");
      }
      if (best && best->top1 > q->second) {
        drawn = true;
        const double by = f.Y(best->top1);
        fmt::format_to(out,
                       "<line x1='{0:g}' y1='{1:g}' x2='{0:g}' y2='{2:g}' stroke='#6a3d9a' stroke-width='1.5' "
                       "stroke-dasharray='4,3'/><path d='M{0:g},{2:g}l-4,8h8z' fill='#6a3d9a'/>\n",
                       qx, qy, by + 6);
        notes.push_back("accuracy gain at " + si(static_cast<int64_t>(q->first)) + " ReLUs: " +
                        fmt::format("{:+.2f}", best->top1 - q->second) + " points (" + fmt::format("{:.2f}", best->top1) + "% against " +
                        fmt::format("{:.2f}", q->second) + "%)");
      }
      if (drawn) {
        // What the arrows measure, in the lower left corner (beside the points they would crowd).
        notes.insert(notes.begin(), "arrows: the front against " + against);
        double ny = f.top + f.ph() - 8 - 14.0 * static_cast<double>(notes.size() - 1);
        for (const auto& n : notes) {
          fmt::format_to(out, "<text x='{:g}' y='{:g}' font-size='11' fill='#6a3d9a'>{}</text>\n", f.left + 6, ny,
                         esc(n));
          ny += 14;
        }
      }
    }
  }
  // Legend.
  double ly = f.top + 10;
  const double lx = f.left + f.pw() + 20;
  for (const auto& [st, members] : groups) {
    fmt::format_to(out, "{}<text x='{:g}' y='{:g}' font-size='11'>{}</text>\n", marker(st, lx, ly, st.series), lx + 12,
                   ly + 4, esc(st.series));
    ly += 20;
  }
  auto legend_line = [&](const std::string& color, bool dashed, const std::string& label) {
    fmt::format_to(out,
                   "<line x1='{:g}' y1='{:g}' x2='{:g}' y2='{:g}' stroke='{}' stroke-width='2'{}/>"
                   "<text x='{:g}' y='{:g}'>{}</text>\n",
                   lx - 6, ly, lx + 6, ly, color, dashed ? " stroke-dasharray='4,2'" : "", lx + 12, ly + 4, esc(label));
    ly += 20;
  };
  if (!o.front.empty()) legend_line("#2a9d4b", false, o.front_label);
  if (o.relu_figure) {
    for (const auto& series : kd_fronts) legend_line(style_of(series).color, true, "front " + series);
    for (const auto& method : method_fronts) legend_line(style_of(method).color, false, "front of " + method);
    if (r.baseline) {
      fmt::format_to(out, "{}/><text x='{:g}' y='{:g}'>baseline (all ReLUs)</text>\n", star(lx, ly, 6), lx + 12, ly + 4);
      ly += 20;
    }
    bool seeds = false;
    for (const auto& p : r.points) seeds |= p.seeds > 1;
    if (seeds) {
      fmt::format_to(out,
                     "<path d='M{0:g},{1:g}V{2:g}M{3:g},{1:g}h6M{3:g},{2:g}h6' stroke='#666' fill='none'/>"
                     "<text x='{4:g}' y='{5:g}'>mean \u00b1 1 sd over seeds</text>\n",
                     lx, ly - 6, ly + 6, lx - 3, lx + 12, ly + 4);
      ly += 20;
    }
  }
  return s + "</svg>\n";
}

constexpr int kCannotStart = -1;

// Runs `argv` (found on PATH) without a shell: its exit status, kCannotStart
// when it cannot be started (not installed), or -2 when a signal ended it.
int run_program(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return kCannotStart;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
}

}  // namespace

std::string plot_svg(const Report& r) {
  ScatterOptions o;
  o.title = figure_title(r, "ReLUs against accuracy");
  o.xlabel = "ReLUs per image (log scale)";
  o.x = [](const ReportPoint& p) { return static_cast<double>(p.relus); };
  o.tick = [](double v) { return si(static_cast<int64_t>(std::llround(v))); };
  o.front = r.front;
  o.front_label = "Pareto front of every method";
  o.relu_figure = true;
  return scatter(r, o);
}

std::string latency_svg(const Report& r) {
  ScatterOptions o;
  o.title = figure_title(r, "estimated private-inference latency against accuracy");
  o.xlabel = "estimated online seconds per image under " + r.protocol.name + " (log scale)";
  o.x = [](const ReportPoint& p) { return p.pi.online_seconds; };
  o.tick = [](double v) { return fmt::format("{:g}", v); };
  o.front = r.latency_front;
  o.front_label = "Pareto front of every method";
  return scatter(r, o);
}

std::string macs_svg(const Report& r) {
  if (r.pruning.empty()) return "";
  ScatterOptions o;
  std::vector<std::string> baselines;
  for (const auto& row : r.pruning)
    if (std::find(baselines.begin(), baselines.end(), row.pruned.method) == baselines.end())
      baselines.push_back(row.pruned.method);
  o.title = figure_title(r, fmt::format("MACs against accuracy, {} against the other methods", fmt::join(baselines, " and ")));
  o.xlabel = "MACs per image (log scale)";
  o.x = [](const ReportPoint& p) { return static_cast<double>(p.macs); };
  o.tick = [](double v) { return si(static_cast<int64_t>(std::llround(v))); };
  o.references_by_macs = true;
  // The best accuracy of the other methods for their MACs, the curve the baselines are judged against.
  o.front = front_of(
      r.points, [](const ReportPoint& p) { return !is_baseline(p.method); },
      [](const ReportPoint& p) { return p.macs; });
  o.front_label = "the other methods' front in MACs";
  return scatter(r, o);
}

std::string criticality_svg(const Report& r) {
  const auto& rows = r.criticality.rows;
  bool any = false;
  for (const auto& row : rows) any |= row.top1 || row.top1_kd;
  if (!any) return "";
  const double W = 860, H = 430, left = 70, right = 210, top = 56, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  auto Y = [&](double acc) { return top + (1 - acc / 100.0) * ph; };
  std::string s = svg_open(W, H, figure_title(r, "ReLU criticality (ReLUs in one stage only)"));
  auto out = std::back_inserter(s);
  fmt::format_to(out, "<rect x='{:g}' y='{:g}' width='{:g}' height='{:g}' fill='white' stroke='#444'/>\n", left, top,
                 pw, ph);
  for (int y = 0; y <= 100; y += 20)
    fmt::format_to(out,
                   "<line x1='{0:g}' y1='{1:g}' x2='{2:g}' y2='{1:g}' stroke='#eee'/>"
                   "<text x='{3:g}' y='{4:g}' text-anchor='end'>{5}</text>\n",
                   left, Y(y), left + pw, left - 6, Y(y) + 4, y);
  fmt::format_to(out, "<text transform='translate(16,{:g}) rotate(-90)' text-anchor='middle'>{} top-1 (%)</text>\n",
                 top + ph / 2, r.validation ? "validation" : "test");
  // The bars in the primary method's colours, without and with KD.
  const search::Presentation* shown = kd_presentation();
  const Style plain{"without KD", shown ? shown->series[0].color : "#7f7f7f", "square"};
  const Style kd{"with KD", shown ? shown->series[1].color : "#bfbfbf", "square"};
  const double slot = pw / static_cast<double>(rows.size()), bar = std::min(28.0, slot / 3);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const double cx = left + slot * (static_cast<double>(i) + 0.5);
    auto draw = [&](const std::optional<double>& v, double x, const std::string& color, const char* what) {
      if (!v) return;
      fmt::format_to(out,
                     "<rect x='{:g}' y='{:g}' width='{:g}' height='{:g}' fill='{}'><title>{} {}: {:.2f}%</title></rect>"
                     "<text x='{:g}' y='{:g}' text-anchor='middle' font-size='10'>{:.1f}</text>\n",
                     x, Y(*v), bar, top + ph - Y(*v), color, row.stage, what, *v, x + bar / 2, Y(*v) - 4, *v);
    };
    draw(row.top1, cx - bar - 1, plain.color, plain.series.c_str());
    draw(row.top1_kd, cx + 1, kd.color, kd.series.c_str());
    fmt::format_to(out, "<text x='{:g}' y='{:g}' text-anchor='middle'>{} ({})</text>", cx, top + ph + 16, esc(row.stage),
                   si(row.relus));
    if (row.rank)
      fmt::format_to(out, "<text x='{:g}' y='{:g}' text-anchor='middle' font-size='11' fill='#555'>rank {}</text>", cx,
                     top + ph + 32, row.rank);
    s += "\n";
  }
  auto none_line = [&](const std::optional<double>& v, const std::string& color, const std::string& label, double ly) {
    if (!v) return;
    fmt::format_to(out,
                   "<line x1='{0:g}' y1='{1:g}' x2='{2:g}' y2='{1:g}' stroke='{3}' stroke-dasharray='5,4'/>"
                   "<line x1='{4:g}' y1='{5:g}' x2='{6:g}' y2='{5:g}' stroke='{3}' stroke-dasharray='4,2'/>"
                   "<text x='{7:g}' y='{8:g}'>{9}</text>\n",
                   left, Y(*v), left + pw, color, left + pw + 14, ly, left + pw + 26, left + pw + 32, ly + 4, esc(label));
  };
  // The legend names only the series drawn (a study without KD has no "with KD").
  const double lx = left + pw + 14;
  const bool any_plain = std::any_of(rows.begin(), rows.end(), [](const auto& x) { return x.top1.has_value(); }) ||
                         r.criticality.none_top1;
  const bool any_kd = std::any_of(rows.begin(), rows.end(), [](const auto& x) { return x.top1_kd.has_value(); }) ||
                      r.criticality.none_top1_kd;
  auto legend = [&](double y, const Style& series) {
    fmt::format_to(out, "<rect x='{:g}' y='{:g}' width='12' height='12' fill='{}'/><text x='{:g}' y='{:g}'>{}</text>\n",
                   lx, y, series.color, lx + 18, y + 10, esc(series.series));
  };
  if (any_plain) legend(top + 4, plain);
  if (any_kd) legend(top + 24, kd);
  none_line(r.criticality.none_top1, plain.color, "no ReLUs", top + 58);
  none_line(r.criticality.none_top1_kd, kd.color, "no ReLUs, KD", top + 78);
  fmt::format_to(out,
                 "<text x='{:g}' y='{:g}' text-anchor='middle'>stage (its ReLUs); rank 1 is the least critical, culled "
                 "first (metric {})</text>\n",
                 left + pw / 2, H - 8, esc(r.criticality.metric));
  return s + "</svg>\n";
}

Result<std::vector<std::string>> write_figures(const Report& r, const std::string& dir, std::string* note) {
  const std::filesystem::path d(dir);
  std::vector<std::pair<std::string, std::string>> figures = {{"figure-relus", plot_svg(r)},
                                                              {"figure-latency", latency_svg(r)},
                                                              {"figure-criticality", criticality_svg(r)},
                                                              {"figure-macs", macs_svg(r)}};
  bool pdfs = true;  // until rsvg-convert turns out not to be installed
  std::vector<std::string> written;
  for (const auto& [name, svg] : figures) {
    if (svg.empty()) continue;
    const std::string file = (d / (name + ".svg")).string();
    DR_RETURN_IF_ERROR(write_file_atomic(file, svg));
    written.push_back(file);
    if (!pdfs) continue;
    const std::string pdf = (d / (name + ".pdf")).string();
    const int rc = run_program({"rsvg-convert", "-f", "pdf", "-o", pdf, file});
    if (rc == kCannotStart) {
      pdfs = false;
      if (note) *note = "no PDFs: rsvg-convert is not installed (Debian: apt-get install librsvg2-bin)";
      continue;
    }
    if (rc != 0) return Status::io_error(pdf + ": rsvg-convert could not render " + file);
    written.push_back(pdf);
  }
  return written;
}

}  // namespace deepreduce::report
