"""lenet_torch.py EPOCHS BATCH THREADS - PyTorch's time for LeNet-5 epochs.

The same network (tools/lenet_reference.py), data, preprocessing (pad to
32x32, normalise with 0.2860/0.3530), optimiser (SGD lr 0.02, momentum 0.9,
weight decay 5e-4) and batch as `cnnzoo train lenet5`; batches are sliced
from one tensor in memory, as cnnzoo does, so no DataLoader cost is timed.
Prints one line per epoch: "epoch N train_seconds S test_top1 A".
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tools")
from lenet_reference import LeNet5  # noqa: E402

ROOT = "/usr/share/datasets/fashion-mnist/"


def idx(name):
    with gzip.open(ROOT + name) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def images(name):
    x = idx(name).astype(np.float32) / 255.0
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    return torch.from_numpy((x - 0.2860) / 0.3530).unsqueeze(1)


def main(epochs, batch, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    xtr, ytr = images("train-images-idx3-ubyte.gz"), torch.from_numpy(idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte, yte = images("t10k-images-idx3-ubyte.gz"), torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xtr))
        t0 = time.perf_counter()
        for start in range(0, len(xtr), batch):
            idx_b = order[start:start + batch]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx_b]), ytr[idx_b]).backward()
            opt.step()
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = (model(xte).argmax(1) == yte).float().mean().item()
        print(f"epoch {epoch + 1} train_seconds {seconds:.3f} test_top1 {acc:.4f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
