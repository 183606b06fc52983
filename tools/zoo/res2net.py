"""Res2Net-50 26w x 4s (Gao et al. 2019) as timm 0.9 builds it
(timm/models/res2net.py on timm's ResNet), with timm's module names so its
state_dict keys are timm's: conv1, bn1, layerN.M.{conv1, bn1, convs.K,
bns.K, conv3, bn3, downsample.0/1}, fc.

Bottle2neck: a 1x1 conv to width * scale channels, split into `scale`
chunks of `width`; chunk i > 0 goes through its own 3x3 conv after the
previous chunk's output is added (hierarchical residual), the last chunk
passes through. In a stage's first block ("stype stage": stride 2 or a
projection shortcut) there is no adding, every conv sees its own chunk,
and the last chunk is average-pooled (3x3, the block's stride) instead.
"""
import math

PUBLISHED_PARAMS = {"res2net50_26w_4s": 25699120}
CONFIGS = {"res2net50_26w_4s": dict(layers=(3, 4, 6, 3), base_width=26, scale=4)}


def _modules():
    import torch
    from torch import nn

    class Bottle2neck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride, downsample, base_width, scale):
            super().__init__()
            width = int(math.floor(planes * (base_width / 64.0)))
            self.width, self.scale = width, scale
            self.is_first = stride > 1 or downsample is not None
            self.conv1 = nn.Conv2d(inplanes, width * scale, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width * scale)
            self.convs = nn.ModuleList(
                nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
                for _ in range(max(1, scale - 1)))
            self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(max(1, scale - 1)))
            self.pool = nn.AvgPool2d(3, stride=stride, padding=1) if self.is_first else None
            self.conv3 = nn.Conv2d(width * scale, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            chunks = torch.split(out, self.width, 1)
            outs = []
            sp = None
            for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
                sp = chunks[i] if i == 0 or self.is_first else sp + chunks[i]
                sp = self.relu(bn(conv(sp)))
                outs.append(sp)
            if self.scale > 1:
                outs.append(self.pool(chunks[-1]) if self.is_first else chunks[-1])
            out = self.bn3(self.conv3(torch.cat(outs, 1)))
            shortcut = self.downsample(x) if self.downsample is not None else x
            return self.relu(out + shortcut)

    class Res2Net(nn.Module):
        def __init__(self, layers, base_width, scale, num_classes):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.act1 = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            inplanes = 64
            for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
                stride = 1 if i == 0 else 2
                downsample = nn.Sequential(
                    nn.Conv2d(inplanes, planes * 4, 1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes * 4))
                stage = []
                for b in range(blocks):
                    stage.append(Bottle2neck(inplanes, planes, stride if b == 0 else 1,
                                             downsample if b == 0 else None, base_width, scale))
                    inplanes = planes * 4
                self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            self.global_pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512 * 4, num_classes)

        def forward(self, x):
            x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.global_pool(x), 1))

    return Res2Net


def build(name, classes):
    return _modules()(num_classes=classes, **CONFIGS[name])
