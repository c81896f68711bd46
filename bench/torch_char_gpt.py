#!/usr/bin/python3
"""PyTorch side of bench/char_gpt.sh: the char-GPT of examples/char-gpt/pipeline.toml.

The model is nanoGPT's (pre-norm blocks, causal self-attention, tanh GELU, no
biases, output head tied to the token embedding, GPT-2 init with residual
projections scaled by 1/sqrt(2 n_layer)); the data protocol is Plinth's
`text` source: a vocabulary of the file's sorted characters, the first
floor(0.9 n) characters train, the rest validate; training windows drawn at
random offsets, validation over every non-overlapping window of block + 1.

  --mode time   ms per training step on one resident batch (prints JSON)
  --mode train  the full 2,000 steps, then the validation loss (prints JSON)
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["time", "train"], default="time")
ap.add_argument("--text", default="examples/char-gpt/data/input.txt")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=1337)
ap.add_argument("--steps", type=int, default=2000)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--timed", type=int, default=30)
ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
# The model's size (defaults: the example's); bench/run.py's "scale" section
# widens it to the pipelines bench/gpt-6x384.toml and bench/gpt-12x768.toml.
ap.add_argument("--layers", type=int, default=4)
ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--width", type=int, default=128)
ap.add_argument("--block", type=int, default=64)
ap.add_argument("--batch", type=int, default=12)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

N_LAYER, N_HEAD, N_EMBD, BLOCK, BATCH = args.layers, args.heads, args.width, args.block, args.batch
LR, MIN_LR, WARMUP, WD, CLIP = 1e-3, 1e-4, 100, 0.1, 1.0

text = open(args.text, encoding="utf-8").read()
chars = sorted(set(text))
V = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n_train = math.floor(len(ids) * 0.9)
train_ids, val_ids = ids[:n_train], ids[n_train:]


class Attention(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c_attn = torch.nn.Linear(N_EMBD, 3 * N_EMBD, bias=False)
        self.c_proj = torch.nn.Linear(N_EMBD, N_EMBD, bias=False)
        self.register_buffer("mask", torch.tril(torch.ones(BLOCK, BLOCK, dtype=torch.bool)))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, N_HEAD, c // N_HEAD).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // N_HEAD))
        att = att.masked_fill(~self.mask[:t, :t], float("-inf")).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(b, t, c))


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(N_EMBD)
        self.attn = Attention()
        self.ln_2 = torch.nn.LayerNorm(N_EMBD)
        self.c_fc = torch.nn.Linear(N_EMBD, 4 * N_EMBD, bias=False)
        self.c_proj = torch.nn.Linear(4 * N_EMBD, N_EMBD, bias=False)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Embedding(V, N_EMBD)
        self.wpe = torch.nn.Embedding(BLOCK, N_EMBD)
        self.h = torch.nn.ModuleList([Block() for _ in range(N_LAYER)])
        self.ln_f = torch.nn.LayerNorm(N_EMBD)
        self.lm_head = torch.nn.Linear(N_EMBD, V, bias=False)
        self.lm_head.weight = self.wte.weight  # tied
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * N_LAYER))
            elif p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, 0.02)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, V), targets.reshape(-1))


model = GPT()
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=LR, betas=(0.9, 0.99))


def lr_at(step):  # Plinth's cosine schedule: linear warm-up, then cosine to MIN_LR at the last step
    if step <= WARMUP:
        return LR * step / WARMUP
    progress = min(step - WARMUP - 1, args.steps - WARMUP) / (args.steps - WARMUP)
    return MIN_LR + 0.5 * (LR - MIN_LR) * (1 + math.cos(math.pi * progress))


def batch(gen):
    ix = torch.randint(len(train_ids) - BLOCK, (BATCH,), generator=gen)
    x = torch.stack([train_ids[i:i + BLOCK] for i in ix])
    y = torch.stack([train_ids[i + 1:i + 1 + BLOCK] for i in ix])
    return x, y


def step(x, y):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16"):
        loss = model(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
    opt.step()
    return loss


gen = torch.Generator().manual_seed(args.seed)
if args.mode == "time":
    x, y = batch(gen)
    for _ in range(args.warmup):
        step(x, y)
    t0 = time.perf_counter()
    for _ in range(args.timed):
        step(x, y)
    ms = (time.perf_counter() - t0) / args.timed * 1e3
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peer": "pytorch", "ms_per_step": ms, "dtype": args.dtype, "process_peak_rss": peak_rss}))
else:
    t0 = time.perf_counter()
    for s in range(1, args.steps + 1):
        for g in opt.param_groups:
            g["lr"] = lr_at(s)
        step(*batch(gen))
    train_s = time.perf_counter() - t0
    model.eval()
    starts = range(0, len(val_ids) - (BLOCK + 1) + 1, BLOCK)
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(starts), 64):
            ix = starts[i:i + 64]
            x = torch.stack([val_ids[j:j + BLOCK] for j in ix])
            y = torch.stack([val_ids[j + 1:j + 1 + BLOCK] for j in ix])
            total += model(x, y).item() * len(ix)
            n += len(ix)
    print(json.dumps({"peer": "pytorch", "seed": args.seed, "val_loss": total / n, "train_seconds": train_s,
                      "vocab": V}))
