// svg_chart.cpp — the line and stacked-bar charts of the run report, written
// as SVG text: linear axes from round ticks, one <path> per series, a legend
// row above the plot. Not here: reading runs or the page around the charts.
#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace plinth::report {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string coord(double v) { return fmt("%.2f", v); }
std::string tick_label(double v) {
  if (std::abs(v) < 1e-12) v = 0;  // no "-0"
  return fmt("%.4g", v);
}

// Legend entries laid out left to right from `x0`, wrapping at `x1`
// (text width estimated at 7 units per character). Returns the rows used.
struct LegendItem {
  std::string name, color;
  bool dashed = false;
  bool box = false;  // a filled square (bars) instead of a line (series)
};
int legend_rows(const std::vector<LegendItem>& items, double x0, double x1) {
  if (items.empty()) return 0;
  int rows = 1;
  double x = x0;
  for (const auto& it : items) {
    const double w = 28 + 7.0 * static_cast<double>(it.name.size());
    if (x + w > x1 && x > x0) {
      ++rows;
      x = x0;
    }
    x += w;
  }
  return rows;
}
std::string legend_svg(const std::vector<LegendItem>& items, double x0, double x1, double y0) {
  std::string s = "<g class=\"legend\" font-size=\"12\">";
  double x = x0, y = y0;
  for (const auto& it : items) {
    const double w = 28 + 7.0 * static_cast<double>(it.name.size());
    if (x + w > x1 && x > x0) {
      x = x0;
      y += 16;
    }
    const std::string c = xml_escape(it.color);
    if (it.box)
      s += "<rect x=\"" + coord(x) + "\" y=\"" + coord(y - 9) + "\" width=\"16\" height=\"10\" fill=\"" + c +
           "\"/>";
    else
      s += "<line x1=\"" + coord(x) + "\" y1=\"" + coord(y - 4) + "\" x2=\"" + coord(x + 18) + "\" y2=\"" +
           coord(y - 4) + "\" stroke=\"" + c + "\" stroke-width=\"2\"" +
           (it.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>";
    s += "<text x=\"" + coord(x + 22) + "\" y=\"" + coord(y) + "\">" + xml_escape(it.name) + "</text>";
    x += w;
  }
  return s + "</g>";
}

std::string svg_open(const ChartLayout& l, const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"" + std::to_string(l.width) +
         "\" height=\"" + std::to_string(l.height) + "\" viewBox=\"0 0 " + std::to_string(l.width) + " " +
         std::to_string(l.height) + "\" font-family=\"sans-serif\" role=\"img\" aria-label=\"" +
         xml_escape(title) + "\"><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"" +
         std::to_string(l.left) + "\" y=\"18\" font-size=\"14\" font-weight=\"bold\">" + xml_escape(title) +
         "</text>";
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r')
          out += "\xEF\xBF\xBD";  // U+FFFD
        else
          out += c;
    }
  }
  return out;
}

std::string palette(size_t i) {
  // Colour-blind-safe palette (Okabe and Ito, 2008), then repeats.
  static const char* const c[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                  "#D55E00", "#56B4E9", "#F0E442", "#000000"};
  return c[i % (sizeof c / sizeof c[0])];
}

std::vector<double> Axis::ticks() const {
  std::vector<double> t;
  if (!(step > 0)) return t;
  const auto n = static_cast<int64_t>(std::llround((hi - lo) / step));
  for (int64_t i = 0; i <= n; ++i) t.push_back(lo + static_cast<double>(i) * step);
  return t;
}

