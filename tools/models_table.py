"""models_table.py CNNZOO - the README's model table, from `cnnzoo list --json`.

Prints one Markdown row per model: name, default input, parameters,
GMACs (conv + linear, at the default input) and the command that runs it
on a batch prepared as .npy. Run it after adding a model and paste the
output into README.md.
"""
import json
import subprocess
import sys


def gmacs(macs):
    g = macs / 1e9
    return f"{g:.3f}" if g >= 0.01 else f"{g:.2g}"


def main(cnnzoo):
    models = json.loads(subprocess.run([cnnzoo, "list", "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    print("| model | input | classes | parameters | GMACs | run it |")
    print("|---|---|---:|---:|---:|---|")
    for m in models:
        c, h, w = m["input"]
        print(f"| {m['name']} | {c}x{h}x{w} | {m['classes']} | {m['params']:,} | "
              f"{gmacs(m['macs'])} | `cnnzoo forward {m['name']} --weights W.pth "
              f"--input x.npy --output y.npy` |")


if __name__ == "__main__":
    main(sys.argv[1])
