// autodiff.cpp — reverse-mode differentiation of a forward graph: a generic
// driver that visits g.forward last to first and lets each node's layer
// append its derivative (Node::backward). The first contribution to a
// gradient writes it; later ones are summed in (AXPBY with the gradient as
// in[1]). Not here: the derivative of any op (graph/layers/, graph/loss.cpp).
#include "graph/autodiff.hpp"

#include "graph/build.hpp"

namespace plinth::graph {

Autodiff::Autodiff(Graph& g_, bool accumulate_)
    : g(g_), bw(g_.backward), accumulate(accumulate_), needs_(g_.values.size(), 0) {
  for (const auto& p : g.params) needs_[p.value] = p.trainable ? 1 : 0;
  for (const auto& n : g.forward)
    for (int in : n.inputs)
      if (needs(in))
        for (int out : n.outputs) needs_[g.root(out)] = 1;
  written_.assign(g.values.size(), 0);
}

int Autodiff::grad_of(int v) {
  int r = g.root(v);
  if (g.values[r].grad < 0) {
    Role role = g.values[r].role == Role::param ? Role::grad : Role::activation;
    const std::vector<int64_t> shape = g.values[r].shape;
    int gr = g.add_value(g.values[r].name + ".grad", PLINTH_DTYPE_F32, shape, role);
    g.values[r].grad = gr;
  }
  int gr = g.values[r].grad;
  if (r == v) return gr;
  const Value view = g.values[v];
  return g.add_strided(gr, view.shape, view.strides, view.offset, view.name + ".grad");
}

bool Autodiff::mark_written(int r) {
  if (written_.size() < g.values.size()) written_.resize(g.values.size(), 0);
  const bool was = written_[r] != 0;
  written_[r] = 1;
  return was;
}

std::pair<int, int> Autodiff::target_for(int v) {
  int gv = grad_of(v);
  int r = g.root(gv);
  if (!mark_written(r) || accumulates(v)) return {gv, -1};
  const std::vector<int64_t> shape = g.values[v].shape;
  int tmp = g.add_value(g.values[v].name + ".gradpart", PLINTH_DTYPE_F32, shape, Role::activation);
  return {tmp, gv};
}

int Autodiff::summed_into(int v, const std::string& layer) {
  grad_of(v);
  const int gr = g.values[g.root(v)].grad;
  if (!mark_written(gr) && !accumulates(v))
    bw.push_back({PLINTH_OP_FILL, {}, {gr}, plinth_fill_params{sizeof(plinth_fill_params), 0.0}, layer});
  return gr;
}

int Autodiff::scratch(int v) {
  const std::vector<int64_t> shape = g.values[v].shape;
  return g.add_value(g.values[v].name + ".grad_unused", PLINTH_DTYPE_F32, shape, Role::activation);
}

void Autodiff::finish(std::pair<int, int> t, const std::string& layer) {
  if (t.second < 0) return;
  bw.push_back({PLINTH_OP_AXPBY,
                {t.first, t.second},
                {t.second},
                plinth_axpby_params{sizeof(plinth_axpby_params), 1.f, 1.f, PLINTH_UNARY_IDENTITY},
                layer});
}

Status differentiate(Graph& g, bool accumulate) {
  Autodiff ad(g, accumulate);
  // Seed: d(loss)/d(logits) comes from the loss's own backward (graph/loss.cpp).
  for (size_t i = g.forward.size(); i-- > 0;) {
    const Node& n = g.forward[i];  // backward functions append to g.backward only
    // Nothing before this node leads to a trained parameter (frozen layers
    // at the bottom of the model, or layers on the input alone).
    bool any_needed = false;
    for (int in : n.inputs) any_needed = any_needed || ad.needs(in);
    if (!any_needed) continue;
    if (!n.backward)
      return error(errc::internal, std::string("autodiff: no derivative for op in layer ") + n.layer);
    PLINTH_TRY(n.backward(ad, n));
  }
  for (const auto& p : g.params)
    if (p.trainable && g.values[p.value].grad < 0)
      return error(errc::config, "parameter '" + g.values[p.value].name + "' does not reach the loss");
  return {};
}

}  // namespace plinth::graph
