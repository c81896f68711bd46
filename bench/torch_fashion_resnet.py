#!/usr/bin/python3
"""PyTorch side of bench/fashion_resnet.sh: examples/fashion-resnet in PyTorch.

The same job as `plinth train examples/fashion-resnet/pipeline.toml`: the
example's image folder (data/train, data/test; PNG and JPEG, grayscale),
read by torchvision's ImageFolder through a DataLoader with worker
processes, decoded every epoch; augmentation pad-crop (zero padding `pad`,
random crop back to 28) and horizontal flip (p = 0.5), pixels / 255
normalised by the dataset's mean and std; the same small ResNet (stem
conv3x3-bn-relu, one basic block per stage, stages of widths W, 2W, 4W, the
second and third downsampling with a 1x1 stride-2 conv + bn projection,
global average pooling, linear), cross-entropy with label smoothing, AdamW
(weight decay on conv and linear weights only, as Plinth), torch OneCycleLR
stepped per batch, batch 128 with the last partial batch kept, an evaluation
on the 10,000 test images after each epoch, stopping at the first one at or
above --target when --stop-at-target is given.

Progressive resizing (--res-start < 28): the training resolution of epoch
e (0-based) is FFCV's rule, linear from --res-start at --ramp-start to 28 at
--ramp-end, rounded to the nearest multiple of --res-step (as Plinth's
[train.progressive]); the cropped image is resized to it (bilinear,
antialiased). Evaluation is always at 28.

The clock starts before `import torch`. Prints one JSON line at the end
(and one line per evaluation to stderr). Not here: Plinth's side or the
comparison (bench/fashion_resnet.sh).
"""
import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
import torchvision.transforms as T  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--data", default=os.path.join(here, "..", "examples", "fashion-resnet", "data"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--workers", type=int, default=1)
ap.add_argument("--width", type=int, default=24)
ap.add_argument("--epochs", type=int, default=12)
ap.add_argument("--batch", type=int, default=128)
ap.add_argument("--lr", type=float, default=4e-3)
ap.add_argument("--wd", type=float, default=0.05)
ap.add_argument("--pct-start", type=float, default=0.25)
ap.add_argument("--smoothing", type=float, default=0.1)
ap.add_argument("--pad", type=int, default=2)
ap.add_argument("--target", type=float, default=0.93)
ap.add_argument("--stop-at-target", action="store_true")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--channels-last", action="store_true")
ap.add_argument("--res-start", type=int, default=28)
ap.add_argument("--ramp-start", type=int, default=1)
ap.add_argument("--ramp-end", type=int, default=4)
ap.add_argument("--res-step", type=int, default=4)
ap.add_argument("--max-train", type=int, default=0, help="only N training images, evenly spaced (sizing runs)")
ap.add_argument("--max-test", type=int, default=0, help="only N test images, evenly spaced (sizing runs)")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
FULL = 28
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's training pixels / 255


def resolution(epoch):
    """FFCV's get_resolution with step --res-step (Plinth's [train.progressive]): linear between
    the ramp epochs, rounded to the nearest multiple (half to even), kept within [start, 28]."""
    if a.res_start >= FULL:
        return FULL
    if epoch <= a.ramp_start:
        return a.res_start
    if epoch >= a.ramp_end:
        return FULL
    x = a.res_start + (FULL - a.res_start) * (epoch - a.ramp_start) / (a.ramp_end - a.ramp_start)
    return min(max(round(x / a.res_step) * a.res_step, a.res_start), FULL)


class Train(torch.utils.data.Dataset):
    def __init__(self, root):
        self.folder = torchvision.datasets.ImageFolder(root, loader=lambda p: torchvision.datasets.folder.pil_loader(p).convert("L"))
        self.res = FULL
        self.aug = T.Compose([T.RandomCrop(FULL, padding=a.pad), T.RandomHorizontalFlip()])
        self.post = T.Compose([T.ToTensor(), T.Normalize([MEAN], [STD])])

    def __len__(self):
        return len(self.folder)

    def __getitem__(self, i):
        img, y = self.folder[i]
        img = self.aug(img)
        if self.res != FULL:
            img = T.functional.resize(img, [self.res, self.res], antialias=True)
        return self.post(img), y


def basic_block(cin, cout, stride):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.proj = None
            if stride != 1 or cin != cout:
                self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (self.proj(x) if self.proj is not None else x))

    return Block()


W = a.width
model = nn.Sequential(
    nn.Conv2d(1, W, 3, 1, 1, bias=False), nn.BatchNorm2d(W), nn.ReLU(),
    basic_block(W, W, 1), basic_block(W, 2 * W, 2), basic_block(2 * W, 4 * W, 2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * W, 10))
if a.channels_last:
    model = model.to(memory_format=torch.channels_last)
decay = [p for p in model.parameters() if p.ndim > 1]
no_decay = [p for p in model.parameters() if p.ndim <= 1]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=a.lr)

train_set = Train(os.path.join(a.data, "train"))
if a.max_train:
    train_set = torch.utils.data.Subset(train_set, range(0, len(train_set), len(train_set) // a.max_train))
test_set = torchvision.datasets.ImageFolder(
    os.path.join(a.data, "test"), transform=T.Compose([T.ToTensor(), T.Normalize([MEAN], [STD])]),
    loader=lambda p: torchvision.datasets.folder.pil_loader(p).convert("L"))
if a.max_test:
    test_set = torch.utils.data.Subset(test_set, range(0, len(test_set), len(test_set) // a.max_test))
steps_per_epoch = (len(train_set) + a.batch - 1) // a.batch
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.epochs * steps_per_epoch,
                                            pct_start=a.pct_start)
loss_fn = nn.CrossEntropyLoss(label_smoothing=a.smoothing)
base = train_set.dataset if isinstance(train_set, torch.utils.data.Subset) else train_set


def evaluate():
    model.eval()
    correct = n = 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(test_set, batch_size=500, num_workers=a.workers):
            if a.channels_last:
                x = x.to(memory_format=torch.channels_last)
            correct += (model(x).argmax(1) == y).sum().item()
            n += len(y)
    model.train()
    return correct / n


g = torch.Generator()
g.manual_seed(a.seed)
reached = None
acc = 0.0
epoch = 0
train_s = 0.0
for epoch in range(a.epochs):
    base.res = resolution(epoch)
    t0 = time.perf_counter()
    for x, y in torch.utils.data.DataLoader(train_set, batch_size=a.batch, shuffle=True, generator=g,
                                            num_workers=a.workers, drop_last=False):
        if a.channels_last:
            x = x.to(memory_format=torch.channels_last)
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    train_s += time.perf_counter() - t0
    acc = evaluate()
    now = time.perf_counter() - T0
    print(f"epoch {epoch + 1} res {base.res} loss {loss.item():.4f} eval.accuracy {acc:.4f} "
          f"t {now:.1f} s", file=sys.stderr, flush=True)
    if reached is None and acc >= a.target:
        reached = now
        if a.stop_at_target:
            break
print(json.dumps({"framework": "pytorch", "epochs_run": epoch + 1, "final_eval_accuracy": acc,
                  "time_to_target_s": reached, "target": a.target,
                  "train_seconds": train_s, "seconds": time.perf_counter() - T0, "width": a.width,
                  "threads": a.threads, "workers": a.workers, "channels_last": a.channels_last,
                  "res_start": a.res_start, "torch": torch.__version__}))
