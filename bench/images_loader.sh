#!/usr/bin/env bash
# images_loader.sh — images per second of JPEG decode + random resized crop +
# flip + normalise: Plinth's `images` source on one thread
# (plinth-bench-images) against torchvision's ImageFolder + transforms +
# DataLoader(num_workers=1), on the same folders of JPEGs written from
# Fashion-MNIST: its 28x28 images as they are (output 28x28), and 256x256
# upscales of them (output 224x224, so decode and resize cost as on
# ImageNet-size files). Alternates the two (A B A B) ROUNDS times and prints
# every run and the medians. Not part of the test run.
# Needs: a Release build in ./build (PLINTH_BUILD_DIR), /usr/bin/python3 with
# python3-torchvision and python3-pil, dataset-fashion-mnist.
#   ROUNDS=3 N_SMALL=10000 N_LARGE=2000 bash bench/images_loader.sh
set -euo pipefail
cd "$(dirname "$0")/.."
build="${PLINTH_BUILD_DIR:-build}"
rounds="${ROUNDS:-3}"
work="${IMAGES_BENCH_DIR:-${TMPDIR:-/tmp}/plinth-images-bench}"
n_small="${N_SMALL:-10000}"
n_large="${N_LARGE:-2000}"
mnist=/usr/share/datasets/fashion-mnist/train
[ -e "$mnist-images-idx3-ubyte.gz" ] || { echo "images_loader.sh: install dataset-fashion-mnist" >&2; exit 2; }
[ -x "$build/bench/plinth-bench-images" ] || { echo "images_loader.sh: build plinth-bench-images in $build" >&2; exit 2; }

# The two folders: root/<class>/<index>.jpg, quality 90 (written once).
/usr/bin/python3 - "$work" "$mnist" "$n_small" "$n_large" <<'PY'
import gzip, os, sys
from PIL import Image
work, mnist, n_small, n_large = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
stamp = os.path.join(work, f"done-{n_small}-{n_large}")
if os.path.exists(stamp):
    sys.exit(0)
images = gzip.open(mnist + "-images-idx3-ubyte.gz").read()[16:]
labels = gzip.open(mnist + "-labels-idx1-ubyte.gz").read()[8:]
for name, n, side in (("small", n_small, 28), ("large", n_large, 256)):
    for i in range(n):
        d = os.path.join(work, name, f"c{labels[i]}")
        os.makedirs(d, exist_ok=True)
        img = Image.frombytes("L", (28, 28), images[i * 784:(i + 1) * 784]).convert("RGB")
        if side != 28:
            img = img.resize((side, side), Image.BICUBIC)
        img.save(os.path.join(d, f"{i:05d}.jpg"), quality=90)
open(stamp, "w").close()
PY

echo "load: $(uptime)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for set in "small 28" "large 224"; do
  read -r name size <<< "$set"
  for r in $(seq "$rounds"); do
    taskset -c 0 "$build/bench/plinth-bench-images" "$work/$name" "$size" 1 64
    # DataLoader's one worker process and the main process: pinned to two cores.
    taskset -c 0,1 /usr/bin/python3 bench/torch_images_loader.py "$work/$name" "$size" 1 64
  done
done | tee "$work/results.jsonl"
/usr/bin/python3 - "$work/results.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for size in sorted({r["size"] for r in rows}):
    med = {impl: statistics.median(r["images_per_s"] for r in rows if r["size"] == size and r["impl"] == impl)
           for impl in ("plinth", "torchvision")}
    print(f"output {size}x{size}: plinth {med['plinth']:.0f} img/s (1 core), torchvision {med['torchvision']:.0f} img/s "
          f"(1 worker + main process), ratio {med['plinth'] / med['torchvision']:.2f}x")
PY
