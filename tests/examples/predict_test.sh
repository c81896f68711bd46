#!/usr/bin/env bash
# predict_test.sh PLINTH SOURCE_DIR MANIFESTS TEST_DIR — `plinth predict`:
#  - the MNIST MLP trained for 40 steps (predict_mnist.toml), then predicted
#    on the 2,000 held-out digits: 2,000 rows whose count of correct classes
#    is the run's eval_accuracy (summary.json) exactly; JSONL and CSV both
#    parse and agree; probabilities sum to 1 and their argmax is the class;
#    logits match a forward pass of the MLP computed here in double
#    precision from model.safetensors and the IDX bytes; a batch size that
#    leaves a partial last batch gives the same logits; the run folder is
#    not modified;
#  - a run on a folder of class folders (predict_images.toml) predicts a
#    folder (its accuracy is its eval_accuracy too) and a folder holding only
#    some of the classes (labels mapped by class name);
#  - a linear regression on a CSV (no [data.eval]) writes outputs equal to
#    w . x + b computed here from model.safetensors, and its mse;
#  - bad input exits 2 with one message naming the file: a missing run, a
#    run without weights, an input of the wrong shape, a missing input, an
#    idx input without labels, an output path that is a folder, a model
#    over token ids (pointed at `plinth sample`).
# Skips (77) when the MNIST data has not been prepared (examples/mnist/prepare_data.sh).
set -u
plinth=$1 src=$2 manifests=$3 tests=$4
if [ ! -f "$src/examples/mnist/data/t10k-labels-idx1-ubyte.gz" ]; then
  echo "SKIP: MNIST data not prepared; run examples/mnist/prepare_data.sh"; exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { "$plinth" --no-system-plugins --no-install-plugins --plugin-path "$manifests" "$@"; }
fail=0
data="$src/examples/mnist/data"

# ---------------------------------------------------------------------------
# MNIST: train briefly, then predict the 2,000 held-out digits.
run train --no-progress --out-dir "$work/out" "$tests/predict_mnist.toml" > "$work/train.log" 2>&1 ||
  { echo "training failed"; cat "$work/train.log"; exit 1; }
r="$work/out/predict-mnist"
snapshot() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum; find . | sort); }
snapshot "$r" > "$work/before.txt"

images="$data/t10k-images-idx3-ubyte.gz"
run predict "$r" --input "$images" --output "$work/pred.jsonl" --what probabilities --no-progress \
  2> "$work/predict.log" || { echo "predict (jsonl) failed"; cat "$work/predict.log"; fail=1; }
cat "$work/predict.log"
run predict "$r" --input "$images" --output "$work/pred.csv" --what logits --no-progress 2> "$work/csv.log" ||
  { echo "predict (csv) failed"; cat "$work/csv.log"; fail=1; }
# 2,000 = 15 batches of 133 and one of 5; to standard output, format named.
run predict "$r" --input "$images" --format csv --what logits --batch 133 --threads 1 --no-progress \
  > "$work/pred133.csv" 2> "$work/b133.log" || { echo "predict --batch 133 failed"; cat "$work/b133.log"; fail=1; }
grep -q "labels: .*t10k-labels-idx1-ubyte.gz" "$work/predict.log" ||
  { echo "the labels beside the images were not used"; fail=1; }

python3 - "$r" "$work" "$data" <<'PY' || fail=1
import csv, gzip, json, math, re, struct, sys
run, work, data = sys.argv[1:]
bad = []
def check(ok, what):
    if not ok: bad.append(what)

labels = gzip.open(f"{data}/t10k-labels-idx1-ubyte.gz").read()[8:]
raw = gzip.open(f"{data}/t10k-images-idx3-ubyte.gz").read()
n, rows_, cols = struct.unpack(">III", raw[4:16])
pixels = raw[16:]

rows = [json.loads(line) for line in open(f"{work}/pred.jsonl")]
check(len(rows) == 2000, f"{len(rows)} JSONL rows, expected 2000")
check([r["index"] for r in rows] == list(range(len(rows))), "JSONL indices are not 0..n-1 in order")
correct = 0
for r in rows:
    p = r["probabilities"]
    check(len(p) == 10, f"row {r['index']}: {len(p)} probabilities")
    check(abs(sum(p) - 1) < 1e-6, f"row {r['index']}: probabilities sum to {sum(p)}")
    check(p[r["class"]] == max(p), f"row {r['index']}: class {r['class']} is not the argmax")
    check(r["label"] == labels[r["index"]], f"row {r['index']}: label {r['label']} != IDX {labels[r['index']]}")
    correct += r["class"] == r["label"]
