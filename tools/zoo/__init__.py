"""PyTorch definitions of cnnzoo's families: each module has build(name, classes)."""
