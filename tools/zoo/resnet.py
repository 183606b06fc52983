"""The ResNet family as PyTorch builds it (src/models/resnet.c).

torchvision 0.14 for resnet18..152, the wide ResNets and the ResNeXts;
resnet50_v1 is torchvision's resnet50 with each stage's stride moved to
the first 1x1 conv (the 2015 paper's placement, same keys). resnetv2_* and
wrn28_10 are not in torchvision; they are written here from their papers
with timm's (resnetv2) and xternalz/WideResNet-pytorch's (wrn28_10) module
structure and names.
"""
import torch
from torch import nn
import torch.nn.functional as F

CHANNELS = {}
DEFAULT_CLASSES = {"wrn28_10": 10}
PUBLISHED_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "resnet50_v1": 25_557_032,
    "resnetv2_50": 25_549_352,
    "resnetv2_101": 44_541_480,
    "wide_resnet50_2": 68_883_240,
    "wide_resnet101_2": 126_886_696,
    "resnext50_32x4d": 25_028_904,
    "resnext101_32x8d": 88_791_336,
    "resnext101_64x4d": 83_455_272,
    # At its 10 classes: the paper's "36.5M", exact for xternalz's layout.
    "wrn28_10": 36_479_194,
}

TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
               "wide_resnet50_2", "wide_resnet101_2",
               "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"]


def resnet50_v1(classes):
    """torchvision's resnet50 with the stride on each first 1x1 (v1)."""
    import torchvision
    model = torchvision.models.resnet50(num_classes=classes)
    for layer in (model.layer2, model.layer3, model.layer4):
        block = layer[0]
        block.conv1.stride = block.conv2.stride
        block.conv2.stride = (1, 1)
    return model


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d with ReLU: BN then ReLU, BN's keys."""

    def forward(self, x):
        return F.relu(super().forward(x))


class DownsampleConv(nn.Module):
    """timm's pre-activation projection: a 1x1 conv, no norm."""

    def __init__(self, in_chs, out_chs, stride):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, 1, stride=stride, bias=False)

    def forward(self, x):
        return self.conv(x)


class PreActBottleneck(nn.Module):
    """timm's PreActBottleneck (stride on the 3x3)."""

    def __init__(self, in_chs, out_chs, stride, project):
        super().__init__()
        mid = out_chs // 4
        self.downsample = DownsampleConv(in_chs, out_chs, stride) if project else None
        self.norm1 = BatchNormAct2d(in_chs)
        self.conv1 = nn.Conv2d(in_chs, mid, 1, bias=False)
        self.norm2 = BatchNormAct2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.norm3 = BatchNormAct2d(mid)
        self.conv3 = nn.Conv2d(mid, out_chs, 1, bias=False)

    def forward(self, x):
        x_preact = self.norm1(x)
        shortcut = self.downsample(x_preact) if self.downsample is not None else x
        x = self.conv1(x_preact)
        x = self.conv2(self.norm2(x))
        x = self.conv3(self.norm3(x))
        return x + shortcut


class ResNetStage(nn.Module):
    def __init__(self, in_chs, out_chs, stride, depth):
        super().__init__()
        self.blocks = nn.Sequential(*[
            PreActBottleneck(in_chs if i == 0 else out_chs, out_chs, stride if i == 0 else 1, i == 0)
            for i in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class ClassifierHead(nn.Module):
    """timm's ClassifierHead(use_conv=True): pool, 1x1 conv, flatten."""

    def __init__(self, in_chs, classes):
        super().__init__()
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(in_chs, classes, 1, bias=True)
        self.flatten = nn.Flatten(1)

    def forward(self, x):
        return self.flatten(self.fc(self.global_pool(x)))


class ResNetV2(nn.Module):
    """timm's ResNetV2 with preact=True, BatchNormAct2d and plain convs."""

    def __init__(self, layers, classes):
        super().__init__()
        self.stem = nn.Sequential()
        self.stem.add_module("conv", nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False))
        self.stem.add_module("pool", nn.MaxPool2d(3, stride=2, padding=1))
        self.stages = nn.Sequential()
        prev = 64
        for i, depth in enumerate(layers):
            out = 256 << i
            self.stages.add_module(str(i), ResNetStage(prev, out, 1 if i == 0 else 2, depth))
            prev = out
        self.norm = BatchNormAct2d(prev)
        self.head = ClassifierHead(prev, classes)

    def forward(self, x):
        return self.head(self.norm(self.stages(self.stem(x))))


class WideBasicBlock(nn.Module):
    """xternalz/WideResNet-pytorch's BasicBlock."""

    def __init__(self, in_planes, out_planes, stride, drop_rate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.drop_rate = drop_rate
        self.equal_in_out = in_planes == out_planes
        self.convShortcut = None if self.equal_in_out else nn.Conv2d(
            in_planes, out_planes, 1, stride=stride, padding=0, bias=False)

    def forward(self, x):
        pre = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(pre)))
        out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        return out + (x if self.equal_in_out else self.convShortcut(pre))


class NetworkBlock(nn.Module):
    def __init__(self, n, in_planes, out_planes, stride, drop_rate):
        super().__init__()
        self.layer = nn.Sequential(*[
            WideBasicBlock(in_planes if i == 0 else out_planes, out_planes,
                           stride if i == 0 else 1, drop_rate)
            for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """xternalz's WideResNet, with a global average pool in place of the
    fixed 8x8 one (the same at 32x32) so other sizes work."""

    def __init__(self, depth, widen, classes, drop_rate=0.3):
        super().__init__()
        n = (depth - 4) // 6
        ch = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(3, ch[0], 3, stride=1, padding=1, bias=False)
        self.block1 = NetworkBlock(n, ch[0], ch[1], 1, drop_rate)
        self.block2 = NetworkBlock(n, ch[1], ch[2], 2, drop_rate)
        self.block3 = NetworkBlock(n, ch[2], ch[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(ch[3], classes)

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = self.relu(self.bn1(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


def build(name, classes):
    if name in TORCHVISION:
        import torchvision
        return getattr(torchvision.models, name)(num_classes=classes)
    if name == "resnet50_v1":
        return resnet50_v1(classes)
    if name == "resnetv2_50":
        return ResNetV2([3, 4, 6, 3], classes)
    if name == "resnetv2_101":
        return ResNetV2([3, 4, 23, 3], classes)
    if name == "wrn28_10":
        return WideResNet(28, 10, classes)
    raise KeyError(name)
