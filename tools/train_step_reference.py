"""train_step_reference.py OUT - PyTorch's answer to two SGD steps of
training, for tests/conformance/test_train_step_torch.c.

For each model below (10 classes, a small input) this builds the model
with tools/zoo/FAMILY.py, randomises BatchNorm, saves its state_dict
(MODEL.OPTIM.before.pth), then runs two steps of the optimizer (SGD for
every model; AdamW for resnet18 and RMSprop for lenet5; settings in
OPTIMIZERS) on
one random batch in training mode,
with dropout and stochastic depth switched off (their random masks cannot
match) and GoogLeNet's auxiliary losses weighted 0.3 each as torchvision's
reference recipe does, and saves MODEL.OPTIM.after.pth, MODEL.OPTIM.x.npy,
MODEL.OPTIM.y.npy. The steps run in float64 (the reference) and in float32;
OUT itself is a text manifest, "MODEL OPTIM BATCH SIZE LOSS1 LOSS2 NOISE" lines
(the float64 losses, and how far PyTorch's own float32 weights end from
the float64 ones, ||a - b|| / ||b|| of the worst tensor), written last. Debian's /usr/bin/python3 (torch 1.13).
"""
import copy
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "zoo"))
from zoo_reference import randomise_batchnorm  # noqa: E402

CASES = [  # model, family, optimizer, batch, input size
    ("lenet5", "lenet", "sgd", 4, 32),
    ("resnet18", "resnet", "sgd", 4, 64),
    ("googlenet", "googlenet", "sgd", 4, 64),
    ("densenet121", "densenet", "sgd", 2, 64),
    ("mobilenet_v2", "mobilenet", "sgd", 4, 64),
    ("efficientnet_b0", "efficientnet", "sgd", 2, 64),
    ("resnet18", "resnet", "adamw", 4, 64),
    ("lenet5", "lenet", "rmsprop", 4, 32),
]
# The C test configures the same: SGD(lr 0.01, momentum 0.9, weight decay
# 1e-4), AdamW(lr 1e-3, eps 1e-3, weight decay 0.01), RMSprop(lr 1e-3,
# alpha 0.99, eps 1e-3, momentum 0.9, weight decay 1e-4). With the default
# eps 1e-8 both move a weight whose gradient is ~1e-9 by about +-lr: its
# direction is the rounding noise of a sum, and such weights, not the
# arithmetic, would decide the comparison.
OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, weight_decay=1e-4),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3, eps=1e-3, weight_decay=0.01),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.99, eps=1e-3, momentum=0.9,
                                             weight_decay=1e-4),
}
AUX_WEIGHT = 0.3


def loss_of(out, y):
    ce = torch.nn.functional.cross_entropy
    if isinstance(out, tuple):  # GoogLeNetOutputs(logits, aux2, aux1)
        return ce(out[0], y) + AUX_WEIGHT * (ce(out[1], y) + ce(out[2], y))
    return ce(out, y)


def no_random_masks(model):
    for m in model.modules():
        name = type(m).__name__
        if isinstance(m, torch.nn.Dropout) or name == "StochasticDepth":
            m.eval()


def two_steps(model, x, y, optim):
    model.train()
    no_random_masks(model)
    opt = OPTIMIZERS[optim](model.parameters())
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = loss_of(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def norm_rel(a, b):
    """||a - b|| / ||b|| over every float tensor of two state_dicts: the
    worst tensor."""
    worst = 0.0
    for k, v in b.items():
        if v.is_floating_point():
            d = (a[k].double() - v.double()).norm().item()
            worst = max(worst, d / max(v.double().norm().item(), 1e-30))
    return worst


def run(outdir, name, family, optim, batch, size):
    """The reference is computed in float64: a ReLU whose input is within
    rounding of 0 makes float32 gradients of deep nets differ from run to
    run (PyTorch against itself with 1 or 2 threads: up to 7% on
    googlenet's). The float32 run's distance from it is the noise floor
    the C test scales its tolerance by."""
    torch.manual_seed(0)
    model = __import__(family).build(name, 10)
    randomise_batchnorm(model, torch)
    stem = f"{name}.{optim}"
    torch.save(model.state_dict(), f"{outdir}/{stem}.before.pth")
    channels = 1 if name == "lenet5" else 3
    x = torch.randn(batch, channels, size, size)
    y = torch.randint(0, 10, (batch,))
    np.save(f"{outdir}/{stem}.x.npy", x.numpy())
    np.save(f"{outdir}/{stem}.y.npy", y.numpy().astype(np.int64))
    exact = copy.deepcopy(model).double()
    losses = two_steps(exact, x.double(), y, optim)
    two_steps(model, x, y, optim)
    noise = norm_rel(model.state_dict(), exact.state_dict())
    torch.save(exact.float().state_dict(), f"{outdir}/{stem}.after.pth")
    return f"{name} {optim} {batch} {size} {losses[0]:.12g} {losses[1]:.12g} {noise:.6g}"


def main(out):
    torch.set_num_threads(2)
    outdir = os.path.dirname(os.path.abspath(out))
    lines = [run(outdir, *case) for case in CASES]
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main(sys.argv[1])
