"""make_idx.py DIR - a tiny MNIST-shaped IDX dataset (random pixels, labels
that depend on the pixels, so a net can learn something) for CLI tests."""
import gzip
import os
import struct
import sys

import numpy as np


def write(path, array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + b"".join(struct.pack(">I", d) for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def main(folder):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 256), ("t10k", 64)):
        images = rng.integers(0, 256, (n, 28, 28))
        labels = images[:, :14, :14].mean(axis=(1, 2)).astype(int) % 10
        write(f"{folder}/{split}-images-idx3-ubyte.gz", images)
        write(f"{folder}/{split}-labels-idx1-ubyte.gz", labels)


if __name__ == "__main__":
    main(sys.argv[1])
