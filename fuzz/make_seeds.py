"""Writes the seed corpus of every fuzz target: small valid files of each
format in the variants PyTorch, numpy, PIL and the dataset packages
produce, so the fuzzer starts from inputs that reach deep into each
reader. Usage: make_seeds.py OUT_DIR (writes OUT_DIR/TARGET/NAME)."""
import collections
import gzip
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch
from PIL import Image

SEP = b"#CZ#"
out = sys.argv[1]


def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def saved(obj, zip_format=True):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=zip_format)
    return buf.getvalue()


torch.manual_seed(0)


def state_dicts():
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.Linear(3, 2))
    sd = net.state_dict()
    w = torch.randn(3, 4)
    yield "sequential", sd
    yield "checkpoint", {"epoch": 3, "state_dict": sd, "best": 0.5, "arch": "lenet5"}
    yield "module_prefix", collections.OrderedDict(("module." + k, v) for k, v in sd.items())
    yield "parameters", dict(net.named_parameters())
    yield "dtypes", {"h": w.half(), "b": w.bfloat16(), "d": w.double(), "l": torch.arange(6),
                     "i": torch.arange(4, dtype=torch.int32), "u": torch.arange(5, dtype=torch.uint8),
                     "bool": w > 0, "scalar": torch.tensor(7), "empty": torch.zeros(0, 3)}
    yield "views", {"t": w.t(), "row": w[1], "col": w[:, 2], "whole": w, "step": w[::2, 1::2]}
    yield "lenet_keys", {"conv1.weight": torch.randn(6, 1, 5, 5), "conv1.bias": torch.randn(6),
                         "fc3.weight": torch.randn(10, 4), "fc3.bias": torch.zeros(10)}


pth = []
for name, obj in state_dicts():
    for zip_format in (True, False):
        data = saved(obj, zip_format)
        kind = "zip" if zip_format else "legacy"
        put("pth", f"{name}_{kind}", data)
        pth.append((name, kind, data))

# The unpickler alone: torch's data.pkl and legacy streams, and plain
# Python objects at every protocol.
for name, kind, data in pth:
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
            put("pickle", f"{name}_data.pkl", z.read(pkl))
    else:
        put("pickle", f"{name}_legacy", data)
objects = [None, True, 7, -2**40, 2**70, 1.5, "text", "ünï", b"\x00\xff", (1, 2), [1, [2, (3,)]],
           {"a": 1, "b": [None, 2.5]}, collections.OrderedDict(a=1), {1, 2}, frozenset([3]),
           bytearray(b"ab"), ("x" * 300, b"y" * 300, list(range(300)))]
for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
    put("pickle", f"objects_p{protocol}", pickle.dumps(objects, protocol=protocol))

# zip: torch's archives, and the variants another tool may write.
for name, kind, data in pth:
    if kind == "zip" and name in ("sequential", "dtypes"):
        put("zip", f"{name}.pth", data)
for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
    for zip64 in (False, True):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            z.comment = b"a comment"
            with z.open("archive/data.pkl", "w", force_zip64=zip64) as f:
                f.write(pickle.dumps({"a": 1}, protocol=2))
            z.writestr("archive/data/0", bytes(range(64)) * 4)
            z.writestr("archive/version", "3\n")
        put("zip", f"m{method}_zip64_{int(zip64)}.zip", buf.getvalue())


# safetensors, written by hand as the format specifies.
def safetensors(tensors, metadata=None, pad=0):
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


a = np.arange(6, dtype=np.float32).reshape(2, 3)
put("safetensors", "f32", safetensors({"w": ("F32", [2, 3], a.tobytes())}, {"format": "pt"}))
put("safetensors", "kinds", safetensors({
    "h": ("F16", [2, 3], a.astype(np.float16).tobytes()),
    "d": ("F64", [3, 2], a.astype(np.float64).tobytes()),
    "b": ("BF16", [6], (a.view(np.uint32) >> 16).astype(np.uint16).tobytes()),
    "l": ("I64", [], np.int64(5).tobytes()),
    "i": ("I32", [2], np.arange(2, dtype=np.int32).tobytes()),
    "u": ("U8", [3], b"\x01\x02\x03"), "t": ("BOOL", [2], b"\x00\x01"),
    "e": ("F32", [0, 4], b""), "f8": ("F8_E4M3", [2], b"\x10\x20")}, {"a": "b", "c": ""}, pad=5))
