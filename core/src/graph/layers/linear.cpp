// linear.cpp — the `linear` layer: PyTorch's nn.Linear, y (.., out) = x (.., in)
// W^T + b with W (out, in), leading dims folded into rows; optionally tied to
// an embedding table (GPT-2's output head) and adapted by LoRA ([model.lora]).
// Its MATMUL nodes' derivative is here too (attention's projections use it).
//
// Notation: R rows (all leading dims), in / out features, r LoRA rank.
#include <fnmatch.h>

#include <cmath>

#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"tie",
     config::KeyType::string,
     config::LayerKey::optional,
     {},
     "string",
     "none",
     "use the table of this `embedding` layer (its full name, e.g. `\"wte\"`) as the weight: GPT-2's tied "
     "output head; the table must be `(out, in)`"},
    {"out",
     config::KeyType::integer,
     config::LayerKey::optional,
     {},
     "integer > 0",
     "required (with `tie`: the table's rows)",
     "output features (input features come from the input)",
     [](const LayerSpec& l) { return positive(l, "out"); }},
    {"bias", config::KeyType::boolean, config::LayerKey::defaulted, true, "boolean", "`true`", "add biases"},
};

std::pair<std::string, std::string> finish(LayerSpec& l) {
  if (l.string("tie").empty() && !l.has("out")) return {"out", "missing required key (output features)"};
  return {};
}

// y (R, out) = alpha x (R, in) W^T (out, in) + b: both derivatives carry alpha (LoRA's scale).
Status matmul_backward(Autodiff& ad, const Node& n) {
  Graph& g = ad.g;
  int x = n.inputs[0], w = n.inputs[1];
  const float alpha = std::get<plinth_matmul_params>(n.params).alpha;
  int dy = ad.grad_of(n.outputs[0]);
  if (ad.needs(x)) {  // dx (R, in) = dy (R, out) @ W (out, in)
    auto t = ad.target_for(x);
    ad.bw.push_back({PLINTH_OP_MATMUL,
                     {dy, w},
                     {t.first},
                     plinth_matmul_params{sizeof(plinth_matmul_params), 0, 0, alpha, 0.f},
                     n.layer});
    ad.finish(t, n.layer);
  }
  if (ad.needs(w)) {  // dW (out, in) = dy^T (out, R) @ x (R, in)
    auto t = ad.target_for(w);
    ad.bw.push_back(
        {PLINTH_OP_MATMUL,
         {dy, x},
         {t.first},
         plinth_matmul_params{sizeof(plinth_matmul_params), 1, 0, alpha, ad.accumulates(w) ? 1.f : 0.f},
         n.layer});
    ad.finish(t, n.layer);
  }
  if (n.inputs.size() == 3 && ad.needs(n.inputs[2])) {  // db (out) = sum over rows of dy
    int b = n.inputs[2];
    auto t = ad.target_for(b);
    int out = static_cast<int>(g.values[b].shape[0]);
    int t2 = g.add_view(t.first, {1, out}, g.values[b].name + ".grad2d");
    ad.bw.push_back(
        {PLINTH_OP_REDUCE,
         {dy},
         {t2},
         plinth_reduce_params{sizeof(plinth_reduce_params), PLINTH_REDUCE_SUM, ad.accumulates(b) ? 1.f : 0.f},
         n.layer});
    ad.finish(t, n.layer);
  }
  return {};
}

// Whether [model.lora] adapts the linear layer `name` (counting each pattern's hits).
bool lora_target(Context& c, const std::string& name) {
  if (!c.p.model.lora.enabled) return false;
  bool hit = false;
  for (size_t i = 0; i < c.p.model.lora.targets.size(); ++i)
    if (fnmatch(c.p.model.lora.targets[i].c_str(), name.c_str(), 0) == 0) {
      ++c.lora_hits[i];
      hit = true;
    }
  return hit;
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const std::vector<int64_t> hs = g.values[in[0]].shape;
  if (hs.size() < 2) return c.err(l, "expects (B, .., in), got " + shape_str(hs));
  int w = -1;
  int64_t features = l.integer("out");
  const std::string tie = l.string("tie");
  if (!tie.empty()) {
    auto it = c.tables.find(tie);
    if (it == c.tables.end())
      return c.err(l, "tie: no embedding layer named '" + tie + "' before this layer");
    w = it->second;
    const auto ws = g.values[w].shape;
    if (features == 0) features = ws[0];
    if (ws[0] != features || ws[1] != hs.back())
      return c.err(l, "tie: the table of '" + tie + "' is " + shape_str(ws) + " but this layer needs (" +
                          std::to_string(features) + ", " + std::to_string(hs.back()) + ") (out, in)");
  }
  out = emit_linear(c, in[0], features, l.boolean("bias"), name, w);
  return {};
}

