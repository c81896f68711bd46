// html_report.hpp — one self-contained HTML page comparing runs: summary
// table (status, time to target, best metric, energy), line charts against
// step and against training time (loss, evaluation metrics, learning rate,
// gradient norm, loss scale, throughput), the time-to-model breakdown as
// stacked bars, and each run's resolved pipeline and plugin set. No scripts,
// no network. Not here: reading the runs (run_info.cpp).
#pragma once

#include <string>
#include <vector>

#include "report/run_info.hpp"

namespace plinth::report {

std::string render_html(const std::vector<RunInfo>& runs, const std::string& title = "Plinth runs");

}  // namespace plinth::report
