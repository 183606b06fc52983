"""make_weights.py DIR - LeNet-5 weight files, good and bad, and .npy
batches, for tests/cli/test_cli_weights.sh. Debian's /usr/bin/python3."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from lenet_reference import LeNet5  # noqa: E402


def main(d):
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    model = LeNet5().eval()
    sd = model.state_dict()
    torch.save(sd, f"{d}/good.pth")
    torch.save(sd, f"{d}/legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({"state_dict": sd, "epoch": 3}, f"{d}/checkpoint.pth")
    torch.save({k: v for k, v in sd.items() if k != "fc3.bias"}, f"{d}/missing_key.pth")
    torch.save(dict(sd, **{"fc4.weight": torch.zeros(2, 2)}), f"{d}/extra_key.pth")
    torch.save(dict(sd, **{"fc3.weight": torch.zeros(10, 85)}), f"{d}/wrong_shape.pth")
    torch.save(dict(sd, **{"conv1.weight": torch.zeros(6, 1, 5, 5, dtype=torch.int64)}),
               f"{d}/int_weight.pth")
    with open(f"{d}/good.pth", "rb") as f:
        data = f.read()
    with open(f"{d}/truncated.pth", "wb") as f:
        f.write(data[: len(data) // 2])
    x = torch.randn(2, 1, 32, 32)
    np.save(f"{d}/x.npy", x.numpy())
    with torch.no_grad():
        np.save(f"{d}/y_torch.npy", model(x).numpy())
    np.save(f"{d}/x_rank3.npy", x.numpy()[0])
    np.save(f"{d}/x_int.npy", np.zeros((2, 1, 32, 32), np.int64))
    np.save(f"{d}/x_rgb.npy", np.zeros((2, 3, 32, 32), np.float32))
    np.save(f"{d}/x_small.npy", np.zeros((2, 1, 8, 8), np.float32))

    # resnet18 in training mode: BatchNorm normalises with the batch's own
    # statistics, which `cnnzoo forward --train` must reproduce.
    import torchvision
    torch.manual_seed(1)
    net = torchvision.models.resnet18(num_classes=10)
    torch.save(net.state_dict(), f"{d}/resnet18.pth")
    x = torch.randn(4, 3, 40, 48)
    np.save(f"{d}/x_resnet.npy", x.numpy())
    with torch.no_grad():
        net.eval()
        np.save(f"{d}/y_resnet_eval.npy", net(x).numpy())
        net.train()  # after eval: a training forward updates the running stats
        np.save(f"{d}/y_resnet_train.npy", net(x).numpy())


if __name__ == "__main__":
    main(sys.argv[1])
