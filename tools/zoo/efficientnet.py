"""EfficientNet B0-B7 (Tan & Le 2019): torchvision 0.14's models
(src/models/efficientnet.c)."""

PUBLISHED_PARAMS = {
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "efficientnet_b2": 9_109_994,
    "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
    "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
}


def build(name, classes):
    import torchvision
    assert name in PUBLISHED_PARAMS, name
    return getattr(torchvision.models, name)(num_classes=classes)
