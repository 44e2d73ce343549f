#!/usr/bin/python3
"""Writes tests/data/splitters_expected.json: what fastai's random splitters return (they draw
from torch.randperm after torch.manual_seed) and what scikit-learn's train_test_split allocates.

Run from the repository root:  /usr/bin/python3 tests/data/gen_splitters_expected.py
(torch 1.13 and python3-sklearn; the versions used are recorded in the file).

- random_splitter / random_subset_splitter: fastai's definitions, reproduced here without
  importing fastai (not packaged in Debian):
      RandomSplitter:       torch.manual_seed(seed); p = torch.randperm(n); cut = int(valid_pct * n)
                            -> train p[cut:], valid p[:cut]
      RandomSubsetSplitter: torch.manual_seed(seed); p = torch.randperm(n)
                            nt, nv = int(n * train_sz), int(n * valid_sz) -> train p[:nt], valid p[nt:nt+nv]
  Lists up to 5000 items are stored whole; longer ones as a digest (head, tail, weighted sums).
- train_test_sizes: len(train), len(test) of sklearn's train_test_split (or that it raises).
- train_test_noshuffle: the exact lists of train_test_split(shuffle=False).
- stratified: for each case, every (train per-class counts, test per-class counts) allocation that
  sklearn's StratifiedShuffleSplit produced over 300 random states (classes in sorted order). The
  allocation is deterministic unless classes tie for the last places (sklearn breaks ties with its
  RNG); the C++ test checks that its allocation is one of these, and equal when there is only one.
"""
import json
import os

import numpy as np
import sklearn
import torch
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "splitters_expected.json")
FULL_MAX = 5000


def perm(n, seed):
    torch.manual_seed(seed)
    return [int(i) for i in torch.randperm(n)]


def digest(xs):
    return {"len": len(xs), "head": xs[:20], "tail": xs[-5:],
            "wsum": sum((i + 1) * v for i, v in enumerate(xs))}


def pack(xs, n):
    return {"full": xs} if n <= FULL_MAX else {"digest": digest(xs)}


def random_splitter_cases():
    out = []
    cases = [(0, 0.2, 0), (1, 0.2, 0), (2, 0.5, 1), (5, 0.2, 42), (10, 0.2, 42), (10, 0.0, 3), (10, 1.0, 3),
             (100, 0.29, 7), (100, 0.2, 2**40 + 5), (1000, 0.2, 42), (1000, 0.1, 123456789),
             (4454, 0.2, 42), (5000, 0.25, 2024), (70000, 0.2, 42), (100000, 0.2, 0)]
    for n, pct, seed in cases:
        p = perm(n, seed)
        cut = int(pct * n)
        out.append({"n": n, "valid_pct": pct, "seed": seed,
                    "train": pack(p[cut:], n), "valid": pack(p[:cut], n)})
    return out


def random_subset_cases():
    out = []
    for n, tr, va, seed in [(10, 0.5, 0.3, 0), (100, 0.7, 0.3, 42), (1000, 0.25, 0.1, 9), (9999, 0.6, 0.2, 1)]:
        p = perm(n, seed)
        nt, nv = int(n * tr), int(n * va)
        out.append({"n": n, "train_sz": tr, "valid_sz": va, "seed": seed,
                    "train": pack(p[:nt], n), "valid": pack(p[nt:nt + nv], n)})
    return out


def train_test_size_cases():
    out = []
    for n, ts in [(10, 0.2), (10, 0.25), (7, 0.3), (100, 0.33), (3, 0.5), (101, 0.1), (4454, 0.2),
                  (1000, 0.15), (2, 0.5), (1, 0.5), (5, 0.9), (4, 0.8)]:
        try:
            tr, te = train_test_split(list(range(n)), test_size=ts, random_state=0)
            out.append({"n": n, "test_size": ts, "n_train": len(tr), "n_test": len(te)})
        except ValueError as e:
            out.append({"n": n, "test_size": ts, "error": str(e)})
    return out


def noshuffle_cases():
    out = []
    for n, ts in [(10, 0.2), (7, 0.3), (25, 0.1)]:
        tr, te = train_test_split(list(range(n)), test_size=ts, shuffle=False)
        out.append({"n": n, "test_size": ts, "train": [int(i) for i in tr], "valid": [int(i) for i in te]})
    return out


def labels_for(spec, seed):
    labels = [lab for lab, k in spec for _ in range(k)]
    rng = np.random.RandomState(seed)
    rng.shuffle(labels)  # interleave the classes: the item order must not matter
    return labels


def stratified_cases():
    specs = [
        ("exact", [("a", 10), ("b", 5), ("c", 5)], 0.2),
        ("imbalanced", [("x", 37), ("y", 13), ("z", 7)], 0.3),
        ("ties", [("p", 5), ("q", 5), ("r", 5), ("s", 5)], 0.3),
        ("sort_order", [("dog", 9), ("B", 4), ("ant", 6), ("a", 11)], 0.25),
        ("two_per_class", [("u", 2), ("v", 2), ("w", 2), ("k", 2)], 0.5),
        ("large", [("c0", 412), ("c1", 251), ("c2", 160), ("c3", 99), ("c4", 78)], 0.15),
    ]
    out = []
    for name, spec, ts in specs:
        labels = labels_for(spec, 0)
        classes = sorted(set(labels))
        seen = set()
        n = len(labels)
        for rs in range(300):
            tr, te = train_test_split(list(range(n)), test_size=ts, random_state=rs, stratify=labels)
            ctr = tuple(sum(1 for i in tr if labels[i] == c) for c in classes)
            cte = tuple(sum(1 for i in te if labels[i] == c) for c in classes)
            seen.add((ctr, cte))
        allowed = [{"train": list(a), "valid": list(b)} for a, b in sorted(seen)]
        out.append({"name": name, "labels": labels, "test_size": ts, "classes": classes, "allowed": allowed})
    # sklearn's refusals (the C++ splitter refuses the same inputs)
    errors = []
    for name, labels, ts in [("singleton_class", ["a"] * 5 + ["b"], 0.3),
                             ("test_smaller_than_classes", ["a", "b", "c"] * 4, 0.1)]:
        try:
            train_test_split(list(range(len(labels))), test_size=ts, random_state=0, stratify=labels)
            raise SystemExit(f"expected sklearn to refuse {name}")
        except ValueError as e:
            errors.append({"name": name, "labels": labels, "test_size": ts, "sklearn_error": str(e)})
    return out, errors


def main():
    strat, strat_errors = stratified_cases()
    data = {
        "versions": {"torch": torch.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__},
        "random_splitter": random_splitter_cases(),
        "random_subset_splitter": random_subset_cases(),
        "train_test_sizes": train_test_size_cases(),
        "train_test_noshuffle": noshuffle_cases(),
        "stratified": strat,
        "stratified_errors": strat_errors,
    }
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
