// onnx.cpp — OnnxContext: the ONNX ModelProto (Debian's libonnx-dev
// onnx_proto messages) that the layers' onnx functions append nodes and
// initializers to, and onnx_layer, the dispatch graph/build.cpp calls after
// each layer. Not here: any layer's ONNX form (graph/layers/), reading a run
// (export/onnx_export.cpp).
#include "export/onnx.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <set>

#include "graph/layers/layer.hpp"

namespace plinth::graph {

struct OnnxContext::Impl {
  const std::vector<NamedTensor>& weights;
  std::string from;
  ::onnx::GraphProto graph;
  std::map<int, std::string> tensors;  // Plinth value -> ONNX tensor
  std::set<std::string> names;         // every tensor name used so far
  std::set<std::string> written;       // initializers already added

  std::string unique(std::string name) {
    if (names.insert(name).second) return name;
    for (int i = 1;; ++i) {
      std::string n = name + "_" + std::to_string(i);
      if (names.insert(n).second) return n;
    }
  }
};

OnnxContext::OnnxContext(const std::vector<NamedTensor>& weights, std::string from)
    : impl_(std::make_unique<Impl>(Impl{weights, std::move(from), {}, {}, {}, {}})) {}
OnnxContext::~OnnxContext() = default;

Result<std::string> OnnxContext::tensor(int v) const {
  auto it = impl_->tensors.find(v);
  if (it == impl_->tensors.end())
    return error(errc::internal, "onnx export: value " + std::to_string(v) + " has no ONNX tensor");
  return it->second;
}

void OnnxContext::bind(int v, std::string tensor) {
  impl_->names.insert(tensor);
  impl_->tensors[v] = std::move(tensor);
}

std::string OnnxContext::node(std::string_view op, std::vector<std::string> inputs, std::string out,
                              std::vector<OnnxAttr> attrs) {
  out = impl_->unique(std::move(out));
  ::onnx::NodeProto* n = impl_->graph.add_node();
  n->set_op_type(std::string(op));
  n->set_name(out);
  for (auto& i : inputs) n->add_input(i);
  n->add_output(out);
  for (const OnnxAttr& a : attrs) {
    ::onnx::AttributeProto* p = n->add_attribute();
    p->set_name(a.name);
    if (const int64_t* i = std::get_if<int64_t>(&a.value)) {
      p->set_type(::onnx::AttributeProto::INT);
      p->set_i(*i);
    } else if (const float* f = std::get_if<float>(&a.value)) {
      p->set_type(::onnx::AttributeProto::FLOAT);
      p->set_f(*f);
    } else if (const auto* is = std::get_if<std::vector<int64_t>>(&a.value)) {
      p->set_type(::onnx::AttributeProto::INTS);
      for (int64_t v : *is) p->add_ints(v);
    } else {
      p->set_type(::onnx::AttributeProto::STRING);
      p->set_s(std::get<std::string>(a.value));
    }
  }
  return out;
}

Result<std::string> OnnxContext::weight(const Context& c, const std::string& name) {
  if (impl_->written.count(name)) return name;
  const Value* want = nullptr;
  for (const Parameter& prm : c.g.params)
    if (c.g.values[prm.value].name == name) want = &c.g.values[prm.value];
  if (!want) return error(errc::internal, "onnx export: the model has no parameter '" + name + "'");
  const NamedTensor* t = nullptr;
  for (const auto& w : impl_->weights)
    if (w.name == name) t = &w;
  if (!t) return error(errc::bad_data, impl_->from + ": no tensor '" + name + "' (the model's parameter)");
  if (t->dtype != PLINTH_DTYPE_F32 || t->shape != want->shape)
    return error(errc::bad_data, impl_->from + ": tensor '" + name + "' is " +
                                     (t->dtype == PLINTH_DTYPE_F32 ? "f32 " : "not f32, ") +
                                     shape_str(t->shape) + ", but the model's parameter is f32 " +
                                     shape_str(want->shape));
  ::onnx::TensorProto* p = impl_->graph.add_initializer();
  p->set_name(name);
  p->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : t->shape) p->add_dims(d);
  p->set_raw_data(t->data.data(), t->data.size());  // little-endian f32, as safetensors
  impl_->written.insert(name);
  impl_->names.insert(name);
  return name;
}

