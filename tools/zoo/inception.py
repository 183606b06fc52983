"""Inception v3, v4 and Inception-ResNet-v2.

inception_v3: torchvision 0.14's, with its auxiliary head (AuxLogits).
inception_v4 and inception_resnet_v2 (Szegedy et al. 2016): written here
from the paper following timm 0.9's modules (timm/models/inception_v4.py,
inception_resnet_v2.py) so the state_dict keys are timm's:
  v4:   features.0-21 (stem convs 0-2, mixed_3a 3, mixed_4a 4, mixed_5a 5,
        4 x Inception-A 6-9, Reduction-A 10, 7 x Inception-B 11-17,
        Reduction-B 18, 3 x Inception-C 19-21), last_linear
  IRv2: conv2d_1a ... conv2d_4a, mixed_5b, repeat (10 x Block35),
        mixed_6a, repeat_1 (20 x Block17), mixed_7a, repeat_2 (9 x Block8),
        block8, conv2d_7b, classif
Every conv is conv (no bias) + bn (eps 1e-3) + ReLU, keys conv/bn; the
residual blocks end in a plain conv2d with bias whose output is scaled
(0.17, 0.10, 0.20; 1.0 for the last block8, which has no ReLU) and added to
the block's input.
"""
import torchvision

PUBLISHED_PARAMS = {
    "inception_v3": 27_161_264,  # with AuxLogits; 23,834,568 without
    "inception_v4": 42_679_816,
    "inception_resnet_v2": 55_843_464,
}