// ONNX: Gemm (2-D input) or MatMul + Add, with the run's weight (or the tied table).
Status onnx(OnnxContext& x, Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in,
            int out) {
  auto xin = x.tensor(in[0]);
  if (!xin) return xin.status();
  const std::string tie = l.string("tie");
  auto w = x.weight(c, tie.empty() ? name + ".weight" : tie + ".weight");
  if (!w) return w.status();
  std::string b;
  if (l.boolean("bias")) {
    auto bt = x.weight(c, name + ".bias");
    if (!bt) return bt.status();
    b = *bt;
  }
  auto y = onnx_linear(x, c, *xin, c.g.values[in[0]].shape.size(), *w, b, name);
  if (!y) return y.status();
  x.bind(out, *y);
  return {};
}

}  // namespace

Result<std::string> onnx_linear(OnnxContext& x, const Context&, const std::string& in, size_t rank,
                                const std::string& weight, const std::string& bias, const std::string& name) {
  if (rank == 2) {  // Gemm: Y = X W^T (+ b), W kept (out, in) as torch stores it
    std::vector<std::string> ins{in, weight};
    if (!bias.empty()) ins.push_back(bias);
    return x.node("Gemm", ins, name + ".out", {{"transB", int64_t{1}}});
  }
  // (B, T, .., in) @ W^T (in, out): MatMul broadcasts over the leading dims.
  const std::string wt =
      x.node("Transpose", {weight}, name + ".weight_t", {{"perm", std::vector<int64_t>{1, 0}}});
  if (bias.empty()) return x.node("MatMul", {in, wt}, name + ".out");
  const std::string mm = x.node("MatMul", {in, wt}, name + ".matmul");
  return x.node("Add", {mm, bias}, name + ".out");
}

int emit_linear(Context& c, int x, int64_t out, bool bias, const std::string& name, int w) {
  Graph& g = c.g;
  const std::vector<int64_t> xs = g.values[x].shape;
  const int64_t in = xs.back();
  const int64_t rows = g.values[x].numel() / in;
  int x2 = g.add_view(x, {rows, in}, name + ".in");
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a=sqrt 5)
  const ParamInit winit = c.gpt2 ? ParamInit{ParamInit::normal, 0.02} : ParamInit{ParamInit::uniform, bound};
  const ParamInit binit = c.gpt2 ? ParamInit{ParamInit::constant, 0.0} : ParamInit{ParamInit::uniform, bound};
  if (w < 0) {
    w = c.param(name + ".weight", {out, in}, winit, true);
    c.last_linear_param = static_cast<int>(g.params.size()) - 1;
  }
  std::vector<int> ins{x2, w};
  if (bias) ins.push_back(c.param(name + ".bias", {out}, binit, false));
  std::vector<int64_t> ys(xs.begin(), xs.end() - 1);
  ys.push_back(out);
  // A weight made for this layer (not a tied table), named after it.
  const bool own = g.values[w].name == name + ".weight";
  const bool adapted = own && lora_target(c, name);
  int y = g.add_value(name + (adapted ? ".base" : ".out"), PLINTH_DTYPE_F32, ys, Role::activation);
  int y2 = g.add_view(y, {rows, out}, name + (adapted ? ".base2d" : ".out2d"));
  g.forward.push_back({PLINTH_OP_MATMUL,
                       ins,
                       {y2},
                       plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, 1.f, 0.f},
                       name,
                       matmul_backward});
  if (!adapted) return y;
  // LoRA (Hu et al., 2021): y = x W^T + b + (alpha / r) (x A^T) B^T, with
  // A (r, in) ~ U(-1/sqrt(in), 1/sqrt(in)) and B (out, r) = 0, so the
  // adapted layer starts out equal to the base one.
  const auto& lr = c.p.model.lora;
  const int64_t r = lr.rank;
  const int a = c.param(name + ".lora_A.weight", {r, in}, ParamInit{ParamInit::uniform, bound}, true);
  g.params.back().lora = true;
  const int bm = c.param(name + ".lora_B.weight", {out, r}, ParamInit{ParamInit::constant, 0.0}, true);
  g.params.back().lora = true;
  const int u = g.add_value(name + ".lora_u", PLINTH_DTYPE_F32, {rows, r}, Role::activation);
  g.forward.push_back({PLINTH_OP_MATMUL,
                       {x2, a},
                       {u},
                       plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, 1.f, 0.f},
                       name + ".lora",
                       matmul_backward});
  const int d = g.add_value(name + ".lora_out", PLINTH_DTYPE_F32, ys, Role::activation);
  const int d2 = g.add_view(d, {rows, out}, name + ".lora_out2d");
  g.forward.push_back(
      {PLINTH_OP_MATMUL,
       {u, bm},
       {d2},
       plinth_matmul_params{sizeof(plinth_matmul_params), 0, 1, static_cast<float>(lr.alpha / r), 0.f},
       name + ".lora",
       matmul_backward});
  return emit_add(c, y, d, name);
}

const LayerKind kLinear{"linear", kKeys, 1, 1, finish, build, false, onnx};

}  // namespace plinth::graph
