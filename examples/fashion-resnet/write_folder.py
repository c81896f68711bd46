"""write_folder.py — write Fashion-MNIST IDX files as an ImageNet-style
folder: <out>/train/<class>/<index>.png|.jpg and <out>/test/<class>/...,
one sub-folder per class, named so that byte-wise sorted order gives the
dataset's label ids (0-t-shirt ... 9-ankle-boot). Every fourth image
(index % 4 == 3) is a JPEG (quality 95, no chroma subsampling: grayscale),
the rest PNG, so both decoders are exercised. Pure function of the IDX
bytes. Used by prepare_data.sh (the whole set) and by the smoke test
(--limit: the first N images of each split). Not here: checks of what is
installed (prepare_data.sh) or any training.
"""
import argparse
import gzip
import os
import struct
import sys

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
           "ankle-boot"]


def read_idx(path, want_dims):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 + 4 * want_dims:
        sys.exit(f"write_folder.py: {path}: truncated IDX header")
    magic = struct.unpack(">I", data[:4])[0]
    if magic != 0x0800 + want_dims:
        sys.exit(f"write_folder.py: {path}: IDX magic {magic:#x}, expected {0x0800 + want_dims:#x}")
    dims = struct.unpack(">" + "I" * want_dims, data[4:4 + 4 * want_dims])
    body = data[4 + 4 * want_dims:]
    n = 1
    for d in dims:
        n *= d
    if len(body) != n:
        sys.exit(f"write_folder.py: {path}: {len(body)} bytes of data, header says {n}")
    return dims, body


def write_split(src, prefix, out, limit):
    from PIL import Image

    (n, h, w), pixels = read_idx(os.path.join(src, f"{prefix}-images-idx3-ubyte.gz"), 3)
    (nl,), labels = read_idx(os.path.join(src, f"{prefix}-labels-idx1-ubyte.gz"), 1)
    if nl != n:
        sys.exit(f"write_folder.py: {src}: {n} {prefix} images but {nl} labels")
    if limit:
        n = min(n, limit)
    for c, name in enumerate(CLASSES):
        os.makedirs(os.path.join(out, f"{c}-{name}"), exist_ok=True)
    for i in range(n):
        c = labels[i]
        if c >= len(CLASSES):
            sys.exit(f"write_folder.py: {prefix} label {i} is {c}, not below {len(CLASSES)}")
        img = Image.frombytes("L", (w, h), pixels[i * h * w:(i + 1) * h * w])
        base = os.path.join(out, f"{c}-{CLASSES[c]}", f"{i:05d}")
        if i % 4 == 3:
            img.save(base + ".jpg", quality=95)
        else:
            img.save(base + ".png", optimize=False)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src", help="folder with the four Fashion-MNIST *-ubyte.gz files")
    ap.add_argument("out", help="folder to write train/ and test/ into (must not exist)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N images of each split")
    a = ap.parse_args()
    if os.path.exists(a.out):
        sys.exit(f"write_folder.py: {a.out} exists")
    for split, prefix in (("train", "train"), ("test", "t10k")):
        n = write_split(a.src, prefix, os.path.join(a.out, split), a.limit)
        print(f"{split}: {n} images")


if __name__ == "__main__":
    main()
