#!/usr/bin/env python3
"""Baseline scan benchmark: what one comparison of the places with their baseline costs.

The plugin scans the places at start, whenever it can see again (watches back, auditing
on, a mount), and every reconcile_interval seconds (default 60). This prints the scan's
time (measured inside the binary: lstat, read and SHA-256 of every name) and the whole
command's wall time and peak RSS, for the host's own places and with N more files
(default 1,000 and 10,000, 200 bytes each) in an extra place named by a rule file. The
baseline given is empty, so every name is a difference and printed: the printing is in
the wall time, not in the scan time. Run by hand, as root; it is not a test.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def built_binary():
    subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, ".build/release/audisp-lkm")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="the audisp-lkm to measure (default: this repository's release build)")
    parser.add_argument("--files", default="0,1000,10000", help="extra files in the extra place (default 0,1000,10000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (default 5; the best is shown)")
    args = parser.parse_args()
    binary = args.binary or built_binary()
    measure = os.path.join(tempfile.mkdtemp(), "measure")
    subprocess.run(["gcc", "-O2", "-o", measure, os.path.join(ROOT, "Benchmarks/measure.c")], check=True)
    default_rule = open(os.path.join(ROOT, "Sources/RuleEngine/DefaultRule.swift")).read()
    toml = default_rule.split('static let toml = #"""', 1)[1].split('"""#', 1)[0]
    print(f"baseline scan benchmark, {time.strftime('%Y-%m-%d')}, best of {args.repeat}, {binary}")
    print(f"{'extra files':>12} {'names':>7} {'scan ms':>8} {'wall s':>7} {'RSS MiB':>8}")
    for count in [int(n) for n in args.files.split(",")]:
        with tempfile.TemporaryDirectory() as work:
            place = os.path.join(work, "place.d")
            os.mkdir(place)
            for index in range(count):
                with open(os.path.join(place, f"f{index}.conf"), "w") as f:
                    f.write(("options dummy numdummies=%d\n" % index).ljust(199, "#") + "\n")
            rule = os.path.join(work, "rule.toml")
            with open(rule, "w") as f:
                f.write(toml.replace('"/etc/modules", ', f'"/etc/modules", "{place}/*", ', 1))
            settings = os.path.join(work, "lkm.conf")
            state = os.path.join(work, "state")
            os.mkdir(state, 0o700)
            with open(settings, "w") as f:
                f.write(f"rule = {rule}\nstate_directory = {state}\n")
            with open(os.path.join(state, "baseline"), "w") as f:
                f.write("audisp-lkm baseline 1\nrecorded 0 complete\n")
            best = None
            for _ in range(args.repeat):
                out, err = os.path.join(work, "out"), os.path.join(work, "err")
                figures = subprocess.run([measure, out, err, binary, "baseline", "--config", settings],
                                         capture_output=True, text=True, check=True).stdout.split()
                match = re.search(r"(\d+) names scanned in (\d+) ms", open(err).read())
                if not match:
                    sys.exit(f"unexpected output: {open(err).read()}")
                figure = (int(match.group(2)), float(figures[0]), int(match.group(1)), int(figures[1]) / 1024)
                best = figure if best is None or figure < best else best
            print(f"{count:>12} {best[2]:>7} {best[0]:>8} {best[1]:>7.2f} {best[3]:>8.1f}")


if __name__ == "__main__":
    main()
