# onnx_check.py MODEL [KEY|KEY=VALUE...] — ONNX's own checker (python3-onnx)
# on an exported model, full_check (strict shape inference), plus what the
# export promises: opset 17, a symbolic "batch" first dim on the input and
# output, and the metadata keys given (besides plinth_version and pipeline),
# with exactly VALUE where one is given.
import sys

import onnx

model = onnx.load(sys.argv[1])
onnx.checker.check_model(model, full_check=True)
opsets = {o.domain: o.version for o in model.opset_import}
assert opsets == {"": 17}, f"opset imports {opsets}, expected only the default domain at 17"
props = {p.key: p.value for p in model.metadata_props}
for arg in ["plinth_version", "pipeline"] + sys.argv[2:]:
    key, _, value = arg.partition("=")
    assert key in props, f"metadata_props has no '{key}' (has {sorted(props)})"
    assert not value or props[key] == value, f"metadata '{key}' is {props[key]!r}, expected {value!r}"
for vi in list(model.graph.input) + list(model.graph.output):
    dim0 = vi.type.tensor_type.shape.dim[0]
    assert dim0.dim_param == "batch", f"{vi.name}: first dim is {dim0}, expected the symbolic 'batch'"
ops = sorted({n.op_type for n in model.graph.node})
print(f"{sys.argv[1]}: checker passed; {len(model.graph.node)} nodes ({', '.join(ops)}), "
      f"{len(model.graph.initializer)} initializers, metadata {sorted(props)}")
