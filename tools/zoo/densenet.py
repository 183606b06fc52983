"""DenseNet-121/161/169/201 (Huang et al. 2017): torchvision 0.14's models."""

PUBLISHED_PARAMS = {
    "densenet121": 7978856,
    "densenet161": 28681000,
    "densenet169": 14149480,
    "densenet201": 20013928,
}


def build(name, classes):
    import torchvision
    assert name in PUBLISHED_PARAMS, name
    return getattr(torchvision.models, name)(num_classes=classes)
