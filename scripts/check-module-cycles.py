#!/usr/bin/env python3
"""Fails when a module imports a module that imports it back, directly or through others
(within one crate; edges between a module and its own ancestors or descendants are not counted:
`mod.rs` naming its children and a child using its parent is how Rust modules are built).

Edges come from `crate::a::b` and `super::a` paths in each file's non-test code; `use` groups
(`crate::a::{b, c::D}`) are expanded. Usage: scripts/check-module-cycles.py (from the root)."""
import os, re, sys
from collections import defaultdict

def module_of(src_root, path):
    rel = os.path.relpath(path, src_root)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return "::".join(parts)

def expand_groups(text):
    """`crate::a::{b::C, d}` -> `crate::a::b::C crate::a::d` (nested groups too)."""
    pattern = re.compile(r"\b((?:crate|super)(?:::\w+)*)::\{([^{}]*)\}")
    while True:
        new = pattern.sub(lambda m: " ".join(f"{m.group(1)}::{part.strip()}"
                                             for part in m.group(2).split(",") if part.strip()),
                          text)
        if new == text:
            return text
        text = new

def edges_for(crate_dir):
    src = os.path.join(crate_dir, "src")
    mods = {}
    for dirpath, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                p = os.path.join(dirpath, f)
                mods[module_of(src, p)] = p
    graph = defaultdict(set)
    for mod, path in mods.items():
        text = open(path).read()
        text = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", text, flags=re.S)
        text = expand_groups(text)
        for m in re.finditer(r"\bcrate::((?:\w+::)*\w+)", text):
            segs = m.group(1).split("::")
            # the longest prefix that names a module
            for n in range(len(segs), 0, -1):
                target = "::".join(segs[:n])
                if target in mods:
                    break
            else:
                continue
            if target != mod and not mod.startswith(target + "::") and not target.startswith(mod + "::"):
                graph[mod].add(target)
        for m in re.finditer(r"\bsuper::(\w+)", text):
            parent = mod.rsplit("::", 1)[0] if "::" in mod else ""
            target = (parent + "::" if parent else "") + m.group(1)
            if target in mods and target != mod:
                graph[mod].add(target)
    return graph

def cycles(graph):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index: visit(v)
    return out

found = 0
for crate in sorted(os.listdir("crates")):
    for comp in cycles(edges_for(os.path.join("crates", crate))):
        found += 1
        print(f"{crate}: {' <-> '.join(comp)}")
print(f"{found} cycle(s)")
sys.exit(1 if found else 0)
