// schedule.cpp — the lr formulas of schedule.hpp (PyTorch's lr_scheduler
// closed forms, cited per type) and the plateau state machine with its
// save/load text. Does not touch an optimizer or read config files.
#include "train/schedule.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>

namespace plinth::train {
namespace {

std::string fmt(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact round trip
  return std::string(buf, r.ptr);
}

Status bad(const std::string& what) { return error(errc::invalid_argument, "schedule: " + what); }

}  // namespace

Result<Schedule> Schedule::create(const config::ScheduleSection& cfg, double base_lr, int64_t total_steps) {
  if (!(base_lr > 0.0) || !std::isfinite(base_lr))
    return bad("the optimizer lr must be > 0, got " + fmt(base_lr));
  const std::string& ty = cfg.type;
  if (ty != "constant" && ty != "step" && ty != "linear" && ty != "cosine" && ty != "one_cycle" &&
      ty != "plateau")
    return bad("unknown type '" + ty + "'");
  if (cfg.warmup_steps < 0) return bad("warmup_steps must be >= 0");
  if (ty == "step" && cfg.step_size <= 0) return bad("a 'step' schedule needs step_size > 0");
  if ((ty == "linear" || ty == "cosine") && total_steps <= cfg.warmup_steps)
    return bad("a '" + ty + "' schedule needs total steps (" + std::to_string(total_steps) +
               ") > warmup_steps (" + std::to_string(cfg.warmup_steps) + ")");
  if (ty == "one_cycle" && total_steps < 2)
    return bad("a 'one_cycle' schedule needs at least 2 total steps, got " + std::to_string(total_steps));
  if ((ty == "linear" || ty == "cosine") && cfg.min_lr > base_lr)
    return bad("min_lr (" + fmt(cfg.min_lr) + ") is above the optimizer lr (" + fmt(base_lr) + ")");
  if (ty == "plateau" && !(cfg.gamma > 0.0 && cfg.gamma < 1.0))
    return bad("a 'plateau' schedule needs 0 < gamma < 1");
  if (ty == "one_cycle" && !(cfg.pct_start > 0.0 && cfg.pct_start < 1.0))
    return bad("pct_start must be in (0, 1)");
  Schedule s;
  s.cfg_ = cfg;
  s.base_ = base_lr;
  s.total_ = total_steps;
  s.plateau_lr_ = base_lr;
  s.best_ = std::numeric_limits<double>::infinity();
  return s;
}

double Schedule::after_warmup(int64_t t) const {
  const double b = base_, m = cfg_.min_lr;
  const std::string& ty = cfg_.type;
  const int64_t T = total_ - cfg_.warmup_steps;
  if (ty == "step") {
    // torch StepLR: lr = b * gamma^(last_epoch // step_size)
    // NOLINTNEXTLINE(bugprone-integer-division): the floor division is StepLR's definition
    return b * std::pow(cfg_.gamma, static_cast<double>(t / cfg_.step_size));
  }
  if (ty == "linear") {
    // torch LinearLR(start_factor=1, end_factor=m/b, total_iters=T), closed form
    const double f = static_cast<double>(std::min(t, T)) / static_cast<double>(T);
    return b + (m - b) * f;
  }
  if (ty == "cosine") {
    // torch CosineAnnealingLR(T_max=T, eta_min=m), closed form (_get_closed_form_lr)
    const double f = static_cast<double>(std::min(t, T)) / static_cast<double>(T);
    return m + (b - m) * (1.0 + std::cos(std::numbers::pi * f)) / 2.0;
  }
  if (ty == "plateau") return plateau_lr_;
  return b;  // constant
}

double Schedule::lr(int64_t step) const {
  const int64_t s = std::max<int64_t>(step, 1);
  if (cfg_.type == "one_cycle") {
    // torch OneCycleLR.get_lr, two phases, anneal 'cos': cos_anneal(start, end, pct)
    //   = end + (start - end) / 2 * (cos(pi * pct) + 1)
    const double max_lr = cfg_.max_lr > 0.0 ? cfg_.max_lr : base_;
    const double initial = max_lr / 25.0;   // div_factor
    const double final_lr = initial / 1e4;  // final_div_factor
    const double end1 = cfg_.pct_start * static_cast<double>(total_) - 1.0;
    const double end2 = static_cast<double>(total_) - 1.0;
    const double t = static_cast<double>(std::min<int64_t>(s - 1, total_ - 1));
    auto cos_anneal = [](double start, double end, double pct) {
      return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
    };
    if (t <= end1)
      return end1 > 0.0 ? cos_anneal(initial, max_lr, t / end1) : max_lr;  // torch divides by 0 here
    return cos_anneal(max_lr, final_lr, (t - end1) / (end2 - end1));
  }
  const int64_t W = cfg_.warmup_steps;
  if (s <= W) {
    const double peak = cfg_.type == "plateau" ? plateau_lr_ : after_warmup(0);
    return peak * static_cast<double>(s) / static_cast<double>(W);
  }
  return after_warmup(s - W - 1);
}

void Schedule::observe(double metric) {
  if (cfg_.type != "plateau") return;
  ++observed_;
  // torch ReduceLROnPlateau.step, mode 'min', threshold_mode 'rel':
  //   better iff metric < best * (1 - threshold)
  if (std::isfinite(metric) && metric < best_ * (1.0 - cfg_.threshold)) {
    best_ = metric;
    bad_ = 0;
  } else {
    ++bad_;
  }
  if (bad_ > cfg_.patience) {
    // _reduce_lr: new = max(old * factor, min_lr), applied only if it changes by > eps (1e-8)
    const double next = std::max(plateau_lr_ * cfg_.gamma, cfg_.min_lr);
    if (plateau_lr_ - next > 1e-8) plateau_lr_ = next;
    bad_ = 0;
  }
}

Schedule::State Schedule::state() const { return {cfg_.type, plateau_lr_, best_, bad_, observed_}; }

Status Schedule::restore(const State& s) {
  if (s.type != cfg_.type)
    return error(errc::invalid_argument, "schedule: the saved state is for a '" + s.type +
                                             "' schedule, this run has '" + cfg_.type + "'");
  if (!(s.plateau_lr > 0.0) || s.bad < 0 || s.observed < 0)
    return error(errc::bad_data, "schedule: the saved state is invalid");
  plateau_lr_ = s.plateau_lr;
  best_ = s.best;
  bad_ = s.bad;
  observed_ = s.observed;
  return {};
}

std::string Schedule::save() const {
  return "type=" + cfg_.type + ";lr=" + fmt(plateau_lr_) + ";best=" + fmt(best_) +
         ";bad=" + std::to_string(bad_) + ";observed=" + std::to_string(observed_);
}

Status Schedule::load(std::string_view text) {
  State s;
  bool have[5] = {};
  auto fail = [&](const std::string& why) {
    return error(errc::bad_data, "schedule state '" + std::string(text) + "': " + why);
  };
  while (!text.empty()) {
    const std::size_t semi = text.find(';');
    std::string_view item = text.substr(0, semi);
    text = semi == std::string_view::npos ? std::string_view() : text.substr(semi + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return fail("expected key=value, got '" + std::string(item) + "'");
    std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    auto parse_d = [&](double& out) {
      auto r = std::from_chars(v.data(), v.data() + v.size(), out);
      return r.ec == std::errc() && r.ptr == v.data() + v.size();
    };
    auto parse_i = [&](int64_t& out) {
      auto r = std::from_chars(v.data(), v.data() + v.size(), out);
      return r.ec == std::errc() && r.ptr == v.data() + v.size();
    };
    bool ok = true;
    if (k == "type") {
      s.type = std::string(v);
      have[0] = true;
    } else if (k == "lr") {
      ok = parse_d(s.plateau_lr), have[1] = true;
    } else if (k == "best") {
      ok = parse_d(s.best), have[2] = true;
    } else if (k == "bad") {
      ok = parse_i(s.bad), have[3] = true;
    } else if (k == "observed") {
      ok = parse_i(s.observed), have[4] = true;
    } else {
      return fail("unknown key '" + std::string(k) + "'");
    }
    if (!ok) return fail("bad value for '" + std::string(k) + "'");
  }
  for (bool h : have)
    if (!h) return fail("missing a key (needs type, lr, best, bad, observed)");
  return restore(s);
}

}  // namespace plinth::train
