// pipeline_impl.hpp — what a plinth::Pipeline holds: the typed pipeline of
// config/pipeline.hpp. Shared by the facades in core/src/api/ only.
#pragma once

#include "config/pipeline.hpp"
#include "plinth/pipeline.hpp"

namespace plinth {

struct Pipeline::Impl {
  config::Pipeline p;
};

}  // namespace plinth
