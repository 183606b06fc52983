"""Network in Network in PyTorch, as cnnzoo builds it (src/models/nin.c).

nin          the ImageNet NIN of the Caffe model zoo (mavenlin): mlpconv
             blocks 96-96-96 (11x11/4), 256-256-256 (5x5), 384-384-384 (3x3),
             dropout 0.5, 1024-1024-classes (3x3), global average pooling.
nin_cifar10  the paper's CIFAR-10 net: 192-160-96 (5x5), max pool, dropout,
             192-192-192 (5x5), avg pool, dropout, 192-192-classes (3x3),
             global average pooling.

Every conv has a ReLU (the class maps too, as in both Caffe nets); pools
are 3x3/2 with ceil_mode (Caffe's rounding). Neither torchvision nor timm
has NIN; the names follow torchvision's AlexNet style: `features` is an
nn.Sequential of all blocks but the last, `classifier` the last block plus
the global pooling (its convs classifier.0, .2, .4). build() re-draws the
weights so the logits depend on the input (alexnet.signal_preserving_init).
"""
from torch import nn

from .alexnet import signal_preserving_init

CHANNELS = {"nin": 3, "nin_cifar10": 3}
DEFAULT_CLASSES = {"nin_cifar10": 10}
PUBLISHED_PARAMS = {
    "nin": 7_595_176,          # MODELS.md (Caffe model zoo NIN-ImageNet)
    "nin_cifar10": 966_986,    # MODELS.md (imgclsmob), counted at 10 classes
}

# (out channels of the kxk conv and the two 1x1 convs, kernel, stride,
#  padding, pool after the block, dropout after it); None = the classes.
IMAGENET = [((96, 96, 96), 11, 4, 0, "max", 0.0),
            ((256, 256, 256), 5, 1, 2, "max", 0.0),
            ((384, 384, 384), 3, 1, 1, "max", 0.5),
            ((1024, 1024, None), 3, 1, 1, None, 0.0)]
CIFAR10 = [((192, 160, 96), 5, 1, 2, "max", 0.5),
           ((192, 192, 192), 5, 1, 2, "avg", 0.5),
           ((192, 192, None), 3, 1, 1, None, 0.0)]


def mlpconv(in_channels, block, classes):
    outs, kernel, stride, padding, pool, dropout = block
    layers = []
    for i, out in enumerate(outs):
        out = classes if out is None else out
        if i == 0:
            layers.append(nn.Conv2d(in_channels, out, kernel, stride, padding))
        else:
            layers.append(nn.Conv2d(in_channels, out, 1))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out
    if pool == "max":
        layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
    elif pool == "avg":
        layers.append(nn.AvgPool2d(3, 2, ceil_mode=True))
    if dropout:
        layers.append(nn.Dropout(dropout))
    return layers, in_channels


class NIN(nn.Module):
    def __init__(self, blocks, num_classes, in_channels=3):
        super().__init__()
        layers = []
        for block in blocks[:-1]:
            more, in_channels = mlpconv(in_channels, block, num_classes)
            layers += more
        self.features = nn.Sequential(*layers)
        last, _ = mlpconv(in_channels, blocks[-1], num_classes)
        self.classifier = nn.Sequential(*last, nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.classifier(self.features(x))


def build(name, classes):
    if name == "nin":
        return signal_preserving_init(NIN(IMAGENET, classes))
    if name == "nin_cifar10":
        return signal_preserving_init(NIN(CIFAR10, classes))
    raise ValueError(name)
