"""ResNeSt-50d (Zhang et al. 2020) as timm 0.9 builds it (timm/models/
resnest.py + timm/layers/split_attn.py on timm's ResNet), with timm's module
names so its state_dict keys are timm's.

- Deep stem "d": conv1 = three 3x3 convs 32-32-64 (conv1.0/1/3/4/6), bn1,
  3x3/2 max pool.
- ResNestBottleneck: 1x1 conv (group width = planes * base_width / 64 *
  cardinality), SplitAttn 3x3 conv (conv2.*), then, in a block with stride
  2, avd: a 3x3/2 average pool after the split attention (avd_first False)
  in place of the conv's stride; 1x1 conv3 to planes * 4.
- SplitAttn: conv to radix * C channels (groups cardinality * radix), bn0,
  ReLU; gap of the sum of the radix splits; fc1 (1x1 conv with bias) to
  attn_chs = make_divisible(C * radix / 4, 8, min 32), bn1, ReLU; fc2 (1x1
  conv with bias) back to radix * C; radix softmax; the radix splits
  weighted by it and summed.
- avg_down shortcut: AvgPool2d(2, stride, ceil_mode, count_include_pad
  False) (Identity at stride 1), 1x1 conv, BN -> downsample.1, downsample.2.
"""

PUBLISHED_PARAMS = {"resnest50d": 27483240}
CONFIGS = {
    "resnest50d": dict(layers=(3, 4, 6, 3), stem_width=32, base_width=64, cardinality=1,
                       radix=2),
}


def make_divisible(v, divisor=8, min_value=None, round_limit=0.9):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def _modules():
    import torch
    import torch.nn.functional as F
    from torch import nn

    class RadixSoftmax(nn.Module):
        def __init__(self, radix, cardinality):
            super().__init__()
            self.radix, self.cardinality = radix, cardinality

        def forward(self, x):
            batch = x.size(0)
            if self.radix > 1:
                x = x.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
                return F.softmax(x, dim=1).reshape(batch, -1)
            return torch.sigmoid(x)

    class SplitAttn(nn.Module):
        def __init__(self, channels, stride, groups, radix):
            super().__init__()
            self.radix = radix
            mid_chs = channels * radix
            attn_chs = make_divisible(channels * radix * 0.25, min_value=32, divisor=8)
            self.conv = nn.Conv2d(channels, mid_chs, 3, stride, 1, groups=groups * radix,
                                  bias=False)
            self.bn0 = nn.BatchNorm2d(mid_chs)
            self.act0 = nn.ReLU(inplace=True)
            self.fc1 = nn.Conv2d(channels, attn_chs, 1, groups=groups)
            self.bn1 = nn.BatchNorm2d(attn_chs)
            self.act1 = nn.ReLU(inplace=True)
            self.fc2 = nn.Conv2d(attn_chs, mid_chs, 1, groups=groups)
            self.rsoftmax = RadixSoftmax(radix, groups)

        def forward(self, x):
            x = self.act0(self.bn0(self.conv(x)))
            B, RC, H, W = x.shape
            if self.radix > 1:
                x = x.reshape(B, self.radix, RC // self.radix, H, W)
                gap = x.sum(dim=1)
            else:
                gap = x
            gap = self.act1(self.bn1(self.fc1(gap.mean((2, 3), keepdim=True))))
            attn = self.rsoftmax(self.fc2(gap)).view(B, -1, 1, 1)
            if self.radix > 1:
                return (x * attn.reshape(B, self.radix, RC // self.radix, 1, 1)).sum(dim=1)
            return x * attn

    class ResNestBottleneck(nn.Module):
        def __init__(self, inplanes, planes, stride, downsample, base_width, cardinality, radix):
            super().__init__()
            group_width = int(planes * (base_width / 64.0)) * cardinality
            self.conv1 = nn.Conv2d(inplanes, group_width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(group_width)
            self.act1 = nn.ReLU(inplace=True)
            self.conv2 = SplitAttn(group_width, 1, cardinality, radix)
            self.avd_last = nn.AvgPool2d(3, stride, padding=1) if stride > 1 else None
            self.conv3 = nn.Conv2d(group_width, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.act3 = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            out = self.conv2(self.act1(self.bn1(self.conv1(x))))
            if self.avd_last is not None:
                out = self.avd_last(out)
            out = self.bn3(self.conv3(out))
            shortcut = self.downsample(x) if self.downsample is not None else x
            return self.act3(out + shortcut)

    class ResNeSt(nn.Module):
        def __init__(self, layers, stem_width, base_width, cardinality, radix, num_classes):
            super().__init__()
            inplanes = stem_width * 2
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, stem_width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(stem_width), nn.ReLU(inplace=True),
                nn.Conv2d(stem_width, stem_width, 3, padding=1, bias=False),
                nn.BatchNorm2d(stem_width), nn.ReLU(inplace=True),
                nn.Conv2d(stem_width, inplanes, 3, padding=1, bias=False))
            self.bn1 = nn.BatchNorm2d(inplanes)
            self.act1 = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
                stride = 1 if i == 0 else 2
                pool = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                        if stride > 1 else nn.Identity())
                downsample = nn.Sequential(pool, nn.Conv2d(inplanes, planes * 4, 1, bias=False),
                                           nn.BatchNorm2d(planes * 4))
                stage = []
                for b in range(blocks):
                    stage.append(ResNestBottleneck(
                        inplanes, planes, stride if b == 0 else 1, downsample if b == 0 else None,
                        base_width, cardinality, radix))
                    inplanes = planes * 4
                self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
            self.global_pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512 * 4, num_classes)

        def forward(self, x):
            x = self.maxpool(self.act1(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.global_pool(x), 1))

    return ResNeSt


def build(name, classes):
    return _modules()(num_classes=classes, **CONFIGS[name])
