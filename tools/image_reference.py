"""image_reference.py OUT_DIR - the fixtures of the image tests.

Writes into OUT_DIR test images made with PIL (photo-like noise, smooth
gradients, odd sizes, grey, palette, RGBA, grey+alpha, 1-bit and 16-bit
PNGs, baseline/progressive/4:4:4/grey/CMYK JPEGs), crafted bad files
(empty, truncated, corrupt, headers claiming 100000x100000 pixels), and
what PIL 9.4 and torchvision 0.14 make of them:

  decode   IMAGE RGB.npy L.npy       Image.open(IMAGE).convert("RGB"/"L")
  resize   IMAGE W H FILTER OUT.npy  Image.resize((W, H), FILTER)
  pipeline MODEL IMAGE TENCROP OUT.npy  the model's eval transforms
  bad      IMAGE                     a file that must be refused

one case a line in OUT_DIR/manifest.txt. Run with Debian's /usr/bin/python3.
"""
import io
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image

RNG = np.random.default_rng(20240611)
BILINEAR = T.InterpolationMode.BILINEAR
BICUBIC = T.InterpolationMode.BICUBIC
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
INCEPTION = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
CIFAR = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


def photo(w, h):
    """Smooth colour gradients with blobs and grain: what a camera gives,
    enough structure for the resampling filters to matter."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / max(w, 1) * 5.1 + y / max(h, 1) * 1.3)
    g = 128 + 90 * np.cos(y / max(h, 1) * 4.2 - x / max(w, 1) * 0.7)
    b = 255 * (x + y) / max(w + h - 2, 1)
    img = np.stack([r, g, b], axis=-1) + RNG.normal(0, 18, (h, w, 3))
    img[(x // 23 + y // 17) % 5 == 0] += 40  # hard edges
    return np.clip(img, 0, 255).astype(np.uint8)


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xffffffff)


def raw_png(width, height, depth, colour, rows_bytes, interlaced=False):
    """A PNG written by hand, for what PIL cannot save (16-bit colour,
    Adam7) and for lying headers. rows_bytes are the scanlines, already
    in pass order when interlaced."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))
    idat = zlib.compress(b"".join(b"\0" + r for r in rows_bytes))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) +
            png_chunk(b"IEND", b""))


def adam7_rows(pixels):
    """The scanlines of an (H, W, C) array in Adam7's seven passes."""
    rows = []
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                           (1, 0, 2, 2), (0, 1, 1, 2)):
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            rows += [row.tobytes() for row in sub]
    return rows


def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    return name


def save(out, name, img, **kw):
    img.save(os.path.join(out, name), **kw)
    return name


