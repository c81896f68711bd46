// progressive.hpp — progressive resizing's schedule: the image side the
// training reads at in each epoch ([train.progressive], FFCV's ResNet
// recipe). A pure function of the epoch, so a resumed run lands on the
// resolution an uninterrupted one had. Not here: reading at a resolution
// (data/loader.hpp) or the programs compiled per resolution (model.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "../config/pipeline.hpp"  // relative: tests include this header by path

namespace plinth::train {

// Notation: e = epoch (0-based), r0 = min_res, r1 = max_res (full when 0),
// e0 = start_ramp, e1 = end_ramp, s = step.
//   e <= e0:      r0
//   e >= e1:      r1
//   otherwise:    round((r0 + (r1 - r0) (e - e0) / (e1 - e0)) / s) * s, clamped to [r0, r1]
// FFCV's get_resolution (ffcv-imagenet train_imagenet.py) with its fixed 32
// replaced by s; round is half to even, as numpy's np.round.
int64_t progressive_resolution(const config::ProgressiveSection& p, int64_t epoch, int64_t full);

// Every resolution epochs 0 .. epochs-1 train at, largest first.
std::vector<int64_t> progressive_resolutions(const config::ProgressiveSection& p, int64_t epochs,
                                             int64_t full);

}  // namespace plinth::train
