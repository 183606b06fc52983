"""viz_reference.py OUTDIR - PyTorch's Grad-CAM and saliency for `cnnzoo viz`.

Loads the shipped LeNet-5 (data/lenet5_fashion.safetensors) into the same
network written in PyTorch, takes a few Fashion-MNIST test images (the
IDX files of Debian's dataset-fashion-mnist) and writes into OUTDIR:
  weights.safetensors       the weights, as loaded
  images/NAME.png           the 28x28 test images
  NAME/input.npy            the net's input (1, 1, 32, 32): zero-padded by
                            2, normalised with mean 0.2860, std 0.3530
  NAME/saliency_C.npy       max over channels of |d logit_C / d input| (32, 32)
  NAME/gradcam_LAYER_C.npy  ReLU(sum_k alpha_k A_k), alpha_k the spatial mean
                            of d logit_C / d A_k, at LAYER (h, w)
  cases.txt                 one line per image: NAME LABEL TOP1 SECOND
for the top-1 and the second class of each image, at every layer that
has a (C, H, W) output. Run with Debian's /usr/bin/python3 (python3-torch).
"""
import gzip
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lenet_reference  # noqa: E402
import st  # noqa: E402

# CZ_VIZ_WEIGHTS may name other LeNet-5 weights (while training new ones).
WEIGHTS = os.environ.get("CZ_VIZ_WEIGHTS",
                         os.path.join(HERE, "..", "data", "lenet5_fashion.safetensors"))
FASHION = "/usr/share/datasets/fashion-mnist"
LAYERS = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2"]
# The first test image of a few classes: T-shirt, trouser, pullover,
# sneaker, bag, ankle boot.
CLASSES = [0, 1, 2, 7, 8, 9]


class LeNet5(lenet_reference.LeNet5):
    """lenet_reference's network, also returning every (C, H, W) map."""

    def forward(self, x):
        """The logits and every (C, H, W) intermediate, by cnnzoo's names."""
        acts = {}
        acts["conv1"] = x = self.conv1(x)
        acts["relu1"] = x = F.relu(x)
        acts["pool1"] = x = F.max_pool2d(x, 2)
        acts["conv2"] = x = self.conv2(x)
        acts["relu2"] = x = F.relu(x)
        acts["pool2"] = x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x), acts


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    weights = {k: v for k, v in st.load(WEIGHTS).items()
               if not k.startswith("optimizer.")}
    model = LeNet5()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model.eval()
    st.save(os.path.join(out, "weights.safetensors"), weights)

    images = read_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    lines = []
    for cls in CLASSES:
        index = int(np.nonzero(labels == cls)[0][0])
        name = "test%04d" % index
        Image.fromarray(images[index]).save(os.path.join(out, "images", name + ".png"))
        pixels = torch.from_numpy(images[index].astype(np.float32) / 255.0)
        x = ((F.pad(pixels, (2, 2, 2, 2)) - 0.2860) / 0.3530).reshape(1, 1, 32, 32)
        case = os.path.join(out, name)
        os.makedirs(case, exist_ok=True)
        np.save(os.path.join(case, "input.npy"), x.numpy())
        with torch.no_grad():
            logits, _ = model(x)
        order = torch.argsort(logits[0], descending=True)
        top1, second = int(order[0]), int(order[1])
        lines.append("%s %d %d %d" % (name, cls, top1, second))
        for target in (top1, second):
            xg = x.clone().requires_grad_(True)
            logits, acts = model(xg)
            for a in acts.values():
                a.retain_grad()
            logits[0, target].backward()
            saliency = xg.grad.abs().amax(dim=1)[0]
            np.save(os.path.join(case, "saliency_%d.npy" % target), saliency.numpy())
            for layer in LAYERS:
                a, g = acts[layer].detach()[0], acts[layer].grad[0]
                alpha = g.mean(dim=(1, 2))
                cam = F.relu((alpha[:, None, None] * a).sum(dim=0))
                np.save(os.path.join(case, "gradcam_%s_%d.npy" % (layer, target)),
                        cam.numpy())
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
