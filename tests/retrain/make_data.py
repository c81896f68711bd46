# make_data.py MNIST_DIR OUT — the data of the retrain test, cut from MNIST
# (examples/mnist/prepare_data.sh keeps 8,000 training and 2,000 test digits)
# as idx files, uncompressed: base/ (3,000 training digits, 500 held out)
# and three arrivals, each a folder with data.toml:
#   a-same      more ordinary digits: no drift
#   b-inverted  digits with inverted pixels (255 - p): drift; the fine-tuned
#               candidate beats the model on them and is promoted
#   c-rotated   digits turned 90 degrees, trained with every label 0: drift;
#               the candidate is worse than the model and is not promoted
import gzip, os, struct, sys

src, out = sys.argv[1], sys.argv[2]

def read(name):
    with gzip.open(os.path.join(src, name)) as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        size = rows * cols
        return [data[16 + i * size:16 + (i + 1) * size] for i in range(n)]
    return list(data[8:8 + n])

def write(folder, name, images, labels):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name + "-images.idx"), "wb") as f:
        f.write(struct.pack(">IIII", 2051, len(images), 28, 28) + b"".join(images))
    with open(os.path.join(folder, name + "-labels.idx"), "wb") as f:
        f.write(struct.pack(">II", 2049, len(labels)) + bytes(labels))

def invert(img):
    return bytes(255 - p for p in img)

def rotate(img):  # 90 degrees clockwise
    return bytes(img[(27 - c) * 28 + r] for r in range(28) for c in range(28))

ti, tl = read("train-images-idx3-ubyte.gz"), read("train-labels-idx1-ubyte.gz")
ei, el = read("t10k-images-idx3-ubyte.gz"), read("t10k-labels-idx1-ubyte.gz")
DATA = """[data.train]
source = "idx"
images = "train-images.idx"
labels = "train-labels.idx"

[data.eval]
source = "idx"
images = "eval-images.idx"
labels = "eval-labels.idx"
"""
if len(ti) < 8000 or len(ei) < 2000:
    sys.exit("make_data.py: need 8,000 training and 2,000 test digits")
write(os.path.join(out, "base"), "train", ti[:3000], tl[:3000])
write(os.path.join(out, "base"), "eval", ei[:500], el[:500])
arrivals = {
    "a-same": (ti[3000:4500], tl[3000:4500], ei[500:1000], el[500:1000]),
    "b-inverted": ([invert(x) for x in ti[4500:6500]], tl[4500:6500],
                   [invert(x) for x in ei[1000:1500]], el[1000:1500]),
    "c-rotated": ([rotate(x) for x in ti[6500:8000]], [0] * 1500,
                  [rotate(x) for x in ei[1500:2000]], el[1500:2000]),
}
for name, (a, b, c, d) in arrivals.items():
    folder = os.path.join(out, "ready", name)
    write(folder, "train", a, b)
    write(folder, "eval", c, d)
    with open(os.path.join(folder, "data.toml"), "w") as f:
        f.write(DATA)
