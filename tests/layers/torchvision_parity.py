#!/usr/bin/python3
"""Writes what tests/layers/test_weight_parity.cpp checks against (run at test time, into a temp folder):
torchvision's resnet34 with seeded random weights and non-trivial BatchNorm running statistics,
saved with torch.save(model.state_dict()) as the zip + pickle .pth format; an input batch and
torchvision's eval-mode output, saved the same way.

usage: torchvision_parity.py OUTDIR
"""
import sys

import torch
import torchvision

out = sys.argv[1]
torch.manual_seed(0)
m = torchvision.models.resnet34()
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.uniform_(0.5, 1.5)
            mod.bias.uniform_(-0.2, 0.2)
m.eval()
x = torch.randn(2, 3, 64, 64)
with torch.no_grad():
    y = m(x)
torch.save(m.state_dict(), f"{out}/resnet34.pth")
torch.save({"x": x, "y": y}, f"{out}/io.pth")
print(f"torchvision {torchvision.__version__}: resnet34 output {tuple(y.shape)}, |y| max {y.abs().max():.4f}")
