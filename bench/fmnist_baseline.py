#!/usr/bin/python3
"""The plain PyTorch baseline of the Fashion-MNIST benchmarks (run with /usr/bin/python3).

The same model, data, normalization, shuffle (TensorDataLoader's splitmix64 Fisher-Yates, same
seed), optimizer and schedule as the C++ sides, written by hand: fastai's Adam (decoupled wd 0.01
on weights only, betas 0.9/0.99 with mom scheduled 0.95 -> 0.85 -> 0.95, eps 1e-5 added after the
sqrt of the debiased sqr_avg) and 1cycle (cosine lr_max/25 -> lr_max over 25% of the batches,
then cosine to lr_max/1e5). Each epoch (training batches + validation pass) is timed; the data
loading and the shuffles' index computation are not. Each training batch is timed too (end of one
batch to the end of the next; their median is what preemptions on a shared machine move least).

Prints human-readable lines, then one machine-readable line:
  RESULT epoch_s=<e1>,<e2> cpu_s=<c1>,<c2> batch_med_s=<b> acc=<a> valid_loss=<l> checksum=<c> threads=<n> order_head=<i0>,<i1>,...
"""
import argparse
import ctypes
import gzip
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# ---- shuffling: TensorDataLoader's splitmix64 + Lemire + Fisher-Yates ------------------------

class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + GOLDEN) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        m = self.next() * bound
        lo = m & MASK
        if lo < bound:
            t = ((1 << 64) - bound) % bound
            while lo < t:
                m = self.next() * bound
                lo = m & MASK
        return m >> 64

    def draws(self, bounds):
        """below(b) for each b in bounds, vectorized; exact unless a draw needs Lemire's
        rejection test (probability ~bound/2^64), in which case it falls back to the loop."""
        k = np.arange(1, len(bounds) + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = np.uint64(self.state) + k * np.uint64(GOLDEN)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
            b = np.asarray(bounds, dtype=np.uint64)  # < 2^32
            zh, zl = z >> np.uint64(32), z & np.uint64(0xFFFFFFFF)
            a, c = zh * b, zl * b                    # each < 2^64 since b < 2^32
            mid = a + (c >> np.uint64(32))           # < 2^64 while b < 2^31
            hi = mid >> np.uint64(32)
            lo = ((mid & np.uint64(0xFFFFFFFF)) << np.uint64(32)) | (c & np.uint64(0xFFFFFFFF))
        if np.any(lo < b):
            return [self.below(int(x)) for x in bounds]
        self.state = (self.state + len(bounds) * GOLDEN) & MASK
        return hi.tolist()


def shuffled_order(rng, n):
    js = rng.draws(range(n, 1, -1))  # bounds i+1 for i = n-1 .. 1
    p = list(range(n))
    for i, j in zip(range(n - 1, 0, -1), js):
        p[i], p[j] = p[j], p[i]
    return torch.tensor(p, dtype=torch.long)


# ---- data -------------------------------------------------------------------------------------

def read_idx_u8(path):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit(f"{path}: not a uint8 IDX file")
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(nd)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd)
    return torch.from_numpy(data.reshape(dims).copy())


def idx_file(d, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"no {stem}[.gz] in {d} (sudo apt-get install dataset-fashion-mnist)")


def load_fmnist(d):
    img = lambda s: read_idx_u8(idx_file(d, s)).float().div_(255).unsqueeze(1)
    lbl = lambda s: read_idx_u8(idx_file(d, s)).long()
    xt, yt = img("train-images-idx3-ubyte"), lbl("train-labels-idx1-ubyte")
    xv, yv = img("t10k-images-idx3-ubyte"), lbl("t10k-labels-idx1-ubyte")
    mean, std = xt.mean().item(), xt.std().item()
    return ((xt - mean) / std).contiguous(), yt, ((xv - mean) / std).contiguous(), yv


# ---- models: one flat Sequential, built in the same order as the C++ side (same seed, same init) ----

def conv_bn(ni, nf):
    return [nn.Conv2d(ni, nf, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(nf), nn.ReLU()]


def make_model(kind):
    if kind == "cnn":
        return nn.Sequential(*conv_bn(1, 16), *conv_bn(16, 32), *conv_bn(32, 64), nn.Flatten(), nn.Linear(1024, 10))
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    if kind == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    raise SystemExit(f"unknown model {kind}")


def param_checksum(m):
    with torch.no_grad():
        return sum((i + 1) * p.abs().sum().item() for i, p in enumerate(m.parameters()))


# ---- fastai's Adam and 1cycle, by hand --------------------------------------------------------

class FastaiAdam:
    def __init__(self, model, sqr_mom=0.99, eps=1e-5, wd=0.01):
        self.params, self.decay = [], []
        for m in model.modules():
            norm = isinstance(m, nn.modules.batchnorm._BatchNorm)
            for name, p in m.named_parameters(recurse=False):
                self.params.append(p)
                if not norm and name != "bias":
                    self.decay.append(p)
        self.grad_avg = [torch.zeros_like(p) for p in self.params]
        self.sqr_avg = [torch.zeros_like(p) for p in self.params]
        self.sqr_mom, self.eps, self.wd, self.n_step = sqr_mom, eps, wd, 0

    @torch.no_grad()
    def step(self, lr, mom):
        grads = [p.grad for p in self.params]
        if self.wd != 0:
            torch._foreach_mul_(self.decay, 1 - lr * self.wd)
        torch._foreach_mul_(self.grad_avg, mom)
        torch._foreach_add_(self.grad_avg, grads, alpha=1 - mom)
        torch._foreach_mul_(self.sqr_avg, self.sqr_mom)
        torch._foreach_addcmul_(self.sqr_avg, grads, grads, value=1 - self.sqr_mom)
        self.n_step += 1
        debias1 = 1 - mom ** self.n_step
        debias2 = 1 - self.sqr_mom ** self.n_step
        denom = torch._foreach_div(self.sqr_avg, debias2)
        torch._foreach_sqrt_(denom)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.grad_avg, denom, value=-lr / debias1)

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()