Axis nice_axis(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (lo > hi) std::swap(lo, hi);
  if (hi == lo) {  // one value: a band around it
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.5;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
  // A small tolerance keeps 1.0000000002 from adding a whole step.
  const double eps = step * 1e-9;
  return {std::floor((lo + eps) / step) * step, std::ceil((hi - eps) / step) * step, step};
}

std::string line_chart_svg(const LineChart& chart, const ChartLayout& l) {
  std::vector<LegendItem> items;
  for (const auto& s : chart.series) items.push_back({s.name, s.color, s.dashed, false});
  const double x0 = l.left, x1 = l.width - l.right;
  const int rows = legend_rows(items, x0, x1);
  const double y0 = l.top + 16.0 * rows, y1 = l.height - l.bottom;

  std::string svg = svg_open(l, chart.title) + legend_svg(items, x0, x1, l.top + 12.0);
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : chart.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        xmin = std::min(xmin, s.x[i]), xmax = std::max(xmax, s.x[i]);
        ymin = std::min(ymin, s.y[i]), ymax = std::max(ymax, s.y[i]);
      }
  if (!std::isfinite(xmin)) {
    svg += "<text x=\"" + coord((x0 + x1) / 2) + "\" y=\"" + coord((y0 + y1) / 2) +
           "\" text-anchor=\"middle\" fill=\"#666\">no data</text></svg>";
    return svg;
  }
  const Axis ax = nice_axis(xmin, xmax), ay = nice_axis(ymin, ymax);
  auto px = [&](double x) { return x0 + (x - ax.lo) / (ax.hi - ax.lo) * (x1 - x0); };
  auto py = [&](double y) { return y1 - (y - ay.lo) / (ay.hi - ay.lo) * (y1 - y0); };

  // Grid, ticks and labels.
  svg += "<g class=\"axes\" font-size=\"11\" fill=\"#333\">";
  for (double t : ay.ticks())
    svg += "<line x1=\"" + coord(x0) + "\" y1=\"" + coord(py(t)) + "\" x2=\"" + coord(x1) + "\" y2=\"" +
           coord(py(t)) + "\" stroke=\"#e4e4e4\"/><text x=\"" + coord(x0 - 6) + "\" y=\"" + coord(py(t) + 4) +
           "\" text-anchor=\"end\">" + tick_label(t) + "</text>";
  for (double t : ax.ticks())
    svg += "<line x1=\"" + coord(px(t)) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(px(t)) + "\" y2=\"" +
           coord(y1 + 4) + "\" stroke=\"#333\"/><text x=\"" + coord(px(t)) + "\" y=\"" + coord(y1 + 16) +
           "\" text-anchor=\"middle\">" + tick_label(t) + "</text>";
  svg += "<rect x=\"" + coord(x0) + "\" y=\"" + coord(y0) + "\" width=\"" + coord(x1 - x0) + "\" height=\"" +
         coord(y1 - y0) + "\" fill=\"none\" stroke=\"#999\"/>";
  svg += "<text x=\"" + coord((x0 + x1) / 2) + "\" y=\"" + coord(l.height - 8.0) +
         "\" text-anchor=\"middle\">" + xml_escape(chart.x_label) + "</text>";
  svg += "<text transform=\"translate(14 " + coord((y0 + y1) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(chart.y_label) + "</text></g>";

  for (const auto& s : chart.series) {
    std::string d, dots;
    bool pen = false;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        pen = false;
        continue;
      }
      const std::string xy = coord(px(s.x[i])) + " " + coord(py(s.y[i]));
      d += (d.empty() ? "M " : pen ? " L " : " M ") + xy;
      pen = true;
      if (s.markers)
        dots += "<circle cx=\"" + coord(px(s.x[i])) + "\" cy=\"" + coord(py(s.y[i])) + "\" r=\"2.5\"/>";
    }
    const std::string c = xml_escape(s.color);
    svg += "<path class=\"series\" data-name=\"" + xml_escape(s.name) + "\" d=\"" + d +
           "\" fill=\"none\" stroke=\"" + c + "\" stroke-width=\"1.5\"" +
           (s.dashed ? " stroke-dasharray=\"5 3\"" : "") + "><title>" + xml_escape(s.name) +
           "</title></path>";
    if (!dots.empty()) svg += "<g fill=\"" + c + "\">" + dots + "</g>";
  }
  return svg + "</svg>";
}

