#!/usr/bin/env python3
"""check_layering: sessrecd's modules depend on each other one way.

Two graphs over the modules of sessrecd/ (a module is its .c and its .h):
  includes  a module depends on the sessrecd headers its .c and .h include;
  calls     from `nm` of the objects of the sessrecd_core library: a module
            depends on every module that defines a symbol its object leaves
            undefined.
Each graph's strongly connected components are printed; the only cycle
allowed is server <-> ops (the dispatcher and the connections it replies
on). Also: the session phase is assigned (`->phase =`) only in session.c.

usage: check_layering.py SESSRECD_DIR [LIBSESSRECD_CORE.a [NM]]
Exit 0 when everything holds, 1 otherwise."""
import glob
import os
import re
import subprocess
import sys

ALLOWED = [{'server', 'ops'}]


def modules(src):
    return sorted({os.path.splitext(os.path.basename(p))[0] for p in glob.glob(src + '/*.[ch]')})


def include_graph(src, mods):
    edges = {m: set() for m in mods}
    for p in glob.glob(src + '/*.[ch]'):
        m = os.path.splitext(os.path.basename(p))[0]
        with open(p, errors='replace') as f:
            for inc in re.findall(r'#include\s+"([^"]+)\.h"', f.read()):
                inc = os.path.basename(inc)
                if inc in edges and inc != m:
                    edges[m].add(inc)
    return edges


def call_graph(lib, nm, mods):
    out = subprocess.run([nm, '-A', lib], check=True, capture_output=True, text=True).stdout
    owner, wants = {}, {}
    for line in out.splitlines():
        # "lib.a:relay.c.o:0000000000000000 T relay_update" / "lib.a:relay.c.o:                 U recorder_output"
        m = re.match(r'^.*?:([^:/]+)\.c\.o(?:bj)?:\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z?])\s+(\S+)$', line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        if obj not in mods:
            continue
        if kind == 'U':
            wants.setdefault(obj, set()).add(sym)
        elif kind.isupper():
            owner[sym] = obj
    edges = {m: set() for m in mods}
    for obj, syms in wants.items():
        for sym in syms:
            to = owner.get(sym)
            if to and to != obj:
                edges[obj].add(to)
    return edges


def sccs(edges):
    idx, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        idx[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in idx:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            c = []
            while True:
                w = stack.pop()
                on.discard(w)
                c.append(w)
                if w == v:
                    break
            out.append(sorted(c))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in idx:
            visit(v)
    return [c for c in out if len(c) > 1]


def report(name, edges):
    found = sccs(edges)
    bad = [c for c in found if set(c) not in ALLOWED]
    print('%s: %d modules, %d edges; cycles: %s' % (name, len(edges), sum(len(v) for v in edges.values()),
                                                   '; '.join(' <-> '.join(c) for c in found) or 'none'))
    for c in bad:
        print('FAIL %s cycle not allowed: %s' % (name, ' <-> '.join(c)))
        for m in c:
            print('  %s -> %s' % (m, ', '.join(sorted(e for e in edges[m] if e in c))))
    return not bad


def phase_assignments(src):
    found = []
    for p in sorted(glob.glob(src + '/*.c')):
        if os.path.basename(p) == 'session.c':
            continue
        with open(p, errors='replace') as f:
            for i, line in enumerate(f, 1):
                if re.search(r'->\s*phase\s*=[^=]', line):
                    found.append('%s:%d' % (os.path.basename(p), i))
    print('phase assigned outside session.c: %s' % (', '.join(found) or 'nowhere'))
    if found:
        print('FAIL the session phase is assigned outside session.c')
    return not found


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    src = argv[1]
    mods = modules(src)
    ok = report('includes', include_graph(src, mods))
    if len(argv) > 2:
        ok = report('calls', call_graph(argv[2], argv[3] if len(argv) > 3 and argv[3] else 'nm', mods)) and ok
    else:
        print('calls: not checked (no library given)')
    ok = phase_assignments(src) and ok
    print('layering: %s' % ('ok' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
