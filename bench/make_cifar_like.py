"""make_cifar_like.py DIR [N_TRAIN] [N_TEST] [SEED] - a learnable CIFAR-10 stand-in.

Writes DIR/data_batch_1.bin .. data_batch_5.bin (N_TRAIN images split
evenly, default 10000: 2000 a file), DIR/test_batch.bin (N_TEST, default
2000) and DIR/batches.meta.txt, in CIFAR-10's binary layout: each record is
1 label byte and 3072 pixel bytes (R plane, G plane, B plane, each 32x32
row-major), so `cnnzoo train MODEL --data cifar10:DIR` and
bench/train_step_torch.py read it as they read CIFAR-10.

Each of the 10 classes is an oriented sinusoid grating with its own
orientation (18 degrees apart), spatial frequency and colour pair, seen
through a soft round window. Each image draws a random phase, orientation
and frequency jitter, window size and position, colour tint, contrast,
background and pixel noise. The jitters are wide enough that neighbouring
classes overlap (a small CNN learns it well above chance in an epoch or
two, but not to 100% at once). Deterministic for a given SEED (default 1).
Run with Debian's /usr/bin/python3 (numpy).
"""
import os
import sys

import numpy as np

SIDE = 32
CLASSES = 10
TRAIN_FILES = 5

# Class c: orientation c * 18 degrees; a frequency from 5 values, so
# classes 5 apart share it; a colour pair from 5, classes 5 apart share
# it as well; it is the orientation (and the frequency-colour pairing)
# that tells them apart.
FREQS = np.array([2.0, 3.0, 4.0, 5.0, 6.5])  # cycles across the image
PALETTE = np.array([  # (bright colour, dark colour), RGB in [0, 1]
    [[0.95, 0.35, 0.25], [0.15, 0.20, 0.45]],
    [[0.30, 0.85, 0.35], [0.45, 0.15, 0.35]],
    [[0.30, 0.45, 0.95], [0.50, 0.40, 0.10]],
    [[0.95, 0.85, 0.30], [0.20, 0.25, 0.30]],
    [[0.80, 0.40, 0.90], [0.15, 0.40, 0.20]],
])


def generate(n, rng):
    labels = rng.integers(0, CLASSES, n)
    theta = labels * (np.pi / CLASSES) + rng.normal(0.0, 0.12, n)  # ~7 degrees
    freq = FREQS[labels % 5] * rng.uniform(0.8, 1.2, n)
    phase = rng.uniform(0.0, 2 * np.pi, n)
    colours = PALETTE[labels % 5]  # (n, 2, 3)
    colours = colours + rng.normal(0.0, 0.12, (n, 2, 3))  # tint
    cx, cy = rng.uniform(-7, 7, (2, n))
    radius = rng.uniform(7, 14, n)
    contrast = rng.uniform(0.4, 1.0, n)

    coords = np.arange(SIDE) - (SIDE - 1) / 2
    y, x = np.meshgrid(coords, coords, indexing="ij")  # (32, 32)
    x, y = x[None], y[None]
    along = x * np.cos(theta)[:, None, None] + y * np.sin(theta)[:, None, None]
    wave = 0.5 + 0.5 * contrast[:, None, None] * np.sin(
        2 * np.pi * freq[:, None, None] * along / SIDE + phase[:, None, None])
    r2 = (x - cx[:, None, None]) ** 2 + (y - cy[:, None, None]) ** 2
    window = 1.0 / (1.0 + np.exp((np.sqrt(r2) - radius[:, None, None]) / 1.5))

    bright, dark = colours[:, 0], colours[:, 1]  # (n, 3)
    pattern = dark[:, :, None, None] + (bright - dark)[:, :, None, None] * wave[:, None]
    # background: a random colour with a gentle random gradient
    background = rng.uniform(0.2, 0.8, (n, 3))[:, :, None, None] + (
        rng.normal(0, 0.15, (n, 3))[:, :, None, None] * x[:, None] / SIDE
        + rng.normal(0, 0.15, (n, 3))[:, :, None, None] * y[:, None] / SIDE)
    image = window[:, None] * pattern + (1 - window[:, None]) * background
    image = image + rng.normal(0.0, 0.10, image.shape)  # pixel noise
    pixels = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)  # (n, 3, 32, 32)
    return labels.astype(np.uint8), pixels


def write(path, labels, pixels):
    records = np.empty((len(labels), 1 + 3 * SIDE * SIDE), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = pixels.reshape(len(labels), -1)
    with open(path, "wb") as f:
        f.write(records.tobytes())


def main(out, n_train, n_test, seed):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels, pixels = generate(n_train, rng)
    bounds = np.linspace(0, n_train, TRAIN_FILES + 1).astype(int)
    for f in range(TRAIN_FILES):
        a, b = bounds[f], bounds[f + 1]
        write(os.path.join(out, f"data_batch_{f + 1}.bin"), labels[a:b], pixels[a:b])
    labels, pixels = generate(n_test, rng)
    write(os.path.join(out, "test_batch.bin"), labels, pixels)
    with open(os.path.join(out, "batches.meta.txt"), "w") as f:
        f.write("".join(f"grating{c}\n" for c in range(CLASSES)))


if __name__ == "__main__":
    if not 2 <= len(sys.argv) <= 5:
        sys.exit(__doc__.split("\n", 1)[0])
    main(sys.argv[1],
         int(sys.argv[2]) if len(sys.argv) > 2 else 10000,
         int(sys.argv[3]) if len(sys.argv) > 3 else 2000,
         int(sys.argv[4]) if len(sys.argv) > 4 else 1)
