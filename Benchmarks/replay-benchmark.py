#!/usr/bin/env python3
"""Replay throughput benchmark: audisp-lkm against bare libauparse and ausearch.

Builds two raw logs of at least --size-mb each, then times on each of them, in one run:
  (a) bare-walk: libauparse in feed mode visiting every record of every event (the floor
      for anything built on libauparse),
  (b) audisp-lkm replay --events (release build, static Swift standard library),
  (c) ausearch --raw -k KEY.
Each is run --repeat times; the best wall time and the highest peak RSS are reported,
with the ratios the targets are stated in. Run by hand; it is not a test.

  modern: the kernel fixture (recorded on this machine; every event ends in PROCTITLE)
          replicated with fresh serials and advancing timestamps;
  mixed:  every file of ../shared/corpus replicated likewise (old kernels, events with
          no PROCTITLE, many record types, malformed lines).

With --large, (b) also runs on a 1 GiB modern log, to show memory does not grow with input.

With --flood, `replay` (alerts, the default) runs on logs of 200,000 and 1,000,000
alerting creations (the fixture's first openat event, each copy a new file name, serial
and millisecond): the peak RSS of the larger must stay within 1.25 times the smaller's
and under 64 MiB, i.e. no table grows with a flood.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAMP = re.compile(rb"msg=audit\((\d+)\.(\d+):(\d+)\)")


def replicate(sources, target, size):
    """Writes copies of the records in `sources` until `target` holds `size` bytes; each
    copy's timestamps and serials are shifted past the previous copy's."""
    lines = []
    for path in sources:
        with open(path, "rb") as f:
            data = f.read()
        lines.extend(line + b"\n" for line in data.split(b"\n") if line)
    stamps = [STAMP.search(line) for line in lines]
    seconds = [int(m.group(1)) for m in stamps if m]
    serials = [int(m.group(3)) for m in stamps if m]
    second_span = max(seconds) - min(seconds) + 10
    serial_span = max(serials) + 1
    written, copy = 0, 0
    with open(target, "wb") as out:
        while written < size:
            shift_s, shift_n = copy * second_span, copy * serial_span

            def shifted(m):
                return b"msg=audit(%d.%s:%d)" % (int(m.group(1)) + shift_s, m.group(2), int(m.group(3)) + shift_n)

            chunk = b"".join(STAMP.sub(shifted, line, count=1) for line in lines)
            out.write(chunk)
            written += len(chunk)
            copy += 1
    return copy


def flood(target, count):
    """Writes `count` copies of the fixture's first creation (step 1, openat O_CREAT in
    /etc/modprobe.d), without the ENRICHED part, each with its own name, serial and time."""
    with open(os.path.join(ROOT, "Tests/Fixtures/kernel/x86_64-i386.log"), "rb") as f:
        lines = [line.split(b"\x1d")[0] for line in f.read().split(b"\n") if line]
    first = next(STAMP.search(line).group(3) for line in lines if b"lkmfix-openat.conf" in line and b"CREATE" in line)
    event = [line for line in lines if STAMP.search(line) and STAMP.search(line).group(3) == first]
    template = b"\n".join(event) + b"\n"
    with open(target, "wb") as out:
        for n in range(count):
            seconds, millis = 1_800_000_000 + n // 1000, n % 1000
            copy = STAMP.sub(b"msg=audit(%d.%03d:%d)" % (seconds, millis, n + 1), template)
            out.write(copy.replace(b"lkmfix-openat.conf", b"flood-%09d.conf" % n))


def run(measure, command, repeat, accepted=(0,)):
    """Best wall time and highest peak RSS (MiB) of `repeat` runs, taken by Benchmarks/measure.c,
    and the last run's standard output (first 64 KiB) and error."""
    best, peak, text = None, 0.0, ""
    with tempfile.TemporaryDirectory() as scratch:
        out, err = os.path.join(scratch, "out"), os.path.join(scratch, "err")
        for _ in range(repeat):
            figures = subprocess.run([measure, out, err] + command, check=True, capture_output=True, text=True).stdout
            seconds, rss_kib, status = figures.split()
            with open(out, "rb") as o, open(err, "rb") as e:
                text = (o.read(1 << 16) + e.read()).decode(errors="replace")
            if int(status) not in accepted:
                sys.exit(f"{command[0]} exited {status}: {text[-2000:]}")
            peak = max(peak, int(rss_kib) / 1024)
            best = float(seconds) if best is None else min(best, float(seconds))
    return best, peak, text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=110, help="size of each log (default 110)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each program (default 3)")
    parser.add_argument("--work", default=os.path.join(ROOT, "bench-data"), help="where the logs go")
    parser.add_argument("--large", action="store_true", help="also run (b) on a 1 GiB log")
    parser.add_argument("--flood", action="store_true", help="only the flood: peak RSS at 200,000 and 1,000,000 alerts")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    print("building release audisp-lkm and bare-walk ...", file=sys.stderr)
    subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "audisp-lkm"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip() + "/audisp-lkm"
    walker, measure = os.path.join(args.work, "bare-walk"), os.path.join(args.work, "measure")
    subprocess.run(["gcc", "-O2", "-o", walker, os.path.join(ROOT, "Benchmarks/bare-walk.c"), "-lauparse", "-laudit"],
                   check=True)
    subprocess.run(["gcc", "-O2", "-o", measure, os.path.join(ROOT, "Benchmarks/measure.c")], check=True)

    if args.flood:
        peaks = []
        for count in (200_000, 1_000_000):
            path = os.path.join(args.work, f"flood-{count}.log")
            if not os.path.exists(path):
                print(f"writing {path} ...", file=sys.stderr)
                flood(path, count)
            seconds, rss, out = run(measure, [binary, "replay", "--format", "text", path], 1)
            alerts = int(re.search(r"(\d+) alerts", out).group(1))
            peaks.append(rss)
            print(f"flood: {count:9d} creations, {alerts:9d} alerts, {os.path.getsize(path) >> 20:5d} MiB log: "
                  f"{seconds:6.2f}s, peak RSS {rss:5.1f} MiB")
        print(f"flood: peak RSS ratio 1,000,000 / 200,000 = {peaks[1] / peaks[0]:.2f} (target <= 1.25), "
              f"largest {peaks[1]:.1f} MiB (target < 64)")
        return

    corpus = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
    corpus_files = sorted(os.path.join(d, f) for d, _, files in os.walk(corpus) for f in files
                          if f not in ("SOURCES.md", "corpus-stats.json"))
    logs = {
        "modern": ([os.path.join(ROOT, "Tests/Fixtures/kernel/x86_64-i386.log")], "lkmfix"),
        "mixed": (corpus_files, "audisp-lkm"),
    }
    size = args.size_mb << 20
    rows = []
    for name, (sources, key) in logs.items():
        path = os.path.join(args.work, f"{name}.log")
        if not os.path.exists(path) or os.path.getsize(path) < size:
            print(f"writing {path} ...", file=sys.stderr)
            replicate(sources, path, size)
        megabytes = os.path.getsize(path) / (1 << 20)
        a, a_rss, a_out = run(measure, [walker, path], args.repeat)
        b, b_rss, b_out = run(measure, [binary, "replay", "--events", path], args.repeat)
        # ausearch exits 1 when nothing matched.
        c, c_rss, _ = run(measure, ["ausearch", "--input-logs", "--raw", "-k", key, "-if", path], args.repeat,
                          accepted=(0, 1))
        events_a = int(re.search(r"(\d+) events", a_out).group(1))
        events_b = int(re.search(r"(\d+) events", b_out).group(1))
        rows.append((name, megabytes, events_a, events_b, a, a_rss, b, b_rss, c, c_rss))

    print(f"\nreplay benchmark, {time.strftime('%Y-%m-%d')}, best of {args.repeat}, {os.cpu_count()} cores")
    print(f"{'log':8} {'MiB':>6} {'events':>9} | {'(a) bare':>9} {'RSS':>6} | {'(b) ours':>9} {'RSS':>6} | "
          f"{'(c) ausearch':>12} {'RSS':>6} | {'b/a':>5} {'c/b':>5}")
    for name, mb, ea, eb, a, ar, b, br, c, cr in rows:
        print(f"{name:8} {mb:6.0f} {eb:9d} | {a:8.2f}s {ar:5.1f}M | {b:8.2f}s {br:5.1f}M | {c:11.2f}s {cr:5.1f}M | "
              f"{b / a:5.2f} {c / b:5.2f}")
        if ea != eb:
            print(f"  note: bare libauparse assembled {ea} events, audisp-lkm {eb}")
    print("targets: modern b/a <= 1.30 and c/b >= 2.0; mixed c/b >= 1.0")

    if args.large:
        big = os.path.join(args.work, "modern-1g.log")
        if not os.path.exists(big):
            print(f"writing {big} ...", file=sys.stderr)
            replicate(logs["modern"][0], big, 1 << 30)
        b, b_rss, b_out = run(measure, [binary, "replay", "--events", big], 1)
        events = int(re.search(r"(\d+) events", b_out).group(1))
        print(f"large: {os.path.getsize(big) / (1 << 30):.2f} GiB modern log, {events} events: "
              f"(b) {b:.2f}s, peak RSS {b_rss:.1f} MiB")


if __name__ == "__main__":
    main()
