"""SE and CBAM ResNets as PyTorch builds them (src/models/senet.c).

None of these is in torchvision 0.14, so they are written here from the
papers with the module structure and names of their reference code:
  seresnet50, seresnext50_32x4d  timm's ResNet + SEModule (attn 'se')
  senet154                       timm's legacy_senet154 (senet.py)
  cbam_resnet50                  the CBAM authors' Jongchan/attention-module
                                 (ResidualNet('ImageNet', 50, ..., 'CBAM')),
                                 with a global average pool in place of its
                                 fixed 7x7 one (the same at 224x224)
"""
from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F

CHANNELS = {}
DEFAULT_CLASSES = {}
PUBLISHED_PARAMS = {
    "seresnet50": 28_088_024,
    "seresnext50_32x4d": 27_559_896,
    "senet154": 115_088_984,
    # The authors' layout (spatial gate with an affine BatchNorm(1)): the
    # paper's 28.09M; imgclsmob lists the same 28,089,624.
    "cbam_resnet50": 28_089_624,
}


def make_divisible(v, divisor=8):
    return max(divisor, int(v + divisor / 2) // divisor * divisor)


class SEModule(nn.Module):
    """timm's SEModule (and legacy SENet's, with rd = C // reduction)."""

    def __init__(self, channels, rd_channels):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, rd_channels, 1, bias=True)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(rd_channels, channels, 1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(self.relu(self.fc1(s))))


class BasicConv(nn.Module):
    """The CBAM authors' BasicConv(2, 1, 7, padding=3, relu=False)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, stride=1, padding=3, bias=False)
        self.bn = nn.BatchNorm2d(1, eps=1e-5, momentum=0.01, affine=True)

    def forward(self, x):
        return self.bn(self.conv(x))


class ChannelGate(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // reduction),
                                 nn.ReLU(), nn.Linear(channels // reduction, channels))

    def forward(self, x):
        avg = F.adaptive_avg_pool2d(x, 1)
        mx = F.adaptive_max_pool2d(x, 1)
        scale = torch.sigmoid(self.mlp(avg) + self.mlp(mx))
        return x * scale[:, :, None, None]


class SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = BasicConv()

    def forward(self, x):
        compress = torch.cat((x.max(1, keepdim=True)[0], x.mean(1, keepdim=True)), dim=1)
        return x * torch.sigmoid(self.spatial(compress))


class CBAM(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.ChannelGate = ChannelGate(channels)
        self.SpatialGate = SpatialGate()

    def forward(self, x):
        return self.SpatialGate(self.ChannelGate(x))


class Bottleneck(nn.Module):
    """timm's / torchvision's Bottleneck (stride on the 3x3) with an
    attention module, named `attn_name`, between bn3 and the add."""

    def __init__(self, inplanes, planes, stride, groups, base_width, attn, attn_name):
        super().__init__()
        width = int(planes * base_width / 64) * groups
        outplanes = planes * 4
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, outplanes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(outplanes)
        self.attn_name = attn_name
        setattr(self, attn_name, attn(outplanes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != outplanes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(outplanes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = getattr(self, self.attn_name)(out)
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """conv1, bn1, maxpool, layer1..4, global average pool, fc."""

    def __init__(self, layers, classes, attn, attn_name, groups=1, base_width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = 64
        for i, n in enumerate(layers):
            planes = 64 << i
            blocks = []
            for b in range(n):
                stride = 2 if (b == 0 and i > 0) else 1
                blocks.append(Bottleneck(inplanes, planes, stride, groups, base_width, attn,
                                         attn_name))
                inplanes = planes * 4
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def timm_se(channels):
    return SEModule(channels, make_divisible(channels / 16))


class SEBottleneck(nn.Module):
    """timm's legacy SEBottleneck (SENet-154)."""

    def __init__(self, inplanes, planes, groups, reduction, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes * 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes * 2)
        self.conv2 = nn.Conv2d(planes * 2, planes * 4, 3, stride=stride, padding=1, groups=groups,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(planes * 4)
        self.conv3 = nn.Conv2d(planes * 4, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = SEModule(planes * 4, planes * 4 // reduction)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return self.relu(self.se_module(out) + shortcut)


class SENet154(nn.Module):
    """timm's legacy SENet with legacy_senet154's arguments."""

    def __init__(self, classes, layers=(3, 8, 36, 3), groups=64, reduction=16, drop_rate=0.2):
        super().__init__()
        self.layer0 = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(64)),
            ("relu1", nn.ReLU(inplace=True)),
            ("conv2", nn.Conv2d(64, 64, 3, stride=1, padding=1, bias=False)),
            ("bn2", nn.BatchNorm2d(64)),
            ("relu2", nn.ReLU(inplace=True)),
            ("conv3", nn.Conv2d(64, 128, 3, stride=1, padding=1, bias=False)),
            ("bn3", nn.BatchNorm2d(128)),
            ("relu3", nn.ReLU(inplace=True)),
        ]))
        self.pool0 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        inplanes = 128
        for i, n in enumerate(layers):
            planes = 64 << i
            stride = 1 if i == 0 else 2
            kernel, padding = (1, 0) if i == 0 else (3, 1)
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, kernel, stride=stride, padding=padding, bias=False),
                nn.BatchNorm2d(planes * 4))
            blocks = [SEBottleneck(inplanes, planes, groups, reduction, stride, downsample)]
            inplanes = planes * 4
            blocks += [SEBottleneck(inplanes, planes, groups, reduction) for _ in range(1, n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.drop_rate = drop_rate
        self.last_linear = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = self.pool0(self.layer0(x))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        x = F.dropout(x, p=self.drop_rate, training=self.training)
        return self.last_linear(x)


def build(name, classes):
    if name == "seresnet50":
        return ResNet([3, 4, 6, 3], classes, timm_se, "se")
    if name == "seresnext50_32x4d":
        return ResNet([3, 4, 6, 3], classes, timm_se, "se", groups=32, base_width=4)
    if name == "senet154":
        return SENet154(classes)
    if name == "cbam_resnet50":
        return ResNet([3, 4, 6, 3], classes, CBAM, "cbam")
    raise KeyError(name)