std::string stacked_bars_svg(const StackedBars& chart, const ChartLayout& base) {
  ChartLayout l = base;
  // Room for the bar labels on the left.
  size_t longest = 0;
  for (const auto& b : chart.bars) longest = std::max(longest, b.size());
  l.left = std::max(l.left, static_cast<int>(std::min<size_t>(longest, 40) * 7 + 12));
  std::vector<LegendItem> items;
  for (size_t i = 0; i < chart.segments.size(); ++i)
    items.push_back({chart.segments[i], i < chart.colors.size() ? chart.colors[i] : palette(i), false, true});
  const double x0 = l.left, x1 = l.width - l.right;
  const int rows = legend_rows(items, x0, x1);
  const double y0 = l.top + 16.0 * rows, y1 = l.height - l.bottom;
  std::string svg = svg_open(l, chart.title) + legend_svg(items, x0, x1, l.top + 12.0);
  if (chart.bars.empty()) return svg + "</svg>";

  double top = 0;
  for (const auto& row : chart.values) {
    double sum = 0;
    for (double v : row) sum += std::isfinite(v) && v > 0 ? v : 0;
    top = std::max(top, sum);
  }
  const Axis ax = nice_axis(0, top > 0 ? top : 1);
  auto px = [&](double x) { return x0 + (x - ax.lo) / (ax.hi - ax.lo) * (x1 - x0); };
  svg += "<g class=\"axes\" font-size=\"11\" fill=\"#333\">";
  for (double t : ax.ticks())
    svg += "<line x1=\"" + coord(px(t)) + "\" y1=\"" + coord(y0) + "\" x2=\"" + coord(px(t)) + "\" y2=\"" +
           coord(y1) + "\" stroke=\"#e4e4e4\"/><text x=\"" + coord(px(t)) + "\" y=\"" + coord(y1 + 16) +
           "\" text-anchor=\"middle\">" + tick_label(t) + "</text>";
  svg += "<text x=\"" + coord((x0 + x1) / 2) + "\" y=\"" + coord(l.height - 8.0) +
         "\" text-anchor=\"middle\">" + xml_escape(chart.unit) + "</text></g>";

  const double band = (y1 - y0) / static_cast<double>(chart.bars.size());
  const double h = std::min(band * 0.7, 36.0);
  for (size_t b = 0; b < chart.bars.size(); ++b) {
    const double yc = y0 + band * (static_cast<double>(b) + 0.5);
    std::string label = chart.bars[b];
    if (label.size() > 40) label = label.substr(0, 39) + "\xE2\x80\xA6";  // …
    svg += "<text x=\"" + coord(x0 - 6) + "\" y=\"" + coord(yc + 4) +
           "\" text-anchor=\"end\" font-size=\"12\">" + xml_escape(label) + "</text>";
    double at = 0, sum = 0;
    const auto& row = b < chart.values.size() ? chart.values[b] : std::vector<double>{};
    for (double v : row) sum += std::isfinite(v) && v > 0 ? v : 0;
    for (size_t s = 0; s < row.size() && s < chart.segments.size(); ++s) {
      const double v = std::isfinite(row[s]) && row[s] > 0 ? row[s] : 0;
      if (v == 0) continue;
      const std::string c = s < chart.colors.size() ? chart.colors[s] : palette(s);
      svg += "<rect class=\"segment\" x=\"" + coord(px(at)) + "\" y=\"" + coord(yc - h / 2) + "\" width=\"" +
             coord(px(at + v) - px(at)) + "\" height=\"" + coord(h) + "\" fill=\"" + xml_escape(c) +
             "\"><title>" +
             xml_escape(chart.bars[b] + ": " + chart.segments[s] + " " + fmt("%.3g", v) + " " + chart.unit +
                        " (" + fmt("%.1f", sum > 0 ? 100 * v / sum : 0) + "%)") +
             "</title></rect>";
      at += v;
    }
  }
  return svg + "</svg>";
}

}  // namespace plinth::report