put("safetensors", "lenet_keys", safetensors({
    "conv1.weight": ("F32", [6, 1, 5, 5], np.ones(150, np.float32).tobytes()),
    "conv1.bias": ("F32", [6], np.zeros(6, np.float32).tobytes())}))
put("safetensors", "empty", safetensors({}))


# Training checkpoints of fuzz_checkpoint.c's small net (conv 1->2 3x3 on
# 1x4x4, BatchNorm "bn", linear 8->3) under AdamW and a plateau schedule,
# laid out as src/train/checkpoint.c writes them: at an epoch's end
# ("checkpoint 1") and inside one, stopped by two ranks ("checkpoint 2").
def checkpoint(inside):
    params = {"conv.weight": [2, 1, 3, 3], "conv.bias": [2], "bn.weight": [2], "bn.bias": [2],
              "fc.weight": [3, 8], "fc.bias": [3]}
    f32 = lambda shape: ("F32", shape, np.random.rand(*shape).astype(np.float32).tobytes())
    tensors = {name: f32(shape) for name, shape in params.items()}
    tensors["bn.running_mean"] = f32([2])
    tensors["bn.running_var"] = f32([2])
    tensors["bn.num_batches_tracked"] = ("I64", [], np.int64(4).tobytes())
    for name, shape in params.items():
        for slot in ("exp_avg", "exp_avg_sq"):
            tensors[f"optimizer.{name}.{slot}"] = f32(shape)
    rng = ",".join(f"{0x9e3779b97f4a7c15 * (i + 1) % 2**64:016x}" for i in range(4))
    meta = {"cnnzoo.format": "checkpoint 2" if inside else "checkpoint 1", "cnnzoo.epoch": "1",
            "cnnzoo.optim.step": "4", "cnnzoo.rng.shuffle": rng, "cnnzoo.rng.net": rng,
            "cnnzoo.schedule": "0.10000000000000001,2.3025850929940459,0,0,1",
            "model": "small", "dataset": "npy:x.npy,y.npy", "seed": "1"}
    if inside:
        meta.update({"cnnzoo.epoch.steps": "2", "cnnzoo.epoch.batches": "3",
                     "cnnzoo.epoch.seconds": "0.5",
                     "cnnzoo.epoch.tally": "4.5,1,3,4,4.25,2,4,4"})
    return safetensors(tensors, meta)


np.random.seed(0)
put("checkpoint", "epoch_end", checkpoint(False))
put("checkpoint", "inside_epoch", checkpoint(True))


def npy(array, version=None):
    buf = io.BytesIO()
    if version:
        np.lib.format.write_array(buf, array, version=version)
    else:
        np.save(buf, array)
    return buf.getvalue()


for dtype in ("<f4", "<f8", "<f2", "<i8", "<i4", "<i2", "|u1", "|i1", "|b1", ">f4", "<u2", "<u4"):
    put("npy", f"a_{dtype[1:]}_{'be' if dtype[0] == '>' else 'le'}",
        npy(np.arange(12).reshape(3, 4).astype(dtype)))
put("npy", "scalar", npy(np.float32(2.5)))
put("npy", "fortran", npy(np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3))))
put("npy", "v2", npy(np.zeros((2, 1, 2, 2), np.float32), version=(2, 0)))
put("npy", "v3", npy(np.zeros((1, 5), np.int64), version=(3, 0)))
put("npy", "empty", npy(np.zeros((0, 3), np.float32)))


# IDX: images then labels, plain and gzip.
def idx(array):
    codes = {np.uint8: 0x08}
    head = struct.pack(">HBB", 0, codes[array.dtype.type], array.ndim)
    return head + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


