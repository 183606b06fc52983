"""torch_bench.py MODEL [options] - PyTorch eager's side of bench/compare.sh.

Times tools/zoo's PyTorch definition of MODEL (torchvision's own model for
the torchvision families, so the same layers and state_dict keys as
cnnzoo's) on a seeded random batch, the way `cnnzoo bench` times cnnzoo:
--warmup untimed runs, then timed runs until both --runs runs and
--min-time seconds are done. Inference runs in eval mode under
torch.no_grad(); --train times one training step instead: train mode,
cross-entropy on random labels (plus each auxiliary classifier's, as
torchvision trains GoogLeNet and Inception-v3), backward, and
torch.optim.SGD with cnnzoo bench's settings (lr 0.001, momentum 0.9,
weight decay 1e-4). Prints one JSON line:
  {"tool": "torch", "median_ms": M, "runs": N, "peak_rss_mib": R, ...}
peak_rss_mib is getrusage's ru_maxrss of this process (the interpreter and
torch included, as a user of PyTorch pays them).

build_model(name, classes) is also what bench/export_model.py exports.
Run with Debian's /usr/bin/python3 (python3-torch 1.13, torchvision 0.14).
"""
import argparse
import importlib
import json
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CASES = os.path.join(ROOT, "tests", "conformance", "zoo")


def family_of(name):
    """The tools/zoo module that builds `name`: the conformance list naming it."""
    for listing in sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, listing)) as f:
            for line in f:
                words = line.split("#")[0].split()
                if words and words[0] == name:
                    return listing[:-len(".txt")]
    sys.exit(f"torch_bench: no PyTorch definition of {name} (not in tests/conformance/zoo/*.txt)")


def build_model(name, classes):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    return importlib.import_module("zoo." + family_of(name)).build(name, classes)


def parse_chw(text):
    c, h, w = (int(v) for v in text.split("x"))
    return c, h, w


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def timed(step, runs, warmup, min_time):
    """Seconds of each timed run, after the warm-up."""
    for _ in range(warmup):
        step()
    times, elapsed = [], 0.0
    while len(times) < runs or elapsed < min_time:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        elapsed += times[-1]
    return times


def inference_step(model, x, torch):
    model.eval()

    def step():
        with torch.no_grad():
            model(x)
    return step


def logits_of(out):
    """The outputs a training forward returns: a tensor, or torchvision's
    GoogLeNetOutputs / InceptionOutputs (main logits, then auxiliaries)."""
    if isinstance(out, tuple):
        return [o for o in out if o is not None]
    return [out]


def train_step(model, x, labels, torch):
    import torch.nn.functional as F
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)

    def step():
        loss = sum(F.cross_entropy(o, labels) for o in logits_of(model(x)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--input", required=True, help="CxHxW")
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--min-time", type=float, default=1.0)
    p.add_argument("--weights", help="a state_dict .pth to load (default: random init)")
    p.add_argument("--train", action="store_true")
    a = p.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    c, h, w = parse_chw(a.input)
    model = build_model(a.model, a.classes)
    if a.weights:
        model.load_state_dict(torch.load(a.weights))
    x = torch.randn(a.batch, c, h, w)
    if a.train:
        labels = torch.randint(0, a.classes, (a.batch,))
        step = train_step(model, x, labels, torch)
    else:
        step = inference_step(model, x, torch)
    times = timed(step, a.runs, a.warmup, a.min_time)
    print(json.dumps({"tool": "torch", "model": a.model, "batch": a.batch, "threads": a.threads,
                      "mode": "train" if a.train else "inference",
                      "median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times),
                      "runs": len(times), "peak_rss_mib": peak_rss_mib(),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
