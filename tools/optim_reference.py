"""optim_reference.py - torch.optim's SGD, AdamW and RMSprop (PyTorch 1.13)
on a tiny net's parameters, for tests/unit/test_optim.c; writes into argv[1].

The parameters are those of BatchNorm2d(5) then Linear(5, 8): bn.weight,
bn.bias (5), fc.weight (8, 5), fc.bias (8), with seeded initial values and
a seeded gradient per step. Each case runs STEPS steps from the same start:

  init__P.npy        P's initial value (float32)
  grad__P.npy        (STEPS, *shape) its gradient at each step
  CASE__P.npy        (STEPS, *shape) its value after each step
  CASE__P.SLOT.npy   the optimizer's state SLOT for P after the last step
                     (momentum_buffer, exp_avg, exp_avg_sq, square_avg)
  manifest.txt       "case CASE" per case

The C test holds the same table of cases. TensorFlow-style RMSprop is
timm's RMSpropTF (lr_in_momentum=True, not installed here), written out
below with the same tensor operations. Never needed at run time.
"""
import os
import sys

import numpy as np
import torch

STEPS = 5
LRS = [0.1, 0.05, 0.025, 0.0125, 0.00625]  # the "lr_schedule" cases
SHAPES = [("bn.weight", (5,)), ("bn.bias", (5,)), ("fc.weight", (8, 5)), ("fc.bias", (8,))]

# name: (optimizer, keyword arguments, decay_exempt_1d, lr per step or None)
CASES = {
    "sgd_plain": ("sgd", dict(lr=0.1, weight_decay=1e-4), False, None),
    "sgd_momentum": ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=1e-4), False, None),
    "sgd_nesterov": ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True),
                     False, None),
    "sgd_dampening": ("sgd", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-4),
                      False, None),
    "sgd_exempt": ("sgd", dict(lr=0.1, momentum=0.9, weight_decay=0.01), True, None),
    "sgd_lr_schedule": ("sgd", dict(lr=LRS[0], momentum=0.9, weight_decay=1e-4), False, LRS),
    "adamw": ("adamw", dict(lr=1e-3, weight_decay=0.05), False, None),
    "adamw_fast": ("adamw", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
                   False, None),
    "adamw_exempt": ("adamw", dict(lr=0.01, weight_decay=0.05), True, None),
    "adamw_lr_schedule": ("adamw", dict(lr=LRS[0], weight_decay=0.05), False, LRS),
    "rmsprop": ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-3, momentum=0.9, weight_decay=1e-5),
                False, None),
    "rmsprop_plain": ("rmsprop", dict(lr=0.01), False, None),
    "rmsprop_tf": ("rmsprop_tf", dict(lr=0.01, alpha=0.9, eps=1e-3, momentum=0.9,
                                      weight_decay=1e-5), False, None),
    "rmsprop_tf_plain": ("rmsprop_tf", dict(lr=0.01, alpha=0.9, eps=1e-3, weight_decay=1e-5),
                         False, None),
    "rmsprop_tf_exempt": ("rmsprop_tf", dict(lr=0.01, alpha=0.9, eps=1e-3, momentum=0.9,
                                             weight_decay=0.01), True, None),
}


class RMSpropTF(torch.optim.Optimizer):
    """timm's RMSpropTF with lr_in_momentum=True, centered and decoupled
    decay off: square_avg starts at one, eps inside the sqrt."""

    def __init__(self, params, lr=0.01, alpha=0.9, eps=1e-10, weight_decay=0, momentum=0.0):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["square_avg"] = torch.ones_like(p)
                    if group["momentum"] > 0:
                        state["momentum_buffer"] = torch.zeros_like(p)
                square_avg = state["square_avg"]
                one_minus_alpha = 1.0 - group["alpha"]
                state["step"] += 1
                if group["weight_decay"] != 0:
                    grad = grad.add(p, alpha=group["weight_decay"])
                square_avg.add_(grad.pow(2) - square_avg, alpha=one_minus_alpha)
                avg = square_avg.add(group["eps"]).sqrt_()
                if group["momentum"] > 0:
                    buf = state["momentum_buffer"]
                    buf.mul_(group["momentum"]).addcdiv_(grad, avg, value=group["lr"])
                    p.add_(-buf)
                else:
                    p.addcdiv_(grad, avg, value=-group["lr"])


def make_optimizer(kind, params, kwargs, exempt):
    if exempt:
        wd = kwargs.pop("weight_decay")
        groups = [{"params": [p for p in params if p.dim() > 1], "weight_decay": wd},
                  {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0}]
    else:
        groups = params
    if kind == "sgd":
        return torch.optim.SGD(groups, foreach=False, **kwargs)
    if kind == "adamw":
        return torch.optim.AdamW(groups, foreach=False, **kwargs)
    if kind == "rmsprop":
        return torch.optim.RMSprop(groups, foreach=False, **kwargs)
    return RMSpropTF(groups, **kwargs)


def save(out, name, array):
    np.save(os.path.join(out, name + ".npy"), np.ascontiguousarray(array, dtype=np.float32))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240607)
    init = {n: rng.uniform(-1, 1, s).astype(np.float32) for n, s in SHAPES}
    grads = {n: rng.normal(0, 0.5, (STEPS,) + s).astype(np.float32) for n, s in SHAPES}
    for n, _ in SHAPES:
        save(out, "init__" + n, init[n])
        save(out, "grad__" + n, grads[n])
    for case, (kind, kwargs, exempt, lrs) in CASES.items():
        params = [torch.nn.Parameter(torch.from_numpy(init[n].copy())) for n, _ in SHAPES]
        opt = make_optimizer(kind, params, dict(kwargs), exempt)
        history = {n: [] for n, _ in SHAPES}
        for t in range(STEPS):
            if lrs is not None:
                for group in opt.param_groups:
                    group["lr"] = lrs[t]
            for (n, _), p in zip(SHAPES, params):
                p.grad = torch.from_numpy(grads[n][t].copy())
            opt.step()
            for (n, _), p in zip(SHAPES, params):
                history[n].append(p.detach().numpy().copy())
        for (n, _), p in zip(SHAPES, params):
            save(out, case + "__" + n, np.stack(history[n]))
            for slot, value in opt.state[p].items():
                if slot != "step" and value is not None:
                    save(out, "%s__%s.%s" % (case, n, slot), value.numpy())
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        for case in CASES:
            f.write("case %s\n" % case)


if __name__ == "__main__":
    main()
