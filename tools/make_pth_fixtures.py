"""make_pth_fixtures.py - PyTorch and numpy files for tests/unit/test_pth.c
and test_npy.c, written with Debian's python3-torch (1.13) into argv[1].

Each .pth comes with its expected values as a .safetensors (float32, and
int64 for num_batches_tracked) that the C side already reads:

  small*.pth           conv + bn + linear state_dict: zip, legacy, pickle
                       protocol 4, and re-zipped with deflate
  resnet18*.pth        torchvision resnet18, zip and legacy; resnet18_keys.txt
                       lists "name d0,d1,..." per tensor
  checkpoint*.pth      {'state_dict': ..., 'epoch': 3, 'optimizer': ...} and
                       {'model': ...}
  module.pth           DataParallel keys ('module.' prefix)
  views*.pth           tensors sharing one storage: transpose, slices,
                       offsets, a stride-0 expand, a 0-dim element, a Parameter
  dtypes*.pth          float16, bfloat16, float64 and integer storages
  malicious*.pth       pickles calling os.system (must be refused)
  *.npy                float32 4-D, int64 1-D, float64, int32, uint8,
                       0-dim, header versions 2.0/3.0, Fortran order,
                       big-endian (the last two must be refused)

Never needed at run time; fixtures live in the build tree.
"""
import io
import os
import pickle
import sys
import zipfile

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402


def expected(tensors):
    """Contiguous numpy copies: int64 stays int64, everything else float32."""
    out = {}
    for name, t in tensors.items():
        t = t.detach()
        out[name] = t.numpy().copy() if t.dtype == torch.int64 else t.float().contiguous().numpy()
    return out


def save_pair(folder, stem, obj, tensors, legacy=True, **kwargs):
    torch.save(obj, os.path.join(folder, stem + ".pth"), **kwargs)
    if legacy:
        torch.save(obj, os.path.join(folder, stem + "_legacy.pth"),
                   _use_new_zipfile_serialization=False)
    st.save(os.path.join(folder, stem + ".safetensors"), expected(tensors))


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
            m.num_batches_tracked.fill_(7)


def small_model(folder, gen):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 2 * 2, 5))
    randomize_bn(model, gen)
    sd = model.state_dict()
    save_pair(folder, "small", sd, sd)
    torch.save(sd, os.path.join(folder, "small_p4.pth"), pickle_protocol=4)
    # The same archive re-zipped with deflate, as a user's zip tool might.
    with zipfile.ZipFile(os.path.join(folder, "small.pth")) as src, \
            zipfile.ZipFile(os.path.join(folder, "small_deflate.pth"), "w",
                            compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))

    # A training checkpoint after one SGD step (momentum buffers exist).
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    model(torch.randn(2, 3, 4, 4, generator=gen)).sum().backward()
    opt.step()
    sd = model.state_dict()
    ckpt = {"epoch": 3, "arch": "small", "state_dict": sd, "optimizer": opt.state_dict(),
            "best_acc1": 0.75, "big": 2 ** 70, "neg": -5, "flags": [True, False, None],
            "lrs": (0.1, 0.01)}
    save_pair(folder, "checkpoint", ckpt, sd)
    torch.save({"model": sd, "epoch": 1}, os.path.join(folder, "checkpoint_model.pth"))
    torch.save({"module." + k: v for k, v in sd.items()}, os.path.join(folder, "module.pth"))


def resnet18(folder, gen):
    model = torchvision.models.resnet18()
    randomize_bn(model, gen)
    sd = model.state_dict()
    torch.save(sd, os.path.join(folder, "resnet18.pth"))
    torch.save(sd, os.path.join(folder, "resnet18_legacy.pth"),
               _use_new_zipfile_serialization=False)
    some = ["conv1.weight", "bn1.running_var", "bn1.num_batches_tracked",
            "layer3.0.downsample.0.weight", "layer4.1.bn2.running_mean", "fc.weight", "fc.bias"]
    st.save(os.path.join(folder, "resnet18.safetensors"), expected({k: sd[k] for k in some}))
    with open(os.path.join(folder, "resnet18_keys.txt"), "w") as f:
        for k, v in sd.items():
            f.write("%s %s\n" % (k, ",".join(str(d) for d in v.shape)))


