// embedding.cpp — the `embedding` layer (nn.Embedding): i32 token ids
// (B, ..) < V become rows of a table (V, dim): out (B, .., dim) = table[ids].
// Its backward scatters dout into the table's gradient by id (summed with a
// tied output head's contribution).
//
// Notation: V vocabulary (table rows), dim a token vector's width.
#include "graph/layers/layer.hpp"

#include "exec/backend.hpp"

namespace plinth::graph {
namespace {

constexpr config::LayerKey kKeys[] = {
    {"dim",
     config::KeyType::integer,
     config::LayerKey::required,
     {},
     "integer > 0",
     "the width of a token's vector",
     "width of a token's vector: i32 ids `(B, ..)` become `(B, .., dim)`",
     [](const LayerSpec& l) { return positive(l, "dim"); }},
    {"vocab",
     config::KeyType::integer,
     config::LayerKey::optional,
     {},
     "integer > 0",
     "the target field's number of classes",
     "rows of the table (ids must be below it)",
     [](const LayerSpec& l) -> std::string {
       return l.integer("vocab") >= 0 ? "" : "vocab must be > 0, got " + num(l.integer("vocab"));
     }},
};

// dtable += scatter of dout by id; zeroed first unless another use of the
// table (a tied output layer) or accumulation already wrote it.
Status embedding_backward(Autodiff& ad, const Node& n) {
  if (!ad.needs(n.inputs[1])) return {};  // a frozen table
  const int gr = ad.summed_into(n.inputs[1], n.layer);
  ad.bw.push_back({PLINTH_OP_EMBEDDING_BACKWARD,
                   {ad.grad_of(n.outputs[0]), n.inputs[0]},
                   {gr},
                   std::monostate{},
                   n.layer});
  return {};
}

Status build(Context& c, const LayerSpec& l, const std::string& name, std::span<const int> in, int& out) {
  Graph& g = c.g;
  const int h = in[0];
  const std::vector<int64_t> hs = g.values[h].shape;
  if (g.values[h].dtype != PLINTH_DTYPE_I32)
    return c.err(l, "expects i32 token ids, got " + std::string(exec::dtype_name(g.values[h].dtype)) + " " +
                        shape_str(hs) + " (check [data] input_field)");
  const int64_t dim = l.integer("dim");
  int64_t V = l.integer("vocab") > 0 ? l.integer("vocab") : c.data.num_classes;
  if (V <= 0) return c.err(l, "vocab: the data does not say how many tokens it has; set 'vocab'");
  if (c.data.num_classes > V)
    return c.err(l, "vocab " + std::to_string(V) + " is smaller than the data's " +
                        std::to_string(c.data.num_classes) + " token ids");
  int table = c.param(name + ".weight", {V, dim}, {ParamInit::normal, c.gpt2 ? 0.02 : 1.0}, true);
  c.tables[name] = table;
  std::vector<int64_t> ys = hs;
  ys.push_back(dim);
  out = g.add_value(name + ".out", PLINTH_DTYPE_F32, ys, Role::activation);
  g.forward.push_back({PLINTH_OP_EMBEDDING, {h, table}, {out}, std::monostate{}, name, embedding_backward});
  return {};
}

// ONNX: Gather(table, ids, axis = 0), the i32 ids as indices.
Status onnx(OnnxContext& x, Context& c, const LayerSpec&, const std::string& name, std::span<const int> in,
            int out) {
  auto ids = x.tensor(in[0]);
  if (!ids) return ids.status();
  auto table = x.weight(c, name + ".weight");
  if (!table) return table.status();
  x.bind(out, x.node("Gather", {*table, *ids}, name + ".out", {{"axis", int64_t{0}}}));
  return {};
}

}  // namespace

const LayerKind kEmbedding{"embedding", kKeys, 1, 1, nullptr, build, true, onnx};

}  // namespace plinth::graph
