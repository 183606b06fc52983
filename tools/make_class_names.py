"""make_class_names.py [OUT_DIR] - writes data/imagenet_classes.txt.

The 1000 ImageNet class names, one per line in class-index order, exactly
as torchvision 0.14 labels its pretrained weights
(torchvision.models._meta._IMAGENET_CATEGORIES), so `cnnzoo classify`
names a class as PyTorch users see it. The output is committed; this
script only documents where it came from. Run with Debian's
/usr/bin/python3 (python3-torchvision).
"""
import os
import sys

from torchvision.models._meta import _IMAGENET_CATEGORIES


def main(out_dir):
    names = list(_IMAGENET_CATEGORIES)
    if len(names) != 1000 or any("\n" in n or not n.strip() for n in names):
        sys.exit("make_class_names.py: unexpected category list in torchvision")
    with open(os.path.join(out_dir, "imagenet_classes.txt"), "w", encoding="utf-8") as f:
        f.write("".join(n + "\n" for n in names))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "data"))
