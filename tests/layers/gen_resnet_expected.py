#!/usr/bin/python3
"""Writes tests/layers/resnet_expected.json: torchvision's ResNet parameter and buffer names and
shapes (resnet18: BasicBlock, resnet50: Bottleneck, in registration order) and the counts of all
five depths, so the C++ resnets can be checked to load torchvision's state_dict key for key.

Run from the repository root:  /usr/bin/python3 tests/layers/gen_resnet_expected.py
(Debian's python3-torch and python3-torchvision; the versions used are recorded in the file).
"""
import json
import os

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "resnet_expected.json")


def describe(name, full):
    m = getattr(torchvision.models, name)(num_classes=1000)
    out = {
        "n_params": sum(p.numel() for p in m.parameters()),
        "n_param_tensors": len(list(m.parameters())),
        "n_buffers": len(list(m.buffers())),
        "children": [n for n, _ in m.named_children()],
    }
    if full:
        out["params"] = [[n, list(p.shape)] for n, p in m.named_parameters()]
        out["buffers"] = [[n, list(b.shape)] for n, b in m.named_buffers()]
    m.eval()
    with torch.no_grad():
        out["out_shape_64px"] = list(m(torch.zeros(2, 3, 64, 64)).shape)
    return out


def main():
    res = {"torch": torch.__version__, "torchvision": torchvision.__version__, "models": {}}
    for name in ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]:
        res["models"][name] = describe(name, full=name in ("resnet18", "resnet50"))
    with open(OUT, "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