summary = json.load(open(f"{run}/summary.json"))
expect = round(summary["eval_accuracy"] * 2000)
print(f"predict: {correct}/2000 correct; the run's eval_accuracy {summary['eval_accuracy']} = {expect}/2000")
check(correct == expect, f"{correct} correct, the run's eval_accuracy says {expect}")
check(correct > 1400, f"only {correct} correct: the run did not learn")
log = open(f"{work}/predict.log").read()
check(f"({correct}/2000)" in log, "the summary line does not give the count of correct predictions")

def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
c = read_csv(f"{work}/pred.csv")
c133 = read_csv(f"{work}/pred133.csv")
check(len(c) == 2000 and len(c133) == 2000, f"CSV rows: {len(c)} and {len(c133)}")
check(list(c[0].keys()) == ["index", "class", "label"] + [f"logit_{k}" for k in range(10)],
      f"CSV header {list(c[0].keys())}")
worst = 0.0
for a, b, j in zip(c, c133, rows):
    la = [float(a[f"logit_{k}"]) for k in range(10)]
    lb = [float(b[f"logit_{k}"]) for k in range(10)]
    check(int(a["class"]) == j["class"] and int(a["label"]) == j["label"], f"row {a['index']}: CSV and JSONL differ")
    m = max(la)
    e = [math.exp(x - m) for x in la]
    s = sum(e)
    for k in range(10):
        check(abs(e[k] / s - j["probabilities"][k]) < 1e-6, f"row {a['index']}: softmax(logits) != probabilities")
    worst = max(worst, max(abs(x - y) for x, y in zip(la, lb)))
print(f"--batch 133 vs the run's batch: logits differ by at most {worst:.3g}")
check(worst < 1e-4, f"--batch 133 changes the logits by {worst}")

# The MLP in double precision from model.safetensors: chain the 2-D weights
# by shape (784 -> 512 -> 256 -> 10), each with its bias.
blob = open(f"{run}/model.safetensors", "rb").read()
hlen = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + hlen])
base = 8 + hlen
def tensor(name):
    t = header[name]
    assert t["dtype"] == "F32", name
    a, b = t["data_offsets"]
    return struct.unpack(f"<{(b - a) // 4}f", blob[base + a:base + b]), t["shape"]
weights = {k: v for k, v in header.items() if k != "__metadata__" and len(v["shape"]) == 2}
layers, width = [], rows_ * cols
while width != 10:
    name = next(k for k, v in weights.items() if v["shape"][1] == width)
    w, shape = tensor(name)
    bias, _ = tensor(name[: -len("weight")] + "bias")
    layers.append((w, bias, shape))
    width = shape[0]
check(len(layers) == 3, f"{len(layers)} linear layers in model.safetensors")
worst = 0.0
for i in (0, 1, 7, 1000, 1998, 1999):
    x = [pixels[i * 784 + k] / 255.0 for k in range(784)]
    for li, (w, bias, (o, inp)) in enumerate(layers):
        y = [bias[r] + sum(w[r * inp + k] * x[k] for k in range(inp)) for r in range(o)]
        x = [max(v, 0.0) for v in y] if li < len(layers) - 1 else y
    got = [float(c[i][f"logit_{k}"]) for k in range(10)]
    for a, b in zip(got, x):
        worst = max(worst, abs(a - b) / max(1.0, abs(b)))
print(f"logits vs the double-precision MLP: relative difference at most {worst:.3g}")
check(worst < 1e-4, f"logits differ from the double-precision forward by {worst}")
for b in bad[:20]:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

snapshot "$r" > "$work/after.txt"
cmp -s "$work/before.txt" "$work/after.txt" || { echo "predict modified the run folder:"; diff "$work/before.txt" "$work/after.txt"; fail=1; }

