"""schedule_reference.py OUT_DIR - the fixtures of test_schedule.

Runs torch.optim.lr_scheduler (PyTorch 1.13) on a dummy SGD over one
parameter and writes into OUT_DIR the learning rates it gives, one case a
line in OUT_DIR/manifest.txt:

  sched NAME BASE_LR TOTAL_EPOCHS STEPS_PER_EPOCH SPEC FILE
      FILE: the lr of every step, one a line: epoch by epoch, and within
      an epoch step by step (one line an epoch when STEPS_PER_EPOCH is 0).
      The scheduler is stepped per epoch, or per iteration when
      STEPS_PER_EPOCH > 0; SPEC is the cz_schedule_parse spec that means
      the same schedule.
  plateau NAME BASE_LR SPEC FILE
      FILE: "LOSS LR" a line: the validation loss fed to
      ReduceLROnPlateau.step and the lr after it.

Every number of a config is rounded to float32 first (the C side holds
floats), and values are written with repr, so C reads them exactly.
Run with Debian's /usr/bin/python3.
"""
import math
import os
import sys
import warnings
from fractions import Fraction

import numpy as np
import torch
from torch.optim import lr_scheduler as S

warnings.simplefilter("ignore")  # "call optimizer.step() first", step(epoch)


def f32(text):
    """The float32 nearest to the decimal `text`, as a Python float."""
    return float(np.float32(text))


def optimizer(base):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base)


def lr_of(opt):
    return opt.param_groups[0]["lr"]


def run(opt, sched, iterations):
    """The lr before each of `iterations` steps."""
    lrs = []
    for _ in range(iterations):
        lrs.append(lr_of(opt))
        opt.step()
        sched.step()
    return lrs


def constant(opt, _):
    return S.LambdaLR(opt, lambda it: 1.0)


def step(step_size, gamma):
    return lambda opt, _: S.StepLR(opt, step_size, f32(gamma))


def multistep(milestones, gamma):
    return lambda opt, _: S.MultiStepLR(opt, milestones, f32(gamma))


def cosine(warmup, start_lr, eta_min):
    """SequentialLR(LinearLR warm-up, CosineAnnealingLR), or the cosine
    alone without warm-up; lengths are in scheduler steps."""
    def make(opt, n):
        base, eta = lr_of(opt), f32(eta_min)
        total, w = n["total"], warmup * n["spe"]
        cos = S.CosineAnnealingLR(opt, T_max=total - w, eta_min=eta)
        if warmup == 0:
            return cos
        start = f32(start_lr) if start_lr is not None else float(np.float32(np.float32(base) / 3))
        lin = S.LinearLR(opt, start_factor=start / base, end_factor=1.0, total_iters=w)
        # SequentialLR's constructor undoes the steps the two made
        return S.SequentialLR(opt, [lin, cos], milestones=[w])
    return make


def exponential(gamma, decay_epochs):
    """TF's staircase exponential decay: ExponentialLR when it decays every
    epoch, StepLR for whole epochs, else a LambdaLR with exact arithmetic."""
    g = f32(gamma)

    def make(opt, n):
        if n["spe"] == 1 and decay_epochs == "1":
            return S.ExponentialLR(opt, g)
        if n["spe"] == 1 and decay_epochs.isdigit():
            return S.StepLR(opt, int(decay_epochs), g)
        period = Fraction(decay_epochs) * n["spe"]
        return S.LambdaLR(opt, lambda it: g ** math.floor(Fraction(it) / period))
    return make


