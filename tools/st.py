"""st.py - a minimal safetensors writer and reader for the reference
generators and the tests' Python helpers.

Debian has no python3-safetensors; the format is simple enough to do
here: u64 header length, JSON header, raw little-endian data.
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("int32"): "I32"}


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (float32, int64 or int32)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, array in tensors.items():
        array = np.asarray(array, order="C")  # keeps 0-dim arrays 0-dim
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load(path):
    """dict name -> numpy array (a copy) of a safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    names = {v: k for k, v in _DTYPES.items()}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in names:
            raise ValueError(f"{path}: tensor {name}: dtype {info['dtype']} not supported")
        a, b = info["data_offsets"]
        dtype = names[info["dtype"]].newbyteorder("<")
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype).reshape(info["shape"]).copy()
    return out
