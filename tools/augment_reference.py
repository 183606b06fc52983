"""augment_reference.py OUT_DIR - the fixtures of test_augment.

Writes into OUT_DIR a few 8-bit images as .npy (H, W, C) and what
torchvision 0.14 (PIL 9.4) makes of them, one case a line in
OUT_DIR/manifest.txt:

  crop IMAGE L,T,W,H OW,OH FILTER OUT.npy  F.resized_crop(pil, T, L, H, W, [OH, OW])
  padcrops IMAGE PAD CROP OUT.npy  every F.crop(F.pad(pil, PAD), i, j, CROP, CROP),
                                   stacked in order i * n + j: RandomCrop(padding=PAD)'s
                                   possible outputs
  resize IMAGE SIZE FILTER OUT.npy  T.Resize(SIZE) (shorter side), AlexNet's first step
  jitter OP FACTOR IN.npy OUT.npy  F.adjust_OP on a float (C, H, W) tensor
  lighting IN.npy A0,A1,A2 OUT.npy  fb.resnet.torch's Lighting with alpha fixed

Factors are float32 values written with repr, so C reads them exactly.
Run with Debian's /usr/bin/python3.
"""
import os
import sys

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
from PIL import Image

RNG = np.random.default_rng(20240612)
FILTERS = {"bilinear": T.InterpolationMode.BILINEAR, "bicubic": T.InterpolationMode.BICUBIC}
EIGVAL = np.array([0.2175, 0.0188, 0.0045])
EIGVEC = np.array([[-0.5675, 0.7192, 0.4009],
                   [-0.5808, -0.0045, -0.8140],
                   [-0.5836, -0.6948, 0.4203]])


def save(out, name, array):
    np.save(os.path.join(out, name), np.ascontiguousarray(array))
    return name


def photo(w, h, channels):
    """Gradients, hard edges and grain, so the filters have work to do;
    never 0, so zero padding cannot pass for image."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / w * 5.1 + y / h * 1.3)
    g = 128 + 90 * np.cos(y / h * 4.2 - x / w * 0.7)
    b = 255 * (x + y) / max(w + h - 2, 1)
    img = np.stack([r, g, b], axis=-1) + RNG.normal(0, 18, (h, w, 3))
    img[(x // 7 + y // 5) % 4 == 0] += 50
    img = np.clip(img, 1, 255).astype(np.uint8)
    return img if channels == 3 else img[:, :, :1]


def to_pil(array):
    return Image.fromarray(array if array.shape[2] == 3 else array[:, :, 0])


def to_hwc(pil):
    a = np.asarray(pil)
    return a if a.ndim == 3 else a[:, :, None]


def crop_cases(out, images):
    boxes = [  # (left, top, w, h, out_w, out_h): inside, up, down, outside, odd outputs
        (7, 5, 20, 30, 24, 24), (0, 0, 53, 41, 16, 16), (3, 2, 9, 7, 40, 33),
        (-6, -4, 30, 25, 24, 24), (40, 30, 25, 20, 17, 29), (-10, -10, 80, 70, 32, 32),
        (12, 9, 1, 1, 5, 5), (1, 1, 40, 12, 31, 7),
    ]
    lines = []
    for name, array in images.items():
        pil = to_pil(array)
        for k, (left, top, w, h, ow, oh) in enumerate(boxes):
            for fname, mode in FILTERS.items():
                got = to_hwc(F.resized_crop(pil, top, left, h, w, [oh, ow], mode))
                res = save(out, f"crop_{name[:-4]}_{k}_{fname}.npy", got)
                lines.append(f"crop {name} {left},{top},{w},{h} {ow},{oh} {fname} {res}")
    return lines


def padcrop_cases(out, images):
    lines = []
    for name in ("cifar.npy", "cifar_grey.npy"):
        padded = F.pad(to_pil(images[name]), 4)
        crops = [to_hwc(F.crop(padded, i, j, 32, 32)) for i in range(9) for j in range(9)]
        res = save(out, f"padcrops_{name}", np.stack(crops))
        lines.append(f"padcrops {name} 4 32 {res}")
    return lines


def resize_cases(out, images):
    lines = []
    for name, size, fname in (("photo.npy", 24, "bilinear"), ("tall.npy", 20, "bicubic")):
        got = to_hwc(T.Resize(size, FILTERS[fname])(to_pil(images[name])))
        res = save(out, f"resize_{name[:-4]}_{size}.npy", got)
        lines.append(f"resize {name} {size} {fname} {res}")
    return lines


def float_image(c, h, w):
    """Uniform in [0, 1] with exact 0s and 1s, so clamping is exercised."""
    x = RNG.uniform(0, 1, (c, h, w)).astype(np.float32)
    x.flat[::17] = 0.0
    x.flat[5::19] = 1.0
    return x


def jitter_cases(out):
    ops = {"brightness": F.adjust_brightness, "contrast": F.adjust_contrast,
           "saturation": F.adjust_saturation}
    factors = [float(np.float32(f)) for f in (0.0, 0.3, 0.77, 1.0, 1.41, 2.5)]
    lines = []
    for c in (3, 1):
        src = save(out, f"float_{c}.npy", float_image(c, 13, 11))
        x = torch.from_numpy(np.load(os.path.join(out, src)))
        for op, fn in ops.items():
            for k, f in enumerate(factors):
                res = save(out, f"jitter_{c}_{op}_{k}.npy", fn(x, f).numpy())
                lines.append(f"jitter {op} {f!r} {src} {res}")
    return lines


def lighting_cases(out):
    src = save(out, "float_light.npy", float_image(3, 7, 9))
    x = np.load(os.path.join(out, src))
    lines = []
    for k, alpha in enumerate(((0.1, -0.05, 0.2), (-0.3, 0.25, -0.12), (0.0, 0.0, 0.0))):
        alpha = np.array([float(np.float32(a)) for a in alpha])
        offset = (EIGVEC @ (alpha * EIGVAL)).astype(np.float32)
        res = save(out, f"lighting_{k}.npy", x + offset[:, None, None])
        lines.append(f"lighting {src} {','.join(repr(a) for a in alpha)} {res}")
    return lines


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    images = {"photo.npy": photo(53, 41, 3), "grey.npy": photo(37, 29, 1),
              "tall.npy": photo(19, 45, 3), "cifar.npy": photo(32, 32, 3),
              "cifar_grey.npy": photo(32, 32, 1)}
    for name, array in images.items():
        save(out, name, array)
    lines = (crop_cases(out, {k: images[k] for k in ("photo.npy", "grey.npy", "tall.npy")}) +
             padcrop_cases(out, images) + resize_cases(out, images) + jitter_cases(out) +
             lighting_cases(out))
    tmp = os.path.join(out, "manifest.txt.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(out, "manifest.txt"))
    print(f"{len(lines)} augment cases in {out}")


if __name__ == "__main__":
    main()
