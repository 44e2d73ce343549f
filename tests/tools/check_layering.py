#!/usr/bin/env python3
"""Checks that every include between layers points down (design.md §1).

The layer graph is read from the fastai_layer(...) calls of CMakeLists.txt (its one home):
a public header include/fastai/L/*.h may include headers of L and of L's DEPS (transitively,
through their DEPS); a source src/L/* may also include its PRIVATE_DEPS' headers. Umbrella
headers (include/fastai/*.h) are exempt. Prints every offending line and exits 1."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
cmake = (root / "CMakeLists.txt").read_text()
deps, private = {}, {}
for m in re.finditer(r"fastai_layer\(\s*(\w+)([^)]*)\)", cmake):
    name, args = m.group(1), m.group(2).split()
    section, pub, priv = None, set(), set()
    for a in args:
        if a in ("DEPS", "PRIVATE_DEPS", "SOURCES"):
            section = a
        elif a.startswith("fastai_") and section in ("DEPS", "PRIVATE_DEPS"):
            (pub if section == "DEPS" else priv).add(a[len("fastai_"):])
    deps.setdefault(name, set()).update(pub)
    private.setdefault(name, set()).update(priv)
if not deps:
    sys.exit("check_layering: no fastai_layer(...) call found in CMakeLists.txt")


def public_closure(layer, seen=None):
    seen = set() if seen is None else seen
    if layer in seen:
        return seen
    seen.add(layer)
    for d in deps.get(layer, ()):
        public_closure(d, seen)
    return seen


include_re = re.compile(r'^\s*#\s*include\s*[<"]fastai/(\w+)/')
bad = []
for layer in deps:
    header_ok = public_closure(layer)
    source_ok = set(header_ok)
    for d in private[layer]:
        source_ok |= public_closure(d)
    for folder, ok, kind in ((root / "include" / "fastai" / layer, header_ok, "public header"),
                             (root / "src" / layer, source_ok, "source")):
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            if f.suffix not in (".h", ".cpp"):
                continue
            for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = include_re.match(line)
                if m and m.group(1) not in ok:
                    bad.append(f"{f.relative_to(root)}:{n}: a {kind} of layer '{layer}' includes layer "
                               f"'{m.group(1)}' (allowed: {', '.join(sorted(ok))})")
for layer in deps:
    for d in deps[layer] | private[layer]:
        if d not in deps:
            bad.append(f"CMakeLists.txt: layer '{layer}' depends on fastai_{d}, which is no layer")
if bad:
    print("includes that do not point down the layer graph of CMakeLists.txt:")
    print("\n".join(bad))
    sys.exit(1)
print(f"layering: ok ({len(deps)} layers)")
