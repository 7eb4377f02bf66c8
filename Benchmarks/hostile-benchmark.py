#!/usr/bin/env python3
"""Hostile-input benchmark: costs that must stay linear, and memory that must stay bounded,
on inputs built to break them (run by hand; not a test).

For each case the input is built at two sizes, N and 4 N, and `audisp-lkm` timed on both
(best of --repeat): the larger must cost at most 4 times (target 5, for noise) the
smaller; a quadratic cost would be 16 times. Peak RSS is reported for each run.
  - toml:     a rule file with N keys (replay --rule);
  - installs: one modprobe.d file of N plain `install` lines (inventory --root);
  - controls: a profile of N controls (inventory --profile);
  - bomb:     one event of N PATH records, gzip-compressed (replay): bounded, so its
              peak RSS must stay under 64 MiB whatever N.

  Benchmarks/hostile-benchmark.py [--binary PATH] [--repeat 3]
"""
import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULE = os.path.join(ROOT, "Sources/RuleEngine/DefaultRule.swift")


def default_rule_toml():
    """The built-in rule's TOML, as the binary embeds it."""
    text = open(RULE).read()
    start = text.index('#"""') + 4
    return text[start:text.index('"""#', start)]


def toml(work, n):
    path = os.path.join(work, f"keys-{n}.toml")
    rule = default_rule_toml()
    with open(path, "w") as f:
        f.write(rule.replace("[rule]", "[rule]\n" + "".join(f"k{i} = {i}\n" for i in range(n)), 1))
    return ["replay", "--rule", path, "/dev/null"]


def installs(work, n):
    root = os.path.join(work, f"installs-{n}")
    os.makedirs(os.path.join(root, "etc/modprobe.d"))
    with open(os.path.join(root, "etc/modprobe.d/many.conf"), "w") as f:
        f.write("".join(f"install mod{i} /bin/false\n" for i in range(n)))
    return ["inventory", "--root", root]


def controls(work, n):
    root = os.path.join(work, f"controls-root-{n}")
    os.makedirs(os.path.join(root, "etc/modprobe.d"))
    path = os.path.join(work, f"profile-{n}.toml")
    with open(path, "w") as f:
        f.write('[profile]\nname = "big"\ntitle = "big"\nversion = "1"\npublished = "2024-01-01"\n'
                'reference = "https://example.org"\n\n')
        f.write("".join(f'[[control]]\nid = "{i}"\ntitle = "t"\nmodule = "mod{i}"\n'
                        'require = ["install-disabled", "blacklist"]\n\n' for i in range(n)))
    return ["inventory", "--root", root, "--profile", path]


def bomb(work, n):
    path = os.path.join(work, f"bomb-{n}.log.gz")
    stamp = "msg=audit(1800000000.000:1):"
    with gzip.open(path, "wt") as f:
        f.write(f"type=SYSCALL {stamp} arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=1 a2=41 a3=1a4 "
                "items=2 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) "
                'ses=1 comm="x" exe="/bin/x" key=(null)\n')
        line = (f'type=PATH {stamp} item=1 name="/etc/modprobe.d/x.conf" inode=5 dev=fe:00 mode=0100644 ouid=0 '
                "ogid=0 rdev=00:00 nametype=CREATE\n")
        for _ in range(n):
            f.write(line)
        f.write(f"type=PROCTITLE {stamp} proctitle=78\n")
    return ["replay", path]


CASES = {"toml": (toml, 4000), "installs": (installs, 4000), "controls": (controls, 2000), "bomb": (bomb, 500_000)}


def measure(binary, arguments, repeat):
    """Best wall time and highest peak RSS (MiB) of `repeat` runs."""
    best, peak = None, 0.0
    for _ in range(repeat):
        start = time.monotonic()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", binary] + arguments, capture_output=True, text=True)
        elapsed = time.monotonic() - start
        if done.returncode != 0:
            sys.exit(f"{' '.join(arguments)} exited {done.returncode}: {done.stderr[-500:]}")
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]) / 1024)
        best = elapsed if best is None else min(best, elapsed)
    return best, peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="the audisp-lkm to measure (default: build this repository's release binary)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    binary = args.binary
    if not binary:
        subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "audisp-lkm"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip() + "/audisp-lkm"
    print(f"hostile-input benchmark, {time.strftime('%Y-%m-%d')}, best of {args.repeat}, {binary}")
    print(f"{'case':9} {'N':>8} {'time':>8} {'RSS':>8} | {'4 N':>8} {'time':>8} {'RSS':>8} | ratio  target")
    failed = False
    with tempfile.TemporaryDirectory() as work:
        for name, (build, n) in CASES.items():
            small, small_rss = measure(binary, build(work, n), args.repeat)
            large, large_rss = measure(binary, build(work, 4 * n), args.repeat)
            ratio = large / small
            met = ratio <= 5 and (name != "bomb" or large_rss < 64)
            failed |= not met
            print(f"{name:9} {n:8d} {small:7.2f}s {small_rss:6.1f}M | {4 * n:8d} {large:7.2f}s {large_rss:6.1f}M | "
                  f"{ratio:5.2f}  <= 5{' and < 64 MiB' if name == 'bomb' else ''}  {'PASS' if met else 'MISS'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