def cos_anneal(start, end, pos):
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def combined_cos(pct, start, middle, end, pos):
    if pos < pct:
        return cos_anneal(start, middle, pos / pct)
    return cos_anneal(middle, end, (pos - pct) / (1 - pct))


def loaded_blas():
    """The BLAS library mapped into this process (the real one behind libblas.so.3)."""
    paths = [l.split()[-1] for l in open("/proc/self/maps") if "/" in l]
    names = [p for p in paths if "blas" in os.path.basename(p)]
    return next((p for p in names if "openblas" in os.path.basename(p)), names[0] if names else "unknown")


def blas_threads():
    """OpenBLAS's own thread count (OPENBLAS_NUM_THREADS, set by fmnist_bench), -1 if unknown."""
    try:
        return int(ctypes.CDLL(loaded_blas()).openblas_get_num_threads())
    except (OSError, AttributeError):
        return -1


# ---- the loop ---------------------------------------------------------------------------------

def warm_up(kind, xt, yt, batches, bs):
    m = make_model(kind)
    opt = FastaiAdam(m)
    n = xt.shape[0]
    for i in range(batches):
        s = (i * bs) % (n - bs)
        F.cross_entropy(m(xt[s:s + bs]), yt[s:s + bs]).backward()
        opt.step(1e-3, 0.9)
        opt.zero_grad()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="cnn", choices=["cnn", "mlp", "linear"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--bs", type=int, default=256)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    xt, yt, xv, yv = load_fmnist(a.data)
    n, nv, bs = xt.shape[0], xv.shape[0], a.bs
    nb = n // bs  # drop_last

    torch.manual_seed(a.seed)
    model = make_model(a.model)
    checksum = param_checksum(model)
    opt = FastaiAdam(model)
    rng = SplitMix64(a.seed)
    orders = [shuffled_order(rng, n) for _ in range(a.epochs)]  # index computation: untimed
    warm_up(a.model, xt, yt, a.warmup, bs)

    lr_start, lr_end = a.lr / 25, a.lr / 1e5
    epoch_s, cpu_s, batch_s, acc, vloss = [], [], [], float("nan"), float("nan")
    last_end = None
    for epoch in range(a.epochs):
        t0, c0 = time.perf_counter(), time.process_time()
        model.train()
        order = orders[epoch]
        for i in range(nb):
            pos = (epoch + i / nb) / a.epochs
            lr = combined_cos(0.25, lr_start, a.lr, lr_end, pos)
            mom = combined_cos(0.25, 0.95, 0.85, 0.95, pos)
            idx = order[i * bs:(i + 1) * bs]
            x, y = xt.index_select(0, idx), yt.index_select(0, idx)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step(lr, mom)
            opt.zero_grad()
            now = time.perf_counter()
            if last_end is not None:
                batch_s.append(now - last_end)
            last_end = now
        model.eval()
        with torch.no_grad():
            loss_sum = torch.zeros((), dtype=torch.float64)
            correct = torch.zeros((), dtype=torch.long)
            for s in range(0, nv, bs):
                x, y = xv[s:s + bs], yv[s:s + bs]
                out = model(x)
                loss_sum += F.cross_entropy(out, y) * x.shape[0]
                correct += out.argmax(1).eq(y).sum()
            vloss = loss_sum.item() / nv
            acc = correct.item() / nv
        epoch_s.append(time.perf_counter() - t0)
        cpu_s.append(time.process_time() - c0)
        print(f"  python epoch {epoch}: {epoch_s[-1]:.3f}s (cpu {cpu_s[-1]:.3f}s) valid_loss {vloss:.4f} accuracy {acc:.4f}", flush=True)

    blas = loaded_blas()
    print(f"  python: torch {torch.__version__}, {torch.get_num_threads()} torch threads, {blas_threads()} OpenBLAS threads,"
          f" BLAS {blas}", flush=True)
    print("RESULT epoch_s=" + ",".join(f"{e:.6f}" for e in epoch_s) +
          " cpu_s=" + ",".join(f"{e:.6f}" for e in cpu_s) + f" batch_med_s={statistics.median(batch_s):.9f} acc={acc:.6f} valid_loss={vloss:.6f}"
          f" checksum={checksum:.6f} threads={torch.get_num_threads()}"
          f" order_head=" + ",".join(str(int(v)) for v in orders[0][:8]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
