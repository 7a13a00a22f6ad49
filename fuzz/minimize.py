#!/usr/bin/python3
"""Shrinks a committed corpus to a small set with the same edge coverage.

    fuzz/minimize.py NAME [MAX_BYTES]     (after make fuzz-build)

libFuzzer's -merge=1 keeps every input that adds a feature (edge counters, comparisons),
trying inputs smallest first, which keeps hundreds of inputs of a few hundred bytes each.
This asks libFuzzer for the edges each input of fuzz/corpus/NAME covers (a merge with a
control file, counters and comparison features off), then keeps the seeds (seed-*,
regress-*) and greedily the input that adds the most new edges per byte, until nothing adds
any (or the kept inputs would exceed MAX_BYTES). Every other file of the directory is deleted.
"""
import os
import subprocess
import sys
import tempfile

FUZZ = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(FUZZ), "build", "fuzz")


def edges_per_file(name, corpus):
    with tempfile.TemporaryDirectory() as tmp:
        control = os.path.join(tmp, "control")
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        subprocess.run([os.path.join(BUILD, "fuzz_" + name), "-merge=1", "-use_counters=0",
                        "-use_cmp=0", "-use_value_profile=0", "-merge_control_file=" + control,
                        empty, corpus], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)
        with open(control) as f:
            lines = f.read().splitlines()
    n = int(lines[0])
    paths = lines[2:2 + n]
    cov = {}
    for line in lines[2 + n:]:
        parts = line.split()
        if parts and parts[0] == "COV":
            cov[paths[int(parts[1])]] = set(parts[2:])
    return cov


def main():
    name = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    corpus = os.path.join(FUZZ, "corpus", name)
    cov = edges_per_file(name, corpus)
    size = {p: os.path.getsize(p) for p in cov}
    keep = [p for p in cov if os.path.basename(p).startswith(("seed-", "regress-"))]
    covered = set().union(*(cov[p] for p in keep)) if keep else set()
    total = sum(size[p] for p in keep)
    rest = [p for p in cov if p not in keep]
    while rest:
        best = max(rest, key=lambda p: len(cov[p] - covered) / (size[p] + 64))
        gain = len(cov[best] - covered)
        if gain == 0 or (limit and total + size[best] > limit):
            break
        keep.append(best)
        covered |= cov[best]
        total += size[best]
        rest.remove(best)
    all_edges = set().union(*cov.values()) if cov else set()
    for path in cov:
        if path not in keep:
            os.remove(path)
    print(f"minimize {name}: kept {len(keep)} of {len(cov)} inputs, {total} bytes, "
          f"{len(covered)} of {len(all_edges)} edges")


if __name__ == "__main__":
    main()
