// progressive.cpp — the progressive-resizing schedule (see progressive.hpp).
// Not here: checking that the data and model can follow it (model.cpp).
#include "train/progressive.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace plinth::train {

int64_t progressive_resolution(const config::ProgressiveSection& p, int64_t epoch, int64_t full) {
  const int64_t r0 = p.min_res, r1 = p.max_res > 0 ? p.max_res : full;
  if (epoch <= p.start_ramp) return r0;
  if (epoch >= p.end_ramp) return r1;
  // np.interp([e], [e0, e1], [r0, r1]), then np.round(x / s) * s.
  const double f = static_cast<double>(epoch - p.start_ramp) / static_cast<double>(p.end_ramp - p.start_ramp);
  const double x = static_cast<double>(r0) + static_cast<double>(r1 - r0) * f;
  const auto rounded = static_cast<int64_t>(std::nearbyint(x / static_cast<double>(p.step))) * p.step;
  return std::clamp(rounded, r0, r1);
}

std::vector<int64_t> progressive_resolutions(const config::ProgressiveSection& p, int64_t epochs,
                                             int64_t full) {
  std::vector<int64_t> out;
  // The ramp's ends bound the epochs worth looking at; later epochs are at r1.
  const int64_t last = std::min(epochs, p.end_ramp + 1);
  for (int64_t e = 0; e < std::max<int64_t>(last, 1); ++e) out.push_back(progressive_resolution(p, e, full));
  std::sort(out.begin(), out.end(), std::greater<>());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace plinth::train
