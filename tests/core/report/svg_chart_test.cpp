// Tests report/svg_chart.cpp: round axes, the path coordinates of a line
// chart for known data (computed by hand from the layout), gaps, escaping
// and the stacked bars' segment widths.
#include "report/svg_chart.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>

namespace plinth::report {
namespace {

std::vector<std::string> paths(const std::string& svg) {
  std::vector<std::string> d;
  static const std::regex re(R"re(<path class="series"[^>]* d="([^"]*)")re");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
    d.push_back((*it)[1]);
  return d;
}

TEST(svg_chart, nice_axis_encloses_data_with_round_steps) {
  Axis a = nice_axis(0, 10);
  EXPECT_DOUBLE_EQ(a.lo, 0);
  EXPECT_DOUBLE_EQ(a.hi, 10);
  EXPECT_DOUBLE_EQ(a.step, 2);
  EXPECT_EQ(a.ticks().size(), 6u);
  a = nice_axis(0.13, 0.87);  // range 0.74 / 5 = 0.148 -> step 0.2
  EXPECT_DOUBLE_EQ(a.step, 0.2);
  EXPECT_NEAR(a.lo, 0.0, 1e-12);
  EXPECT_NEAR(a.hi, 1.0, 1e-12);
  a = nice_axis(2.3, 2.3);  // one value: a band around it
  EXPECT_LT(a.lo, 2.3);
  EXPECT_GT(a.hi, 2.3);
}

TEST(svg_chart, line_path_coordinates_match_the_layout) {
  // Default layout 640 x 300, margins left 64, right 16, top 28, bottom 44,
  // one legend row (16): the plot is x 64..624, y 44..256. Axes: x 0..10,
  // y 0..1 (both already round).
  LineChart c;
  c.title = "t";
  c.series.push_back({"a", "#000", {0, 5, 10}, {0, 0.5, 1}});
  const auto d = paths(line_chart_svg(c));
  ASSERT_EQ(d.size(), 1u);
  // x: 64 + x/10 * 560; y: 256 - y * 212.
  EXPECT_EQ(d[0], "M 64.00 256.00 L 344.00 150.00 L 624.00 44.00");
}

TEST(svg_chart, two_series_share_the_axes_and_gaps_restart_the_line) {
  LineChart c;
  c.series.push_back({"a", "#000", {0, 1, 2, 3}, {0, NAN, 2, 4}});
  c.series.push_back({"b", "#111", {0, 4}, {1, 1}});
  const auto d = paths(line_chart_svg(c));
  ASSERT_EQ(d.size(), 2u);
  // x 0..4 (step 1): 64 + x * 140; y 0..4 (step 1): 256 - y * 53.
  EXPECT_EQ(d[0], "M 64.00 256.00 M 344.00 150.00 L 484.00 44.00");
  EXPECT_EQ(d[1], "M 64.00 203.00 L 624.00 203.00");
}

TEST(svg_chart, text_is_escaped) {
  LineChart c;
  c.title = "<script>alert('x')</script> & co";
  c.series.push_back({"r\"un", "#000", {0, 1}, {0, 1}});
  const std::string svg = line_chart_svg(c);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"), std::string::npos);
  EXPECT_NE(svg.find("r&quot;un"), std::string::npos);
}

TEST(svg_chart, no_data_says_so) {
  LineChart c;
  c.series.push_back({"a", "#000", {}, {}});
  EXPECT_NE(line_chart_svg(c).find("no data"), std::string::npos);
}

TEST(svg_chart, stacked_segments_are_proportional) {
  StackedBars b;
  b.bars = {"r"};
  b.segments = {"x", "y"};
  b.unit = "seconds";
  b.values = {{3, 7}};  // total 10: axis 0..10
  ChartLayout l;        // plot x 64..624 (label "r" is short): 56 per unit
  const std::string svg = stacked_bars_svg(b, l);
  static const std::regex re(R"re(<rect class="segment" x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)")re");
  std::vector<std::pair<double, double>> segs;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
    segs.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_NEAR(segs[0].first, 64, 1e-9);
  EXPECT_NEAR(segs[0].second, 168, 1e-9);
  EXPECT_NEAR(segs[1].first, 232, 1e-9);
  EXPECT_NEAR(segs[1].second, 392, 1e-9);
  EXPECT_NE(svg.find("r: y 7 seconds (70.0%)"), std::string::npos) << svg;
}

}  // namespace
}  // namespace plinth::report
