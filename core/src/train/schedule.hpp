// schedule.hpp — learning-rate schedules: the lr for optimizer step s
// (s = 1, 2, ...: the count of applied optimizer steps, not micro-batches),
// with optional linear warmup, and a saveable state for checkpoints.
// Not here: applying the lr to an optimizer (the trainer does that).
#pragma once

#include <cstdint>
#include <string>

#include "../config/pipeline.hpp"  // relative: tests include this header by path
#include "plinth/status.hpp"

namespace plinth::train {

// Notation: s = optimizer step (1-based), W = warmup_steps, N = total_steps,
// b = base lr (the optimizer's lr), m = min_lr, t = s - W - 1 (0-based step
// after warmup, torch's last_epoch), T = N - W (steps after warmup).
//
//   warmup (s <= W): lr = b * s / W, rising from b/W to b (all types but one_cycle;
//                    for plateau the factor scales the current plateau lr)
//   constant:  b
//   step:      b * gamma^floor(t / step_size)                       (torch StepLR)
//   linear:    b + (m - b) * min(t, T) / T                          (torch LinearLR to m/b)
//   cosine:    m + (b - m) * (1 + cos(pi * min(t, T) / T)) / 2      (torch CosineAnnealingLR)
//   one_cycle: torch OneCycleLR(max_lr, total_steps=N, pct_start, anneal_strategy='cos',
//              div_factor=25, final_div_factor=1e4, three_phase=False) at t = s - 1;
//              max_lr defaults to b. Momentum is not cycled.
//   plateau:   torch ReduceLROnPlateau(mode='min', factor=gamma, patience, threshold,
//              threshold_mode='rel', cooldown=0, min_lr=m, eps=1e-8), fed by observe().
// Past the end (t > T) linear and cosine stay at m and one_cycle at its final lr.
class Schedule {
 public:
  // The saved state: only plateau carries any (the rest are functions of s).
  struct State {
    std::string type;
    double plateau_lr = 0.0;  // current lr before warmup scaling
    double best = 0.0;        // best metric seen (inf before the first)
    int64_t bad = 0;          // evaluations since the last improvement
    int64_t observed = 0;     // metrics seen
    bool operator==(const State&) const = default;
  };

  // Errors (errc::invalid_argument): base_lr <= 0, total_steps too small for a
  // type that needs it (linear, cosine, one_cycle need total_steps > warmup_steps),
  // min_lr above the starting lr.
  static Result<Schedule> create(const config::ScheduleSection& cfg, double base_lr, int64_t total_steps);

  // The lr for optimizer step s >= 1 (s < 1 is treated as 1).
  double lr(int64_t step) const;
  // Plateau: report an evaluation metric (lower is better, e.g. eval loss).
  // Other types ignore it. Non-finite metrics count as "no improvement".
  void observe(double metric);

  State state() const;
  Status restore(const State& s);
  // One line, "type=plateau;lr=...;best=...;bad=...;observed=..." (exact doubles).
  std::string save() const;
  Status load(std::string_view text);

  const config::ScheduleSection& config() const { return cfg_; }
  double base_lr() const { return base_; }
  int64_t total_steps() const { return total_; }

 private:
  Schedule() = default;
  double after_warmup(int64_t t) const;  // t: 0-based step after warmup

  config::ScheduleSection cfg_;
  double base_ = 0.0;
  int64_t total_ = 0;
  double plateau_lr_ = 0.0;
  double best_ = 0.0;
  int64_t bad_ = 0;
  int64_t observed_ = 0;
};

}  // namespace plinth::train
