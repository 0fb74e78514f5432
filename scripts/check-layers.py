#!/usr/bin/env python3
"""Fails when a Portico crate depends on a crate of its own layer or a higher one.

Each layer may import only the layers below it (README, "Architecture"). Reads the
three workspaces (root, firmware/, fuzz/) with `cargo metadata --no-deps`, so it needs
no network and builds nothing. Normal, build and optional dependencies count (an
optional one is an import as soon as its feature is on); dev-dependencies are listed
but do not fail, since a test may reach up to drive the layer it tests.

    scripts/check-layers.py     # prints each layer, then the violations; exit 1 if any
"""
import json
import pathlib
import subprocess
import sys

# The layer order, written once: lowest first.
LAYERS = [
    ("core: protocol and policy, no_std", ["portico"]),
    ("test kit", ["portico-testkit"]),
    ("build tools and protocol clients", ["portico-assets", "portico-ws"]),
    ("ports: host and device", ["portico-tokio", "portico-embassy"]),
    ("application", ["portico-app"]),
    ("harnesses: device simulation, the device stack on a PC, fuzz bodies", ["portico-sim", "portico-tap", "portico-fuzz-harness"]),
    ("binaries, benches, fuzz targets",
     ["provider", "portico-firmware", "portico-bench", "portico-fuzz", "hello", "settings"]),
]
WORKSPACES = [".", "firmware", "fuzz"]

root = pathlib.Path(__file__).resolve().parent.parent
layer = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}
title = lambda name: LAYERS[layer[name]][0]

packages = {}
for ws in WORKSPACES:
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1",
         "--manifest-path", str(root / ws / "Cargo.toml")],
        check=True, capture_output=True, text=True,
    ).stdout
    for p in json.loads(out)["packages"]:
        packages[p["name"]] = p

errors, notes = [], []
for name, p in sorted(packages.items()):
    if name not in layer:
        errors.append(f"{name}: in no layer (add it to LAYERS in {pathlib.Path(__file__).name})")
        continue
    for d in p["dependencies"]:
        dep = d["name"]
        if dep not in layer:
            if d.get("path"):
                errors.append(f"{name} -> {dep}: a path dependency in no layer")
            continue  # from crates.io
        if layer[dep] < layer[name]:
            continue
        kind = d["kind"] or "normal"
        flags = kind + (", optional" if d["optional"] else "")
        what = f"{name} ({title(name)}) -> {dep} ({title(dep)}) [{flags}]"
        (notes if kind == "dev" else errors).append(what)

for i, (t, names) in enumerate(LAYERS):
    print(f"layer {i}, {t}: {', '.join(n for n in names if n in packages)}")
for n in notes:
    print(f"note, dev-dependency (allowed): {n}")
for e in errors:
    print(f"LAYERING VIOLATION: {e}")
print(f"{len(errors)} violation(s)")
sys.exit(1 if errors else 0)
