#!/usr/bin/python3
"""Writes tests/learner/metrics_expected.json: deterministic inputs for the metric and loss tests
and the values scikit-learn (metrics) and PyTorch (losses) compute on them.

Run from the repository root:  /usr/bin/python3 tests/learner/gen_metrics_expected.py
(numpy, torch 1.13 and python3-sklearn; the versions used are recorded in the file).
"""
import json
import math
import os

import numpy as np
import sklearn
import sklearn.metrics as skm
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "metrics_expected.json")


def softmax(x, axis=-1):
    return torch.softmax(torch.tensor(x, dtype=torch.float64), dim=axis).numpy()


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def tensor_json(a):
    a = np.asarray(a)
    kind = "float" if a.dtype.kind == "f" else "int"
    return {"shape": list(a.shape), "dtype": kind, "data": [float(v) if kind == "float" else int(v) for v in a.ravel()]}


def batches(n, cuts):
    """Uneven batch boundaries [0, c1, c2, ..., n] so that accumulation across batches is tested."""
    return [0] + [c for c in cuts if 0 < c < n] + [n]


def prf(y, p, **kw):
    return {
        "precision_score": skm.precision_score(y, p, zero_division=0, **kw),
        "recall_score": skm.recall_score(y, p, zero_division=0, **kw),
        "f1_score": skm.f1_score(y, p, zero_division=0, **kw),
        "fbeta_score(0.5)": skm.fbeta_score(y, p, beta=0.5, zero_division=0, **kw),
        "fbeta_score(2)": skm.fbeta_score(y, p, beta=2.0, zero_division=0, **kw),
    }


def classification_case(logits, targ, cuts, averages, roc=None, top_k=()):
    pred = logits.argmax(-1)
    exp = {"accuracy": skm.accuracy_score(targ, pred), "error_rate": 1 - skm.accuracy_score(targ, pred),
           "matthews_corrcoef": skm.matthews_corrcoef(targ, pred)}
    for avg in averages:
        for k, v in prf(targ, pred, average=avg).items():
            exp[f"{k}/{avg}"] = v
    if roc == "binary":
        exp["roc_auc_score/binary"] = skm.roc_auc_score(targ, softmax(logits)[:, 1])
    elif roc == "ovr":
        probs = softmax(logits)
        exp["roc_auc_score/macro"] = skm.roc_auc_score(targ, probs, multi_class="ovr", average="macro")
        exp["roc_auc_score/weighted"] = skm.roc_auc_score(targ, probs, multi_class="ovr", average="weighted")
    for k in top_k:
        exp[f"top_k_accuracy({k})"] = skm.top_k_accuracy_score(targ, logits, k=k, labels=np.arange(logits.shape[1]))
    # Perplexity: exp of the mean cross entropy (scikit-learn's log loss of the softmax).
    exp["perplexity"] = math.exp(skm.log_loss(targ, softmax(logits), labels=np.arange(logits.shape[1])))
    return {"pred": tensor_json(logits), "targ": tensor_json(targ), "batches": batches(len(targ), cuts),
            "expected": exp}


