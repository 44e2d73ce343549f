"""Baseline for bench/batch_aug_bench.cpp: fastai's default aug_transforms() written in plain PyTorch
on the same device — per item a flip (p 0.5), rotation (U(-10, 10) degrees), zoom (1/U(1, 1.1) with a
random centre) and perspective warp (corner offsets U(-0.2, 0.2)), each with p 0.75, composed into one
affine matrix; affine_grid, the warp applied to the grid, one grid_sample (bilinear, reflection);
then brightness and contrast (p 0.75 each) in logit space. Prints `img_per_s value=<x>`.
(fastai itself is not installed on these machines; this is the same arithmetic fastai runs.)"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


def affine_mats(bs, device, g):
    def u(lo, hi):
        return torch.rand(bs, generator=g) * (hi - lo) + lo

    def bern(p):
        return torch.rand(bs, generator=g) < p

    eye = torch.eye(3).expand(bs, 3, 3).clone()
    flip = eye.clone()
    flip[:, 0, 0] = torch.where(bern(0.5), -1.0, 1.0)
    rot = eye.clone()
    th = u(-10, 10) * math.pi / 180 * bern(0.75)
    rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = th.cos(), -th.sin(), th.sin(), th.cos()
    zoom = eye.clone()
    s = torch.where(bern(0.75), 1 / u(1.0, 1.1), torch.ones(bs))
    col, row = u(0, 1), u(0, 1)
    zoom[:, 0, 0], zoom[:, 1, 1] = s, s
    zoom[:, 0, 2], zoom[:, 1, 2] = (1 - s) * (2 * col - 1), (1 - s) * (2 * row - 1)
    m = flip @ rot @ zoom
    return m[:, :2].to(device)


def warp(grid, g):
    bs = grid.shape[0]
    mag = (torch.rand(bs, 2, generator=g) * 0.4 - 0.2) * (torch.rand(bs, 1, generator=g) < 0.75)
    # A perspective-like warp of the grid (fastai's _WarpCoord: x scaled by 1 + mag_x * y, etc.)
    mag = mag.to(grid.device).view(bs, 1, 1, 2)
    x, y = grid[..., 0:1], grid[..., 1:2]
    denom = 1 + mag[..., 0:1] * x + mag[..., 1:2] * y
    return grid / denom


def lighting(x, g):
    bs = x.shape[0]
    lx = torch.logit(x.clamp(1e-7, 1 - 1e-7))
    b = torch.where(torch.rand(bs, generator=g) < 0.75, torch.rand(bs, generator=g) * 0.2 + 0.4, torch.full((bs,), 0.5))
    lx = lx + torch.logit(b).to(x.device).view(bs, 1, 1, 1)
    c = torch.where(torch.rand(bs, generator=g) < 0.75,
                    torch.exp(torch.rand(bs, generator=g) * (-2 * math.log(0.8)) + math.log(0.8)), torch.ones(bs))
    lx = lx * c.to(x.device).view(bs, 1, 1, 1)
    return torch.sigmoid(lx)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    dev = torch.device(a.device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.bs, 3, a.size, a.size, device=dev)

    def step():
        theta = affine_mats(a.bs, dev, g)
        grid = warp(F.affine_grid(theta, x.shape, align_corners=True), g)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=True)
        return lighting(y, g)

    with torch.no_grad():
        for _ in range(3):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(a.iters):
            y = step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
    assert y.shape == x.shape
    print(f"img_per_s value={a.bs * a.iters / dt:.1f}", flush=True)


if __name__ == "__main__":
    main()
