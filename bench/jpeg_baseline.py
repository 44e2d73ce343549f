#!/usr/bin/python3
"""Python baseline for the JPEG pipeline benchmark: torchvision + PIL in PyTorch's DataLoader over
the folder jpeg_bench writes (<root>/<class>/<i>.jpg): PIL open + convert('RGB'),
transforms.RandomResizedCrop(224), RandomHorizontalFlip, PILToTensor (uint8), label from the
folder; bs 64, shuffled, worker processes with one torch thread each.

    jpeg_baseline.py ROOT [--workers 1 2] [--bs 64] [--rounds 3] [--seed 0]

Prints one `img_per_s workers=W value=X img_per_cpu_s=Y` line per worker count (best of --rounds
epochs, each timed from the start of iteration, worker start-up included as on our side; Y counts
the CPU time of this process and its worker processes).
"""
import argparse
import os
import resource
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class JpegFolder(Dataset):
    def __init__(self, root, tfm):
        self.classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        if not self.classes:
            sys.exit(f"jpeg_baseline: no class folders in {root}")
        self.items = []
        for ci, c in enumerate(self.classes):
            folder = os.path.join(root, c)
            for f in sorted(os.listdir(folder)):
                if f.lower().endswith(".jpg"):
                    self.items.append((os.path.join(folder, f), ci))
        self.tfm = tfm

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        with Image.open(path) as im:
            x = self.tfm(im.convert("RGB"))
        return x, label


def worker_init(_):
    torch.set_num_threads(1)


def img_per_s(ds, workers, bs, seed):
    g = torch.Generator()
    g.manual_seed(seed)
    dl = DataLoader(ds, batch_size=bs, shuffle=True, drop_last=True, num_workers=workers,
                    worker_init_fn=worker_init, generator=g, persistent_workers=False)
    def cpu():  # this process and its reaped worker processes
        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

    n, t0, c0 = 0, time.perf_counter(), cpu()
    it = iter(dl)
    for xb, yb in it:
        assert xb.shape[1:] == (3, 224, 224) and xb.dtype == torch.uint8, xb.shape
        n += xb.shape[0]
    dt = time.perf_counter() - t0
    del it  # joins the workers, so that their CPU time is counted
    return n / dt, n, n / (cpu() - c0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--bs", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tfm = transforms.Compose([transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(),
                              transforms.PILToTensor()])
    ds = JpegFolder(a.root, tfm)
    print(f"jpeg_baseline: {len(ds)} files, bs {a.bs}, torch {torch.__version__}", flush=True)
    for w in a.workers:
        best, best_cpu, n = 0.0, 0.0, 0
        for r in range(a.rounds):
            v, n, vc = img_per_s(ds, w, a.bs, a.seed + r)
            best, best_cpu = max(best, v), max(best_cpu, vc)
        print(f"img_per_s workers={w} value={best:.1f} img_per_cpu_s={best_cpu:.1f}   ({n} images/epoch, best of {a.rounds})",
              flush=True)


if __name__ == "__main__":
    main()
