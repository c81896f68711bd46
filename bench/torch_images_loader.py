#!/usr/bin/python3
"""torch_images_loader.py — torchvision's loader on the same folders as
bench/images_loader_bench.cpp: ImageFolder + RandomResizedCrop + RandomHorizontalFlip
+ ToTensor + Normalize through DataLoader(num_workers=1, batch_size=64,
shuffle=True), one torch thread. Prints one JSON line like the Plinth bench.

    /usr/bin/python3 bench/torch_images_loader.py ROOT SIZE [EPOCHS] [BATCH]
"""
import json
import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def main():
    root, size = sys.argv[1], int(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 64
    torch.set_num_threads(1)
    tf = transforms.Compose([
        transforms.RandomResizedCrop(size, antialias=True),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    t_open = time.perf_counter()
    ds = datasets.ImageFolder(root, transform=tf, loader=lambda p: datasets.folder.pil_loader(p))
    open_s = time.perf_counter() - t_open
    dl = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=1, persistent_workers=True)
    images = 0
    t0 = time.perf_counter()
    for _ in range(epochs):
        for x, _y in dl:
            images += x.shape[0]
    s = time.perf_counter() - t0
    print(json.dumps({"impl": "torchvision", "root": root, "size": size, "images": images, "seconds": round(s, 3),
                      "images_per_s": round(images / s, 1), "open_s": round(open_s, 3)}))


if __name__ == "__main__":
    main()