# ---------------------------------------------------------------------------
# Bad input: exit 2 and one message naming the file.
expect_error() {  # expect_error "message part" args...
  local want=$1; shift
  local out rc
  out=$(run predict "$@" --no-progress 2>&1 >/dev/null); rc=$?
  [ "$rc" -eq 2 ] || { echo "expected exit 2 for 'predict $*', got $rc: $out"; fail=1; }
  grep -qF -- "$want" <<< "$out" || { echo "expected '$want' in: $out"; fail=1; }
  [ "$(grep -c 'error' <<< "$out")" -eq 1 ] || { echo "expected one error line: $out"; fail=1; }
}
expect_error "$work/out/nope: no such run folder" "$work/out/nope" --input "$images"
cp -r "$r" "$work/noweights" && rm -rf "$work/noweights/model.safetensors" "$work/noweights/checkpoints"
expect_error "$work/noweights: no model.safetensors and no readable checkpoint" "$work/noweights" --input "$images"
expect_error "$work/missing.gz: no such file or folder" "$r" --input "$work/missing.gz"
# 27x27 images (and their labels beside them): the wrong shape for the model.
python3 - "$work" <<'PY'
import gzip, struct, sys
w = sys.argv[1]
gzip.open(f"{w}/small-images-idx3-ubyte.gz", "wb").write(struct.pack(">IIII", 0x803, 3, 27, 27) + bytes(3 * 27 * 27))
gzip.open(f"{w}/small-labels-idx1-ubyte.gz", "wb").write(struct.pack(">II", 0x801, 3) + bytes([1, 2, 3]))
PY
expect_error "$work/small-images-idx3-ubyte.gz: its samples are f32 (27, 27) (field 'image'), but the run's model reads f32 (28, 28)" \
  "$r" --input "$work/small-images-idx3-ubyte.gz"
cp "$images" "$work/digits.gz"
expect_error "$work/digits.gz: the run's idx source reads images with their labels" "$r" --input "$work/digits.gz"
run predict "$r" --input "$work/digits.gz" --labels "$data/t10k-labels-idx1-ubyte.gz" --no-progress \
  > "$work/labels.jsonl" 2>/dev/null || { echo "--labels was not read"; fail=1; }
[ "$(wc -l < "$work/labels.jsonl")" -eq 2000 ] || { echo "--labels: expected 2000 rows"; fail=1; }
expect_error "$work: is a folder, not a regular file" "$r" --input "$images" --output "$work"
# A model over token ids (its model.json says so): refused, pointing at `plinth sample`.
cp -r "$r" "$work/tokens"
printf '{"input": {"dtype": "i32", "shape": [16]}, "target": {"dtype": "i32", "shape": [16]}, "num_classes": 10, "outputs": 10}\n' \
  > "$work/tokens/model.json"
expect_error "the model reads token sequences (i32 (16,)); \`plinth predict\` reads images and features. Generate text with \`plinth sample" \
  "$work/tokens" --input "$images"

