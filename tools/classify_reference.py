"""classify_reference.py OUT_DIR - PyTorch's answers for `cnnzoo classify`.

Writes into OUT_DIR:
  <model>.pth          state_dicts of resnet18, googlenet (transform_input
                       on, as torchvision's pretrained GoogLeNet) and lenet5,
                       with random weights whose classifier is scaled so the
                       top-5 probabilities are well apart
  *.jpg, *.png         test images made with PIL: noise over gradients, odd
                       sizes, RGB, RGBA and grey
  <case>.input.npy     the batch torchvision's transforms give the network
                       (after transform_input for googlenet), so a mismatch
                       can be traced to preprocessing or to the network
  expected.json        per case: model, weights, images, tencrop and
                       PyTorch's top-5 [index, probability] per image
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision).
"""
import json
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from zoo import resnet  # noqa: E402
from lenet_reference import LeNet5  # noqa: E402

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# cz_preprocess_for_model("lenet5"): grey, shorter side 28 zero-padded to a
# 32x32 centre crop (as the trainer pads Fashion-MNIST), its statistics.
LENET_RESIZE, LENET_CROP = 28, 32
LENET_MEAN, LENET_STD = (0.2860,), (0.3530,)
TOPK = 5


def make_image(rng, width, height, grey=False):
    """Smooth gradients plus noise: resampling has edges and flat parts."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    base = np.stack([255 * x / width, 255 * y / height,
                     127 + 120 * np.sin(x / 7.0 + y / 11.0)], axis=-1)
    img = np.clip(base + rng.normal(0, 40, base.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(img[..., 0] if grey else img)


def write_images(out):
    rng = np.random.default_rng(4)
    images = {
        "noise.jpg": make_image(rng, 301, 257),
        "wide.png": make_image(rng, 333, 199),
        "tall.png": make_image(rng, 240, 410).convert("RGBA"),
        "grey.png": make_image(rng, 45, 37, grey=True),
    }
    for name, img in images.items():
        if name.endswith(".jpg"):
            img.save(os.path.join(out, name), quality=90)
        else:
            img.save(os.path.join(out, name))
    return list(images)


def imagenet_transform(tencrop):
    norm = T.Compose([T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    if not tencrop:
        return T.Compose([T.Resize(256), T.CenterCrop(224), norm])
    return T.Compose([T.Resize(256), T.TenCrop(224),
                      T.Lambda(lambda crops: torch.stack([norm(c) for c in crops]))])


def lenet_transform():
    return T.Compose([T.Resize(LENET_RESIZE), T.CenterCrop(LENET_CROP), T.ToTensor(),
                      T.Normalize(LENET_MEAN, LENET_STD)])


def spread_classifier(model, fc, batch):
    """Random-weight logits are nearly flat and nearly the same for every
    image; centre the last layer on these images' features and scale it
    so the logits spread by about 3: the top-5 then differ per image and
    their order is not a rounding matter."""
    feats = []
    hook = fc.register_forward_pre_hook(lambda m, inp: feats.append(inp[0].detach()))
    with torch.no_grad():
        model(batch)
        hook.remove()
        f = feats[0].double()
        centred = (f - f.mean(0)) @ fc.weight.double().t()
        scale = 3.0 / centred.std().item()
        fc.weight.mul_(scale)
        fc.bias.copy_(-(fc.weight.double() @ f.mean(0)).float())


def randomise_batchnorm(model, gen):
    """Running statistics away from (0, 1), so loading them matters."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


def keep_activations(model):
    """GoogLeNet's init (truncated normal, std 0.01) shrinks activations to
    1e-12 by the classifier; He init keeps them near 1."""
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


def batch_of(images, out, transform, mode):
    xs = [transform(Image.open(os.path.join(out, name)).convert(mode)) for name in images]
    return torch.stack(xs)


def top5(logits):
    prob = torch.softmax(logits.double(), dim=1)
    p, idx = prob.topk(TOPK + 1, dim=1)
    # Logits closer than this could swap places with float rounding.
    gaps = p[:, :-1].log() - p[:, 1:].log()
    if (gaps < 1e-4).any():
        sys.exit("classify_reference.py: top-5 logits too close to order reliably: %s" % gaps)
    p, idx = p[:, :TOPK], idx[:, :TOPK]
    return [[[int(i), float(q)] for i, q in zip(ri, rp)] for ri, rp in zip(idx, p)]


def run_case(out, case, model, x, tencrop):
    """x: (N, C, H, W), or (N, 10, C, H, W) with tencrop (logits averaged
    over the crops, then softmax, as torchvision's reference evaluation)."""
    np.save(os.path.join(out, case["name"] + ".input.npy"),
            x.reshape(-1, *x.shape[-3:]).numpy().astype(np.float32))
    with torch.no_grad():
        if tencrop:
            logits = model(x.reshape(-1, *x.shape[-3:])).reshape(x.shape[0], 10, -1).mean(1)
        else:
            logits = model(x)
    case["top"] = top5(logits)
    case["tencrop"] = tencrop
    return case


def googlenet_input(x):
    """What torchvision's googlenet feeds its first conv when
    transform_input is on (for the saved input only)."""
    m = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    s = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return x * (s / 0.5) + (m - 0.5) / 0.5


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    names = write_images(out)
    rgb = [n for n in names if n != "grey.png"]
    cases = []

    gen = torch.Generator().manual_seed(1)
    model = resnet.build("resnet18", 1000).eval()
    randomise_batchnorm(model, gen)
    x = batch_of(rgb, out, imagenet_transform(False), "RGB")
    spread_classifier(model, model.fc, x)
    torch.save(model.state_dict(), os.path.join(out, "resnet18.pth"))
    cases.append(run_case(out, {"name": "resnet18", "model": "resnet18",
                                "weights": "resnet18.pth", "images": rgb}, model, x, False))
    x10 = batch_of(rgb[:2], out, imagenet_transform(True), "RGB")
    cases.append(run_case(out, {"name": "resnet18_tencrop", "model": "resnet18",
                                "weights": "resnet18.pth", "images": rgb[:2]}, model, x10, True))

    model = torchvision.models.googlenet(weights=None, num_classes=1000, aux_logits=True,
                                         transform_input=True, init_weights=True).eval()
    keep_activations(model)
    randomise_batchnorm(model, gen)
    spread_classifier(model, model.fc, x)
    torch.save(model.state_dict(), os.path.join(out, "googlenet.pth"))
    case = run_case(out, {"name": "googlenet", "model": "googlenet",
                          "weights": "googlenet.pth", "images": rgb}, model, x, False)
    np.save(os.path.join(out, "googlenet.input.npy"), googlenet_input(x).numpy())
    cases.append(case)

    model = LeNet5(10).eval()
    grey = ["grey.png", "noise.jpg"]
    xg = batch_of(grey, out, lenet_transform(), "L")
    spread_classifier(model, model.fc3, xg)
    torch.save(model.state_dict(), os.path.join(out, "lenet5.pth"))
    cases.append(run_case(out, {"name": "lenet5", "model": "lenet5", "weights": "lenet5.pth",
                                "images": grey}, model, xg, False))

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: classify_reference.py OUT_DIR")
    main(sys.argv[1])
