#!/usr/bin/python3
"""The same training as pipeline.toml in PyTorch, for scale.

conv 32 5x5 pad 2 / relu / maxpool 2 / conv 64 5x5 pad 2 / relu / maxpool 2 /
flatten / linear 128 / relu / linear 10 on the MNIST example's 8,000 training
digits (pixels / 255), AdamW (lr 1e-3, weight decay 0.01), cosine schedule
over every step, batch 64, shuffled each epoch; prints the accuracy on the
2,000 held-out digits after each epoch and the wall time. Debian's
python3-torch:  /usr/bin/python3 examples/mnist-cnn/torch_cnn.py [--threads 2]
"""
import argparse
import gzip
import os
import struct
import time

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--epochs", type=int, default=8)
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mnist", "data")


def idx(name):
    with gzip.open(os.path.join(data, name)) as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


xtr = idx("train-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
ytr = idx("train-labels-idx1-ubyte.gz").long()
xte = idx("t10k-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
yte = idx("t10k-labels-idx1-ubyte.gz").long()

nn = torch.nn
model = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
B = 64
steps_per_epoch = (len(xtr) + B - 1) // B
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps_per_epoch * a.epochs)

t0 = time.perf_counter()
for epoch in range(a.epochs):
    model.train()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), B):
        j = perm[i:i + B]
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(xtr[j]), ytr[j]).backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    print(f"epoch {epoch + 1}  eval accuracy {acc * 100:.2f}%  {time.perf_counter() - t0:.1f} s", flush=True)
print(f"torch {torch.__version__}, {a.threads} threads: {time.perf_counter() - t0:.1f} s wall, "
      f"{time.process_time():.1f} s CPU")
