#!/usr/bin/python3
"""Writes the fixtures of tests/io/test_state_dict_io.cpp into tests/io/fixtures/:

  tiny_model.pth       torch.save(Sequential(Linear(3, 2), BatchNorm1d(2)).state_dict())
  tiny_model_p4.pth    the same with pickle_protocol=4 (FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE)
  mixed.pth            an OrderedDict of every storage dtype, views sharing one storage
                       (a column, a transpose, an offset slice), a 0-d tensor, an empty tensor and
                       an nn.Parameter (pickled through _rebuild_parameter)
  fastai_learner.pth   what fastai's learn.save writes: {'model': state_dict, 'opt': {...}}
  mixed.safetensors    the tensors of mixed.pth, written by hand (struct + json)
  whole_module.pth     torch.save(model): a pickled module, not a state dict
  unsupported.pth      a state dict with a fractions.Fraction value
  bad_opcode.pth       a torch-style zip whose data.pkl holds an unknown opcode (0xff at offset 5)
  short_data.pth       tiny_model.pth with the storage of '0.weight' cut to 4 bytes
  state_dict_expected.json   every tensor of the fixtures: dtype, shape, values (row-major)

Run from the repository root:  /usr/bin/python3 tests/io/gen_state_dict_fixtures.py
(torch 1.13; the version used is recorded in the JSON).
"""
import collections
import fractions
import json
import os
import struct
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


def tiny_model():
    m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[0.5, -1.25, 2.0], [3.0, 0.125, -0.75]]))
        m[0].bias.copy_(torch.tensor([0.25, -0.5]))
        m[1].weight.copy_(torch.tensor([1.5, 0.75]))
        m[1].bias.copy_(torch.tensor([-0.0625, 4.0]))
        m[1].running_mean.copy_(torch.tensor([0.1, -0.2]))
        m[1].running_var.copy_(torch.tensor([1.1, 0.9]))
        m[1].num_batches_tracked.fill_(7)
    return m


def mixed():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5
    d = collections.OrderedDict()
    d["f32"] = torch.tensor([[1.5, -2.25, 3.0], [0.1, 1e-30, -7.0]])
    d["f64"] = torch.tensor([0.1, -1e300, 2.5], dtype=torch.float64)
    d["i64"] = torch.tensor([1, -2, 2**40 + 3, -(2**62) + 5], dtype=torch.int64)
    d["bool"] = torch.tensor([True, False, False, True, True])
    d["f16"] = torch.tensor([[0.5, -1.5], [65504.0, 0.0009765625]], dtype=torch.float16)
    d["bf16"] = torch.tensor([1.0, -3.5, 256.0], dtype=torch.bfloat16)
    d["i32"] = torch.tensor([-(2**31), 2**31 - 1, 0], dtype=torch.int32)
    d["i16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
    d["i8"] = torch.tensor([-128, 127, 3], dtype=torch.int8)
    d["u8"] = torch.tensor([0, 255, 17], dtype=torch.uint8)
    d["scalar"] = torch.tensor(-4.75)
    d["base"] = base
    d["col"] = base[:, 1]        # stride 4, offset 1, same storage as base
    d["tr"] = base.t()           # strides (1, 4)
    d["rows"] = base[1:]         # offset 4
    d["empty"] = torch.zeros(0, 3)
    d["param"] = torch.nn.Parameter(torch.tensor([2.0, -1.0]))
    return d


def expected(sd):
    out = []
    for k, t in sd.items():
        t = t.detach()
        vals = t.reshape(-1).tolist() if t.dtype != torch.bfloat16 and t.dtype != torch.float16 \
            else t.float().reshape(-1).tolist()
        if t.dtype == torch.bool:
            vals = [int(v) for v in vals]
        out.append({"name": k, "dtype": str(t.dtype).replace("torch.", ""),
                    "shape": list(t.shape), "values": vals})
    return out


ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
             torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path, sd):
    header, blobs, off = collections.OrderedDict(), [], 0
    header["__metadata__"] = {"format": "pt"}
    for k, t in sd.items():
        t = t.detach().contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[k] = {"dtype": ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rewrite_zip(src, dst, change):
    """Copies the zip `src` to `dst`, passing each entry's (name, bytes) through `change`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))


def main():
    os.makedirs(OUT, exist_ok=True)
    p = lambda n: os.path.join(OUT, n)
    model = tiny_model()
    sd = model.state_dict()
    torch.save(sd, p("tiny_model.pth"))
    torch.save(sd, p("tiny_model_p4.pth"), pickle_protocol=4)
    mx = mixed()
    torch.save(mx, p("mixed.pth"))
    opt = {"state": [{"grad_avg": torch.tensor([0.5, 0.25]), "step": 3, "do_wd": True}, {}],
           "hypers": [{"lr": 0.001, "mom": 0.9, "sqr_mom": 0.99, "eps": 1e-05, "wd": 0.01}]}
    torch.save({"model": sd, "opt": opt}, p("fastai_learner.pth"))
    write_safetensors(p("mixed.safetensors"), mx)
    torch.save(model, p("whole_module.pth"))
    torch.save(collections.OrderedDict([("w", torch.ones(2)), ("frac", fractions.Fraction(1, 3))]),
               p("unsupported.pth"))
    # PROTO 2, EMPTY_DICT, BINPUT 0, then 0xff (no such opcode) at offset 5.
    rewrite_zip(p("tiny_model.pth"), p("bad_opcode.pth"),
                lambda n, b: b"\x80\x02}q\x00\xff." if n.endswith("/data.pkl") else b)
    rewrite_zip(p("tiny_model.pth"), p("short_data.pth"),
                lambda n, b: b[:4] if n.endswith("/data/0") else b)
    exp = {"torch_version": torch.__version__, "tiny_model": expected(sd), "mixed": expected(mx)}
    with open(p("state_dict_expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
