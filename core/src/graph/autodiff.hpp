// autodiff.hpp — the context a layer's backward function works in: the
// gradient of a value, where a contribution to it goes, and how partial
// contributions are summed. graph/autodiff.cpp walks the forward nodes in
// reverse and calls each node's BackwardFn. Not here: any layer's derivative
// (graph/layers/<type>.cpp, graph/loss.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "graph/graph.hpp"

namespace plinth::graph {

class Autodiff {
 public:
  Autodiff(Graph& g, bool accumulate);

  Graph& g;
  std::vector<Node>& bw;  // g.backward, appended to
  const bool accumulate;  // parameter gradients are summed into (BuildOptions)

  // Value v depends on a trained parameter, so its gradient is wanted.
  bool needs(int v) const { return needs_[g.root(v)] != 0; }
  // Gradient of value v (shaped like v), created on first use; for a view,
  // the same view (shape, strides, offset) of the gradient's root.
  int grad_of(int v);
  // A parameter's gradient is summed into (beta = 1) when accumulating.
  bool accumulates(int v) const { return accumulate && g.values[g.root(v)].role == Role::param; }
  // Marks gradient root r written; returns whether it already was.
  bool mark_written(int r);
  // Where a contribution to d(v) goes: {d(v), -1} if first, else {a
  // temporary, d(v)} that `finish` adds in. Accumulated parameter gradients
  // take every contribution directly.
  std::pair<int, int> target_for(int v);
  // The gradient root of v for an op that adds (+=) into it: zeroed first
  // unless another contribution or accumulation already wrote it.
  int summed_into(int v, const std::string& layer);
  // Somewhere for an op to write the gradient of a frozen parameter.
  int scratch(int v);
  // Adds a temporary contribution of target_for into its gradient.
  void finish(std::pair<int, int> t, const std::string& layer);

 private:
  std::vector<char> needs_;    // per value: depends on a trained parameter
  std::vector<char> written_;  // per gradient root: written by an earlier backward node
};

}  // namespace plinth::graph
