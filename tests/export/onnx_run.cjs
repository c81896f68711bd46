// onnx_run.cjs MODULES MODEL TEST_DATA [--prefix L] — runs an exported model
// in ONNX Runtime (npm's onnxruntime-node, installed under MODULES) on
// TEST_DATA/inputs.safetensors and compares its output with Plinth's own,
// TEST_DATA/outputs.safetensors: max |ort - plinth| <= 1e-4 (fp32). Runs the whole batch, then its first row alone (the symbolic
// batch dim), and with --prefix L the first L positions of every sequence
// (a causal model's outputs there do not depend on the later tokens).
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, model, dir, ...rest] = process.argv.slice(2);
const ort = require(path.join(modules, 'onnxruntime-node'));
const prefix = rest[0] === '--prefix' ? Number(rest[1]) : 0;

// safetensors: u64 header length, JSON header, then the tensors' bytes.
function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = t.data_offsets;
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    const copy = new Uint8Array(bytes).buffer;  // aligned for the typed array
    if (t.dtype === 'F32') out[name] = {type: 'float32', shape: t.shape, data: new Float32Array(copy)};
    else if (t.dtype === 'I32') out[name] = {type: 'int32', shape: t.shape, data: new Int32Array(copy)};
    else throw new Error(`${file}: tensor '${name}' has dtype ${t.dtype}, not F32 or I32`);
  }
  return out;
}

// Rows [0, rows) of a (B, ...) tensor, and positions [0, L) of a (B, T, ...) one.
function firstRows(t, rows) {
  const per = t.data.length / t.shape[0];
  return {type: t.type, shape: [rows, ...t.shape.slice(1)], data: t.data.slice(0, rows * per)};
}
function firstPositions(t, L) {
  const [B, T] = t.shape;
  const inner = t.data.length / (B * T);
  const data = new t.data.constructor(B * L * inner);
  for (let b = 0; b < B; ++b) data.set(t.data.subarray(b * T * inner, (b * T + L) * inner), b * L * inner);
  return {type: t.type, shape: [B, L, ...t.shape.slice(2)], data};
}

function compare(what, got, want) {
  if (JSON.stringify(got.dims) !== JSON.stringify(want.shape))
    throw new Error(`${what}: ONNX Runtime's output is (${got.dims}), Plinth's (${want.shape})`);
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < want.data.length; ++i) {
    const d = Math.abs(got.data[i] - want.data[i]);
    if (!(d <= maxDiff)) maxDiff = d;  // NaN propagates
    maxRef = Math.max(maxRef, Math.abs(want.data[i]));
  }
  const tol = 1e-4;
  console.log(`${what}: shape (${want.shape}), max |plinth| = ${maxRef.toFixed(3)}, ` +
              `max |ort - plinth| = ${maxDiff.toExponential(3)}, tolerance ${tol}`);
  if (!(maxDiff <= tol)) throw new Error(`${what}: ONNX Runtime differs from Plinth by ${maxDiff}`);
}

async function main() {
  const input = readSafetensors(path.join(dir, 'inputs.safetensors')).input;
  const want = readSafetensors(path.join(dir, 'outputs.safetensors')).logits;
  if (!input || !want) throw new Error(`${dir}: expected tensors 'input' and 'logits'`);
  const session = await ort.InferenceSession.create(model);
  const run = async (x) => (await session.run({input: new ort.Tensor(x.type, x.data, x.shape)})).logits;
  compare(`batch of ${input.shape[0]}`, await run(input), want);
  compare('batch of 1', await run(firstRows(input, 1)), firstRows(want, 1));
  if (prefix > 0) compare(`first ${prefix} positions`, await run(firstPositions(input, prefix)), firstPositions(want, prefix));
}

main().catch((e) => {
  console.error(`onnx_run: ${e.message}`);
  process.exit(1);
});
