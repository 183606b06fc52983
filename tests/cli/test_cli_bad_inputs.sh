#!/bin/bash
# test_cli_bad_inputs.sh CNNZOO TMPDIR - the catalogue of malformed files
# (issue 8): for each, the command a user would run on it must fail with
# exit status 1 (never a crash), print exactly one "cnnzoo: error: ..."
# line that names the file, and say what was wrong (a pattern per case).
#
# With CZ_BAD_INPUTS_TABLE=1 it also prints the catalogue as a markdown
# table (file, what is wrong, what cnnzoo says) for README, so the table
# is always what the code says today.
#
# Commands: .pth through `convert` (or `forward --weights`, which sniffs
# the format), .safetensors through `forward --weights`, .npy through
# `forward --input`, JPEG/PNG through `preprocess`, IDX, CIFAR and image
# folders through `eval --data`.
set -u
. "$(dirname "$0")/lib.sh" "$@"
here=$(cd "$(dirname "$0")" && pwd)
b=$tmp/bad
mkdir -p "$b"
weights=$here/../../data/lenet5_fashion.safetensors

# ------------------------------------------------------------ the files
# One Python run (torch imported once) writes every bad file into $b.
/usr/bin/python3 - "$b" "$here/../../tools" <<'PY' || { echo "FAIL: cannot make the bad files"; exit 1; }
import gzip, io, os, pickletools, struct, sys, tarfile, warnings, zipfile, zlib

import numpy as np
import torch
from PIL import Image

d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from lenet_reference import LeNet5  # noqa: E402


