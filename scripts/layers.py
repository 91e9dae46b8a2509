#!/usr/bin/env python3
"""Fails if a crate of the workspace depends on one of its own layer or above.

The layers, lowest first. Crates on one line are side by side and may not use each other.
A reader finds a capability in one hop from the README's table; this keeps the arrows one way.
"""
import json
import subprocess
import sys

LAYERS = [
    ["otklik-domain", "otklik-ui"],
    ["otklik-store"],
    ["otklik-devices", "otklik-reports"],
    ["otklik-notify"],
    ["otklik-engine"],
    ["otklik-api", "otklik-hub"],
    ["otklik"],
]
level = {name: i for i, names in enumerate(LAYERS) for name in names}

meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
problems = []
for pkg in meta["packages"]:
    name = pkg["name"]
    if name not in level:
        problems.append(f"{name} is in the workspace but in no layer of scripts/layers.py")
        continue
    for dep in pkg["dependencies"]:
        other = dep["name"]
        if other in level and level[other] >= level[name]:
            kind = dep["kind"] or "normal"
            problems.append(
                f"{name} (layer {level[name]}) depends on {other} (layer {level[other]}), "
                f"a {kind} dependency: a crate may use only the layers below its own"
            )
if problems:
    print("layers: FAILED", *problems, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"layers: {len(meta['packages'])} crates, every dependency points down")
