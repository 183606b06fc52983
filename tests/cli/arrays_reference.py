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
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import st  # noqa: E402
from zoo_reference import randomise_batchnorm  # noqa: E402


def two_steps(state, x, y, dtype):
    """The state_dict and losses after two SGD steps from `state` in dtype."""
    model = torchvision.models.resnet18(num_classes=10)
    model.load_state_dict(state)
    model.to(dtype).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x.to(dtype)), y)
        loss.backward()
        opt.step()
        losses.append(f"{loss.item():.4f}")
    return model.state_dict(), losses


def worst_error(a, b):
    return max(float((a[k].double() - b[k].double()).norm() / b[k].double().norm().clamp(min=1e-30))
               for k in b if b[k].is_floating_point())


# Two training steps of resnet18 at batch 4 are chaotic: where a ReLU
# input or a max-pool runner-up lies within rounding of its threshold, one
# ulp of change in the input moves conv1.weight after two steps by 4e-4
# (PyTorch's own float32 lands 1e-6 or 4e-4 from float64 depending on which
# side rounding falls, for the seed this test once used). Seed 6 is a batch
# where PyTorch's float32 stays within 1.1e-6 of float64 under 1-ulp input
# perturbations, so the 1e-4 tolerance tests the arithmetic, not a coin flip;
# make() checks that this still holds.
SEED = 6


def make(d):
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(SEED)
    model = torchvision.models.resnet18(num_classes=10)
    randomise_batchnorm(model, torch)
    state = model.state_dict()
    x = torch.randn(4, 3, 64, 64)
    y = torch.randint(0, 10, (4,))
    after, losses = two_steps(state, x, y, torch.float32)
    exact, _ = two_steps(state, x.double(), y, torch.float64)
    if worst_error(after, exact) > 1e-5:
        sys.exit(f"arrays_reference.py: seed {SEED} is no longer well-conditioned: PyTorch's "
                 f"float32 ends {worst_error(after, exact):.3g} from float64")
    torch.save(state, f"{d}/before.pth")
    np.save(f"{d}/x.npy", x.numpy())
    np.save(f"{d}/y.npy", y.numpy().astype(np.int32))
    torch.save(after, f"{d}/after.pth")
    with open(f"{d}/losses.txt", "w") as f:
        f.write(" ".join(losses) + "\n")


def compare(ours, theirs, tol):
    a = st.load(ours)
    if theirs.endswith(".safetensors"):
        b = {k: torch.from_numpy(v.copy()) for k, v in st.load(theirs).items()}
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