# name, base lr, total epochs, steps per epoch (0: per epoch), C spec, torch scheduler
SCHEDULES = [
    ("constant", "0.1", 5, 0, "constant", constant),
    ("step_3_half", "0.1", 12, 0, "step:3:0.5", step(3, "0.5")),
    ("step_30", "0.05", 100, 0, "step:30", step(30, "0.1")),
    ("multistep_resnet", "0.1", 100, 0, "multistep:30,60,80:0.1", multistep([30, 60, 80], "0.1")),
    ("multistep_zero", "0.01", 8, 0, "multistep:0,2,5:0.3", multistep([0, 2, 5], "0.3")),
    ("cosine_plain", "0.1", 50, 0, "cosine", cosine(0, None, "0")),
    ("cosine_warmup", "0.1", 30, 0, "cosine:5:0.001:0.0001", cosine(5, "0.001", "0.0001")),
    ("cosine_warmup_default", "0.4", 20, 0, "cosine:3", cosine(3, None, "0")),
    ("cosine_warmup_steps", "0.2", 6, 7, "cosine:2:0.01:0", cosine(2, "0.01", "0")),
    ("cosine_steps", "0.1", 8, 5, "cosine:0:0.1:0.001", cosine(0, None, "0.001")),
    ("exp_every_epoch", "0.1", 30, 0, "exp:0.97:1", exponential("0.97", "1")),
    ("exp_every_3", "0.1", 20, 0, "exp:0.9:3", exponential("0.9", "3")),
    ("exp_2_4_epochs", "0.256", 40, 0, "exp:0.97:2.4", exponential("0.97", "2.4")),
    ("exp_2_4_steps", "0.256", 12, 125, "exp:0.97:2.4", exponential("0.97", "2.4")),
]

LOSS_RNG = np.random.default_rng(20240613)


def losses_noisy(n):
    """A decreasing loss that stalls, with tiny improvements that a
    relative threshold of 1e-4 does not count, plus a NaN and an inf."""
    out, x = [], 2.0
    for i in range(n):
        if i % 12 < 5:
            x *= 0.9
        elif i % 12 < 8:
            x *= 1 - 5e-5  # below the default threshold
        else:
            x *= 1 + 0.01 * LOSS_RNG.random()
        out.append(x)
    out[20], out[33] = float("nan"), float("inf")
    return out


def losses_abs(n):
    """Cycles of three drops of 0.1, then eight epochs creeping down by
    0.01 (an improvement of 0.05 only after five of them)."""
    out, x = [], 3.0
    for i in range(n):
        x -= 0.1 if i % 11 < 3 else 0.01
        out.append(x)
    return out


def losses_flat(n):
    return [1.0 + 1e-3 * LOSS_RNG.standard_normal() for _ in range(n)]


# name, base lr, C spec, ReduceLROnPlateau arguments, losses
PLATEAUS = [
    ("rel_default", "0.1", "plateau:0.5:2",
     dict(factor="0.5", patience=2), losses_noisy(60)),
    ("abs_cooldown_min", "0.1", "plateau:0.5:1:0.05:abs:2:0.01",
     dict(factor="0.5", patience=1, threshold="0.05", threshold_mode="abs", cooldown=2,
          min_lr="0.01"), losses_abs(60)),
    ("rel_patience0", "0.1", "plateau:0.1:0:0.01:rel:0:0.00001",
     dict(factor="0.1", patience=0, threshold="0.01", min_lr="0.00001"), losses_flat(30)),
    ("eps_rule", "5e-8", "plateau:0.1:0",
     dict(factor="0.1", patience=0), losses_flat(10)),
    ("torch_defaults", "0.01", "plateau", dict(), losses_flat(60)),
]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []
    for name, base, total, spe, spec, make in SCHEDULES:
        opt = optimizer(f32(base))
        steps = max(spe, 1)
        sched = make(opt, {"total": total * steps, "spe": steps})
        lrs = run(opt, sched, total * steps)
        file = f"{name}.txt"
        with open(os.path.join(out, file), "w") as f:
            f.writelines(f"{lr!r}\n" for lr in lrs)
        lines.append(f"sched {name} {base} {total} {spe} {spec} {file}\n")
    for name, base, spec, args, losses in PLATEAUS:
        opt = optimizer(f32(base))
        kw = {k: f32(v) if isinstance(v, str) and k != "threshold_mode" else v
              for k, v in args.items()}
        sched = S.ReduceLROnPlateau(opt, mode="min", **kw)
        file = f"plateau_{name}.txt"
        with open(os.path.join(out, file), "w") as f:
            for loss in losses:
                opt.step()
                sched.step(loss)
                f.write(f"{loss!r} {lr_of(opt)!r}\n")
        lines.append(f"plateau {name} {base} {spec} {file}\n")
    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
