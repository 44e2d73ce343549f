#!/usr/bin/python3
"""The plain PyTorch baseline of the tabular benchmark (run by tabular_bench with /usr/bin/python3).

Reads the preprocessed diamonds split tabular_bench writes (header line
"FTAB1 nt nv ncat ncont card...", then int64 cat_t [nt,ncat], float32 cont_t [nt,ncont],
float32 y_t [nt], and the same for the validation rows), builds fastai 2.7's TabularModel
(layers [200,100], lin_first, no dropout) by hand in the same order as the C++ side (same seed,
same init), and trains one epoch per round: splitmix64 shuffle (drop_last), MSE on log(price),
fastai's Adam and 1cycle (the functions of fmnist_baseline.py), then a validation pass. Each
round starts from a fresh model; the warm-up rounds are not reported. The epoch (training
batches + validation) is timed; building the model and computing the shuffle are not.

Prints one line per timed round:
  ROUND k epoch_s=<s> cpu_s=<s> valid_mse=<m> checksum=<sum |p|> order_head=<i0>,<i1>,...
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fmnist_baseline import FastaiAdam, SplitMix64, blas_threads, combined_cos, loaded_blas, shuffled_order  # noqa: E402


def read_data(path):
    with open(path, "rb") as f:
        head = f.readline().split()
        if head[0] != b"FTAB1":
            raise SystemExit(f"{path}: not a tabular_bench data file")
        nt, nv, ncat, ncont = (int(v) for v in head[1:5])
        cards = [int(v) for v in head[5:5 + ncat]]

        def arr(dtype, n, cols):
            a = np.fromfile(f, dtype=dtype, count=n * cols)
            return torch.from_numpy(a.reshape(n, cols) if cols > 1 else a.reshape(n, 1))

        t = (arr(np.int64, nt, ncat), arr(np.float32, nt, ncont), arr(np.float32, nt, 1))
        v = (arr(np.int64, nv, ncat), arr(np.float32, nv, ncont), arr(np.float32, nv, 1))
    return cards, ncont, t, v


def emb_sz_rule(n):
    return min(600, round(1.6 * n ** 0.56))


class TabNet(nn.Module):
    """fastai 2.7 TabularModel(emb_szs, n_cont, 1, [200, 100]), flattened as the C++ side builds it."""

    def __init__(self, cards, n_cont, sizes, out, bn_bias):
        super().__init__()
        self.embeds = nn.ModuleList()
        n_in = n_cont
        for c in cards:
            e = nn.Embedding(c, emb_sz_rule(c))
            with torch.no_grad():
                e.weight.normal_().fmod_(2).mul_(0.01)  # fastai's trunc_normal_(std=0.01)
            self.embeds.append(e)
            n_in += emb_sz_rule(c)
        self.emb_drop = nn.Dropout(0.0)
        self.bn_cont = nn.BatchNorm1d(n_cont)
        layers = []
        for s in sizes:
            bn = nn.BatchNorm1d(s)
            with torch.no_grad():
                bn.bias.fill_(bn_bias)  # fastai's BatchNorm(): 1e-3; what the C++ TabularModel has (--bn-bias)
            layers += [nn.Linear(n_in, s, bias=False), nn.ReLU(inplace=True), bn]
            n_in = s
        layers.append(nn.Linear(n_in, out))
        self.layers = nn.Sequential(*layers)

    def forward(self, x_cat, x_cont):
        x = torch.cat([e(x_cat[:, i]) for i, e in enumerate(self.embeds)], 1)
        x = self.emb_drop(x)
        return self.layers(torch.cat([x, self.bn_cont(x_cont)], 1))


def abs_sum(m):
    with torch.no_grad():
        return sum(p.abs().sum().double().item() for p in m.parameters())


def one_round(cards, ncont, t, v, a):
    cat_t, cont_t, y_t = t
    cat_v, cont_v, y_v = v
    n, nv, bs = cat_t.shape[0], cat_v.shape[0], a.bs
    nb = n // bs  # drop_last
    torch.manual_seed(a.seed)
    model = TabNet(cards, ncont, [200, 100], 1, a.bn_bias)
    checksum = abs_sum(model)
    opt = FastaiAdam(model)
    order = shuffled_order(SplitMix64(a.seed), n)  # index computation: untimed
    t0, c0 = time.perf_counter(), time.process_time()
    model.train()
    for i in range(nb):
        pos = i / nb
        lr = combined_cos(0.25, a.lr / 25, a.lr, a.lr / 1e5, pos)
        mom = combined_cos(0.25, 0.95, 0.85, 0.95, pos)
        idx = order[i * bs:(i + 1) * bs]
        out = model(cat_t.index_select(0, idx), cont_t.index_select(0, idx))
        loss = F.mse_loss(out.view(-1), y_t.index_select(0, idx).view(-1))
        loss.backward()
        opt.step(lr, mom)
        opt.zero_grad()
    model.eval()
    with torch.no_grad():
        total = torch.zeros((), dtype=torch.float64)
        for s in range(0, nv, bs):
            out = model(cat_v[s:s + bs], cont_v[s:s + bs])
            total += F.mse_loss(out.view(-1), y_v[s:s + bs].view(-1)) * out.shape[0]
        mse = total.item() / nv
    return time.perf_counter() - t0, time.process_time() - c0, mse, checksum, order[:8].tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--bs", type=int, default=1024)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--bn-bias", type=float, default=1e-3, help="initial bias of the hidden BatchNorm1d layers")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cards, ncont, t, v = read_data(a.data)
    print(f"  python: torch {torch.__version__}, {torch.get_num_threads()} torch threads, {blas_threads()} OpenBLAS"
          f" threads, BLAS {loaded_blas()}", flush=True)
    for k in range(a.warmup + a.rounds):
        e, c, mse, checksum, head = one_round(cards, ncont, t, v, a)
        tag = "python(w)" if k < a.warmup else "python"
        print(f"  {tag:<7} round {k}: epoch {e:.4f} s (cpu {c:.4f} s)  valid_mse {mse:.5f}  init abs-sum {checksum:.4f}",
              flush=True)
        if k >= a.warmup:
            print(f"ROUND {k} epoch_s={e:.6f} cpu_s={c:.6f} valid_mse={mse:.6f} checksum={checksum:.6f}"
                  f" order_head=" + ",".join(str(int(i)) for i in head), flush=True)


if __name__ == "__main__":
    sys.exit(main())