def main():
    rng = np.random.default_rng(2024)
    cases = {}

    # Binary, 2-column logits.
    n = 53
    targ = rng.integers(0, 2, n)
    logits = rng.normal(size=(n, 2)) + np.stack([1 - targ, targ], 1) * 0.8
    logits[:4] = logits[4:8]  # duplicated rows: tied scores for the ROC
    targ[:4] = 1 - targ[4:8]
    cases["binary"] = classification_case(logits, targ, [7, 20, 21, 40], ["binary", "micro", "macro", "weighted"],
                                          roc="binary")

    # Multi-class, 6 classes, every class in the targets, class 3 never predicted; includes ties.
    n, C = 90, 6
    targ = rng.integers(0, C, n)
    targ[:C] = np.arange(C)
    logits = rng.normal(size=(n, C)) + np.eye(C)[targ] * 1.5
    logits[:, 3] -= 10
    logits[10:14] = logits[20:24]
    cases["multiclass"] = classification_case(logits, targ, [13, 14, 50, 77], ["micro", "macro", "weighted"],
                                              roc="ovr", top_k=(2, 5))

    # Multi-class with 7 columns: class 2 in the targets but never predicted, class 6 never
    # predicted and never a target (scikit-learn leaves it out of the macro average; ROC AUC is
    # undefined there).
    n, C = 70, 7
    targ = rng.choice([0, 1, 2, 3, 4, 5], n)
    logits = rng.normal(size=(n, C)) + np.eye(C)[targ] * 1.2
    logits[:, 2] -= 10
    logits[:, 6] -= 10
    cases["multiclass_missing"] = classification_case(logits, targ, [9, 31, 32], ["micro", "macro", "weighted"])

    # Binary with one raw score per item (RocAucBinary on 1 column), many ties.
    n = 41
    targ = rng.integers(0, 2, n)
    score = np.round(rng.normal(size=n) + targ * 0.7, 1)
    cases["binary_scores"] = {"pred": tensor_json(score.reshape(n, 1)), "targ": tensor_json(targ),
                              "batches": batches(n, [5, 6, 30]),
                              "expected": {"roc_auc_score/binary": skm.roc_auc_score(targ, score)}}

    # Multi-label: 5 labels, 0/1 float targets.
    n, C = 37, 5
    targ = (rng.random((n, C)) < 0.4).astype(np.float64)
    logits = rng.normal(size=(n, C)) + (targ - 0.5) * 1.5
    exp = {"accuracy_multi": skm.accuracy_score(targ.ravel(), (sigmoid(logits) > 0.5).ravel()),
           "accuracy_multi(0.3,nosigmoid)": skm.accuracy_score(targ.ravel(), (logits > 0.3).ravel())}
    cases["multilabel"] = {"pred": tensor_json(logits), "targ": tensor_json(targ), "batches": batches(n, [4, 20, 33]),
                           "expected": exp}

    # Regression: (n, 2) positive outputs (for msle) and targets.
    n = 48
    targ = rng.gamma(2.0, 1.5, (n, 2))
    pred = np.abs(targ + rng.normal(scale=0.7, size=(n, 2)))
    pv, tv = pred.ravel(), targ.ravel()
    exp = {"mse": skm.mean_squared_error(tv, pv), "_rmse": math.sqrt(skm.mean_squared_error(tv, pv)),
           "mae": skm.mean_absolute_error(tv, pv), "msle": skm.mean_squared_log_error(tv, pv),
           "_exp_rmspe": float(np.sqrt(np.mean(((np.exp(tv / 4) - np.exp(pv / 4)) / np.exp(tv / 4)) ** 2))),
           "r2_score": skm.r2_score(tv, pv)}
    cases["regression"] = {"pred": tensor_json(pred), "targ": tensor_json(targ), "batches": batches(n, [11, 12, 30]),
                           "expected": exp, "note": "_exp_rmspe is computed on pred/4 and targ/4"}

    # Segmentation: (B, 2, H, W) logits and (B, H, W) binary masks.
    B, H, W = 6, 5, 7
    targ = (rng.random((B, H, W)) < 0.35).astype(np.int64)
    logits = rng.normal(size=(B, 2, H, W))
    logits[:, 1] += (targ - 0.4) * 1.5
    p = logits.argmax(1)
    exp = {"dice": skm.f1_score(targ.ravel(), p.ravel()), "jaccard_coeff": skm.jaccard_score(targ.ravel(), p.ravel()),
           "accuracy(axis=1)": skm.accuracy_score(targ.ravel(), p.ravel())}
    cases["segmentation"] = {"pred": tensor_json(logits), "targ": tensor_json(targ), "batches": batches(B, [1, 4]),
                             "expected": exp}

    # ---- losses (PyTorch's values, float64) ----
    losses = {}
    g = torch.Generator().manual_seed(7)
    x = torch.randn(9, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 5, (9,), generator=g)
    w = torch.rand(5, generator=g, dtype=torch.float64) + 0.5
    t_ign = t.clone()
    t_ign[[1, 4]] = -100
    eps = 0.1
    logp = F.log_softmax(x, dim=1)

    def ls(red):
        smooth = -logp.sum(1)
        smooth = smooth.mean() if red == "mean" else smooth.sum() if red == "sum" else smooth
        return smooth * eps / x.shape[1] + (1 - eps) * F.nll_loss(logp, t, reduction=red)

    ce = {red: F.cross_entropy(x, t, reduction=red) for red in ("mean", "sum", "none")}
    losses["ce"] = {
        "pred": tensor_json(x.numpy()), "targ": tensor_json(t.numpy()), "weight": tensor_json(w.numpy()),
        "targ_ignore": tensor_json(t_ign.numpy()),
        "expected": {
            "mean": ce["mean"].item(), "sum": ce["sum"].item(), "none": ce["none"].tolist(),
            "weight_mean": F.cross_entropy(x, t, weight=w).item(),
            "ignore_mean": F.cross_entropy(x, t_ign).item(),
            "ignore_none": F.cross_entropy(x, t_ign, reduction="none").tolist(),
            "label_smoothing_mean": F.cross_entropy(x, t, label_smoothing=eps).item(),
            "ls_ce_mean": ls("mean").item(), "ls_ce_sum": ls("sum").item(), "ls_ce_none": ls("none").tolist(),
            "softmax": F.softmax(x, 1).reshape(-1).tolist(), "argmax": x.argmax(1).tolist(),
        }}

    xs = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    ts = torch.randint(0, 3, (2, 4, 5), generator=g)
    losses["ce_seg"] = {
        "pred": tensor_json(xs.numpy()), "targ": tensor_json(ts.numpy()),
        "expected": {"mean": F.cross_entropy(xs, ts).item(),
                     "none": F.cross_entropy(xs, ts, reduction="none").reshape(-1).tolist(),
                     "ls_ce_mean": (eps / 3 * (-F.log_softmax(xs, 1).sum(1)).mean()
                                    + (1 - eps) * F.nll_loss(F.log_softmax(xs, 1), ts)).item()}}

    xb = torch.randn(6, 4, generator=g, dtype=torch.float64)
    tb = (torch.rand(6, 4, generator=g) < 0.5).long()
    pw = torch.rand(4, generator=g, dtype=torch.float64) * 2 + 0.5
    losses["bce"] = {
        "pred": tensor_json(xb.numpy()), "targ": tensor_json(tb.numpy()), "pos_weight": tensor_json(pw.numpy()),
        "expected": {"mean": F.binary_cross_entropy_with_logits(xb, tb.double()).item(),
                     "none": F.binary_cross_entropy_with_logits(xb, tb.double(), reduction="none").reshape(-1).tolist(),
                     "pos_weight_mean": F.binary_cross_entropy_with_logits(xb, tb.double(), pos_weight=pw).item(),
                     "sigmoid": torch.sigmoid(xb).reshape(-1).tolist()}}

    xr = torch.randn(10, 1, generator=g, dtype=torch.float64)
    tr = torch.randn(10, generator=g, dtype=torch.float64)
    losses["regression"] = {
        "pred": tensor_json(xr.numpy()), "targ": tensor_json(tr.numpy()),
        "expected": {"mse_mean": F.mse_loss(xr.view(-1), tr).item(), "mse_sum": F.mse_loss(xr.view(-1), tr, reduction="sum").item(),
                     "mse_none": F.mse_loss(xr.view(-1), tr, reduction="none").tolist(),
                     "l1_mean": F.l1_loss(xr.view(-1), tr).item(),
                     "l1_none": F.l1_loss(xr.view(-1), tr, reduction="none").tolist()}}

    out = {
        "generated_by": "tests/learner/gen_metrics_expected.py",
        "command": "/usr/bin/python3 tests/learner/gen_metrics_expected.py",
        "note": "generated file: do not edit; rerun the command above",
        "versions": {"sklearn": sklearn.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "cases": cases,
        "losses": losses,
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
