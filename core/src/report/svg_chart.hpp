// svg_chart.hpp — small SVG charts for the run report: a line chart (several
// series, legend, axes with round ticks) and a horizontal stacked bar chart.
// Output is a standalone <svg> element with every text XML-escaped; no
// scripts, no external references. Not here: the HTML page (html_report.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace plinth::report {

// &, <, >, " and ' as entities (valid in XML and HTML text and attributes).
std::string xml_escape(std::string_view s);

// Size of a chart and the margins around its plot area, in SVG units. The
// plot area is x in [left, width - right], y in [top + legend, height - bottom],
// where legend = 16 per row of legend entries (one row unless they wrap).
struct ChartLayout {
  int width = 640, height = 300;
  int left = 64, right = 16, top = 28, bottom = 44;
};

// An axis from round numbers: lo and hi are multiples of `step` (1, 2 or 5
// times a power of ten) enclosing the data, with about `target` steps.
struct Axis {
  double lo = 0, hi = 1, step = 0.2;
  std::vector<double> ticks() const;
};
Axis nice_axis(double lo, double hi, int target = 5);

struct Series {
  std::string name;
  std::string color;         // any SVG colour, e.g. "#1f77b4"
  std::vector<double> x, y;  // same length; a non-finite y breaks the line
  bool dashed = false;
  bool markers = false;  // a dot per point (sparse series, e.g. evaluations)
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
};

// The chart as <svg>. Each series is one <path class="series" d="M x y L x y …">
// with coordinates to 2 decimals (a "M" starts again after a gap).
std::string line_chart_svg(const LineChart& chart, const ChartLayout& layout = {});

struct StackedBars {
  std::string title, unit;                  // unit of the values, e.g. "s"
  std::vector<std::string> bars;            // one bar (row) per entry, e.g. a run
  std::vector<std::string> segments;        // segment names, left to right
  std::vector<std::string> colors;          // one per segment
  std::vector<std::vector<double>> values;  // [bar][segment], >= 0
};

// Horizontal bars, segments stacked left to right on a shared value axis;
// each segment is a <rect class="segment"> with a <title> giving its value.
std::string stacked_bars_svg(const StackedBars& chart, const ChartLayout& layout = {});

// A colour for the i-th run or segment (a fixed palette, then repeats).
std::string palette(size_t i);

}  // namespace plinth::report
