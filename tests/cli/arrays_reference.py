"""arrays_reference.py make DIR | compare OURS.safetensors TORCH.pth TOL

make: a torchvision resnet18 (10 classes) with random BatchNorm
statistics as DIR/before.pth, a batch DIR/x.npy (4, 3, 64, 64) float32 and
DIR/y.npy int32 labels, and PyTorch's state after two SGD steps (lr 0.01,
momentum 0.9, weight decay 1e-4, training mode) on that batch as
DIR/after.pth, its losses in DIR/losses.txt.
compare: the worst ||a - b|| / ||b|| over the tensors of a safetensors
file written by cnnzoo against a state_dict (.pth) or another safetensors
file; exits 1 above TOL.
Debian's /usr/bin/python3 (torch 1.13)."""
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from zoo_reference import randomise_batchnorm  # noqa: E402


def make(d):
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(3)
    model = torchvision.models.resnet18(num_classes=10)
    randomise_batchnorm(model, torch)
    torch.save(model.state_dict(), f"{d}/before.pth")
    x = torch.randn(4, 3, 64, 64)
    y = torch.randint(0, 10, (4,))
    np.save(f"{d}/x.npy", x.numpy())
    np.save(f"{d}/y.npy", y.numpy().astype(np.int32))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(f"{loss.item():.4f}")
    torch.save(model.state_dict(), f"{d}/after.pth")
    with open(f"{d}/losses.txt", "w") as f:
        f.write(" ".join(losses) + "\n")


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[info["dtype"]]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype).reshape(info["shape"])
    return out


def compare(ours, theirs, tol):
    a = read_safetensors(ours)
    if theirs.endswith(".safetensors"):
        b = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(theirs).items()}
    else:
        b = torch.load(theirs)
    worst, where = 0.0, ""
    for k, v in b.items():
        if k not in a:
            print(f"{ours}: no tensor {k}")
            return 1
        if not v.is_floating_point():
            if int(a[k]) != int(v):
                print(f"{k}: {int(a[k])} vs {int(v)}")
                return 1
            continue
        ref = v.double().numpy()
        e = np.linalg.norm(a[k].astype(np.float64) - ref) / max(np.linalg.norm(ref), 1e-30)
        if e > worst:
            worst, where = e, k
    print(f"worst relative error {worst:.3g} ({where})")
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3], float(sys.argv[4])))
