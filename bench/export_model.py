"""export_model.py MODEL --input CxHxW --classes K --batch "1 8" --out STEM

What bench/compare.sh gives the three systems: one set of weights for
MODEL (tools/zoo's PyTorch definition, seed 0, BatchNorm's affine
parameters and running statistics randomised as the conformance fixtures
do, so a loader that drops them shows), written as
  STEM.pth           torch.save(state_dict): `cnnzoo bench --weights`
                     and torch_bench.py --weights load it
  STEM.bB.onnx       torch.onnx.export in eval mode at a fixed batch B
                     (opset 14), one file per batch, for ONNX Runtime
  STEM.check.in.npy  a seeded random batch of 1
  STEM.check.out.npy torch's eval-mode output for it: compare.sh checks
                     that `cnnzoo forward` gives the same
Run with Debian's /usr/bin/python3 (python3-torch 1.13, torchvision 0.14).
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))

from torch_bench import build_model, parse_chw  # noqa: E402
from zoo_reference import randomise_batchnorm  # noqa: E402

OPSET = 14


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("--input", required=True, help="CxHxW")
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--batch", default="1", help="batch sizes, space-separated")
    p.add_argument("--out", required=True, help="path stem of the files written")
    a = p.parse_args()

    import numpy as np
    import torch
    torch.set_num_threads(2)
    torch.manual_seed(0)
    c, h, w = parse_chw(a.input)
    model = build_model(a.model, a.classes)
    randomise_batchnorm(model, torch)
    model.eval()
    torch.save(model.state_dict(), a.out + ".pth")
    x = torch.randn(1, c, h, w, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        y = model(x)
    np.save(a.out + ".check.in.npy", x.numpy())
    np.save(a.out + ".check.out.npy", y.numpy())
    for batch in (int(b) for b in a.batch.split()):
        torch.onnx.export(model, torch.randn(batch, c, h, w), f"{a.out}.b{batch}.onnx",
                          input_names=["input"], output_names=["output"],
                          opset_version=OPSET, do_constant_folding=True)
    print(f"exported {a.model} ({a.input}, {a.classes} classes) to {a.out}.*", flush=True)


if __name__ == "__main__":
    main()
