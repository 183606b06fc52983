"""zoo_reference.py FAMILY OUTDIR - PyTorch's answers for one model family.

For every model listed in tests/conformance/zoo/FAMILY.txt (lines
"MODEL BATCH HxW [HxW...] [classes=K] [serial]") this builds the model with
tools/zoo/FAMILY.py's build(name, classes), with a fixed seed, randomises
every BatchNorm's affine parameters and running statistics (so a loader
that drops them cannot pass), and writes into OUTDIR:
  MODEL.pth                 torch.save(model.state_dict())  (zip format)
  MODEL_HxW.in.npy          a random input batch (BATCH, C, H, W) float32
  MODEL_HxW.out.npy         the eval-mode output for it
  MODEL.json                {"params": N, "classes": K, "cases": [...]}
A model whose MODEL.json is newer than this script, every module in
tools/zoo/ (they import each other) and the family's list is not made
again.
Run with Debian's /usr/bin/python3 (python3-torch 1.13, torchvision 0.14).
"""
import importlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def read_cases(family):
    """[(model, batch, [(h, w), ...], classes or None)] from the family's list."""
    cases = []
    with open(os.path.join(ROOT, "tests", "conformance", "zoo", family + ".txt")) as f:
        for line in f:
            words = line.split("#")[0].split()
            if not words:
                continue
            classes = None
            sizes = []
            for w in words[2:]:
                if w == "serial":  # a ctest scheduling hint
                    continue
                if w.startswith("classes="):
                    classes = int(w[len("classes="):])
                else:
                    h, w_ = w.split("x")
                    sizes.append((int(h), int(w_)))
            cases.append((words[0], int(words[1]), sizes, classes))
    return cases


def randomise_batchnorm(model, torch):
    g = torch.Generator().manual_seed(1234)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                if m.track_running_stats:
                    m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                    m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
                    m.num_batches_tracked.fill_(7)


def up_to_date(outdir, name, family):
    target = os.path.join(outdir, name + ".json")
    if not os.path.exists(target):
        return False
    sources = [__file__, *[os.path.join(HERE, "zoo", f) for f in os.listdir(os.path.join(HERE, "zoo"))],
               os.path.join(ROOT, "tests", "conformance", "zoo", family + ".txt")]
    return all(os.path.getmtime(target) > os.path.getmtime(s) for s in sources)


def main(argv):
    family, outdir = argv
    import numpy as np
    import torch

    sys.path.insert(0, HERE)
    builder = importlib.import_module("zoo." + family)
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    for name, batch, sizes, classes in read_cases(family):
        if up_to_date(outdir, name, family):
            continue
        default_classes = getattr(builder, "DEFAULT_CLASSES", {}).get(name, 1000)
        classes = classes or default_classes
        torch.manual_seed(0)
        model = builder.build(name, classes)
        randomise_batchnorm(model, torch)
        model.eval()
        params = sum(p.numel() for p in model.parameters())
        expected = getattr(builder, "PUBLISHED_PARAMS", {}).get(name)
        if expected is not None and classes == default_classes and params != expected:
            sys.exit(f"{family}.{name}: {params} parameters, published figure {expected}")
        torch.save(model.state_dict(), os.path.join(outdir, name + ".pth"))
        meta = {"params": params, "classes": classes, "cases": []}
        channels = getattr(builder, "CHANNELS", {}).get(name, 3)
        for h, w in sizes:
            x = torch.randn(batch, channels, h, w, generator=torch.Generator().manual_seed(h * 1000 + w))
            with torch.no_grad():
                y = model(x)
            stem = f"{name}_{h}x{w}"
            np.save(os.path.join(outdir, stem + ".in.npy"), x.numpy())
            np.save(os.path.join(outdir, stem + ".out.npy"), y.numpy())
            meta["cases"].append({"height": h, "width": w, "input": stem + ".in.npy",
                                  "output": stem + ".out.npy"})
        with open(os.path.join(outdir, name + ".json"), "w") as f:
            json.dump(meta, f)
        print(f"{name}: {params} parameters, sizes {sizes}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
