#!/usr/bin/python3
"""Python baseline for the image DataLoader benchmark: PyTorch's DataLoader over a folder of PNG
files (the tree tools/fmnist_to_png writes: <root>/train/<class>/<index>.png), as fastai feeds
images: PIL open + convert('L') per item, label from the parent folder, float tensor / 255.

    dataloader_baseline.py ROOT [--split train] [--workers 1 2] [--bs 256] [--warmup 3] [--seed 0]

Prints one `items_per_s workers=W value=X` line per worker count, then
`dataloader_baseline_items_per_s: best=X workers=W`.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset


class PngFolder(Dataset):
    """Items: (float [1,H,W] in 0..1, class index); classes are the sorted folder names."""

    def __init__(self, root):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        if not self.classes:
            sys.exit(f"dataloader_baseline: no class folders in {root} (run tools/fmnist_to_png first)")
        self.items = []
        for ci, c in enumerate(self.classes):
            folder = os.path.join(root, c)
            for f in sorted(os.listdir(folder)):
                if f.lower().endswith(".png"):
                    self.items.append((os.path.join(folder, f), ci))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        with Image.open(path) as im:
            a = np.asarray(im.convert("L"))
        x = torch.from_numpy(a.copy()).unsqueeze(0).float().div_(255.0)
        return x, label


def worker_init(_):
    torch.set_num_threads(1)  # as fastai does in its workers


def items_per_s(ds, workers, bs, warmup, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    dl = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=workers, worker_init_fn=worker_init,
                    generator=g, persistent_workers=False)
    it = iter(dl)
    for _ in range(warmup):  # worker start-up and first batches are not timed
        next(it)
    n, t0 = 0, time.perf_counter()
    for xb, yb in it:
        n += xb.shape[0]
    dt = time.perf_counter() - t0
    return n / dt, n, dt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="the PNG tree (its <split> folder holds one folder per class)")
    ap.add_argument("--split", default="train")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=3, help="batches skipped before timing")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(1)
    ds = PngFolder(os.path.join(a.root, a.split))
    nb = (len(ds) + a.bs - 1) // a.bs
    if nb <= a.warmup:
        sys.exit(f"dataloader_baseline: {len(ds)} items make {nb} batches of {a.bs}; need more than --warmup {a.warmup}")
    print(f"dataloader_baseline: {len(ds)} items, {len(ds.classes)} classes, bs {a.bs}, warm-up {a.warmup} batches")
    best = None
    for w in a.workers:
        v, n, dt = items_per_s(ds, w, a.bs, a.warmup, a.seed)
        print(f"items_per_s workers={w} value={v:.1f}   ({n} items in {dt:.3f} s)", flush=True)
        if best is None or v > best[0]:
            best = (v, w)
    print(f"dataloader_baseline_items_per_s: best={best[0]:.1f} workers={best[1]}")


if __name__ == "__main__":
    main()
