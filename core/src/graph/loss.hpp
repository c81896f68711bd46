// loss.hpp — the [loss] part of the graph (graph/loss.cpp): from the model's
// output to per-row losses and the running loss sum, with the backward seed.
// Not here: the model's layers (graph/layers/).
#pragma once

#include "graph/layers/layer.hpp"

namespace plinth::graph {

// Appends the loss of [loss] type on the model output h (B, .., C) to
// c.g.forward and sets g.prediction, g.target, g.losses, g.loss_sum.
Status build_loss(Context& c, const DataShape& data, int h);

}  // namespace plinth::graph