def views(folder, gen):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    tensors = {
        "base": base,
        "t": base.t(),                   # stride (1, 6)
        "slice": base[1:3, 2:5],         # offset 8, stride (6, 1)
        "col": base[:, 1],               # offset 1, stride (6,)
        "scalar": base[2, 3],            # 0-dim, offset 15
        "step": base[:, ::2],            # stride (6, 2)
        "expand": base[1:2].expand(3, 6),  # stride (0, 1)
        "empty": torch.zeros(0, 3),
        "param": torch.nn.Parameter(torch.randn(3, generator=gen)),
    }
    save_pair(folder, "views", tensors, tensors)


def dtypes(folder, gen):
    h = torch.randn(3, 4, generator=gen).half()
    tensors = {
        "f16": h,
        "f16_t": h.t(),
        "bf16": torch.randn(5, generator=gen).bfloat16(),
        "f64": torch.randn(2, 3, generator=gen).double() * 1e3,
        "i32": torch.tensor([[-7, 1 << 20], [3, 0]], dtype=torch.int32),
        "i64": torch.tensor([-(1 << 40), 5], dtype=torch.int64),
        "i16": torch.tensor([-300, 300], dtype=torch.int16),
        "i8": torch.tensor([-128, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
    }
    save_pair(folder, "dtypes", tensors, tensors)


def malicious(folder):
    """Pickles whose loading would run a shell command in Python."""
    evil = (b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    def zipped(path, pkl):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/version", "3\n")

    zipped(os.path.join(folder, "malicious.pth"), evil)
    zipped(os.path.join(folder, "malicious_p4.pth"), pickle.dumps(Evil(), protocol=4))
    # Legacy: magic, protocol and sys_info pickles, then the evil object.
    buf = io.BytesIO()
    pickle.dump(0x1950a86a20f9469cfc6c, buf, protocol=2)
    pickle.dump(1001, buf, protocol=2)
    pickle.dump({"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}, buf, protocol=2)
    buf.write(evil)
    pickle.dump([], buf, protocol=2)
    with open(os.path.join(folder, "malicious_legacy.pth"), "wb") as f:
        f.write(buf.getvalue())


def npy(folder):
    def path(name):
        return os.path.join(folder, name)

    f32 = (np.arange(120, dtype=np.float32) * 0.25 - 7).reshape(2, 3, 4, 5)
    np.save(path("f32_4d.npy"), f32)
    np.save(path("i64_1d.npy"), np.array([0, -1, 1 << 40, 7, -(1 << 62)], dtype=np.int64))
    np.save(path("f64_2d.npy"), (np.arange(12, dtype=np.float64) * 0.5 + 0.1).reshape(3, 4))
    np.save(path("i32_2d.npy"), np.array([[1, -2], [3, 1 << 30]], dtype=np.int32))
    np.save(path("u8_1d.npy"), np.array([0, 128, 255], dtype=np.uint8))
    np.save(path("scalar.npy"), np.float32(3.5))
    np.save(path("empty.npy"), np.zeros((0, 4), dtype=np.float32))
    np.save(path("f32_1d.npy"), np.array([1.5, -2.0, 3.25], dtype=np.float32))
    for version in [(2, 0), (3, 0)]:
        with open(path("f32_v%d.npy" % version[0]), "wb") as f:
            np.lib.format.write_array(f, f32, version=version)
    np.save(path("fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
    np.save(path("bigendian.npy"), np.arange(4, dtype=">f4"))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_pth_fixtures.py OUTPUT_FOLDER")
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    small_model(folder, gen)
    resnet18(folder, gen)
    views(folder, gen)
    dtypes(folder, gen)
    malicious(folder)
    npy(folder)


if __name__ == "__main__":
    main()
