"""ShuffleNet v1 and v2 as PyTorch builds them (src/models/shufflenet.c).

shufflenet_v2_x0_5 ... _x2_0 are torchvision 0.14's. shufflenet_v1 (1x,
g = 3) is in neither torchvision nor timm; it is written here from the paper
(Zhang et al. 2017, Table 1 and Figure 2) in the layout documented in
shufflenet.c: torchvision's v2 skeleton (conv1, maxpool, stage2-4, fc) with
units of three (conv, BN) pairs gconv1, dwconv, gconv2. Its 1,865,728
parameters are the figure in the reference table (mmpretrain's 1.87M).
"""
import torch
from torch import nn

PUBLISHED_PARAMS = {
    "shufflenet_v1": 1_865_728,
    "shufflenet_v2_x0_5": 1_366_792,
    "shufflenet_v2_x1_0": 2_278_604,
    "shufflenet_v2_x1_5": 3_503_624,
    "shufflenet_v2_x2_0": 7_393_996,
}


def conv_bn(in_channels, out_channels, kernel, stride=1, groups=1, relu=False):
    layers = [nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2,
                        groups=groups, bias=False),
              nn.BatchNorm2d(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def channel_shuffle(x, groups):
    """The paper's shuffle: channels seen as (groups, n), transposed."""
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnitV1(nn.Module):
    """Figure 2 (b) for stride 1, (c) for stride 2."""

    def __init__(self, in_channels, out_channels, stride, groups, grouped_first):
        super().__init__()
        self.stride = stride
        self.groups = groups
        bottleneck = out_channels // 4
        residual = out_channels - in_channels if stride == 2 else out_channels
        self.gconv1 = conv_bn(in_channels, bottleneck, 1, groups=groups if grouped_first else 1,
                              relu=True)
        self.dwconv = conv_bn(bottleneck, bottleneck, 3, stride, groups=bottleneck)
        self.gconv2 = conv_bn(bottleneck, residual, 1, groups=groups)

    def forward(self, x):
        r = self.gconv2(self.dwconv(channel_shuffle(self.gconv1(x), self.groups)))
        if self.stride == 1:
            return torch.relu(x + r)
        shortcut = nn.functional.avg_pool2d(x, 3, 2, 1)
        return torch.relu(torch.cat((shortcut, r), 1))


class ShuffleNetV1(nn.Module):
    def __init__(self, num_classes=1000, groups=3, stage_repeats=(4, 8, 4),
                 stage_out_channels=(24, 240, 480, 960)):
        super().__init__()
        self.conv1 = conv_bn(3, stage_out_channels[0], 3, 2, relu=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        in_channels = stage_out_channels[0]
        for s, (repeats, out_channels) in enumerate(zip(stage_repeats, stage_out_channels[1:])):
            units = []
            for u in range(repeats):
                units.append(ShuffleUnitV1(in_channels, out_channels, 2 if u == 0 else 1, groups,
                                           grouped_first=s > 0 or u > 0))
                in_channels = out_channels
            setattr(self, f"stage{s + 2}", nn.Sequential(*units))
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        x = self.stage4(self.stage3(self.stage2(x)))
        return self.fc(x.mean((2, 3)))


def build(name, classes):
    import torchvision
    assert name in PUBLISHED_PARAMS, name
    if name == "shufflenet_v1":
        return ShuffleNetV1(classes)
    return getattr(torchvision.models, name)(num_classes=classes)
