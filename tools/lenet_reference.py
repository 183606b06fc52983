"""lenet_reference.py OUT.safetensors - PyTorch's answer for LeNet-5.

Builds the survey's LeNet-5 in PyTorch with the module names cnnzoo uses,
runs one batch and writes, in one safetensors file:
  <param>            the initial weights (the state_dict)
  input, labels      the batch (N, 1, 32, 32) and its targets
  logits, loss       the forward pass and CrossEntropyLoss (mean)
  grad.<param>       the gradients of that loss
  step2.<param>      the weights after two torch.optim.SGD steps on the
                     batch (lr 0.1, momentum 0.9, weight decay 5e-4)
Run with Debian's /usr/bin/python3 (python3-torch).
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import st  # noqa: E402


class LeNet5(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main(path):
    torch.manual_seed(0)
    model = LeNet5()
    x = torch.randn(8, 1, 32, 32)
    labels = torch.randint(0, 10, (8,))
    out = {k: v.detach().clone().numpy() for k, v in model.state_dict().items()}
    out["input"] = x.numpy()
    out["labels"] = labels.numpy().astype("int64")

    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["logits"] = logits.detach().numpy()
    out["loss"] = loss.detach().reshape(1).numpy()
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone().numpy()

    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    opt.step()  # the gradients above are the first step's
    opt.zero_grad()
    F.cross_entropy(model(x), labels).backward()
    opt.step()
    for name, p in model.named_parameters():
        out["step2." + name] = p.detach().clone().numpy()
    st.save(path, out, {"generator": "tools/lenet_reference.py", "torch": torch.__version__})


if __name__ == "__main__":
    main(sys.argv[1])
