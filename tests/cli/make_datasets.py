"""make_datasets.py DIR - small datasets for tests/cli/test_cli_data.sh,
with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14, PIL 9.4):

DIR/folder/{train,val}/{cat,dog,eel}/: photo-like JPEGs and PNGs of odd
  sizes (RGB, grey, palette, 16-bit), and in train/cat bad files: garbage
  named .jpg, a zero-byte .png, a truncated JPEG, a PNG whose header
  claims 100000x100000 pixels.
DIR/allbad/{a,b}/: only bad files.
DIR/cifar10/, DIR/cifar100/: CIFAR binaries of a few records.
DIR/ref.txt: torchvision's top-1/top-5 counts and mean loss on folder/val
  for resnet18 and googlenet (3 classes, random weights saved as .pth),
  centre crop and ten crops, as "MODEL CROPS TOP1 TOP5 LOSS" lines.
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

CLASSES = ["cat", "dog", "eel"]


def photo(rng, w, h, k):
    """Smooth colour fields plus noise: compresses like a photo."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([np.sin(x / (7 + k) + c) * np.cos(y / (5 + 2 * k) - c) for c in range(3)], -1)
    img = 127 + 90 * base + rng.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def save_variants(rng, d, k, count):
    os.makedirs(d, exist_ok=True)
    sizes = [(300, 260), (257, 311), (420, 301), (262, 262)]
    for i in range(count):
        img = photo(rng, *sizes[i % len(sizes)], k)
        kind = i % 4
        if kind == 0:
            img.save(f"{d}/img{i}.jpg", quality=90)
        elif kind == 1:
            img.save(f"{d}/img{i}.JPEG", quality=85, progressive=True)
        elif kind == 2:
            img.convert("P", palette=Image.ADAPTIVE).save(f"{d}/img{i}.png")
        else:
            grey16 = (np.asarray(img.convert("L"), np.uint16) * 257).astype(np.uint16)
            Image.fromarray(grey16).save(f"{d}/img{i}.png")


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return bytearray(buf.getvalue())


def bomb_png():
    data = png_bytes(Image.new("L", (8, 8)))
    data[16:24] = struct.pack(">II", 100000, 100000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def bad_files(d):
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/corrupt.jpg", "wb") as f:
        f.write(b"this is not a JPEG at all" * 10)
    open(f"{d}/empty.png", "wb").close()
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(buf, "JPEG")
    with open(f"{d}/truncated.jpg", "wb") as f:
        f.write(buf.getvalue()[:300])
    with open(f"{d}/bomb.png", "wb") as f:
        f.write(bomb_png())


def cifar(d, hundred, rng):
    os.makedirs(d, exist_ok=True)
    names = ["train.bin", "test.bin"] if hundred else [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for name in names:
        n = 20
        labels = rng.integers(0, 100 if hundred else 10, n)
        pixels = rng.integers(0, 256, (n, 3072))
        recs = []
        for i in range(n):
            head = bytes([labels[i] // 5, labels[i]]) if hundred else bytes([labels[i]])
            recs.append(head + bytes(pixels[i].astype(np.uint8)))
        with open(f"{d}/{name}", "wb") as f:
            f.write(b"".join(recs))


def reference(d):
    """torchvision on folder/val, as the eval command must reproduce it."""
    lines = []
    for name in ["resnet18", "googlenet"]:
        torch.manual_seed(1)
        if name == "googlenet":
            # aux_logits=True: the layout of torchvision's published weights
            # (eval mode ignores the auxiliary heads).
            model = torchvision.models.googlenet(num_classes=3, aux_logits=True, init_weights=False,
                                                 transform_input=True)
        else:
            model = torchvision.models.resnet18(num_classes=3)
        # BatchNorm statistics from a few batches and a larger classifier,
        # so the logits are far from uniform and hits and loss tell.
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model(torch.randn(4, 3, 224, 224))
            model.fc.weight.mul_(20)
        model.eval()
        torch.save(model.state_dict(), f"{d}/{name}.pth")
        norm = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        for crops in [1, 10]:
            if crops == 1:
                tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), norm])
            else:
                tf = T.Compose([T.Resize(256), T.TenCrop(224),
                                T.Lambda(lambda cs: torch.stack([norm(T.ToTensor()(c)) for c in cs]))])
            ds = torchvision.datasets.ImageFolder(f"{d}/folder/val", transform=tf)
            top1 = top5 = 0
            loss = 0.0
            with torch.no_grad():
                for x, y in ds:
                    x = x.view(-1, 3, 224, 224)
                    logits = model(x).mean(0, keepdim=True)
                    loss += torch.nn.functional.cross_entropy(logits, torch.tensor([y])).item()
                    rank = (logits[0] > logits[0, y]).sum().item()
                    top1 += rank == 0
                    top5 += rank < 5
            lines.append(f"{name} {crops} {top1} {top5} {loss / len(ds):.6f}")
    with open(f"{d}/ref.txt", "w") as f:
        f.write("\n".join(lines) + "\n")


def main(d):
    rng = np.random.default_rng(0)
    for split, count in [("train", 6), ("val", 3)]:
        for k, c in enumerate(CLASSES):
            save_variants(rng, f"{d}/folder/{split}/{c}", k, count)
    bad_files(f"{d}/folder/train/cat")
    bad_files(f"{d}/allbad/a")
    bad_files(f"{d}/allbad/b")
    cifar(f"{d}/cifar10", False, rng)
    cifar(f"{d}/cifar100", True, rng)
    torch.set_num_threads(2)
    reference(d)


if __name__ == "__main__":
    main(sys.argv[1])
