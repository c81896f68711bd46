// conv_layers.hpp — the forward nodes of the image layers conv2d, maxpool and
// avgpool (NCHW), called by graph/build.cpp's layer builder. Shape errors come
// back as a message for the builder to prefix with the layer and its line.
// Not here: their derivatives (graph/build.cpp's autodiff switch).
#pragma once

#include <functional>
#include <string>

#include "config/pipeline.hpp"
#include "graph/graph.hpp"
#include "plinth/status.hpp"

namespace plinth::graph {

// Appends layer `l` (type conv2d, maxpool or avgpool), named `name`, to
// g.forward, reading the running activation `h` (B, C, H, W) or (B, H, W)
// and leaving its output (B, C', OH, OW) in `h`. `training` keeps max-pool's
// argmax for the backward pass. `err` makes the layer's error Status.
Status image_layer(Graph& g, const config::LayerSpec& l, const std::string& name, bool training, int& h,
                   const std::function<Status(const std::string&)>& err);

}  // namespace plinth::graph
