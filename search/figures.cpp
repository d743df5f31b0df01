#include "search/figures.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>

#include "common/files.h"
#include "common/text.h"
#include "search/report_text.h"

extern char** environ;

namespace deepreduce::search {
namespace {

using text::esc;
using text::si;

struct Style {
  std::string series, color, shape;
};

// This project's own series, filled markers: DeepReDuce's networks without
// and with KD, then each other method's.
const std::vector<Style>& styles() {
  static const std::vector<Style> kStyles = {{"without KD", "#1f77b4", "circle"},
                                             {"with KD", "#ff7f0e", "square"},
                                             {"learned linearization", "#9467bd", "filled-diamond"},
                                             {"SENet-style linearization", "#8c564b", "filled-diamond"},
                                             {"channel pruning", "#d62728", "triangle"}};
  return kStyles;
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
std::vector<Style> reference_styles(const std::vector<ReferencePoint>& refs) {
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

std::string marker(const Style& st, double x, double y, const std::string& title) {
  std::ostringstream m;
  const std::string& shape = st.shape;
  const std::string open = "fill='none' stroke='" + st.color + "' stroke-width='1.5'";
  const char* close = "</polygon>";
  if (shape == "circle" || shape == "open-circle") {
    m << "<circle cx='" << x << "' cy='" << y << "' r='4.5' "
      << (shape == "circle" ? "fill='" + st.color + "' fill-opacity='0.8'" : open) << ">";
    close = "</circle>";
  } else if (shape == "square" || shape == "open-square") {
    m << "<rect x='" << x - 4 << "' y='" << y - 4 << "' width='8' height='8' "
      << (shape == "square" ? "fill='" + st.color + "' fill-opacity='0.8'" : open) << ">";
    close = "</rect>";
  } else if (shape == "triangle" || shape == "open-triangle") {
    m << "<polygon points='" << x << "," << y - 5.5 << " " << x - 5 << "," << y + 4 << " " << x + 5 << "," << y + 4
      << "' " << (shape == "triangle" ? "fill='" + st.color + "' fill-opacity='0.85'" : open) << ">";
  } else if (shape == "down") {
    m << "<polygon points='" << x << "," << y + 5.5 << " " << x - 5 << "," << y - 4 << " " << x + 5 << "," << y - 4
      << "' " << open << ">";
  } else if (shape == "cross" || shape == "plus") {
    const double d = 4.5;
    if (shape == "cross")
      m << "<path d='M" << x - d << "," << y - d << "L" << x + d << "," << y + d << "M" << x - d << "," << y + d << "L"
        << x + d << "," << y - d << "' ";
    else
      m << "<path d='M" << x - d << "," << y << "H" << x + d << "M" << x << "," << y - d << "V" << y + d << "' ";
    m << "stroke='" << st.color << "' stroke-width='2' fill='none'>";
    close = "</path>";
  } else {  // diamond, open or filled
    m << "<polygon points='" << x << "," << y - 6 << " " << x + 5 << "," << y << " " << x << "," << y + 6 << " "
      << x - 5 << "," << y << "' "
      << (shape == "filled-diamond" ? "fill='" + st.color + "' fill-opacity='0.85'" : open) << ">";
  }
  m << "<title>" << esc(title) << "</title>" << close;
  return m.str();
}

// Two lines: "EXPERIMENT: WHAT" and the task ("resnet18 on cifar100, 200 epochs, 2 seeds").
struct Title {
  std::string main, task;
};

// An SVG of W x H on white with its title.
std::string svg_open(double W, double H, const Title& title) {
  std::ostringstream s;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' viewBox='0 0 " << W << " "
    << H << "' font-family='sans-serif' font-size='12'>\n";
  s << "<rect width='" << W << "' height='" << H << "' fill='white'/>\n";
  s << "<text x='" << W / 2 << "' y='22' text-anchor='middle' font-size='15' font-weight='bold'>" << esc(title.main)
    << "</text>\n";
  if (!title.task.empty())
    s << "<text x='" << W / 2 << "' y='40' text-anchor='middle' font-size='12' fill='#444'>" << esc(title.task)
      << "</text>\n";
  return s.str();
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
    std::ostringstream s;
    s << svg_open(W, H, title);
    s << "<rect x='" << left << "' y='" << top << "' width='" << pw() << "' height='" << ph()
      << "' fill='white' stroke='#444'/>\n";
    for (int d = static_cast<int>(dlo_); d <= static_cast<int>(dhi_); ++d) {
      const bool is_zero = zero_ && d == static_cast<int>(dlo_);
      const double x = X(std::pow(10.0, d));
      s << "<line x1='" << x << "' y1='" << top << "' x2='" << x << "' y2='" << top + ph() << "' stroke='#ddd'/>";
      s << "<text x='" << x << "' y='" << top + ph() + 16 << "' text-anchor='middle'>"
        << (is_zero ? "0" : tick(std::pow(10.0, d))) << "</text>\n";
    }
    const double ystep = (yhi_ - ylo_) > 40 ? 10 : (yhi_ - ylo_) > 15 ? 5 : 1;
    for (double y = ylo_; y <= yhi_ + 1e-9; y += ystep) {
      s << "<line x1='" << left << "' y1='" << Y(y) << "' x2='" << left + pw() << "' y2='" << Y(y)
        << "' stroke='#eee'/>";
      s << "<text x='" << left - 6 << "' y='" << Y(y) + 4 << "' text-anchor='end'>" << fmt::format("{:g}", y) << "</text>\n";
    }
    s << "<text x='" << left + pw() / 2 << "' y='" << H - 10 << "' text-anchor='middle'>" << esc(xlabel) << "</text>\n";
    s << "<text transform='translate(16," << top + ph() / 2
      << ") rotate(-90)' text-anchor='middle'>top-1 accuracy (%)</text>\n";
    return s.str();
  }

 private:
  bool zero_ = false;
  double dlo_ = 0, dhi_ = 1, ylo_ = 0, yhi_ = 100;
};

// The staircase of a front: each network is the best until the next one.
std::string staircase(const Frame& f, std::vector<std::pair<double, double>> pts, const std::string& color, bool dashed) {
  if (pts.empty()) return "";
  std::sort(pts.begin(), pts.end());
  std::ostringstream s;
  s << "<polyline fill='none' stroke='" << color << "' stroke-width='2'" << (dashed ? " stroke-dasharray='6,4'" : "")
    << " points='";
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i > 0) s << f.X(pts[i].first) << "," << f.Y(pts[i - 1].second) << " ";
    s << f.X(pts[i].first) << "," << f.Y(pts[i].second) << " ";
  }
  s << "'/>\n";
  return s.str();
}

// The baseline's marker: a five-pointed star of outer radius `outer` at (x, y).
std::string star(double x, double y, double outer) {
  std::ostringstream s;
  s << "<polygon points='";
  for (int i = 0; i < 10; ++i) {
    const double a = -M_PI / 2 + i * M_PI / 5, rad = i % 2 ? outer * 0.45 : outer;
    s << x + rad * std::cos(a) << "," << y + rad * std::sin(a) << " ";
  }
  s << "' fill='#ffd700' stroke='#222' stroke-width='1'";
  return s.str();
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
  std::ostringstream s;
  s << f.open(o.title, o.xlabel, o.tick);
  // Fronts: the overall one solid; with the ReLU figure also one per KD setting, dashed in its colour.
  std::vector<std::pair<double, double>> overall;
  for (const auto& p : o.front) overall.push_back({o.x(p), p.top1});
  std::vector<std::string> kd_fronts;  // the per-KD fronts drawn, for the legend
  if (o.relu_figure)
    for (const char* series : {"without KD", "with KD"}) {
      std::vector<std::pair<double, double>> pts;
      const auto front = front_of(
          r.points, [&](const ReportPoint& p) { return p.series == series; },
          [](const ReportPoint& p) { return p.relus; });
      for (const auto& p : front) pts.push_back({o.x(p), p.top1});
      if (pts.size() < 2) continue;
      s << staircase(f, pts, style_of(series).color, true);
      kd_fronts.push_back(series);
    }
  s << staircase(f, overall, "#2a9d4b", false);
  // The other methods' fronts, each in its colour, beside DeepReDuce's.
  std::vector<std::string> method_fronts;
  if (o.relu_figure)
    for (const auto& mf : r.fronts) {
      if (mf.method == "DeepReDuce" || mf.points.size() < 2) continue;
      bool same = mf.points.size() == o.front.size();
      for (size_t i = 0; same && i < mf.points.size(); ++i) same = mf.points[i].id == o.front[i].id;
      if (same) continue;  // the report's front, drawn above
      std::vector<std::pair<double, double>> pts;
      for (const auto& p : mf.points) pts.push_back({o.x(p), p.top1});
      s << staircase(f, pts, style_of(mf.method).color, false);
      method_fronts.push_back(mf.method);
    }
  for (const auto& d : dots)
    if (d.err > 0) {
      const double x = f.X(d.x), y0 = f.Y(d.top1 - d.err), y1 = f.Y(d.top1 + d.err);
      s << "<path d='M" << x << "," << y0 << "V" << y1 << "M" << x - 3 << "," << y0 << "h6M" << x - 3 << "," << y1
        << "h6' stroke='#666' stroke-width='1' fill='none'/>\n";
    }
  // A published front is joined by a thin line through its points, as the
  // papers draw it; scattered points (the criticality study's) are not.
  for (const auto& [st, members] : groups) {
    std::vector<std::pair<double, double>> pts;
    for (const Dot* d : members)
      if (d->curve) pts.push_back({d->x, d->top1});
    if (pts.size() < 2) continue;
    std::sort(pts.begin(), pts.end());
    s << "<polyline fill='none' stroke='" << st.color << "' stroke-width='1' stroke-opacity='0.7' points='";
    for (const auto& [x, y] : pts) s << f.X(x) << "," << f.Y(y) << " ";
    s << "'/>\n";
  }
  for (const auto& [st, members] : groups)
    for (const Dot* d : members) s << marker(st, f.X(d->x), f.Y(d->top1), d->title) << "\n";
  for (size_t i = 0; i < o.front.size(); ++i) {  // ring the networks on the front, and label them
    const auto& p = o.front[i];
    s << "<circle cx='" << f.X(o.x(p)) << "' cy='" << f.Y(p.top1)
      << "' r='8' fill='none' stroke='#2a9d4b' stroke-width='1.5'/>\n";
    // Above and below in turn, so that neighbours do not overlap; the
    // baseline's count is in its own label (one label per point).
    const bool is_baseline = r.baseline && r.baseline->id == p.id;
    if (o.relu_figure && !is_baseline)
      s << "<text x='" << f.X(o.x(p)) + 4 << "' y='" << f.Y(p.top1) + (i % 2 ? 20 : -11)
        << "' font-size='10' fill='#2a9d4b'>" << si(p.relus) << "</text>\n";
  }
  if (o.relu_figure && r.baseline) {  // the all-ReLU network, a star
    const double bx = f.X(o.x(*r.baseline)), by = f.Y(r.baseline->top1);
    s << star(bx, by, 9) << "><title>baseline: " << with_commas(r.baseline->relus)
      << " ReLUs, " << esc(text::top1_text(*r.baseline)) << "%</title></polygon>\n";
    s << "<text x='" << bx - 10 << "' y='" << by - 12 << "' text-anchor='end' font-size='11'>baseline ("
      << si(r.baseline->relus) << ")</text>\n";
  }
  // Iso-accuracy ReLU saving and iso-ReLU accuracy gain of the front against
  // the best comparison point: channel pruning's, else a published one.
  if (o.relu_figure && !o.front.empty()) {
    std::optional<std::pair<double, double>> q;  // (ReLUs, top-1)
    std::string against;
    auto consider = [&](int64_t relus, double top1, const std::string& what) {
      if (q && top1 <= q->second) return;
      q = std::pair<double, double>{static_cast<double>(relus), top1};
      against = what;
    };
    for (const auto& p : r.points)
      if (p.series == "channel pruning") consider(p.relus, p.top1, "channel pruning");
    if (!q)
      for (const auto& ref : r.references) consider(ref.relus, ref.top1, ref.label);
    if (q && q->first > 0) {
      const ReportPoint* fewest = nullptr;  // fewest ReLUs at q's accuracy or better
      const ReportPoint* best = nullptr;    // best accuracy at q's ReLUs or fewer
      for (const auto& p : o.front) {
        if (p.top1 >= q->second && (!fewest || p.relus < fewest->relus)) fewest = &p;
        if (p.relus <= q->first && (!best || p.top1 > best->top1)) best = &p;
      }
      const double qx = f.X(q->first), qy = f.Y(q->second);
      bool drawn = false;
      std::vector<std::string> notes;
      if (fewest && fewest->relus > 0 && fewest->relus < q->first) {
        drawn = true;
        const double fx = f.X(static_cast<double>(fewest->relus));
        s << "<line x1='" << qx << "' y1='" << qy << "' x2='" << fx + 6 << "' y2='" << qy
          << "' stroke='#6a3d9a' stroke-width='1.5' stroke-dasharray='4,3'/>"
          << "<path d='M" << fx + 6 << "," << qy << "l8,-4v8z' fill='#6a3d9a'/>\n";
        notes.push_back("ReLU saving at " + fmt::format("{:.2f}", q->second) + "%: " +
                        fmt::format("{:.2g}", q->first / static_cast<double>(fewest->relus)) + "x fewer (" +
                        si(fewest->relus) + " against " + si(static_cast<int64_t>(q->first)) + ")");
      }
      if (best && best->top1 > q->second) {
        drawn = true;
        const double by = f.Y(best->top1);
        s << "<line x1='" << qx << "' y1='" << qy << "' x2='" << qx << "' y2='" << by + 6
          << "' stroke='#6a3d9a' stroke-width='1.5' stroke-dasharray='4,3'/>"
          << "<path d='M" << qx << "," << by + 6 << "l-4,8h8z' fill='#6a3d9a'/>\n";
        notes.push_back("accuracy gain at " + si(static_cast<int64_t>(q->first)) + " ReLUs: " +
                        fmt::format("{:+.2f}", best->top1 - q->second) + " points (" + fmt::format("{:.2f}", best->top1) + "% against " +
                        fmt::format("{:.2f}", q->second) + "%)");
      }
      if (drawn) {
        // What the arrows measure, in the lower left corner (beside the points they would crowd).
        notes.insert(notes.begin(), "arrows: the front against " + against);
        double ny = f.top + f.ph() - 8 - 14.0 * static_cast<double>(notes.size() - 1);
        for (const auto& n : notes) {
          s << "<text x='" << f.left + 6 << "' y='" << ny << "' font-size='11' fill='#6a3d9a'>" << esc(n)
            << "</text>\n";
          ny += 14;
        }
      }
    }
  }
  // Legend.
  double ly = f.top + 10;
  const double lx = f.left + f.pw() + 20;
  for (const auto& [st, members] : groups) {
    s << marker(st, lx, ly, st.series) << "<text x='" << lx + 12 << "' y='" << ly + 4 << "' font-size='11'>"
      << esc(st.series) << "</text>\n";
    ly += 20;
  }
  auto legend_line = [&](const std::string& color, bool dashed, const std::string& label) {
    s << "<line x1='" << lx - 6 << "' y1='" << ly << "' x2='" << lx + 6 << "' y2='" << ly << "' stroke='" << color
      << "' stroke-width='2'" << (dashed ? " stroke-dasharray='4,2'" : "") << "/><text x='" << lx + 12 << "' y='"
      << ly + 4 << "'>" << esc(label) << "</text>\n";
    ly += 20;
  };
  if (!o.front.empty()) legend_line("#2a9d4b", false, o.front_label);
  if (o.relu_figure) {
    for (const auto& series : kd_fronts) legend_line(style_of(series).color, true, "front " + series);
    for (const auto& method : method_fronts) legend_line(style_of(method).color, false, "front of " + method);
    if (r.baseline) {
      s << star(lx, ly, 6) << "/><text x='" << lx + 12 << "' y='" << ly + 4 << "'>baseline (all ReLUs)</text>\n";
      ly += 20;
    }
    bool seeds = false;
    for (const auto& p : r.points) seeds |= p.seeds > 1;
    if (seeds) {
      s << "<path d='M" << lx << "," << ly - 6 << "V" << ly + 6 << "M" << lx - 3 << "," << ly - 6 << "h6M" << lx - 3
        << "," << ly + 6 << "h6' stroke='#666' fill='none'/><text x='" << lx + 12 << "' y='" << ly + 4
        << "'>mean \u00b1 1 sd over seeds</text>\n";
      ly += 20;
    }
  }
  s << "</svg>\n";
  return s.str();
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
  return scatter(r, o);
}

std::string macs_svg(const Report& r) {
  if (r.pruning.empty()) return "";
  ScatterOptions o;
  o.title = figure_title(r, "MACs against accuracy, DeepReDuce and channel pruning");
  o.xlabel = "MACs per image (log scale)";
  o.x = [](const ReportPoint& p) { return static_cast<double>(p.macs); };
  o.tick = [](double v) { return si(static_cast<int64_t>(std::llround(v))); };
  o.references_by_macs = true;
  // DeepReDuce's best accuracy for its MACs, the curve pruning is judged against.
  o.front = front_of(
      r.points, [](const ReportPoint& p) { return p.series != "channel pruning"; },
      [](const ReportPoint& p) { return p.macs; });
  o.front_label = "DeepReDuce front in MACs";
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
  std::ostringstream s;
  s << svg_open(W, H, figure_title(r, "ReLU criticality (ReLUs in one stage only)"));
  s << "<rect x='" << left << "' y='" << top << "' width='" << pw << "' height='" << ph
    << "' fill='white' stroke='#444'/>\n";
  for (int y = 0; y <= 100; y += 20) {
    s << "<line x1='" << left << "' y1='" << Y(y) << "' x2='" << left + pw << "' y2='" << Y(y) << "' stroke='#eee'/>";
    s << "<text x='" << left - 6 << "' y='" << Y(y) + 4 << "' text-anchor='end'>" << y << "</text>\n";
  }
  s << "<text transform='translate(16," << top + ph / 2 << ") rotate(-90)' text-anchor='middle'>"
    << (r.validation ? "validation" : "test") << " top-1 (%)</text>\n";
  const double slot = pw / static_cast<double>(rows.size()), bar = std::min(28.0, slot / 3);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const double cx = left + slot * (static_cast<double>(i) + 0.5);
    auto draw = [&](const std::optional<double>& v, double x, const std::string& color, const char* what) {
      if (!v) return;
      s << "<rect x='" << x << "' y='" << Y(*v) << "' width='" << bar << "' height='" << top + ph - Y(*v)
        << "' fill='" << color << "'><title>" << row.stage << " " << what << ": " << fmt::format("{:.2f}", *v)
        << "%</title></rect>";
      s << "<text x='" << x + bar / 2 << "' y='" << Y(*v) - 4 << "' text-anchor='middle' font-size='10'>"
        << fmt::format("{:.1f}", *v) << "</text>\n";
    };
    draw(row.top1, cx - bar - 1, style_of("without KD").color, "without KD");
    draw(row.top1_kd, cx + 1, style_of("with KD").color, "with KD");
    s << "<text x='" << cx << "' y='" << top + ph + 16 << "' text-anchor='middle'>" << esc(row.stage) << " ("
      << si(row.relus) << ")</text>";
    if (row.rank)
      s << "<text x='" << cx << "' y='" << top + ph + 32 << "' text-anchor='middle' font-size='11' fill='#555'>rank "
        << row.rank << "</text>";
    s << "\n";
  }
  auto none_line = [&](const std::optional<double>& v, const std::string& color, const std::string& label, double ly) {
    if (!v) return;
    s << "<line x1='" << left << "' y1='" << Y(*v) << "' x2='" << left + pw << "' y2='" << Y(*v) << "' stroke='"
      << color << "' stroke-dasharray='5,4'/>";
    s << "<line x1='" << left + pw + 14 << "' y1='" << ly << "' x2='" << left + pw + 26 << "' y2='" << ly
      << "' stroke='" << color << "' stroke-dasharray='4,2'/><text x='" << left + pw + 32 << "' y='" << ly + 4
      << "'>" << esc(label) << "</text>\n";
  };
  // The legend names only the series drawn (a study without KD has no "with KD").
  const double lx = left + pw + 14;
  const bool any_plain = std::any_of(rows.begin(), rows.end(), [](const auto& x) { return x.top1.has_value(); }) ||
                         r.criticality.none_top1;
  const bool any_kd = std::any_of(rows.begin(), rows.end(), [](const auto& x) { return x.top1_kd.has_value(); }) ||
                      r.criticality.none_top1_kd;
  if (any_plain)
    s << "<rect x='" << lx << "' y='" << top + 4 << "' width='12' height='12' fill='" << style_of("without KD").color
      << "'/><text x='" << lx + 18 << "' y='" << top + 14 << "'>without KD</text>\n";
  if (any_kd)
    s << "<rect x='" << lx << "' y='" << top + 24 << "' width='12' height='12' fill='" << style_of("with KD").color
      << "'/><text x='" << lx + 18 << "' y='" << top + 34 << "'>with KD</text>\n";
  none_line(r.criticality.none_top1, style_of("without KD").color, "no ReLUs", top + 58);
  none_line(r.criticality.none_top1_kd, style_of("with KD").color, "no ReLUs, KD", top + 78);
  s << "<text x='" << left + pw / 2 << "' y='" << H - 8 << "' text-anchor='middle'>stage (its ReLUs); rank 1 "
    << "is the least critical, culled first (metric " << esc(r.criticality.metric) << ")</text>\n";
  s << "</svg>\n";
  return s.str();
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

}  // namespace deepreduce::search
