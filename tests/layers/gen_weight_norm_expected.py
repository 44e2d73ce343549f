#!/usr/bin/python3
"""Writes tests/layers/weight_norm_expected.json: PyTorch's nn.utils.weight_norm(conv) and
nn.utils.spectral_norm(conv) on Conv1d, Conv2d (stride 2, groups 2) and ConvTranspose2d
(stride 2, groups 2), for test_weight_norm.cpp to check WeightNormConv / SpectralNormConv
against.

Per case: the conv's hyper-parameters, an input x and an upstream gradient gy (loss =
sum(y * gy)); for weight_norm the parameters (weight_g set away from ||weight_v||, so the
test sees g's role), the output and the gradients of weight_g, weight_v, bias; for
spectral_norm the parameters and initial u / v buffers, the outputs and buffers after one and
two training forwards and after an eval forward, and the gradients of weight_orig / bias from
the eval forward. Also the parameter / buffer names and shapes of fastai's
ConvLayer(norm_type=Weight/Spectral, act_cls=ReLU) layout, nn.Sequential(wrapped_conv, ReLU()),
as PyTorch names them.

Run from the repository root:  /usr/bin/python3 tests/layers/gen_weight_norm_expected.py
(Debian's python3-torch; the version used is recorded in the file).
"""
import json
import os

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "weight_norm_expected.json")


def enc(t):
    t = t.detach().to(torch.float32).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.flatten().tolist()]}


def names(m):
    return {
        "params": [[n, list(p.shape)] for n, p in m.named_parameters()],
        "buffers": [[n, list(b.shape)] for n, b in m.named_buffers()],
    }


def make_conv(c):
    cls = {(1, False): nn.Conv1d, (2, False): nn.Conv2d, (2, True): nn.ConvTranspose2d}[(c["ndim"], c["transpose"])]
    return cls(c["ni"], c["nf"], c["ks"], stride=c["stride"], padding=c["padding"], groups=c["groups"], bias=True)


def weight_case(c, x, gy):
    m = nn.utils.weight_norm(make_conv(c))
    with torch.no_grad():
        m.weight_g.copy_(torch.rand_like(m.weight_g) + 0.5)
    out = {"bias": enc(m.bias), "weight_g": enc(m.weight_g), "weight_v": enc(m.weight_v)}
    xx = x.clone().requires_grad_(True)
    y = m(xx)
    (y * gy).sum().backward()
    out.update(y=enc(y), grad_weight_g=enc(m.weight_g.grad), grad_weight_v=enc(m.weight_v.grad),
               grad_bias=enc(m.bias.grad), grad_x=enc(xx.grad))
    return out


def spectral_case(c, x, gy):
    m = nn.utils.spectral_norm(make_conv(c))
    out = {"bias": enc(m.bias), "weight_orig": enc(m.weight_orig), "weight_u": enc(m.weight_u),
           "weight_v": enc(m.weight_v)}
    m.train()
    with torch.no_grad():
        for i in (1, 2):
            y = m(x)
            out["y%d" % i] = enc(y)
            out["u%d" % i] = enc(m.weight_u)
            out["v%d" % i] = enc(m.weight_v)
    m.eval()
    y = m(x)
    (y * gy).sum().backward()
    out.update(y_eval=enc(y), u_eval=enc(m.weight_u), v_eval=enc(m.weight_v),
               grad_weight_orig=enc(m.weight_orig.grad), grad_bias=enc(m.bias.grad))
    return out


CASES = {
    "conv1d": dict(ndim=1, transpose=False, ni=4, nf=6, ks=3, stride=1, padding=1, groups=1, x=[2, 4, 7]),
    "conv2d_s2_g2": dict(ndim=2, transpose=False, ni=4, nf=6, ks=3, stride=2, padding=1, groups=2, x=[2, 4, 5, 5]),
    "convtranspose2d_s2_g2": dict(ndim=2, transpose=True, ni=4, nf=6, ks=3, stride=2, padding=1, groups=2, x=[2, 4, 5, 5]),
}


def main():
    torch.manual_seed(0)
    res = {"torch": torch.__version__, "cases": {}}
    for name, c in CASES.items():
        x = torch.randn(c["x"])
        y_shape = make_conv(c)(x).shape
        gy = torch.randn(y_shape)
        case = {k: v for k, v in c.items() if k != "x"}
        case.update(x=enc(x), gy=enc(gy), weight=weight_case(c, x, gy), spectral=spectral_case(c, x, gy))
        # fastai's ConvLayer(norm_type=Weight / Spectral): [weight_norm(conv) / spectral_norm(conv), act]
        case["layout_weight"] = names(nn.Sequential(nn.utils.weight_norm(make_conv(c)), nn.ReLU()))
        case["layout_spectral"] = names(nn.Sequential(nn.utils.spectral_norm(make_conv(c)), nn.ReLU()))
        res["cases"][name] = case
    with open(OUT, "w") as f:
        json.dump(res, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