def make_images(out):
    """The test images; returns their names."""
    names = []
    rgb = Image.fromarray(photo(333, 257))
    names.append(save(out, "photo.png", rgb))
    names.append(save(out, "photo_q90.jpg", rgb, quality=90))
    names.append(save(out, "photo_progressive.jpg", rgb, quality=85, progressive=True))
    names.append(save(out, "photo_444.jpg", rgb, quality=95, subsampling=0))
    names.append(save(out, "tall.png", Image.fromarray(photo(17, 500))))
    names.append(save(out, "wide.jpg", Image.fromarray(photo(500, 17)), quality=90))
    names.append(save(out, "one.png", Image.fromarray(photo(1, 1))))
    names.append(save(out, "small.png", Image.fromarray(photo(7, 5))))
    names.append(save(out, "grey.png", rgb.convert("L")))
    names.append(save(out, "grey.jpg", rgb.convert("L"), quality=90))
    names.append(save(out, "cmyk.jpg", rgb.convert("CMYK"), quality=90))
    names.append(save(out, "palette.png", rgb.convert("P", palette=Image.ADAPTIVE, colors=37)))
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(photo(333, 257)[:, :, 0]))
    names.append(save(out, "rgba.png", rgba))
    names.append(save(out, "grey_alpha.png", rgba.convert("LA")))
    names.append(save(out, "bilevel.png", rgb.convert("1")))
    grey16 = (photo(61, 43)[:, :, 0].astype(np.uint16) * 257 // 3)  # mostly above 255
    grey16[0, :8] = [0, 1, 100, 255, 256, 1000, 40000, 65535]
    names.append(save(out, "grey16.png", Image.fromarray(grey16)))
    rgb16 = photo(29, 31).astype(">u2") * 257 + RNG.integers(0, 256, (31, 29, 3)).astype(">u2")
    names.append(write(out, "rgb16.png", raw_png(29, 31, 16, 2, [r.tobytes() for r in rgb16])))
    rgba16 = np.concatenate([rgb16, rgb16[:, :, :1]], axis=2)
    names.append(write(out, "rgba16.png", raw_png(29, 31, 16, 6, [r.tobytes() for r in rgba16])))
    names.append(write(out, "grey_alpha16.png",
                       raw_png(29, 31, 16, 4, [r.tobytes() for r in rgba16[:, :, 1:3]])))
    names.append(write(out, "interlaced.png", raw_png(45, 37, 8, 2, adam7_rows(photo(45, 37)),
                                                      interlaced=True)))
    names.append(save(out, "palette4_trns.png",
                      rgb.convert("P", palette=Image.ADAPTIVE, colors=12), bits=4, transparency=3))
    return names


def make_bad(out):
    """Files that must be refused with an error naming them."""
    with open(os.path.join(out, "photo_q90.jpg"), "rb") as f:
        jpeg = f.read()
    with open(os.path.join(out, "photo.png"), "rb") as f:
        png = f.read()
    bad = {
        "empty.png": b"",
        "empty.jpg": b"",
        "text.png": b"hello, not an image\n",
        "truncated.jpg": jpeg[:len(jpeg) // 2],
        "truncated_header.jpg": jpeg[:40],
        "truncated.png": png[:len(png) // 2],
        "truncated_header.png": png[:20],
        "corrupt.jpg": b"\xff\xd8\xff" + bytes(RNG.integers(0, 256, 3000, dtype=np.uint8)),
        "corrupt.png": png[:60] + bytes(b ^ 0x55 for b in png[60:200]) + png[200:],
        "huge.png": raw_png(100000, 100000, 8, 2, [b"\0" * 300000]),
        "huge.jpg": craft_huge_jpeg(jpeg),
    }
    for name, data in bad.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    return sorted(bad)


def craft_huge_jpeg(jpeg):
    """The JPEG with its frame header claiming 65000x65000 pixels (the
    format's 16-bit fields cannot say 100000)."""
    i = 2
    while i < len(jpeg):
        marker, length = jpeg[i + 1], struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        if marker in (0xc0, 0xc2):
            return jpeg[:i + 5] + struct.pack(">HH", 65000, 65000) + jpeg[i + 9:]
        i += 2 + length
    raise ValueError("no SOF marker")


def to_npy(out, name, array):
    np.save(os.path.join(out, name), np.ascontiguousarray(array))
    return name


def decode_cases(out, names):
    lines = []
    for name in names:
        img = Image.open(os.path.join(out, name))
        stem = name.replace(".", "_")
        a = to_npy(out, stem + "_rgb.npy", np.asarray(img.convert("RGB")))
        b = to_npy(out, stem + "_l.npy", np.asarray(img.convert("L")))
        lines.append(f"decode {name} {a} {b}")
    return lines


def resize_cases(out):
    lines = []
    sizes = {"photo.png": [(256, 197), (224, 224), (1000, 771), (100, 500), (333, 600), (41, 3)],
             "tall.png": [(256, 7529), (5, 11), (40, 40)],
             "small.png": [(300, 200), (1, 1)],
             "grey.png": [(256, 197), (117, 400)],
             "one.png": [(256, 256)]}
    for name, shapes in sizes.items():
        img = Image.open(os.path.join(out, name))
        for w, h in shapes:
            for flt, tag in ((Image.BILINEAR, "bilinear"), (Image.BICUBIC, "bicubic")):
                res = to_npy(out, f"resize_{name[:-4]}_{w}x{h}_{tag}.npy",
                             np.asarray(img.resize((w, h), flt)))
                lines.append(f"resize {name} {w} {h} {tag} {res}")
    return lines


def timm_eval(size, crop_pct, interp, stats):
    """timm's transforms_imagenet_eval for a square input."""
    return T.Compose([T.Resize(math.floor(size / crop_pct), interpolation=interp),
                      T.CenterCrop(size), T.ToTensor(), T.Normalize(*stats)])


def plain(resize, crop, interp, stats):
    return T.Compose([T.Resize(resize, interpolation=interp), T.CenterCrop(crop), T.ToTensor(),
                      T.Normalize(*stats)])


def ten_crop(resize, crop, stats):
    norm = T.Compose([T.ToTensor(), T.Normalize(*stats)])
    return T.Compose([T.Resize(resize), T.TenCrop(crop),
                      T.Lambda(lambda crops: torch.stack([norm(c) for c in crops]))])


def weights_transform(name):
    """torchvision's own transforms of the weights the zoo loads."""
    return torchvision.models.get_weight(name).transforms()


PIPELINES = {
    "resnet50": lambda: weights_transform("ResNet50_Weights.IMAGENET1K_V1"),
    "alexnet": lambda: weights_transform("AlexNet_Weights.IMAGENET1K_V1"),
    "vgg16": lambda: weights_transform("VGG16_Weights.IMAGENET1K_V1"),
    "googlenet": lambda: weights_transform("GoogLeNet_Weights.IMAGENET1K_V1"),
    "densenet121": lambda: weights_transform("DenseNet121_Weights.IMAGENET1K_V1"),
    "mobilenet_v2": lambda: weights_transform("MobileNet_V2_Weights.IMAGENET1K_V1"),
    "inception_v3": lambda: weights_transform("Inception_V3_Weights.IMAGENET1K_V1"),
    **{f"efficientnet_b{i}":
       (lambda i=i: weights_transform(f"EfficientNet_B{i}_Weights.IMAGENET1K_V1"))
       for i in range(8)},
    "inception_v4": lambda: timm_eval(299, 0.875, BICUBIC, INCEPTION),
    "inception_resnet_v2": lambda: timm_eval(299, 0.8975, BICUBIC, INCEPTION),
    "xception": lambda: timm_eval(299, 0.8975, BICUBIC, INCEPTION),
    "resnetv2_50": lambda: timm_eval(224, 0.95, BICUBIC, INCEPTION),
    "seresnet50": lambda: timm_eval(224, 0.875, BICUBIC, IMAGENET),
    "mobilenet_v1": lambda: timm_eval(224, 0.875, BICUBIC, INCEPTION),
    "senet154": lambda: timm_eval(224, 0.875, BILINEAR, IMAGENET),
    "resnest50d": lambda: timm_eval(224, 0.875, BILINEAR, IMAGENET),
    "alexnet_paper": lambda: plain(256, 227, BILINEAR, IMAGENET),
    "nin_cifar10": lambda: plain(32, 32, BILINEAR, CIFAR),
    "lenet5": lambda: plain(28, 32, BILINEAR, ((0.2860,), (0.3530,))),
}


def pipeline_cases(out):
    lines = []
    images = ["photo_q90.jpg", "tall.png", "wide.jpg", "grey.png", "one.png"]
    for model, make in PIPELINES.items():
        tf = make()
        mode = "L" if model == "lenet5" else "RGB"
        big = model in ("efficientnet_b5", "efficientnet_b6", "efficientnet_b7")
        for name in images[:2] if big else images:
            x = tf(Image.open(os.path.join(out, name)).convert(mode)).numpy()
            res = to_npy(out, f"pipe_{model}_{name.replace('.', '_')}.npy", x[None])
            lines.append(f"pipeline {model} {name} 0 {res}")
    for model, resize, crop in (("alexnet", 256, 224), ("alexnet_paper", 256, 227)):
        for name in ("photo_q90.jpg", "tall.png"):
            x = ten_crop(resize, crop, IMAGENET)(Image.open(os.path.join(out, name)).convert("RGB"))
            res = to_npy(out, f"tencrop_{model}_{name.replace('.', '_')}.npy", x.numpy())
            lines.append(f"pipeline {model} {name} 1 {res}")
    return lines


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    names = make_images(out)
    lines = decode_cases(out, names) + resize_cases(out) + pipeline_cases(out)
    lines += [f"bad {name}" for name in make_bad(out)]
    tmp = os.path.join(out, "manifest.txt.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(out, "manifest.txt"))
    print(f"{len(lines)} image cases in {out}")


if __name__ == "__main__":
    main()
