"""Xception (Chollet 2017) as timm's legacy_xception builds it (the
Keras-weights port, timm/models/xception.py), with timm's module names so
the state_dict keys are timm's: conv1, bn1, conv2, bn2, block1..block12
(rep.K, skip, skipbn), conv3, bn3, conv4, bn4, fc.

Separable convolution = depthwise 3x3 (conv1) then pointwise 1x1
(pointwise), no BN between them. A block is `reps` x (ReLU, separable
conv, BN), without the first ReLU in block1, a 3x3/2 max pool (padding 1)
at the end when it strides, and a shortcut: identity, or a strided 1x1
conv + BN when the shape changes. BN as PyTorch's default (eps 1e-5).
"""
PUBLISHED_PARAMS = {"xception": 22_855_952}

# (in, out, reps, stride, start_with_relu, grow_first): the paper's Fig. 5
# entry flow (block1-3), middle flow (block4-11), exit flow (block12).
BLOCKS = [(64, 128, 2, 2, False, True), (128, 256, 2, 2, True, True),
          (256, 728, 2, 2, True, True)] + [(728, 728, 3, 1, True, True)] * 8 + \
         [(728, 1024, 2, 2, True, False)]


def _modules():
    from torch import nn

    class SeparableConv2d(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
            self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

        def forward(self, x):
            return self.pointwise(self.conv1(x))

    class Block(nn.Module):
        def __init__(self, cin, cout, reps, stride, start_with_relu, grow_first):
            super().__init__()
            if cout != cin or stride != 1:
                self.skip = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
                self.skipbn = nn.BatchNorm2d(cout)
            else:
                self.skip = None
            layers = []
            for i in range(reps):
                if grow_first:
                    a, b = (cin if i == 0 else cout), cout
                else:
                    a, b = cin, (cin if i < reps - 1 else cout)
                layers += [nn.ReLU(), SeparableConv2d(a, b), nn.BatchNorm2d(b)]
            if not start_with_relu:
                layers = layers[1:]
            if stride != 1:
                layers.append(nn.MaxPool2d(3, stride, 1))
            self.rep = nn.Sequential(*layers)

        def forward(self, x):
            shortcut = self.skipbn(self.skip(x)) if self.skip is not None else x
            return self.rep(x) + shortcut

    class Xception(nn.Module):
        def __init__(self, num_classes):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 32, 3, 2, 0, bias=False)
            self.bn1 = nn.BatchNorm2d(32)
            self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
            self.bn2 = nn.BatchNorm2d(64)
            for i, cfg in enumerate(BLOCKS):
                setattr(self, f"block{i + 1}", Block(*cfg))
            self.conv3 = SeparableConv2d(1024, 1536)
            self.bn3 = nn.BatchNorm2d(1536)
            self.conv4 = SeparableConv2d(1536, 2048)
            self.bn4 = nn.BatchNorm2d(2048)
            self.fc = nn.Linear(2048, num_classes)

        def forward(self, x):
            relu = nn.functional.relu
            x = relu(self.bn1(self.conv1(x)))
            x = relu(self.bn2(self.conv2(x)))
            for i in range(len(BLOCKS)):
                x = getattr(self, f"block{i + 1}")(x)
            x = relu(self.bn3(self.conv3(x)))
            x = relu(self.bn4(self.conv4(x)))
            return self.fc(x.mean((2, 3)))

    return Xception


def build(name, classes):
    if name != "xception":
        raise ValueError(name)
    return _modules()(classes)
