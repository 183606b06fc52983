"""GoogLeNet (Inception v1, Szegedy et al. 2014): torchvision 0.14's, with
its two auxiliary classifiers (aux1 after inception4a, aux2 after
inception4d) so the state_dict holds their keys too; in eval mode the
output is the main logits alone, as cnnzoo's."""
import torchvision

PUBLISHED_PARAMS = {"googlenet": 13_004_888}  # 6,624,904 without aux1/aux2


def build(name, classes):
    if name != "googlenet":
        raise ValueError(name)
    return torchvision.models.googlenet(num_classes=classes, aux_logits=True,
                                        transform_input=False, init_weights=True)
