#!/usr/bin/env python3
"""Where a timed path's instructions go: an instruction-level profile under QEMU TCG.

QEMU runs a kernel image one instruction per translation block (`-singlestep`) and logs the
address of every instruction it executes (`-d exec,nochain`) into a pipe; this script keeps
the addresses between a start and a stop address (usually the two `rdtsc` of a benchmark
row), splits them into runs, and prints, for the run whose length is the most common one (the
median-like case, free of interrupts), how many instructions each function took, in the
order they ran. About a minute for `bench=quick` of either build; nothing is written to disk
but the runs asked for.

    tools/itrace.py rdtsc mmu client             # the rdtsc instructions in functions matching
    tools/itrace.py run mmu 0x1be678 0x1be710     # profile runs from one address to another
    tools/itrace.py run flat 0x160a63 0x160a88 --inlined   # name inlined functions too
    tools/itrace.py run flat 0x160a63 0x160a88 --listing   # and print each instruction run

Each run's count includes the instructions at both ends (the rdtsc pair and what sits
between); `make bench`'s figures subtract the timing overhead instead. Under TCG a CR3 load
or a TLB flush is one instruction like any other: see the events `make bench` prints.
"""
import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def image(mode):
    return os.path.join(ROOT, "target", f"lorraine-{mode}.elf")


def symbols(elf):
    out = subprocess.run(["nm", "-C", "--defined-only", elf], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), re.sub(r"::h[0-9a-f]{16}$", "", parts[2])))
    syms.sort()
    return syms


def rdtsc(mode, pattern):
    """Prints every rdtsc in functions whose (demangled) name contains `pattern`."""
    dis = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", image(mode)], capture_output=True, text=True, check=True).stdout
    func = None
    for line in dis.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            func = m.group(1)
        elif "rdtsc" in line and func and pattern in func:
            print(f"0x{line.split(':')[0].strip()}  {func}")


def trace(mode, start, stop, append, qemu_flags):
    """Runs the image under QEMU and returns the runs from `start` to `stop` (address lists)."""
    runs, cur, on = [], None, False
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "trace")
        os.mkfifo(fifo)
        cmd = ["qemu-system-x86_64", "-kernel", image(mode), "-display", "none", "-serial", "file:" + os.path.join(d, "serial"),
               "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-icount", "shift=0",
               "-singlestep", "-d", "exec,nochain", "-D", fifo, "-append", append] + qemu_flags
        q = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        limit = threading.Timer(600, q.kill)
        limit.daemon = True
        limit.start()
        # "Trace 0: 0x... [cs_base/pc/flags/cflags] symbol"
        pat = re.compile(r"\[[0-9a-f]+/([0-9a-f]+)/")
        with open(fifo) as f:
            for line in f:
                m = pat.search(line)
                if not m:
                    continue
                pc = int(m.group(1), 16)
                if pc == start:
                    on, cur = True, []
                if on:
                    cur.append(pc)
                    if pc == stop:
                        runs.append(cur)
                        on = False
        q.wait()
        limit.cancel()
    return runs


def profile(mode, run, inlined):
    """(function, instructions) in the order they ran, consecutive ones merged."""
    if inlined:
        p = subprocess.run(["addr2line", "-f", "-C", "-e", image(mode)], input="\n".join(hex(a) for a in run),
                           capture_output=True, text=True, check=True).stdout.splitlines()
        names = [re.sub(r"::h[0-9a-f]{16}$", "", p[i]) for i in range(0, len(p), 2)]
    else:
        syms = symbols(image(mode))
        addrs = [a for a, _ in syms]
        names = [syms[bisect.bisect_right(addrs, a) - 1][1] for a in run]
    merged = []
    for n in names:
        if merged and merged[-1][0] == n:
            merged[-1][1] += 1
        else:
            merged.append([n, 1])
    return merged


def listing(mode, run):
    """objdump's line for each address of `run`, in the order they ran."""
    dis = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", image(mode)], capture_output=True, text=True, check=True).stdout
    text = {}
    for line in dis.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s*(.*)$", line)
        if m:
            text[int(m.group(1), 16)] = m.group(2)
    return [f"{a:#x}  {text.get(a, '?')}" for a in run]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("rdtsc", help="list rdtsc instructions in matching functions")
    r.add_argument("mode", choices=["flat", "mmu"])
    r.add_argument("pattern")
    t = sub.add_parser("run", help="profile the runs between two addresses")
    t.add_argument("mode", choices=["flat", "mmu"])
    t.add_argument("start", type=lambda s: int(s, 0))
    t.add_argument("stop", type=lambda s: int(s, 0))
    t.add_argument("--append", default="bench=quick", help="kernel command line (default: bench=quick)")
    t.add_argument("--length", type=int, help="profile the first run of this many instructions")
    t.add_argument("--inlined", action="store_true", help="name the innermost inlined function (addr2line)")
    t.add_argument("--qemu", default="", help="extra QEMU flags")
    t.add_argument("--listing", action="store_true", help="also print each instruction of the run (objdump's text)")
    a = ap.parse_args()
    if a.cmd == "rdtsc":
        return rdtsc(a.mode, a.pattern)
    runs = trace(a.mode, a.start, a.stop, a.append, a.qemu.split())
    if not runs:
        sys.exit("no run from start to stop: check the addresses (tools/itrace.py rdtsc ...)")
    lengths = collections.Counter(len(x) for x in runs)
    print("runs by length (instructions: how many):", ", ".join(f"{n}: {c}" for n, c in sorted(lengths.items())))
    want = a.length or lengths.most_common(1)[0][0]
    run = next((x for x in runs if len(x) == want), None)
    if run is None:
        sys.exit(f"no run of {want} instructions")
    print(f"profile of a run of {want} instructions:")
    for name, n in profile(a.mode, run, a.inlined):
        print(f"{n:6}  {name}")
    if a.listing:
        print(f"each instruction of that run:")
        for line in listing(a.mode, run):
            print(line)
    totals = collections.Counter()
    for name, n in profile(a.mode, run, False):
        totals[name] += n
    print("by function:")
    for name, n in totals.most_common():
        print(f"{n:6}  {name}")


if __name__ == "__main__":
    main()
