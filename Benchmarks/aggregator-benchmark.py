#!/usr/bin/env python3
"""Aggregator benchmark: what each host costs audisp-lkm when it is the plugin of an
aggregating auditd (records of many hosts, told apart by node=). Run by hand; not a test.

The same stream of records (the kernel fixture's, recorded from a real kernel, repeated
to TOTAL records) is fed to the plugin on standard input, as auditd feeds it, labelled
as coming from 1, 10, 100 and 1,000 hosts (node=host-N, hosts taking turns event by
event: every host makes the same file events, so per-host state is all that differs).
For each: the plugin's CPU time and peak memory (getrusage of the child), and the
per-host tables from its state report. Baseline in the same run: `cat` reading the same
stream, for the cost of just taking the bytes.

    Benchmarks/aggregator-benchmark.py [--binary PATH] [--total RECORDS]

Defaults: the release build (.build-release/release/audisp-lkm, else .build/debug), 200,000
records. Needs no root and no auditd.
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE = os.path.join(ROOT, "Tests/Fixtures/kernel/x86_64-i386.log")


def events(path):
    """The fixture's records grouped by event (msg=audit(...) stamp), in order."""
    groups, order = {}, []
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        match = re.search(r"msg=audit\(([0-9.:]+)\)", line)
        if not match:
            continue
        stamp = match.group(1)
        if stamp not in groups:
            groups[stamp] = []
            order.append(stamp)
        groups[stamp].append(line)
    return [groups[stamp] for stamp in order]


def stream(hosts, total, path):
    """Writes TOTAL records (about) to PATH: the fixture's events, each repetition with
    new serials (so no event is a duplicate of another), hosts taking turns."""
    fixture = events(FIXTURE)
    written, repetition = 0, 0
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as out:
        while written < total:
            for index, lines in enumerate(fixture):
                host = (repetition * len(fixture) + index) % hosts
                for line in lines:
                    # A serial of our own per repetition; node= of its host.
                    line = re.sub(r"msg=audit\(([0-9]+\.[0-9]+):([0-9]+)\)",
                                  lambda m: "msg=audit(%s:%d)" % (m.group(1), int(m.group(2)) + repetition * 100000), line)
                    out.write("node=host-%d %s" % (host, line))
                    written += 1
            repetition += 1
    return written


def run(command, stdin_path):
    """CPU seconds and peak RSS (KiB) of one child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(stdin_path, "rb") as source:
        subprocess.run(command, stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env={})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, after.ru_maxrss


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary")
    parser.add_argument("--total", type=int, default=200_000)
    arguments = parser.parse_args()
    binary = arguments.binary or next(p for p in (os.path.join(ROOT, ".build-release/release/audisp-lkm"),
                                                 os.path.join(ROOT, ".build/debug/audisp-lkm")) if os.path.exists(p))
    with tempfile.TemporaryDirectory() as work:
        state = os.path.join(work, "state")
        settings = os.path.join(work, "audisp-lkm.conf")
        with open(settings, "w") as f:
            f.write("output = file\nfile = /dev/null\nformat = json\nmanage_watches = no\n"
                    "max_alerts = unlimited\nalert_ceiling = unlimited\nstate_file = %s\n" % state)
        print("binary %s, %d records per run" % (binary, arguments.total))
        print("%6s %10s %10s %12s %12s %10s %10s" % ("hosts", "cat s", "plugin s", "plugin/cat", "peak MiB", "dirs", "procs"))
        first = None
        for hosts in (1, 10, 100, 1000):
            data = os.path.join(work, "stream-%d" % hosts)
            records = stream(hosts, arguments.total, data)
            cat_cpu, _ = run(["/bin/cat"], data)
            # ru_maxrss of children is the largest so far: run the plugin in a fresh child.
            probe = subprocess.run([sys.executable, "-c", """
import resource, subprocess, sys
with open(sys.argv[2], 'rb') as source:
    subprocess.run([sys.argv[1], '--config', sys.argv[3]], stdin=source, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, env={})
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
""", binary, data, settings], capture_output=True, text=True, check=True)
            cpu, peak = probe.stdout.split()
            cpu, peak = float(cpu), int(peak)
            report = dict(line.split(" = ", 1) for line in open(state).read().splitlines() if " = " in line)
            print("%6d %10.2f %10.2f %12.1f %12.1f %10s %10s" % (hosts, cat_cpu, cpu, cpu / max(cat_cpu, 1e-3), peak / 1024,
                                                              report.get("known_directories", "?"), report.get("known_processes", "?")))
            if first is None:
                first = (cpu, peak)
            elif hosts > 1:
                print("%6s per host beyond one: %.1f KiB peak memory, CPU x%.2f of one host's" %
                      ("", (peak - first[1]) / (hosts - 1), cpu / first[0]))
            os.unlink(data)


if __name__ == "__main__":
    main()
