"""ZFNet in PyTorch, as cnnzoo builds it (src/models/zfnet.c).

Zeiler & Fergus 2013, Fig. 3: conv1 96 7x7/2 (pad 1), conv2 256 5x5/2, then
AlexNet's 384-384-256 3x3 convs and fc 4096-4096-classes. torchvision lacks
it; the module tree copies torchvision's AlexNet (features / avgpool /
classifier, nn.Sequential indices: convs features.0, .4, .8, .10, .12,
linears classifier.1, .4, .6). As in the figure, the first two layers are
conv, ReLU, 3x3/2 max pool, contrast normalisation (AlexNet's LRN: size 5,
alpha 1e-4, beta 0.75, k 2). Pools use ceil_mode, which gives the figure's
110 -> 55, 26 -> 13, 13 -> 6 at 224x224. Parameters equal imgclsmob's zfnet.
build() re-draws the weights so the logits depend on the input and LRN
works in its nonlinear range (alexnet.signal_preserving_init).
"""
import torch
from torch import nn

from .alexnet import signal_preserving_init

PUBLISHED_PARAMS = {"zfnet": 62_357_608}  # MODELS.md (imgclsmob)


class ZFNet(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()

        def pool():
            return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

        def lrn():
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=7, stride=2, padding=1),      # 0
            nn.ReLU(inplace=True), pool(), lrn(),
            nn.Conv2d(96, 256, kernel_size=5, stride=2),               # 4
            nn.ReLU(inplace=True), pool(), lrn(),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),             # 8
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1),             # 10
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),             # 12
            nn.ReLU(inplace=True), pool(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def build(name, classes):
    if name == "zfnet":
        return signal_preserving_init(ZFNet(classes), first_gain=100.0)
    raise ValueError(name)
