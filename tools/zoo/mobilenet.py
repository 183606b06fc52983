"""MobileNet v1, v2, v3 as PyTorch builds them (src/models/mobilenet.c).

mobilenet_v2 and mobilenet_v3_large/_small are torchvision 0.14's.
mobilenet_v1 is not in torchvision; it is written here from the paper
(Howard et al. 2017, Table 1) with the module tree and key names of timm's
mobilenetv1_100 (conv_stem, bn1, blocks.S.B.{conv_dw, bn1, conv_pw, bn2},
classifier) and timm's ReLU6, so timm's checkpoints load into cnnzoo.
"""
from torch import nn

PUBLISHED_PARAMS = {
    "mobilenet_v1": 4_231_976,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856,
}

# Table 1 grouped as timm groups it: (layers, output channels, first stride).
V1_STAGES = [(1, 64, 1), (2, 128, 2), (2, 256, 2), (6, 512, 2), (2, 1024, 2)]


class DepthwiseSeparable(nn.Module):
    """timm's DepthwiseSeparableConv with pw_act and no skip ('dsa')."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv_dw = nn.Conv2d(in_channels, in_channels, 3, stride, 1, groups=in_channels,
                                 bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv_pw = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x):
        x = self.act(self.bn1(self.conv_dw(x)))
        return self.act(self.bn2(self.conv_pw(x)))


class MobileNetV1(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.act = nn.ReLU6(inplace=True)
        stages, in_channels = [], 32
        for layers, out_channels, stride in V1_STAGES:
            blocks = []
            for b in range(layers):
                stride_b = stride if b == 0 else 1
                blocks.append(DepthwiseSeparable(in_channels, out_channels, stride_b))
                in_channels = out_channels
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.classifier = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = self.blocks(self.act(self.bn1(self.conv_stem(x))))
        return self.classifier(x.mean((2, 3)))


def build(name, classes):
    import torchvision
    assert name in PUBLISHED_PARAMS, name
    if name == "mobilenet_v1":
        return MobileNetV1(classes)
    return getattr(torchvision.models, name)(num_classes=classes)