images = (np.arange(3 * 28 * 28) % 251).astype(np.uint8).reshape(3, 28, 28)
labels = np.array([1, 0, 9], np.uint8)
put("idx", "plain", idx(images) + SEP + idx(labels))
put("idx", "gzip", gzip.compress(idx(images), mtime=0) + SEP + gzip.compress(idx(labels), mtime=0))
put("idx", "small", idx(images[:1, :4, :5]) + SEP + idx(labels[:1]))

# CIFAR: a kind byte, two records, and the class names.
rec10 = b"".join(bytes([c]) + bytes((i * 7 + c) % 256 for i in range(3072)) for c in (3, 9))
rec100 = b"".join(bytes([c % 20, c]) + bytes((i + c) % 256 for i in range(3072)) for c in (5, 99))
names10 = "\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                     "ship", "truck"]).encode() + b"\n"
put("cifar", "c10", b"\x00" + rec10)
put("cifar", "c10_names", b"\x00" + rec10 + SEP + names10)
put("cifar", "c100_names", b"\x01" + rec100 + SEP + "\n".join(f"n{i}" for i in range(100)).encode())


# Images: each mode and encoding PIL writes.
def encoded(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


rgb = Image.frombytes("RGB", (9, 7), bytes((i * 37) % 256 for i in range(9 * 7 * 3)))
images = {
    "rgb.jpg": encoded(rgb, "JPEG", quality=90),
    "grey.jpg": encoded(rgb.convert("L"), "JPEG"),
    "progressive.jpg": encoded(rgb, "JPEG", progressive=True),
    "444.jpg": encoded(rgb, "JPEG", subsampling=0),
    "cmyk.jpg": encoded(rgb.convert("CMYK"), "JPEG"),
    "rgb.png": encoded(rgb, "PNG"),
    "rgba.png": encoded(rgb.convert("RGBA"), "PNG"),
    "grey.png": encoded(rgb.convert("L"), "PNG"),
    "la.png": encoded(rgb.convert("LA"), "PNG"),
    "palette.png": encoded(rgb.convert("P"), "PNG", transparency=0),
    "bits1.png": encoded(rgb.convert("1"), "PNG"),
    "i16.png": encoded(rgb.convert("L").convert("I").point(lambda v: v * 257).convert("I;16"), "PNG"),
}
for name, data in images.items():
    put("image", name, data)


# Folders, in fuzz_folder.c's description language.
def tree(*parts):
    return SEP.join(parts)


put("folder", "two_classes", tree(b"f cat/a.png\n" + images["rgb.png"], b"f dog/b.jpg\n" + images["grey.jpg"],
                                  b"f dog/c.JPEG\n" + images["rgb.jpg"]))
put("folder", "odd", tree(b"f cat/a.png\n" + images["palette.png"], b"f cat/empty.png\n",
                          b"f cat/notes.txt\nhello", b"d bird", b"f cat/sub/deep.png\n" + images["la.png"],
                          b"l dog ../root", b"l cat/self .", b"f fish/broken.jpg\n" + images["rgb.jpg"][:40]))

# Command lines, arguments separated by NUL bytes.
for i, args in enumerate([
        ["lenet5", "--epochs", "3", "--lr", "0.05", "--input", "1x32x32", "--schedule", "step:4:0.3"],
        ["resnet18", "--schedule=cosine:5:0.001:0", "--seed", "42", "--quiet", "--workers=2"],
        ["vgg16", "--weight-decay", "5e-4", "--schedule", "multistep:30,60,90:0.1", "--out", "runs"],
        ["--help"], ["alexnet", "--schedule", "plateau:0.1:10:1e-4:rel:0:0", "--", "--odd"],
        ["x", "--epochs", "-1", "--lr", "nan", "--input", "3x0x5", "--schedule", "exp:0.97:2"]]):
    put("args", f"line{i}", b"\0".join(a.encode() for a in args))
print(f"make_seeds.py: seeds in {out}")
