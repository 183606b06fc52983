"""LeNet-5 as cnnzoo builds it (tools/lenet_reference.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHANNELS = {"lenet5": 1}
DEFAULT_CLASSES = {"lenet5": 10}
PUBLISHED_PARAMS = {}


def build(name, classes):
    from lenet_reference import LeNet5
    assert name == "lenet5"
    return LeNet5(classes)
