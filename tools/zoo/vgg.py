"""VGG 11/13/16/19, with and without BatchNorm: torchvision 0.14's."""
import torchvision

NAMES = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
PUBLISHED_PARAMS = {  # torchvision 0.14 / MODELS.md
    "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848, "vgg13_bn": 133_053_736,
    "vgg16": 138_357_544, "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240, "vgg19_bn": 143_678_248,
}


def build(name, classes):
    if name not in NAMES:
        raise ValueError(name)
    return getattr(torchvision.models, name)(num_classes=classes)