def write(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def saved(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


def zip_of(entries, method=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return bytearray(buf.getvalue())


def central(z, i=0):
    """Offset of the i-th central directory header."""
    at = -1
    for _ in range(i + 1):
        at = z.index(b"PK\x01\x02", at + 1)
    return at


def patch(z, at, fmt, value):
    z[at:at + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return z


# A pickled state_dict of one tensor, opcode by opcode, as torch.save
# writes it, with any size, stride, offset and storage.
def s(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def i(v):
    return b"\x8a\x08" + struct.pack("<q", v)  # LONG1: any int64


def tup(vals):
    return b"(" + b"".join(i(v) for v in vals) + b"t"


def tensor_pickle(size, stride, numel=12, offset=0, storage="FloatStorage", key="0"):
    p = b"\x80\x02ccollections\nOrderedDict\n)R(" + s("w")
    p += b"ctorch._utils\n_rebuild_tensor_v2\n("
    p += b"(" + s("storage") + b"ctorch\n" + storage.encode() + b"\n" + s(key) + s("cpu")
    p += i(numel) + b"tQ" + i(offset) + tup(size) + tup(stride)
    p += b"\x89ccollections\nOrderedDict\n)RtRu."
    return p


def tensor_zip(pkl, data=struct.pack("<12f", *range(12)), extra=()):
    return zip_of([("archive/data.pkl", pkl), ("archive/data/0", data),
                   ("archive/version", b"3\n")] + list(extra))


np.save(os.path.join(d, "x.npy"), np.zeros((1, 1, 32, 32), np.float32))  # a good input
torch.manual_seed(0)
model = LeNet5().eval()
sd = model.state_dict()
good = saved(sd)
write("good.pth", good)
good_pkl = zipfile.ZipFile(io.BytesIO(good)).read("archive/data.pkl")
legacy = saved(sd, _use_new_zipfile_serialization=False)

# .pth (zip)
write("pth_empty.pth", b"")
write("pth_truncated.pth", good[: len(good) // 2])
write("pth_not_torch.pth", b"GIF89a" + bytes(100))
z = bytearray(good)
write("pth_bad_central_dir.pth", patch(z, central(z), "<I", 0x12345678))
z = tensor_zip(tensor_pickle([3, 4], [4, 1]))  # no ZIP64 record, whose offset would win
eocd = z.rindex(b"PK\x05\x06")
write("pth_dir_past_end.pth", patch(z, eocd + 16, "<I", len(z) + 1000))
z = bytearray(good)
write("pth_entry_past_end.pth", patch(z, central(z, 1) + 42, "<I", 0x7FFFFFF0))
z = zip_of([("archive/data.pkl", good_pkl), ("archive/version", b"3\n")], zipfile.ZIP_DEFLATED)
write("pth_deflate_bomb.pth", patch(z, central(z) + 24, "<I", 0xFFFFFFF0))
z = zip_of([("archive/data.pkl", good_pkl), ("archive/version", b"3\n")], zipfile.ZIP_DEFLATED)
write("pth_deflate_size.pth", patch(z, central(z) + 24, "<I", len(good_pkl) + 100))
z = zip_of([("archive/data.pkl", good_pkl), ("archive/version", b"3\n")], zipfile.ZIP_DEFLATED)
write("pth_deflate_longer.pth", patch(z, central(z) + 24, "<I", len(good_pkl) - 100))
z = zip_of([("archive/data.pkl", good_pkl), ("archive/version", b"3\n")], zipfile.ZIP_DEFLATED)
at = z.index(b"archive/data.pkl") + len("archive/data.pkl")  # its data follows its local name
z[at + 20:at + 60] = bytes(v ^ 0xA5 for v in z[at + 20:at + 60])
write("pth_deflate_corrupt.pth", z)
z = tensor_zip(tensor_pickle([3, 4], [4, 1]))
write("pth_method.pth", patch(z, central(z) + 10, "<H", 12))
z = tensor_zip(tensor_pickle([3, 4], [4, 1]))
write("pth_encrypted.pth", patch(z, central(z) + 8, "<H", 1))
z = tensor_zip(tensor_pickle([3, 4], [4, 1]))
at = z.index(struct.pack("<12f", *range(12)))
z[at + 5] ^= 0xFF
write("pth_crc.pth", z)
write("pth_no_data_pkl.pth", zip_of([("archive/version", b"3\n"), ("archive/data/0", bytes(48))]))
write("pth_no_root.pth", zip_of([("data.pkl", good_pkl)]))
write("pth_big_endian.pth", tensor_zip(tensor_pickle([3, 4], [4, 1]),
                                       extra=[("archive/byteorder", b"big")]))
warnings.simplefilter("ignore")  # zipfile warns of the duplicate, which is the point
write("pth_twice.pth", zip_of([("archive/data.pkl", good_pkl), ("archive/data.pkl", good_pkl)]))


# pickles: globals that run code, opcodes a state_dict never uses
class Shell:
    def __reduce__(self):
        return (os.system, ("touch " + os.path.join(d, "pwned"),))


class Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('true')",))


write("pth_os_system.pth", saved({"w": Shell()}))
write("pth_builtins_eval.pth", saved({"w": Eval()}, pickle_protocol=4))
write("pth_whole_module.pth", saved(model))
write("pth_list.pth", saved([1, 2, 3]))
write("pth_bad_opcode.pth", tensor_zip(b"\x80\x02\xff."))
write("pth_inst_opcode.pth", tensor_zip(b"\x80\x02(ios\nsystem\nS'id'\n."))
write("pth_no_stop.pth", tensor_zip(tensor_pickle([3, 4], [4, 1])[:-1]))
write("pth_memo.pth", tensor_zip(b"\x80\x02h\x07."))

# tensors against their storages
write("pth_storage_small.pth", tensor_zip(tensor_pickle([10, 10], [10, 1])))
write("pth_negative_stride.pth", tensor_zip(tensor_pickle([3, 4], [-4, 1])))
write("pth_negative_size.pth", tensor_zip(tensor_pickle([-3, 4], [4, 1])))
write("pth_negative_offset.pth", tensor_zip(tensor_pickle([3, 4], [4, 1], offset=-1)))
write("pth_shape_overflow.pth", tensor_zip(tensor_pickle([2**31, 2**31, 2**31], [0, 0, 0])))
write("pth_expand_bomb.pth", tensor_zip(tensor_pickle([2**20, 2**20], [0, 0])))
write("pth_storage_missing.pth", tensor_zip(tensor_pickle([3, 4], [4, 1], key="7")))
write("pth_storage_entry_short.pth", tensor_zip(tensor_pickle([3, 4], [4, 1]), data=bytes(16)))
write("pth_storage_numel.pth", tensor_zip(tensor_pickle([3], [1], numel=-5)))
write("pth_unknown_storage.pth", tensor_zip(tensor_pickle([3, 4], [4, 1], storage="ComplexFloatStorage")))
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    t.addfile(tarfile.TarInfo("sys_info"))
write("pth_tar.pth", buf.getvalue())

# .pth (legacy, before PyTorch 1.6)
write("legacy_truncated.pth", legacy[:-100])
l = bytearray(legacy)
l[5] ^= 1
write("legacy_bad_magic.pth", l)
l = bytearray(legacy)
at = l.index(b"\x88", l.index(b"little_endian"))  # its NEWTRUE, after a memo put
l[at] = 0x89
write("legacy_big_endian.pth", l)
f = io.BytesIO(legacy)
for _ in range(5):  # magic, protocol, sys_info, the object, the storage keys
    for _ in pickletools.genops(f):  # walks a pickle without running it
        pass
l = bytearray(legacy)
numel = struct.unpack_from("<q", l, f.tell())[0]
write("legacy_numel.pth", patch(l, f.tell(), "<q", numel + 1))


# safetensors
def st(header, data=b""):
    h = header if isinstance(header, bytes) else header.encode()
    return struct.pack("<Q", len(h)) + h + data


w12 = '{"w":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]}}'
write("st_short.safetensors", b"\x10\x00\x00")
write("st_header_past_end.safetensors", struct.pack("<Q", 10**6) + b'{"w":' + bytes(40))
write("st_bad_json.safetensors", st('{"w":{"dtype":"F32",,}}'))
write("st_not_object.safetensors", st("[1, 2, 3]"))
write("st_trailing_junk.safetensors", st(w12 + "xx", bytes(48)))
write("st_out_of_range.safetensors",
      st('{"w":{"dtype":"F32","shape":[3,4],"data_offsets":[0,4800]}}', bytes(48)))
write("st_overlap.safetensors",
      st('{"a":{"dtype":"F32","shape":[3,4],"data_offsets":[0,48]},'
         '"b":{"dtype":"F32","shape":[2],"data_offsets":[40,48]}}', bytes(48)))
write("st_gap.safetensors",
      st('{"w":{"dtype":"F32","shape":[3,4],"data_offsets":[8,56]}}', bytes(56)))
write("st_size_mismatch.safetensors",
      st('{"w":{"dtype":"F32","shape":[3,4],"data_offsets":[0,40]}}', bytes(40)))
write("st_unknown_dtype.safetensors",
      st('{"w":{"dtype":"F128","shape":[3],"data_offsets":[0,48]}}', bytes(48)))
write("st_shape_overflow.safetensors",
      st('{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,48]}}', bytes(48)))
write("st_negative_shape.safetensors",
      st('{"w":{"dtype":"F32","shape":[-3,4],"data_offsets":[0,48]}}', bytes(48)))
write("st_duplicate.safetensors", st(w12[:-1] + ',"w":{"dtype":"F32","shape":[3,4],'
                                      '"data_offsets":[0,48]}}', bytes(48)))
write("st_metadata.safetensors", st('{"__metadata__":{"epoch":3},' + w12[1:], bytes(48)))
# A header past the reference parser's 100 MB limit: a sparse file, so it
# costs no disk.
with open(os.path.join(d, "st_huge_header.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", 100_000_050) + b"{")
    f.truncate(100_000_100)


# .npy
def npy(header, data_size, version=1):
    h = header.encode()
    pad = (-(10 + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H", len(h)) + h + bytes(data_size)


x = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 32, 32), }"
write("npy_bad_magic.npy", b"\x93NUMPZ\x01\x00" + npy(x, 4096)[8:])
write("npy_version.npy", npy(x, 4096)[:6] + b"\x09\x00" + npy(x, 4096)[8:])
write("npy_header_past_end.npy", npy(x, 0)[:8] + b"\xff\xff" + npy(x, 0)[10:])
write("npy_bad_dict.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 32 32), }", 4096))
write("npy_extra_key.npy", npy(x[:-2] + "'x': 1, }", 4096))
write("npy_fortran.npy", npy(x.replace("False", "True"), 4096))
write("npy_complex.npy", npy(x.replace("<f4", "<c8"), 8192))
write("npy_big_endian.npy", npy(x.replace("<f4", ">f4"), 4096))
write("npy_short_data.npy", npy(x, 4000))
write("npy_long_data.npy", npy(x, 4100))
write("npy_shape_overflow.npy", npy(x.replace("(1, 1, 32, 32)", "(4294967296, 4294967296, 2, 2)"), 16))
write("npy_rank3.npy", npy(x.replace("(1, 1, 32, 32)", "(1, 32, 32)"), 4096))


# IDX: a folder per case holding the test split eval reads
def idx(dims, data, kind=0x08):
    return bytes([0, 0, kind, len(dims)]) + b"".join(struct.pack(">I", v) for v in dims) + data


def idx_dir(name, images, labels=idx([4], bytes([1, 2, 3, 4])), gz=False):
    os.makedirs(os.path.join(d, name), exist_ok=True)
    suffix = ".gz" if gz else ""
    write(f"{name}/t10k-images-idx3-ubyte{suffix}", images)
    write(f"{name}/t10k-labels-idx1-ubyte", labels)


pixels = bytes(range(256)) * 12 + bytes(64)  # 4 images of 28x28
idx_dir("idx_bad_magic", b"\x08\x03\x00\x00" + idx([4, 28, 28], pixels)[4:])
idx_dir("idx_float", idx([4, 28, 28], pixels * 4, kind=0x0D))
idx_dir("idx_truncated", idx([4, 28, 28], pixels[:1000]))
idx_dir("idx_trailing", idx([4, 28, 28], pixels + b"extra"))
idx_dir("idx_dims_overflow", idx([2**31 - 1] * 4, b""))
g = bytearray(gzip.compress(idx([4, 28, 28], pixels)))
g[30:60] = bytes(v ^ 0x5A for v in g[30:60])
idx_dir("idx_gz_corrupt", g, gz=True)
idx_dir("idx_gz_huge", gzip.compress(idx([65536, 65536, 65536], b"")), gz=True)
idx_dir("idx_count", idx([4, 28, 28], pixels), labels=idx([3], bytes([1, 2, 3])))
idx_dir("idx_label", idx([4, 28, 28], pixels), labels=idx([4], bytes([1, 2, 12, 4])))


# CIFAR-10 binaries
def cifar_dir(name, data):
    os.makedirs(os.path.join(d, name), exist_ok=True)
    if data is not None:
        write(f"{name}/test_batch.bin", data)


record = bytes([3]) + bytes(3072)
cifar_dir("cifar_record_size", record * 2 + bytes(5))
cifar_dir("cifar_label", record + bytes([10]) + bytes(3072))
cifar_dir("cifar_empty", b"")
cifar_dir("cifar_missing", None)


# JPEG and PNG
def encoded(fmt, size=(64, 48), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, (200, 30, 90) if mode == "RGB" else 128).save(buf, fmt)
    return bytearray(buf.getvalue())


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_ihdr(w, h):
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))


jpeg = encoded("JPEG")
png = encoded("PNG")
write("img_empty.jpg", b"")
write("img_text.jpg", b"this is not an image\n")
write("img_truncated.jpg", jpeg[: len(jpeg) // 2])
write("img_corrupt.jpg", jpeg[:2] + b"\xff\xc0\x00\x03" + bytes(200))
sof = jpeg.index(b"\xff\xc0")
write("img_huge.jpg", patch(patch(bytearray(jpeg), sof + 5, ">H", 65000), sof + 7, ">H", 65000))
write("img_truncated.png", png[: len(png) - 30])
c = bytearray(png)
c[29] ^= 0xFF  # inside IHDR's CRC
write("img_bad_crc.png", c)
write("img_zero_width.png", png_ihdr(0, 10) + png_chunk(b"IEND", b""))
write("img_huge.png", png_ihdr(100000, 100000) + png_chunk(b"IDAT", zlib.compress(bytes(1000)))
      + png_chunk(b"IEND", b""))
write("img_big.png", encoded("PNG", (512, 512)))

# image folders
good_png = encoded("PNG", (40, 40), "L")
for c_name, files in {"a": ["x.png"], "b": []}.items():
    os.makedirs(os.path.join(d, "folder_empty_class", c_name), exist_ok=True)
    for n in files:
        write(f"folder_empty_class/{c_name}/{n}", good_png)
os.makedirs(os.path.join(d, "folder_no_classes"), exist_ok=True)
write("folder_no_classes/readme.txt", b"no class folders here\n")
os.makedirs(os.path.join(d, "folder_loop", "a"), exist_ok=True)
write("folder_loop/a/x.png", good_png)
os.symlink("..", os.path.join(d, "folder_loop", "a", "up"))
for c_name in ("a", "b"):
    os.makedirs(os.path.join(d, "folder_all_bad", c_name), exist_ok=True)
    write(f"folder_all_bad/{c_name}/x.jpg", b"not a jpeg")
    write(f"folder_all_bad/{c_name}/y.png", png[:40])
PY

# ------------------------------------------------------------ the checks

rows=()
# Markdown-escapes stdin: backslash, backtick, emphasis, angle brackets and
# the table's bar are shown as themselves.
md() { sed -e 's/[][\\`*_<>|]/\\&/g'; }
# bad FILE WHAT PATTERN -- COMMAND...: COMMAND fails as `expect 1 PATTERN`
# says, and its one line names FILE; the case joins the table.
bad() {
    local file=$1 what=$2 pattern=$3
    shift 4
    local before=$failures
    expect 1 "$pattern" -- "$@"
    grep -qF "$b/$file" "$tmp/err" || fail "$file: the message does not name the file: $(cat "$tmp/err")"
    [ "$failures" -eq "$before" ] || return
    local said
    said=$(sed -e 's/^cnnzoo: error: //' -e "s|$b/||g" "$tmp/err" | md)
    rows+=("| \`$file\` | $(echo "$what" | md) | $said |")
}
y=$tmp/y.npy
x=$b/x.npy

# .pth, zip container
bad pth_empty.pth "empty file" "0 bytes, too short for a PyTorch file" -- "$cz" convert "$b/pth_empty.pth" "$tmp/o.safetensors"
bad pth_truncated.pth "torch.save file cut in half" "no zip end-of-central-directory record.*truncated" -- "$cz" convert "$b/pth_truncated.pth" "$tmp/o.safetensors"
bad pth_not_torch.pth "a GIF named .pth" "starts with 47 49 46 38, expected a zip" -- "$cz" convert "$b/pth_not_torch.pth" "$tmp/o.safetensors"
bad pth_bad_central_dir.pth "central directory header signature overwritten" "zip central directory entry 0 at offset [0-9]* is not a valid header" -- "$cz" convert "$b/pth_bad_central_dir.pth" "$tmp/o.safetensors"
bad pth_dir_past_end.pth "end record puts the central directory past the end" "central directory at offset [0-9]* .* extends past its end record" -- "$cz" convert "$b/pth_dir_past_end.pth" "$tmp/o.safetensors"
bad pth_entry_past_end.pth "an entry's local header offset past the end" "local header offset 2147483632 is past the end of the file" -- "$cz" convert "$b/pth_entry_past_end.pth" "$tmp/o.safetensors"
bad pth_deflate_bomb.pth "deflated data.pkl claiming 4 GB" "claims 4294967280 bytes from [0-9]* compressed, more than deflate can produce" -- "$cz" convert "$b/pth_deflate_bomb.pth" "$tmp/o.safetensors"
bad pth_deflate_size.pth "deflated data.pkl declaring 100 bytes more than it holds" "zip entry 'archive/data.pkl' inflates to [0-9]* bytes, but the directory declares [0-9]*" -- "$cz" convert "$b/pth_deflate_size.pth" "$tmp/o.safetensors"
bad pth_deflate_longer.pth "deflated data.pkl declaring 100 bytes fewer than it holds" "zip entry 'archive/data.pkl' inflates to more than the [0-9]* bytes the directory declares" -- "$cz" convert "$b/pth_deflate_longer.pth" "$tmp/o.safetensors"
bad pth_deflate_corrupt.pth "40 scrambled bytes in deflated data.pkl" "zip entry 'archive/data.pkl': deflate data is corrupt (zlib: .*) after [0-9]* of the declared [0-9]* bytes" -- "$cz" convert "$b/pth_deflate_corrupt.pth" "$tmp/o.safetensors"
bad pth_method.pth "compression method 12 (bzip2)" "uses compression method 12; only stored (0) and deflate (8)" -- "$cz" convert "$b/pth_method.pth" "$tmp/o.safetensors"
bad pth_encrypted.pth "entry flagged as encrypted" "zip entry 'archive/data.pkl' is encrypted" -- "$cz" convert "$b/pth_encrypted.pth" "$tmp/o.safetensors"
bad pth_crc.pth "a flipped byte in a storage" "zip entry 'archive/data/0': CRC-32 is [0-9a-f]*, the directory says" -- "$cz" convert "$b/pth_crc.pth" "$tmp/o.safetensors"
bad pth_no_data_pkl.pth "zip without data.pkl" "has no 'archive/data.pkl'" -- "$cz" convert "$b/pth_no_data_pkl.pth" "$tmp/o.safetensors"
bad pth_no_root.pth "data.pkl not inside a root folder" "first zip entry 'data.pkl' is not inside a folder" -- "$cz" convert "$b/pth_no_root.pth" "$tmp/o.safetensors"
bad pth_twice.pth "the same entry name twice" "zip entry 'archive/data.pkl' appears twice" -- "$cz" convert "$b/pth_twice.pth" "$tmp/o.safetensors"
bad pth_big_endian.pth "byteorder entry says big" "saved on a big-endian machine" -- "$cz" convert "$b/pth_big_endian.pth" "$tmp/o.safetensors"
bad pth_tar.pth "the pre-0.4 tar format" "is a tar archive, the PyTorch < 0.4 format" -- "$cz" forward lenet5 --weights "$b/pth_tar.pth" --input "$x" --output "$y"

# .pth, the pickle
bad pth_os_system.pth "pickle calling os.system (a __reduce__ exploit)" "global 'posix.system' .*refusing to load" -- "$cz" convert "$b/pth_os_system.pth" "$tmp/o.safetensors"
[ -e "$b/pwned" ] && fail "pth_os_system.pth ran its command"
bad pth_builtins_eval.pth "protocol-4 pickle calling builtins.eval" "global 'builtins.eval' .*refusing to load" -- "$cz" convert "$b/pth_builtins_eval.pth" "$tmp/o.safetensors"
bad pth_whole_module.pth "torch.save(model): a pickled nn.Module, not a state_dict" "global 'lenet_reference.LeNet5'.*refusing to load" -- "$cz" forward lenet5 --weights "$b/pth_whole_module.pth" --input "$x" --output "$y"
bad pth_list.pth "a list instead of a dict" "holds a list, expected a dict of tensors" -- "$cz" convert "$b/pth_list.pth" "$tmp/o.safetensors"
bad pth_bad_opcode.pth "pickle opcode 0xff" "unknown pickle opcode 0xff at byte 2" -- "$cz" convert "$b/pth_bad_opcode.pth" "$tmp/o.safetensors"
bad pth_inst_opcode.pth "protocol-0 INST (builds an object)" "INST at byte 3: opcode 0x69 is not supported" -- "$cz" convert "$b/pth_inst_opcode.pth" "$tmp/o.safetensors"
bad pth_no_stop.pth "pickle without its STOP" "pickle ends at byte [0-9]* without STOP (truncated)" -- "$cz" convert "$b/pth_no_stop.pth" "$tmp/o.safetensors"
bad pth_memo.pth "memo fetch of a key never stored" "BINGET at byte 2: memo key 7 was never stored" -- "$cz" convert "$b/pth_memo.pth" "$tmp/o.safetensors"

# .pth, tensors against their storages
bad pth_storage_small.pth "[10, 10] tensor over a 12-element storage" "tensor 'w': size \[10, 10\], stride \[10, 1\] at offset 0 reaches element 99, but storage '0' has 12 elements" -- "$cz" convert "$b/pth_storage_small.pth" "$tmp/o.safetensors"
bad pth_negative_stride.pth "negative stride" "tensor 'w': size \[3, 4\], stride \[-4, 1\]: negative stride" -- "$cz" convert "$b/pth_negative_stride.pth" "$tmp/o.safetensors"
bad pth_negative_size.pth "negative size" "tensor 'w': size \[-3, 4\], stride \[4, 1\]: negative size" -- "$cz" convert "$b/pth_negative_size.pth" "$tmp/o.safetensors"
bad pth_negative_offset.pth "negative storage offset" "tensor 'w': storage offset -1 is negative" -- "$cz" convert "$b/pth_negative_offset.pth" "$tmp/o.safetensors"
bad pth_shape_overflow.pth "size 2^31 x 2^31 x 2^31 (product overflows)" "tensor 'w': size \[2147483648, 2147483648, 2147483648\] has more than 2^60 elements" -- "$cz" convert "$b/pth_shape_overflow.pth" "$tmp/o.safetensors"
bad pth_expand_bomb.pth "2^40 elements through zero strides of a 12-float storage" "tensor 'w' (size \[1048576, 1048576\], F32) needs 4398046511104 bytes (4 TiB), over the 17179869184-byte (16 GiB) limit" -- "$cz" convert "$b/pth_expand_bomb.pth" "$tmp/o.safetensors"
bad pth_storage_missing.pth "storage '7' without its data/7 entry" "storage '7', but the archive has no entry 'archive/data/7'" -- "$cz" convert "$b/pth_storage_missing.pth" "$tmp/o.safetensors"
bad pth_storage_entry_short.pth "data/0 entry shorter than its storage" "zip entry 'archive/data/0' holds 16 bytes, but FloatStorage '0' of 12 elements needs 48" -- "$cz" convert "$b/pth_storage_entry_short.pth" "$tmp/o.safetensors"
bad pth_storage_numel.pth "storage of -5 elements" "storage '0' claims -5 elements of FloatStorage" -- "$cz" convert "$b/pth_storage_numel.pth" "$tmp/o.safetensors"
bad pth_unknown_storage.pth "ComplexFloatStorage (no such type here)" "global 'torch.ComplexFloatStorage'" -- "$cz" convert "$b/pth_unknown_storage.pth" "$tmp/o.safetensors"
CNNZOO_MAX_ALLOC=64K bad good.pth "a good LeNet-5 file with CNNZOO_MAX_ALLOC=64K" "tensor 'fc1.weight' (size \[120, 400\], F32) needs 192000 bytes (187.5 KiB), over the 65536-byte (64 KiB) limit on one allocation; if the file is right, raise it with CNNZOO_MAX_ALLOC" -- "$cz" forward lenet5 --weights "$b/good.pth" --input "$x" --output "$y"

# .pth, legacy container
bad legacy_truncated.pth "legacy file missing its last 100 bytes" "legacy storage '[0-9]*' needs [0-9]* bytes at offset [0-9]*, only [0-9]* left (truncated)" -- "$cz" convert "$b/legacy_truncated.pth" "$tmp/o.safetensors"
bad legacy_bad_magic.pth "legacy magic number altered" "lacks its magic number: byte 5 is 0xfd, expected 0xfc (corrupt)" -- "$cz" convert "$b/legacy_bad_magic.pth" "$tmp/o.safetensors"
bad legacy_big_endian.pth "sys_info says big-endian" "saved on a big-endian machine (sys_info's little_endian is False)" -- "$cz" convert "$b/legacy_big_endian.pth" "$tmp/o.safetensors"
bad legacy_numel.pth "a storage's element count off by one" "has [0-9]* elements in the file, but its persistent id says [0-9]*" -- "$cz" convert "$b/legacy_numel.pth" "$tmp/o.safetensors"

# safetensors
bad st_short.safetensors "3 bytes" "too short for the 8-byte header length" -- "$cz" forward lenet5 --weights "$b/st_short.safetensors" --input "$x" --output "$y"
bad st_header_past_end.safetensors "header length 1000000 in a 53-byte file" "header length 1000000 exceeds the 45 bytes that follow it" -- "$cz" forward lenet5 --weights "$b/st_header_past_end.safetensors" --input "$x" --output "$y"
bad st_huge_header.safetensors "header of 100000050 bytes (limit 100 MB)" "header length 100000050 exceeds the 100000000-byte limit" -- "$cz" forward lenet5 --weights "$b/st_huge_header.safetensors" --input "$x" --output "$y"
bad st_bad_json.safetensors "two commas in the JSON" "header is not valid JSON (error at byte 21 of 23, near '}}')" -- "$cz" forward lenet5 --weights "$b/st_bad_json.safetensors" --input "$x" --output "$y"
bad st_not_object.safetensors "header is a JSON array" "header starts with 0x5b ('\['), expected a JSON object" -- "$cz" forward lenet5 --weights "$b/st_not_object.safetensors" --input "$x" --output "$y"
bad st_trailing_junk.safetensors "bytes after the JSON object" "header has bytes other than space padding after the JSON object" -- "$cz" forward lenet5 --weights "$b/st_trailing_junk.safetensors" --input "$x" --output "$y"
bad st_out_of_range.safetensors "data_offsets past the data section" "tensor 'w': data_offsets \[0, 4800\] exceed the data section (48 bytes)" -- "$cz" forward lenet5 --weights "$b/st_out_of_range.safetensors" --input "$x" --output "$y"
bad st_overlap.safetensors "two tensors sharing bytes" "tensors 'a' \[0, 48\] and 'b' \[40, 48\] overlap" -- "$cz" forward lenet5 --weights "$b/st_overlap.safetensors" --input "$x" --output "$y"
bad st_gap.safetensors "8 bytes that belong to no tensor" "bytes \[0, 8) of the data section belong to no tensor" -- "$cz" forward lenet5 --weights "$b/st_gap.safetensors" --input "$x" --output "$y"
bad st_size_mismatch.safetensors "40 bytes for a [3, 4] F32 tensor" "data_offsets \[0, 40\] hold 40 bytes, but F32 \[3, 4\] needs 48" -- "$cz" forward lenet5 --weights "$b/st_size_mismatch.safetensors" --input "$x" --output "$y"
bad st_unknown_dtype.safetensors "dtype F128" "tensor 'w': unknown dtype 'F128'" -- "$cz" forward lenet5 --weights "$b/st_unknown_dtype.safetensors" --input "$x" --output "$y"
bad st_shape_overflow.safetensors "shape 2^32 x 2^32" "shape \[4294967296, 4294967296\] has more than 2^53 elements" -- "$cz" forward lenet5 --weights "$b/st_shape_overflow.safetensors" --input "$x" --output "$y"
bad st_negative_shape.safetensors "shape [-3, 4]" "shape\[0\] is -3, expected a non-negative integer" -- "$cz" forward lenet5 --weights "$b/st_negative_shape.safetensors" --input "$x" --output "$y"
bad st_duplicate.safetensors "the same tensor name twice" "tensor 'w' appears twice in the header" -- "$cz" forward lenet5 --weights "$b/st_duplicate.safetensors" --input "$x" --output "$y"
bad st_metadata.safetensors "__metadata__ value that is a number" "__metadata__ 'epoch' is a number, expected a string" -- "$cz" forward lenet5 --weights "$b/st_metadata.safetensors" --input "$x" --output "$y"

# .npy inputs
bad npy_bad_magic.npy "magic string NUMPZ" "no magic string, expected a .npy file" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_bad_magic.npy" --output "$y"
bad npy_version.npy "format version 9.0" "npy format version 9.0, expected 1.0, 2.0 or 3.0" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_version.npy" --output "$y"
bad npy_header_past_end.npy "header length 65535 in a 128-byte file" "npy header of 65535 bytes exceeds the [0-9]* bytes after it" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_header_past_end.npy" --output "$y"
bad npy_bad_dict.npy "shape (1, 1, 32 32)" "expected ',' or ')' in the shape" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_bad_dict.npy" --output "$y"
bad npy_extra_key.npy "an extra key in the header dict" "npy header has key 'x', expected only descr, fortran_order and shape" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_extra_key.npy" --output "$y"
bad npy_fortran.npy "fortran_order True" "array is in Fortran order; only C order is supported" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_fortran.npy" --output "$y"
bad npy_complex.npy "dtype <c8" "dtype '<c8' is not supported" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_complex.npy" --output "$y"
bad npy_big_endian.npy "dtype >f4" "dtype '>f4' is big-endian" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_big_endian.npy" --output "$y"
bad npy_short_data.npy "4000 data bytes for (1, 1, 32, 32) float32" "shape (1, 1, 32, 32) of '<f4' needs 4096 bytes, but 4000 data bytes follow the header (truncated)" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_short_data.npy" --output "$y"
bad npy_long_data.npy "4100 data bytes for (1, 1, 32, 32) float32" "needs 4096 bytes, but 4100 data bytes follow the header (wrong size)" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_long_data.npy" --output "$y"
bad npy_shape_overflow.npy "shape 2^32 x 2^32 x 2 x 2" "shape (4294967296, 4294967296, 2, 2) has more than 2^64 elements (overflow)" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_shape_overflow.npy" --output "$y"
bad npy_rank3.npy "(1, 32, 32): no batch dim" "npy_rank3.npy" -- "$cz" forward lenet5 --weights "$weights" --input "$b/npy_rank3.npy" --output "$y"

# IDX (MNIST-style) folders
bad idx_bad_magic/t10k-images-idx3-ubyte "magic 08 03 00 00" "not an IDX file (magic 0x08030000" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_bad_magic"
bad idx_float/t10k-images-idx3-ubyte "element type 0x0D (float)" "IDX element type 0x0d (float) is not supported" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_float"
bad idx_truncated/t10k-images-idx3-ubyte "1000 of 3136 data bytes" "truncated: IDX dims 4x28x28 announce 3136 bytes of data, the file holds 1000" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_truncated"
bad idx_trailing/t10k-images-idx3-ubyte "5 bytes after the data" "trailing data after the 3136 bytes the header announces" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_trailing"
bad idx_dims_overflow/t10k-images-idx3-ubyte "four dims of 2^31 - 1 (product overflows)" "IDX dims 2147483647x2147483647x2147483647x2147483647 make more than 2^64 bytes" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_dims_overflow"
bad idx_gz_corrupt/t10k-images-idx3-ubyte.gz "gzip stream with scrambled bytes" "t10k-images-idx3-ubyte.gz: corrupt gzip data in .* (zlib: .*)" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_gz_corrupt"
bad idx_gz_huge/t10k-images-idx3-ubyte.gz "gzip header claiming 65536^3 bytes" "IDX data of dims 65536x65536x65536 needs 281474976710656 bytes (256 TiB), over the" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_gz_huge"
bad idx_count/t10k-labels-idx1-ubyte "4 images, 3 labels" "holds 4 images but .*idx_count/t10k-labels-idx1-ubyte holds 3 labels" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_count"
bad idx_label/t10k-labels-idx1-ubyte "label 12 of 10 classes" "label 12 of sample 2 is not a class 0..9" -- "$cz" eval lenet5 --weights "$weights" --data "$b/idx_label"

# CIFAR-10 binaries
bad cifar_record_size/test_batch.bin "2 records and 5 bytes" "6151 bytes, not a whole number of 3073-byte CIFAR-10 records" -- "$cz" eval nin_cifar10 --weights "$weights" --data "cifar10:$b/cifar_record_size"
bad cifar_label/test_batch.bin "label 10 in CIFAR-10" "record 1 has label 10, expected 0..9" -- "$cz" eval nin_cifar10 --weights "$weights" --data "cifar10:$b/cifar_label"
bad cifar_empty/test_batch.bin "empty test_batch.bin" "test_batch.bin: empty, expected 3073-byte CIFAR-10 records" -- "$cz" eval nin_cifar10 --weights "$weights" --data "cifar10:$b/cifar_empty"
bad cifar_missing/test_batch.bin "folder without test_batch.bin" "test_batch.bin: not found" -- "$cz" eval nin_cifar10 --weights "$weights" --data "cifar10:$b/cifar_missing"

# JPEG and PNG
bad img_empty.jpg "zero bytes" "empty file, expected a JPEG or PNG image" -- "$cz" preprocess resnet18 "$b/img_empty.jpg" --output "$y"
bad img_text.jpg "text named .jpg" "not a JPEG or PNG image (unknown first bytes)" -- "$cz" preprocess resnet18 "$b/img_text.jpg" --output "$y"
bad img_truncated.jpg "JPEG cut in half" "bad JPEG: file is truncated" -- "$cz" preprocess resnet18 "$b/img_truncated.jpg" --output "$y"
bad img_corrupt.jpg "JPEG with a broken SOF segment" "bad JPEG: " -- "$cz" preprocess resnet18 "$b/img_corrupt.jpg" --output "$y"
bad img_huge.jpg "SOF claiming 65000x65000" "image of 65000x65000 pixels exceeds the limit of 89478485 pixels (PIL's MAX_IMAGE_PIXELS" -- "$cz" preprocess resnet18 "$b/img_huge.jpg" --output "$y"
bad img_truncated.png "PNG missing its last 30 bytes" "bad PNG: " -- "$cz" preprocess resnet18 "$b/img_truncated.png" --output "$y"
bad img_bad_crc.png "IHDR with a wrong CRC" "bad PNG: IHDR: CRC error" -- "$cz" preprocess resnet18 "$b/img_bad_crc.png" --output "$y"
bad img_zero_width.png "IHDR width 0" "bad PNG: Invalid IHDR data (after: Image width is zero in IHDR)" -- "$cz" preprocess resnet18 "$b/img_zero_width.png" --output "$y"
bad img_huge.png "IHDR claiming 100000x100000" "image of 100000x100000 pixels exceeds the limit of 89478485 pixels" -- "$cz" preprocess resnet18 "$b/img_huge.png" --output "$y"
CNNZOO_MAX_ALLOC=256K bad img_big.png "a good 512x512 PNG with CNNZOO_MAX_ALLOC=256K" "PNG rows of 1536 bytes x 512 needs 786432 bytes (768 KiB), over the 262144-byte (256 KiB) limit" -- "$cz" preprocess resnet18 "$b/img_big.png" --output "$y"

# image folders
bad folder_empty_class "class folder b without images" "found no valid file for the class b" -- "$cz" eval lenet5 --weights "$weights" --data "$b/folder_empty_class"
bad folder_no_classes "no class folders, only a text file" "no class folders in it" -- "$cz" eval lenet5 --weights "$weights" --data "$b/folder_no_classes"
bad folder_loop/a/up "a symbolic link to the folder above" "a symbolic link loop" -- "$cz" eval lenet5 --weights "$weights" --data "$b/folder_loop"
bad folder_all_bad "every image corrupt or truncated" "none of the 4 images could be read" -- "$cz" eval lenet5 --weights "$weights" --classes 10 --data "$b/folder_all_bad"

# The ceiling's variable itself: parsed strictly, a bad value is a usage
# error naming it; a raised ceiling lets the file through again.
for v in 12X 0 "" 1.5G -1 16GB 99999999999999999999; do
    CNNZOO_MAX_ALLOC=$v expect 2 "CNNZOO_MAX_ALLOC='$v' is not a size" -- "$cz" convert "$b/good.pth" "$tmp/o.safetensors"
done
CNNZOO_MAX_ALLOC=200K expect 0 "" -- "$cz" forward lenet5 --weights "$b/good.pth" --input "$x" --output "$y"
CNNZOO_MAX_ALLOC=1g expect 0 "" -- "$cz" convert "$b/good.pth" "$tmp/o.safetensors"

# ------------------------------------------------------------ the table

if [ "${CZ_BAD_INPUTS_TABLE:-}" = 1 ]; then
    echo "| file | what is wrong | what cnnzoo says |"
    echo "|---|---|---|"
    printf '%s\n' "${rows[@]}"
fi
if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all ${#rows[@]} bad inputs refused with one clear line"
