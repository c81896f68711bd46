#!/usr/bin/python3
"""PyTorch side of bench/run.sh's time-to-95%: the MNIST example in PyTorch.

The same job as `plinth train examples/mnist/pipeline.toml`: the example's IDX
files (8,000 training and 2,000 held-out digits, pixels / 255), the MLP
784-512-256-10 with ReLU, cross-entropy, AdamW (lr 1e-3, weight decay 0.01),
a cosine schedule over all 15 epochs stepped once per batch (as Plinth's:
torch CosineAnnealingLR's closed form, step 1 at the base rate), batch 128
with the last partial batch kept, shuffled every epoch, and an evaluation
on the held-out digits after every epoch. With --stop-at-target it stops at
the first evaluation at or above the target, as Plinth's
`[train] stop_at_target = true` does.

The clock starts before `import torch`: the interpreter's start-up and the
import are part of PyTorch's time-to-model, as plugin loading is part of
Plinth's. Prints one JSON line. Run it in PyTorch's best configuration (see
bench/run.sh).
"""
import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "examples", "mnist", "data"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", type=int, default=15)
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--target", type=float, default=0.95)
ap.add_argument("--stop-at-target", action="store_true")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)


def idx(name):
    with gzip.open(os.path.join(a.data, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


x_train = torch.from_numpy(idx("train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0)
y_train = torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
x_eval = torch.from_numpy(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0)
y_eval = torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256), torch.nn.ReLU(),
                            torch.nn.Linear(256, 10))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
n = x_train.shape[0]
per_epoch = (n + a.batch - 1) // a.batch
total = per_epoch * a.epochs
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1.0 + math.cos(math.pi * min(t, total) / total)))

t_train = time.perf_counter()
time_to_target = None
accuracy = None
epochs_run = 0
for epoch in range(a.epochs):
    model.train()
    order = torch.randperm(n)
    for i in range(per_epoch):
        rows = order[i * a.batch:(i + 1) * a.batch]
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x_train[rows]), y_train[rows])
        loss.backward()
        opt.step()
        sched.step()
    epochs_run = epoch + 1
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_eval).argmax(1) == y_eval).float().mean().item()
    if time_to_target is None and accuracy >= a.target:
        time_to_target = time.perf_counter() - T0
        if a.stop_at_target:
            break

print(json.dumps({"peer": "pytorch " + torch.__version__, "time_to_target_s": time_to_target,
                  "startup_s": t_train - T0, "epochs": epochs_run, "eval_accuracy": accuracy,
                  "wall_s": time.perf_counter() - T0}))
