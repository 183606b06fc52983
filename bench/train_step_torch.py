"""train_step_torch.py MODEL DIR EPOCHS BATCH THREADS [LR MOMENTUM WD] - PyTorch's side of bench/train_step.sh.

Trains torchvision's MODEL(num_classes=10) (resnet18, or another
torchvision classifier whose layout cnnzoo shares) on the CIFAR-10-format
binary files in DIR (data_batch_1..5.bin, test_batch.bin, as
bench/make_cifar_like.py writes them), as `cnnzoo train MODEL --data
cifar10:DIR --augment none --schedule constant` does: pixels / 255
normalised with CIFAR-10's mean (0.4914, 0.4822, 0.4465) and std
(0.2470, 0.2435, 0.2616), no augmentation, a fresh shuffle each epoch,
the last partial batch kept, cross-entropy, SGD with the given lr,
momentum and weight decay (default 0.02, 0.9, 5e-4) at a constant rate.
MODEL lenet5 trains tools/lenet_reference.py's LeNet-5 on Fashion-MNIST
instead (padded to 32x32, normalised with 0.2860/0.3530; DIR ignored),
as bench/lenet_torch.py does.

Batches are sliced from one normalised tensor in memory, as cnnzoo's
in-memory loader serves them, so no DataLoader cost is timed; the timed
part is the training pass only (forward, loss, backward, optimizer step),
test evaluation excluded, as cnnzoo reports it; one untimed warm-up step
on a throw-away copy of the model comes first. Prints one line per epoch:
  epoch N train_seconds S images_per_s R steps K train_loss L test_top1 A
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import copy
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], np.float32)
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]


def cifar(folder, files):
    raw = np.concatenate([np.fromfile(os.path.join(folder, f), np.uint8) for f in files])
    records = raw.reshape(-1, 1 + 3 * 32 * 32)
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    x = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    x = (x - MEAN[:, None, None]) / STD[:, None, None]
    return torch.from_numpy(np.ascontiguousarray(x)), labels


def data_and_model(name, folder):
    if name == "lenet5":
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, here)
        sys.path.insert(0, os.path.join(here, "..", "tools"))
        from lenet_reference import LeNet5
        import lenet_torch as lt
        xtr = lt.images("train-images-idx3-ubyte.gz")
        ytr = torch.from_numpy(lt.idx("train-labels-idx1-ubyte.gz").astype(np.int64))
        xte = lt.images("t10k-images-idx3-ubyte.gz")
        yte = torch.from_numpy(lt.idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))
        return (xtr, ytr), (xte, yte), LeNet5()
    import torchvision
    model = getattr(torchvision.models, name)(num_classes=10)
    return cifar(folder, TRAIN_FILES), cifar(folder, TEST_FILES), model


def top1(model, x, y, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            correct += (model(x[start:start + batch]).argmax(1) == y[start:start + batch]).sum().item()
    return correct / len(x)


def main(name, folder, epochs, batch, threads, lr=0.02, momentum=0.9, wd=5e-4):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    (xtr, ytr), (xte, yte), model = data_and_model(name, folder)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
    # One untimed step on a copy: PyTorch's first step pays for its one-off
    # set-up (oneDNN primitives, allocator), which a real run amortises.
    warm = copy.deepcopy(model)
    F.cross_entropy(warm(xtr[:batch]), ytr[:batch]).backward()
    torch.optim.SGD(warm.parameters(), lr=lr, momentum=momentum, weight_decay=wd).step()
    del warm
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xtr))
        steps, loss_sum = 0, 0.0
        t0 = time.perf_counter()
        for start in range(0, len(xtr), batch):
            idx_b = order[start:start + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr[idx_b]), ytr[idx_b])
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx_b)
            steps += 1
        seconds = time.perf_counter() - t0
        acc = top1(model, xte, yte)
        print(f"epoch {epoch + 1} train_seconds {seconds:.3f} images_per_s {len(xtr) / seconds:.1f} "
              f"steps {steps} train_loss {loss_sum / len(xtr):.4f} test_top1 {acc:.4f}", flush=True)


if __name__ == "__main__":
    if not 6 <= len(sys.argv) <= 9:
        sys.exit(__doc__.split("\n", 1)[0])
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
         *(float(a) for a in sys.argv[6:]))
