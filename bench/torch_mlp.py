#!/usr/bin/python3
"""PyTorch side of bench/run.sh: time training steps of an MLP.

Same work as plinth-bench-mlp: one resident batch of random inputs, forward,
cross-entropy, backward, AdamW (lr 1e-3, weight decay 0.01), fp32. Prints one
JSON line. Run it in PyTorch's best configuration (see bench/run.sh).
"""
import argparse
import json
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--hidden", default="512,256")
ap.add_argument("--inputs", type=int, default=784)
ap.add_argument("--classes", type=int, default=10)
ap.add_argument("--steps", type=int, default=300)
ap.add_argument("--warmup", type=int, default=30)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()

torch.set_num_threads(a.threads)
torch.manual_seed(0)
sizes = [a.inputs] + [int(h) for h in a.hidden.split(",") if h] + [a.classes]
layers = []
for i in range(len(sizes) - 1):
    layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
    if i < len(sizes) - 2:
        layers.append(torch.nn.ReLU())
model = torch.nn.Sequential(*layers)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
x = torch.rand(a.batch, a.inputs)
y = torch.randint(0, a.classes, (a.batch,))


def step():
    opt.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()


for _ in range(a.warmup):
    step()
t0 = time.perf_counter()
for _ in range(a.steps):
    step()
dt = (time.perf_counter() - t0) / a.steps
print(json.dumps({"peer": "pytorch " + torch.__version__, "batch": a.batch, "hidden": a.hidden,
                  "ms_per_step": dt * 1e3, "samples_per_s": a.batch / dt}))
