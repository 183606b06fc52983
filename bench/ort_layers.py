#!/usr/bin/python3
"""ort_layers.py CNNZOO_JSON ORT_PROFILE_TXT: cnnzoo's layers beside ONNX Runtime's nodes.

CNNZOO_JSON is `cnnzoo bench MODEL --layers --json`; ORT_PROFILE_TXT is what
`node bench/ort_profile.js MODEL.onnx BATCH CxHxW THREADS RUNS 1000` prints
(TOP large enough for every node). torch.onnx names a node by its module path,
"/features/features.2/conv/conv.0/conv.0.0/Conv": each part repeats its parent's
name, so the module is features.2.conv.0.0, as cnnzoo names the layer. ORT fuses
an activation into the conv before it under the activation's name; that time
goes to the conv's row, as cnnzoo fused the activation there too (under the
block's name, /conv1/Relu, where the module called F.relu). Prints each
layer's ms, ORT's and the ratio, then ORT's nodes that match no layer.
"""
import json
import sys
from collections import defaultdict


def module_name(node):
    """features.2.conv.0.0 from /features/features.2/conv/conv.0/conv.0.0/Conv."""
    parts = [p for p in node.split('/') if p][:-1]
    if not parts:
        return None
    name = prev = parts[0]
    for p in parts[1:]:
        name += p[len(prev):] if p.startswith(prev + '.') else '.' + p
        prev = p
    return name


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    layers = json.load(open(sys.argv[1]))['layers']
    ort, ops = defaultdict(float), {}
    for line in open(sys.argv[2]):
        f = line.split()
        if len(f) < 3 or not f[0].startswith('/'):
            continue
        try:
            ms = float(f[-1])
        except ValueError:
            continue
        name = module_name(f[0])
        if name:
            ort[name] += ms
            ops[name] = f[-2]
    # A layer cnnzoo fused into the conv before it ("fused", 0 ms) gives
    # its ORT time, where ORT fused the same way, to that conv's row.
    # A fused layer whose module ORT does not name (googlenet's conv1.relu,
    # an F.relu that torch.onnx names after the block, /conv1/Relu) takes
    # the block's time.
    rows, seen = [], set()
    for l in layers:
        name = l['name']
        if l['kernel'] == 'fused' and name not in ort and '.' in name:
            name = name.rsplit('.', 1)[0]
        o = ort.get(name) if name not in seen else None
        seen.add(name)
        if l['kernel'] == 'fused' and rows:
            if o is not None:
                rows[-1][4] = (rows[-1][4] or 0.0) + o
            continue
        if o is None and l['ms'] < 0.001:
            continue
        rows.append([l['name'], l['kernel'], 'x'.join(map(str, l['shape'])), l['ms'], o])
    ours = theirs = 0.0
    for name, kernel, shape, ms, o in rows:
        ours += ms
        theirs += o or 0.0
        ratio = '%.2f' % (ms / o) if o else ''
        print('%-36s %-22s %-14s %8.3f %8s %s' % (name, kernel, shape, ms,
                                                  '%.3f' % o if o is not None else '-', ratio))
    print('cnnzoo %.3f ms in layers, ORT %.3f ms in the nodes matched' % (ours, theirs))
    for name in ort:
        if name not in seen:
            print('  ORT only: %-40s %-14s %.3f' % (name, ops[name], ort[name]))


if __name__ == '__main__':
    main()
