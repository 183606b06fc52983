"""AlexNet in PyTorch, as cnnzoo builds it (src/models/alexnet.c).

alexnet        torchvision 0.14's AlexNet (64-192-384-256-256, no LRN).
alexnet_paper  the 2012 paper's one-GPU net in Caffe's bvlc_alexnet layout
               (96-256-384-384-256, LRN after conv1 and conv2, groups=2 in
               conv2, conv4 and conv5), which torchvision lacks. Its module
               tree copies torchvision's AlexNet (features / avgpool /
               classifier, nn.Sequential indices), so a port's keys are
               features.0, .4, .8, .10, .12 and classifier.1, .4, .6.
               LocalResponseNorm(5, 1e-4, 0.75, k=2) is the paper's LRN with
               alpha divided by the size (as Caffe and PyTorch define it);
               pools use ceil_mode as Caffe's do (the same as floor at 227,
               and 6x6 at 224 too).

build() re-draws the weights with signal_preserving_init (see there): with
PyTorch's default init these nets' logits are almost only the last bias.
"""
import torch
import torchvision
from torch import nn

PUBLISHED_PARAMS = {
    "alexnet": 61_100_840,        # torchvision 0.14
    "alexnet_paper": 60_965_224,  # MODELS.md / Caffe bvlc_alexnet
}


def signal_preserving_init(model, first_gain=1.0):
    """He-normal (fan_in) weights and N(0, 0.1) biases for every conv and
    linear, in place, from torch's global generator.

    PyTorch's default init (kaiming_uniform with a = sqrt(5)) shrinks the
    signal at every layer and nothing (no BatchNorm) restores it: the two
    samples' logits then differed by 2e-4 of their size in NIN (12 convs)
    and 3-8% in the AlexNets, so a broken feature path could pass a 1e-4
    test. He init keeps the input's scale to the logits (differences ~10%). first_gain scales the first conv: 100
    gives the activations of mean-subtracted 0..255 pixels, the regime in
    which LRN (alpha 1e-4) is not just a constant factor.
    """
    first = True
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if first:
                with torch.no_grad():
                    m.weight.mul_(first_gain)
                first = False
            nn.init.normal_(m.bias, std=0.1)
    return model


class AlexNetPaper(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()

        def pool():
            return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

        def lrn():
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)

        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),                # 0
            nn.ReLU(inplace=True), lrn(), pool(),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),    # 4
            nn.ReLU(inplace=True), lrn(), pool(),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),             # 8
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),   # 10
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),   # 12
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
    if name == "alexnet":
        return signal_preserving_init(torchvision.models.alexnet(num_classes=classes))
    if name == "alexnet_paper":
        return signal_preserving_init(AlexNetPaper(classes), first_gain=100.0)
    raise ValueError(name)