std::string OnnxContext::ints(const std::string& name, std::vector<int64_t> values) {
  const std::string n = impl_->unique(name);
  ::onnx::TensorProto* p = impl_->graph.add_initializer();
  p->set_name(n);
  p->set_data_type(::onnx::TensorProto::INT64);
  p->add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) p->add_int64_data(v);
  return n;
}

std::string OnnxContext::floats(const std::string& name, std::vector<float> values,
                                std::vector<int64_t> shape) {
  const std::string n = impl_->unique(name);
  ::onnx::TensorProto* p = impl_->graph.add_initializer();
  p->set_name(n);
  p->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : shape) p->add_dims(d);
  for (float v : values) p->add_float_data(v);
  return n;
}

namespace {

// A tensor's type: dtype and dims, "batch" first (and "sequence" second when given).
void set_type(::onnx::ValueInfoProto* vi, const std::string& name, bool i32, const std::vector<int64_t>& dims,
              bool sequence) {
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(i32 ? ::onnx::TensorProto::INT32 : ::onnx::TensorProto::FLOAT);
  auto* sh = tt->mutable_shape();
  sh->add_dim()->set_dim_param("batch");
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i == 0 && sequence)
      sh->add_dim()->set_dim_param("sequence");
    else
      sh->add_dim()->set_dim_value(dims[i]);
  }
}

}  // namespace

Result<std::string> OnnxContext::model(
    const std::string& graph_name, const std::string& input_name, bool input_i32,
    const std::vector<int64_t>& input_shape, int output, const std::vector<int64_t>& output_shape,
    const std::string& output_name, const std::vector<std::pair<std::string, std::string>>& metadata) const {
  auto out = tensor(output);
  if (!out) return out.status();
  ::onnx::ModelProto m;
  m.set_ir_version(8);  // the IR version of opset 17 (ONNX 1.12)
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(kOnnxOpset);
  m.set_producer_name("plinth");
  m.set_producer_version(PLINTH_VERSION);
  for (const auto& [k, v] : metadata) {
    auto* e = m.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
  ::onnx::GraphProto* g = m.mutable_graph();
  *g = impl_->graph;
  g->set_name(graph_name);
  // The model's output under its public name.
  ::onnx::NodeProto* id = g->add_node();
  id->set_op_type("Identity");
  id->set_name(output_name);
  id->add_input(*out);
  id->add_output(output_name);
  // The sequence dim is symbolic at the output too when the output keeps it (B, T, ..).
  const bool seq = sequence_dynamic && output_shape.size() >= 2 && !input_shape.empty() &&
                   output_shape[1] == input_shape[0];
  set_type(g->add_input(), input_name, input_i32, input_shape, sequence_dynamic);
  set_type(g->add_output(), output_name, false, {output_shape.begin() + 1, output_shape.end()}, seq);
  std::string bytes;
  if (m.ByteSizeLong() > size_t{0x7fffffff})
    return error(errc::invalid_argument,
                 "the ONNX model needs more than 2 GiB, protobuf's limit (external data files are not "
                 "written)");
  if (!m.SerializeToString(&bytes))
    return error(errc::internal, "onnx export: protobuf serialisation failed");
  return bytes;
}

size_t OnnxContext::node_count() const { return static_cast<size_t>(impl_->graph.node_size()) + 1; }
size_t OnnxContext::initializer_count() const { return static_cast<size_t>(impl_->graph.initializer_size()); }

Status onnx_layer(OnnxContext& x, Context& c, const LayerKind& kind, const config::LayerSpec& l,
                  const std::string& name, std::span<const int> in, int out) {
  if (!kind.onnx)
    return c.err(l,
                 "no ONNX form because " + (kind.no_onnx.empty() ? std::string("its type has no ONNX export")
                                                                 : std::string(kind.no_onnx)));
  PLINTH_TRY(kind.onnx(x, c, l, name, in, out));
  if (!x.tensor(out)) return error(errc::internal, "onnx export: layer '" + name + "' left no output tensor");
  return {};
}

}  // namespace plinth::graph