def _modules():
    import torch
    from torch import nn

    class BasicConv2d(nn.Module):
        def __init__(self, cin, cout, kernel, stride=1, padding=0):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
            self.bn = nn.BatchNorm2d(cout, eps=1e-3)

        def forward(self, x):
            return torch.relu(self.bn(self.conv(x)))

    def seq(*convs):
        """nn.Sequential of BasicConv2d from (cin, cout, kernel[, stride[, padding]])."""
        return nn.Sequential(*(BasicConv2d(*c) for c in convs))

    def avg3():
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    class Cat(nn.Module):
        """Concatenates its children's outputs, in order of their names."""
        def forward(self, x):
            return torch.cat([m(x) for m in self.children()], 1)

    # ---------------------------------------------------------- Inception-v4
    class Mixed3a(nn.Module):
        def __init__(self):
            super().__init__()
            self.maxpool = nn.MaxPool2d(3, stride=2)
            self.conv = BasicConv2d(64, 96, 3, 2)

        def forward(self, x):
            return torch.cat((self.maxpool(x), self.conv(x)), 1)

    class Mixed4a(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = seq((160, 64, 1), (64, 96, 3))
            self.branch1 = seq((160, 64, 1), (64, 64, (1, 7), 1, (0, 3)),
                               (64, 64, (7, 1), 1, (3, 0)), (64, 96, 3))

    class Mixed5a(Cat):
        def __init__(self):
            super().__init__()
            self.conv = BasicConv2d(192, 192, 3, 2)
            self.maxpool = nn.MaxPool2d(3, stride=2)

    class InceptionA(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = BasicConv2d(384, 96, 1)
            self.branch1 = seq((384, 64, 1), (64, 96, 3, 1, 1))
            self.branch2 = seq((384, 64, 1), (64, 96, 3, 1, 1), (96, 96, 3, 1, 1))
            self.branch3 = nn.Sequential(avg3(), BasicConv2d(384, 96, 1))

    class ReductionA(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = BasicConv2d(384, 384, 3, 2)
            self.branch1 = seq((384, 192, 1), (192, 224, 3, 1, 1), (224, 256, 3, 2))
            self.branch2 = nn.MaxPool2d(3, stride=2)

    class InceptionB(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = BasicConv2d(1024, 384, 1)
            self.branch1 = seq((1024, 192, 1), (192, 224, (1, 7), 1, (0, 3)),
                               (224, 256, (7, 1), 1, (3, 0)))
            self.branch2 = seq((1024, 192, 1), (192, 192, (7, 1), 1, (3, 0)),
                               (192, 224, (1, 7), 1, (0, 3)), (224, 224, (7, 1), 1, (3, 0)),
                               (224, 256, (1, 7), 1, (0, 3)))
            self.branch3 = nn.Sequential(avg3(), BasicConv2d(1024, 128, 1))

    class ReductionB(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = seq((1024, 192, 1), (192, 192, 3, 2))
            self.branch1 = seq((1024, 256, 1), (256, 256, (1, 7), 1, (0, 3)),
                               (256, 320, (7, 1), 1, (3, 0)), (320, 320, 3, 2))
            self.branch2 = nn.MaxPool2d(3, stride=2)

    class InceptionC(nn.Module):
        def __init__(self):
            super().__init__()
            self.branch0 = BasicConv2d(1536, 256, 1)
            self.branch1_0 = BasicConv2d(1536, 384, 1)
            self.branch1_1a = BasicConv2d(384, 256, (1, 3), 1, (0, 1))
            self.branch1_1b = BasicConv2d(384, 256, (3, 1), 1, (1, 0))
            self.branch2_0 = BasicConv2d(1536, 384, 1)
            self.branch2_1 = BasicConv2d(384, 448, (3, 1), 1, (1, 0))
            self.branch2_2 = BasicConv2d(448, 512, (1, 3), 1, (0, 1))
            self.branch2_3a = BasicConv2d(512, 256, (1, 3), 1, (0, 1))
            self.branch2_3b = BasicConv2d(512, 256, (3, 1), 1, (1, 0))
            self.branch3 = nn.Sequential(avg3(), BasicConv2d(1536, 256, 1))

        def forward(self, x):
            x1 = self.branch1_0(x)
            x2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
            return torch.cat((self.branch0(x), self.branch1_1a(x1), self.branch1_1b(x1),
                              self.branch2_3a(x2), self.branch2_3b(x2), self.branch3(x)), 1)

    class InceptionV4(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.features = nn.Sequential(
                BasicConv2d(3, 32, 3, 2), BasicConv2d(32, 32, 3), BasicConv2d(32, 64, 3, 1, 1),
                Mixed3a(), Mixed4a(), Mixed5a(),
                *[InceptionA() for _ in range(4)], ReductionA(),
                *[InceptionB() for _ in range(7)], ReductionB(),
                *[InceptionC() for _ in range(3)])
            self.last_linear = nn.Linear(1536, num_classes)

        def forward(self, x):
            return self.last_linear(self.features(x).mean((2, 3)))

    # --------------------------------------------------- Inception-ResNet-v2
    class Mixed_5b(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = BasicConv2d(192, 96, 1)
            self.branch1 = seq((192, 48, 1), (48, 64, 5, 1, 2))
            self.branch2 = seq((192, 64, 1), (64, 96, 3, 1, 1), (96, 96, 3, 1, 1))
            self.branch3 = nn.Sequential(avg3(), BasicConv2d(192, 64, 1))

    class Residual(nn.Module):
        """Branches concatenated, a 1x1 conv2d (with bias), scaled, added."""
        def __init__(self, scale, relu):
            super().__init__()
            self.scale, self.relu = scale, relu

        def forward(self, x):
            branches = [m(x) for name, m in self.named_children() if name.startswith("branch")]
            out = self.conv2d(torch.cat(branches, 1)) * self.scale + x
            return torch.relu(out) if self.relu else out

    class Block35(Residual):
        def __init__(self, scale):
            super().__init__(scale, True)
            self.branch0 = BasicConv2d(320, 32, 1)
            self.branch1 = seq((320, 32, 1), (32, 32, 3, 1, 1))
            self.branch2 = seq((320, 32, 1), (32, 48, 3, 1, 1), (48, 64, 3, 1, 1))
            self.conv2d = nn.Conv2d(128, 320, 1)

    class Mixed_6a(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = BasicConv2d(320, 384, 3, 2)
            self.branch1 = seq((320, 256, 1), (256, 256, 3, 1, 1), (256, 384, 3, 2))
            self.branch2 = nn.MaxPool2d(3, stride=2)

    class Block17(Residual):
        def __init__(self, scale):
            super().__init__(scale, True)
            self.branch0 = BasicConv2d(1088, 192, 1)
            self.branch1 = seq((1088, 128, 1), (128, 160, (1, 7), 1, (0, 3)),
                               (160, 192, (7, 1), 1, (3, 0)))
            self.conv2d = nn.Conv2d(384, 1088, 1)

    class Mixed_7a(Cat):
        def __init__(self):
            super().__init__()
            self.branch0 = seq((1088, 256, 1), (256, 384, 3, 2))
            self.branch1 = seq((1088, 256, 1), (256, 288, 3, 2))
            self.branch2 = seq((1088, 256, 1), (256, 288, 3, 1, 1), (288, 320, 3, 2))
            self.branch3 = nn.MaxPool2d(3, stride=2)

    class Block8(Residual):
        def __init__(self, scale, relu=True):
            super().__init__(scale, relu)
            self.branch0 = BasicConv2d(2080, 192, 1)
            self.branch1 = seq((2080, 192, 1), (192, 224, (1, 3), 1, (0, 1)),
                               (224, 256, (3, 1), 1, (1, 0)))
            self.conv2d = nn.Conv2d(448, 2080, 1)

    class InceptionResnetV2(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.conv2d_1a = BasicConv2d(3, 32, 3, 2)
            self.conv2d_2a = BasicConv2d(32, 32, 3)
            self.conv2d_2b = BasicConv2d(32, 64, 3, 1, 1)
            self.maxpool_3a = nn.MaxPool2d(3, stride=2)
            self.conv2d_3b = BasicConv2d(64, 80, 1)
            self.conv2d_4a = BasicConv2d(80, 192, 3)
            self.maxpool_5a = nn.MaxPool2d(3, stride=2)
            self.mixed_5b = Mixed_5b()
            self.repeat = nn.Sequential(*[Block35(0.17) for _ in range(10)])
            self.mixed_6a = Mixed_6a()
            self.repeat_1 = nn.Sequential(*[Block17(0.10) for _ in range(20)])
            self.mixed_7a = Mixed_7a()
            self.repeat_2 = nn.Sequential(*[Block8(0.20) for _ in range(9)])
            self.block8 = Block8(1.0, relu=False)
            self.conv2d_7b = BasicConv2d(2080, 1536, 1)
            self.classif = nn.Linear(1536, num_classes)

        def forward(self, x):
            for m in list(self.children())[:-1]:
                x = m(x)
            return self.classif(x.mean((2, 3)))

    return {"inception_v4": InceptionV4, "inception_resnet_v2": InceptionResnetV2}


def build(name, classes):
    if name == "inception_v3":
        return torchvision.models.inception_v3(num_classes=classes, aux_logits=True,
                                               transform_input=False, init_weights=True)
    return _modules()[name](classes)