# ---------------------------------------------------------------------------
# A folder of class folders: 3 classes of 8x8 grey images (dark, mid, light).
mkdir -p "$work/img"
cp "$tests/predict_images.toml" "$work/img/"
python3 - "$work/img/images" "$work/subset" <<'PY'
import os, random, struct, sys, zlib
def png(path, px, w=8, h=8):
    raw = b"".join(b"\0" + bytes(px[y * w:(y + 1) * w]) for y in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
rng = random.Random(5)
for root, classes, count in ((sys.argv[1], ("dark", "light", "mid"), 16), (sys.argv[2], ("light",), 5)):
    for c in classes:
        os.makedirs(f"{root}/{c}")
        base = {"dark": 30, "mid": 120, "light": 210}[c]
        for i in range(count):
            png(f"{root}/{c}/{i:02d}.png", [min(255, max(0, base + rng.randint(-40, 40))) for _ in range(64)])
PY
run train --no-progress --out-dir "$work/out" "$work/img/predict_images.toml" > "$work/train_img.log" 2>&1 ||
  { echo "training on images failed"; cat "$work/train_img.log"; exit 1; }
ri="$work/out/predict-images"
run predict "$ri" --input "$work/img/images" --output "$work/img.csv" --what probabilities --no-progress \
  2> "$work/img.log" || { echo "predict on a folder failed"; cat "$work/img.log"; fail=1; }
run predict "$ri" --input "$work/subset" --no-progress > "$work/subset.jsonl" 2> "$work/subset.log" ||
  { echo "predict on a folder of some classes failed"; cat "$work/subset.log"; fail=1; }
python3 - "$ri" "$work" <<'PY' || fail=1
import csv, json, sys
run, work = sys.argv[1:]
bad = []
rows = list(csv.DictReader(open(f"{work}/img.csv", newline="")))
names = json.load(open(f"{run}/classes.json"))
if names != ["dark", "light", "mid"]: bad.append(f"classes.json: {names}")
if len(rows) != 48: bad.append(f"{len(rows)} rows for 48 images")
correct = sum(r["class"] == r["label"] for r in rows)
expect = round(json.load(open(f"{run}/summary.json"))["eval_accuracy"] * 48)
print(f"images folder: {correct}/48 correct, the run's eval_accuracy gives {expect}/48")
if correct != expect: bad.append(f"{correct} correct, eval_accuracy says {expect}")
if correct < 40: bad.append(f"only {correct}/48 correct: the run did not learn the three brightness classes")
for r in rows:
    if r["class_name"] != names[int(r["class"])]: bad.append(f"row {r['index']}: class_name {r['class_name']}")
    if abs(sum(float(r[f"p_{k}"]) for k in range(3)) - 1) > 1e-6: bad.append(f"row {r['index']}: sum of p")
sub = [json.loads(l) for l in open(f"{work}/subset.jsonl")]
if len(sub) != 5 or any(r["label"] != 1 for r in sub):
    bad.append(f"the folder of 'light' images: labels {[r['label'] for r in sub]}, expected 1 (the run's 'light')")
for b in bad[:20]:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

# ---------------------------------------------------------------------------
# Regression on a CSV (no [data.eval]: the [data.train] settings read the
# input): the outputs match w . x + b from model.safetensors in double
# precision; a CSV with a third feature is the wrong shape.
mkdir -p "$work/csv"
cp "$tests/predict_csv.toml" "$work/csv/"
python3 - "$work/csv" <<'PY'
import random, sys
d = sys.argv[1]
rng = random.Random(9)
for name, n, extra in (("train.csv", 64, False), ("new.csv", 10, False), ("wide.csv", 4, True)):
    with open(f"{d}/{name}", "w") as f:
        f.write("x1,x2," + ("x3," if extra else "") + "y\n")
        for _ in range(n):
            a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
            f.write(f"{a:.6f},{b:.6f}," + ("0," if extra else "") + f"{2 * a - b + 0.5:.6f}\n")
PY
run train --no-progress --out-dir "$work/out" "$work/csv/predict_csv.toml" > "$work/train_csv.log" 2>&1 ||
  { echo "training on a CSV failed"; cat "$work/train_csv.log"; exit 1; }
rc="$work/out/predict-csv"
run predict "$rc" --input "$work/csv/new.csv" --output "$work/reg.jsonl" --no-progress 2> "$work/reg.log" ||
  { echo "predict on a CSV failed"; cat "$work/reg.log"; fail=1; }
grep -q "mse " "$work/reg.log" || { echo "no mse in the summary: $(cat "$work/reg.log")"; fail=1; }
python3 - "$rc" "$work" <<'PY' || fail=1
import json, struct, sys
run, work = sys.argv[1:]
blob = open(f"{run}/model.safetensors", "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
h = json.loads(blob[8:8 + n])
def t(suffix):
    name = next(k for k in h if k.endswith(suffix))
    a, b = h[name]["data_offsets"]
    return struct.unpack(f"<{(b - a) // 4}f", blob[8 + n + a:8 + n + b])
w, bias = t(".weight"), t(".bias")
rows = [json.loads(l) for l in open(f"{work}/reg.jsonl")]
lines = open(f"{work}/csv/new.csv").read().split("\n")[1:11]
bad = len(rows) != 10
worst = 0.0
for r, line in zip(rows, lines):
    x1, x2, y = map(float, line.split(","))
    ref = w[0] * x1 + w[1] * x2 + bias[0]
    worst = max(worst, abs(r["output"] - ref))
    bad |= abs(r["label"] - y) > 1e-6
print(f"regression: {len(rows)} rows, outputs vs w.x + b in double: at most {worst:.3g} apart")
sys.exit(1 if bad or worst > 1e-5 else 0)
PY
expect_error "$work/csv/wide.csv: its samples are f32 (3,) (field 'features'), but the run's model reads f32 (2,)" \
  "$rc" --input "$work/csv/wide.csv"
exit $fail
