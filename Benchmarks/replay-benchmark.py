#!/usr/bin/env python3
"""Replay throughput benchmark: audisp-lkm against bare libauparse and ausearch.

Builds three raw logs of at least --size-mb each, then times on each of them, in one run,
best of --repeat (5):
  (a)  bare-walk: libauparse in feed mode visiting every record of every event (the floor
       for anything built on libauparse),
  (b)  audisp-lkm replay: alerts, the default mode (JSON to a file nobody reads),
  (b2) audisp-lkm replay --events: every file event,
  (c)  ausearch --input-logs --raw -k KEY -if LOG.
The best wall time and the highest peak RSS are reported, with the ratios the targets are
stated in and PASS or MISS beside each target. Run by hand; it is not a test.

  modern:  the kernel fixture and the evasion fixture (recorded on this machine; every
           event ends in PROCTITLE) replicated with fresh serials and advancing timestamps;
  mixed:   every file of ../shared/corpus replicated likewise (old kernels, events with
           no PROCTITLE, many record types, malformed lines);
  evasion: the evasion fixture alone, replicated likewise (io_uring operations whose names
           the kernel did not log, descriptor-relative creations and renames, directories
           replaced), so its own cost per MiB shows.
Targets: modern, (b) and (b2) within 1.3 times (a); mixed, (b) at least 1.5 times as fast
as (c); evasion, (b)'s seconds per MiB no worse than on modern.

With --pace, the same targets counted rather than timed, since wall times here vary by 5
to 10 % from run to run: the instructions of each program's busiest thread (valgrind
--tool=callgrind, one count per thread; on two cores, the thread that sets replay's pace)
on the first --slice-mb (10) MiB of each log, less the program's cost on an empty log.

The program measured is the release build of this repository (built first, static Swift
standard library) unless --binary names another one. Two versions are compared by two
runs, each against its own baselines: absolute times on this noisy machine are not targets.
Logs are written under --work once and reused while their recipe (sources, sizes) holds.

With --large, (b2) also runs on a 1 GiB modern log, to show memory does not grow with input.

With --flood, `replay` (alerts, the default) runs on logs of 200,000 and 1,000,000
alerting creations (the fixture's first openat event, each copy a new file name, serial
and millisecond): the peak RSS of the larger must stay within 1.25 times the smaller's
and under 64 MiB, i.e. no table grows with a flood.

With --directories, replay (best of --repeat) against bare libauparse on a log of 200,000
creations each in a directory of its own, named absolutely: every event is parsed and
teaches the path resolver a directory until its table is full (65,536), the table replay's
two threads share by copying; peak RSS must stay under 64 MiB.

With --open, the cost of events that never end, all in one second of log time, beyond the
regrouper's bound of 100,000 open events (each completes the oldest): the second 150,000
of a 300,000-event log must cost no more than 1.2 times the first 150,000.

With --waiting, the cost of file events waiting for a directory the stream never names
(replay keeps up to 4,096 such events, until some event names their directory). The log
is --waiting-events blocks (100,000) of:
  - the evasion fixture's creation through a directory descriptor (lkmfix-root-dirfd.conf,
    an openat whose name is relative to descriptor 3), with a new serial, millisecond and
    file name, and a PARENT inode that no other record names: it waits, then leaves
    unresolved when 4,096 newer ones wait;
  - an ordinary creation (the kernel fixture's first openat, moved to /etc, not alerting),
    whose PARENT names its directory absolutely: every such event offers the waiting events
    a directory, which must cost what it releases (here nothing), not what waits;
  - every 1,000 blocks, the rest of the evasion fixture's events.
`replay` runs on the first tenth of the blocks, on all of them and on an empty log; the
cost per block of the last nine tenths, (all - tenth) / 0.9 N, against the first tenth's,
(tenth - empty) / 0.1 N, must be within 1.2: flat, whatever waits. The cost is the
instructions counted by valgrind --tool=callgrind (exact and deterministic; perf has no
hardware counters on this machine), or with --counter wall the best wall time of --repeat.
For reference, the last nine tenths are also set against a control log of as many blocks
where nothing waits (the first creation's PARENT is /etc, which every second one names).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_LOG = os.path.join(ROOT, "Tests/Fixtures/kernel/x86_64-i386.log")
EVASION_LOG = os.path.join(ROOT, "Tests/Fixtures/kernel/evasion.log")
STAMP = re.compile(rb"msg=audit\((\d+)\.(\d+):(\d+)\)")
PARENT_INODE = re.compile(rb"inode=(\d+) [^\n]*nametype=PARENT")
CREATE_INODE = re.compile(rb"inode=(\d+) [^\n]*nametype=CREATE")
# Log time of the generated logs (flood, waiting): one block per millisecond from here.
EPOCH = 1_800_000_000


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


def fixture_events(path):
    """The events of a fixture, in order, each its records (without their ENRICHED part)
    as one block of lines."""
    with open(path, "rb") as f:
        lines = [line.split(b"\x1d")[0] for line in f.read().split(b"\n") if STAMP.search(line)]
    events = {}
    for line in lines:
        events.setdefault(STAMP.search(line).group(3), []).append(line + b"\n")
    return [b"".join(records) for records in events.values()]


def first_event(events, *markers):
    """The first event containing every one of `markers`."""
    return next(event for event in events if all(marker in event for marker in markers))


def restamp(event, block, serial):
    """`event` at the log time of `block` (one per millisecond from EPOCH), with `serial`."""
    return STAMP.sub(b"msg=audit(%d.%03d:%d)" % (EPOCH + block // 1000, block % 1000, serial), event)


def with_inode(event, pattern, inode):
    """`event` with the inode of its first item matching `pattern` (PARENT_INODE,
    CREATE_INODE) replaced by `inode`, wherever it occurs."""
    old = pattern.search(event).group(1)
    return event.replace(b"inode=%s " % old, b"inode=%d " % inode)


def creation(events):
    """The kernel fixture's first creation (step 1, openat O_CREAT in /etc/modprobe.d)."""
    return first_event(events, b"lkmfix-openat.conf", b"CREATE")


def flood(target, count):
    """Writes `count` copies of the fixture's first creation, each with its own name,
    serial and time."""
    template = creation(fixture_events(KERNEL_LOG))
    with open(target, "wb") as out:
        for n in range(count):
            out.write(restamp(template, n, n + 1).replace(b"lkmfix-openat.conf", b"flood-%09d.conf" % n))


def waiting(target, count, awaited=True):
    """Writes `count` blocks of the --waiting log (see the module's description): a
    creation awaiting a directory never named, an ordinary creation naming its directory
    absolutely and, every 1,000 blocks, the rest of the evasion fixture. Not `awaited`
    (the control log), the first creation's directory is /etc, named by the second."""
    evasion = fixture_events(EVASION_LOG)
    waiter = first_event(evasion, b'name="lkmfix-root-dirfd.conf"')
    rest = [event for event in evasion if event is not waiter]
    # In /etc (inode 19 in the fixtures): not alerting, yet parsed when replay only
    # alerts, because the rule names /etc/modules.
    ordinary = with_inode(creation(fixture_events(KERNEL_LOG)).replace(b"/etc/modprobe.d/", b"/etc/"), PARENT_INODE, 19)
    serial = 0
    with open(target, "wb") as out:
        for n in range(count):
            # Inodes above any the fixtures hold; a PARENT inode per block, never named.
            event = with_inode(with_inode(waiter, PARENT_INODE, 3_000_000_000 + 2 * n if awaited else 19),
                               CREATE_INODE, 3_000_000_001 + 2 * n)
            copies = [event.replace(b"lkmfix-root-dirfd.conf", b"waiting-%09d.conf" % n),
                      ordinary.replace(b"lkmfix-openat.conf", b"lkm-bench-%09d.conf" % n)]
            if n % 1000 == 999:
                copies += rest
            for copy in copies:
                serial += 1
                out.write(restamp(copy, n, serial))


def directories(target, count):
    """Writes `count` copies of the fixture's first creation, each in a directory of its
    own (/srv/dN, named absolutely, with a PARENT inode of its own): every event is parsed
    and teaches the path resolver a directory, until its table is full (65,536)."""
    template = creation(fixture_events(KERNEL_LOG))
    with open(target, "wb") as out:
        for n in range(count):
            event = with_inode(with_inode(template, PARENT_INODE, 3_000_000_000 + 2 * n), CREATE_INODE, 3_000_000_001 + 2 * n)
            out.write(restamp(event.replace(b"/etc/modprobe.d/", b"/srv/d%d/" % n), n, n + 1))


def ensure(path, recipe, write):
    """The log at `path`, written by `write(path)` unless it exists and was made by the
    same `recipe` (kept beside it, in PATH.recipe)."""
    stamp = path + ".recipe"
    if os.path.exists(path) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == recipe:
                return path
    print(f"writing {path} ...", file=sys.stderr)
    write(path)
    with open(stamp, "w") as f:
        f.write(recipe)
    return path


def replicated(work, name, sources, size):
    """The log `name` in `work`: `sources` replicated to at least `size` bytes."""
    recipe = repr(("replicate", size, [(s, os.path.getsize(s), int(os.path.getmtime(s))) for s in sources]))
    return ensure(os.path.join(work, f"{name}.log"), recipe, lambda path: replicate(sources, path, size))


def run(measure, command, repeat, accepted=(0,)):
    """Best wall time and highest peak RSS (MiB) of `repeat` runs, taken by Benchmarks/measure.c,
    and the last run's standard output (first 64 KiB) followed by its standard error."""
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


def count(text, what):
    """The last "<n> <what>" in a program's output: its summary, which comes last."""
    return int(re.findall(rf"(\d+) {what}", text)[-1])


def verdict(met):
    return "PASS" if met else "MISS"


def programs(args):
    """audisp-lkm (--binary, else the release build of this repository), and bare-walk
    and measure compiled into --work."""
    if args.binary:
        binary = os.path.abspath(args.binary)
    else:
        print("building release audisp-lkm ...", file=sys.stderr)
        subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "audisp-lkm"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip() + "/audisp-lkm"
    walker, measure = os.path.join(args.work, "bare-walk"), os.path.join(args.work, "measure")
    subprocess.run(["gcc", "-O2", "-o", walker, os.path.join(ROOT, "Benchmarks/bare-walk.c"), "-lauparse", "-laudit"],
                   check=True)
    subprocess.run(["gcc", "-O2", "-o", measure, os.path.join(ROOT, "Benchmarks/measure.c")], check=True)
    return binary, walker, measure


def benchmark_logs(args):
    """The logs of --logs: name -> (their sources, the key ausearch is asked for)."""
    corpus = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
    corpus_files = sorted(os.path.join(d, f) for d, _, files in os.walk(corpus) for f in files
                          if f not in ("SOURCES.md", "corpus-stats.json"))
    logs = {
        "modern": ([KERNEL_LOG, EVASION_LOG], "lkmfix"),
        "mixed": (corpus_files, "audisp-lkm"),
        "evasion": ([EVASION_LOG], "lkmfix"),
    }
    return {name: logs[name] for name in args.logs.split(",")}


def ausearch(key, path):
    return ["ausearch", "--input-logs", "--raw", "-k", key, "-if", path]


def throughput(args, binary, walker, measure):
    """(a), (b), (b2) and (c) on each log of --logs, the table and the targets."""
    rows = {}
    for name, (sources, key) in benchmark_logs(args).items():
        path = replicated(args.work, name, sources, args.size_mb << 20)
        a, a_rss, a_out = run(measure, [walker, path], args.repeat)
        b, b_rss, b_out = run(measure, [binary, "replay", path], args.repeat)
        b2, b2_rss, b2_out = run(measure, [binary, "replay", "--events", path], args.repeat)
        # ausearch exits 1 when nothing matched.
        c, c_rss, _ = run(measure, ausearch(key, path), args.repeat, accepted=(0, 1))
        rows[name] = dict(mb=os.path.getsize(path) / (1 << 20), ea=count(a_out, "events"), eb=count(b2_out, "events"),
                          alerts=count(b_out, "alerts"), a=a, ar=a_rss, b=b, br=b_rss, b2=b2, b2r=b2_rss, c=c, cr=c_rss)

    print(f"\nreplay benchmark, {time.strftime('%Y-%m-%d')}, best of {args.repeat}, {os.cpu_count()} cores, {binary}")
    print(f"{'log':8} {'MiB':>5} {'events':>9} {'alerts':>7} | {'(a) bare':>8} {'RSS':>6} | {'(b) replay':>10} {'RSS':>6} | "
          f"{'(b2) events':>11} {'RSS':>6} | {'(c) ausearch':>12} {'RSS':>6} | {'b/a':>5} {'b2/a':>5} {'c/b':>5} {'b s/MiB':>8}")
    for name, r in rows.items():
        print(f"{name:8} {r['mb']:5.0f} {r['eb']:9d} {r['alerts']:7d} | {r['a']:7.2f}s {r['ar']:5.1f}M | "
              f"{r['b']:9.2f}s {r['br']:5.1f}M | {r['b2']:10.2f}s {r['b2r']:5.1f}M | {r['c']:11.2f}s {r['cr']:5.1f}M | "
              f"{r['b'] / r['a']:5.2f} {r['b2'] / r['a']:5.2f} {r['c'] / r['b']:5.2f} {r['b'] / r['mb']:8.5f}")
        if r["ea"] != r["eb"]:
            print(f"  note: bare libauparse assembled {r['ea']} events, audisp-lkm {r['eb']}")
    print_targets(rows)


def print_targets(rows):
    """The targets, from each log's (a), (b), (b2) and (c) (seconds, or instructions) and MiB."""
    targets = []
    if "modern" in rows:
        m = rows["modern"]
        targets += [("modern: (b) replay / (a) bare", m["b"] / m["a"], "<= 1.30", m["b"] / m["a"] <= 1.3),
                    ("modern: (b2) replay --events / (a) bare", m["b2"] / m["a"], "<= 1.30", m["b2"] / m["a"] <= 1.3)]
    if "mixed" in rows:
        x = rows["mixed"]
        targets.append(("mixed: (c) ausearch / (b) replay", x["c"] / x["b"], ">= 1.50", x["c"] / x["b"] >= 1.5))
    if "evasion" in rows and "modern" in rows:
        per_mb = {name: rows[name]["b"] / rows[name]["mb"] for name in ("evasion", "modern")}
        ratio = per_mb["evasion"] / per_mb["modern"]
        targets.append(("evasion: (b) per MiB / modern's (b) per MiB", ratio, "<= 1.00", ratio <= 1.0))
    print("targets:")
    for label, value, target, met in targets:
        print(f"  {label:44} {value:6.3f}  (target {target})  {verdict(met)}")


def pace(command):
    """The instructions of the busiest thread of `command` (valgrind callgrind, one
    count per thread): on two cores, the thread that sets replay's pace."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}"] + command,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        counts = []
        for name in os.listdir(scratch):
            with open(os.path.join(scratch, name), "rb") as f:
                counts += [int(m.group(1)) for m in re.finditer(rb"^summary: (\d+)", f.read(), re.MULTILINE)]
        return max(counts)


def pace_mode(args, binary, walker):
    """--pace: the targets counted, not timed: instructions of each program's busiest
    thread on the first --slice-mb of each log, less what it costs on an empty log (its
    start-up, which a slice would make weigh ten times what it does on the whole log)."""
    empty = os.path.join(args.work, "empty.log")
    open(empty, "wb").close()

    def programs_on(path, key):
        return dict(a=[walker, path], b=[binary, "replay", path], b2=[binary, "replay", "--events", path],
                    c=ausearch(key, path))
    rows = {}
    for name, (sources, key) in benchmark_logs(args).items():
        whole = replicated(args.work, name, sources, args.size_mb << 20)

        def cut(target, whole=whole):
            with open(whole, "rb") as f:
                head = f.read(args.slice_mb << 20)
            with open(target, "wb") as out:
                out.write(head[:head.rindex(b"\n") + 1])
        path = ensure(os.path.join(args.work, f"{name}-{args.slice_mb}mb.log"), repr(("slice", args.slice_mb, whole)), cut)
        print(f"counting on {path} ...", file=sys.stderr)
        start_up = {label: pace(command) for label, command in programs_on(empty, key).items()}
        rows[name] = {label: pace(command) - start_up[label] for label, command in programs_on(path, key).items()}
        rows[name]["mb"] = os.path.getsize(path) / (1 << 20)

    print(f"\nreplay benchmark, {time.strftime('%Y-%m-%d')}, million instructions of the busiest thread "
          f"(start-up excluded), {binary}")
    print(f"{'log':8} {'MiB':>5} | {'(a) bare':>9} | {'(b) replay':>10} | {'(b2) events':>11} | {'(c) ausearch':>12} | "
          f"{'b/a':>5} {'b2/a':>5} {'c/b':>5} {'b per MiB':>9}")
    for name, r in rows.items():
        print(f"{name:8} {r['mb']:5.1f} | {r['a'] / 1e6:9.1f} | {r['b'] / 1e6:10.1f} | {r['b2'] / 1e6:11.1f} | "
              f"{r['c'] / 1e6:12.1f} | {r['b'] / r['a']:5.2f} {r['b2'] / r['a']:5.2f} {r['c'] / r['b']:5.2f} "
              f"{r['b'] / r['mb'] / 1e6:9.2f}")
    print_targets(rows)


def flood_mode(args, binary, measure):
    """--flood: peak RSS of replay at 200,000 and 1,000,000 alerting creations."""
    peaks = []
    for creations in (200_000, 1_000_000):
        path = ensure(os.path.join(args.work, f"flood-{creations}.log"), repr(("flood", creations)),
                      lambda target: flood(target, creations))
        seconds, rss, out = run(measure, [binary, "replay", "--format", "text", path], 1)
        peaks.append(rss)
        print(f"flood: {creations:9d} creations, {count(out, 'alerts'):9d} alerts, {os.path.getsize(path) >> 20:5d} MiB log: "
              f"{seconds:6.2f}s, peak RSS {rss:5.1f} MiB")
    print(f"flood: peak RSS ratio 1,000,000 / 200,000 = {peaks[1] / peaks[0]:.2f} (target <= 1.25) "
          f"{verdict(peaks[1] / peaks[0] <= 1.25)}, largest {peaks[1]:.1f} MiB (target < 64) {verdict(peaks[1] < 64)}")


def directories_mode(args, binary, walker, measure):
    """--directories: replay against bare libauparse on a log whose every event teaches a
    directory (the table that replay's two threads share by copying), and peak RSS."""
    creations = 200_000
    path = ensure(os.path.join(args.work, f"directories-{creations}.log"), repr(("directories", creations)),
                  lambda target: directories(target, creations))
    a, a_rss, _ = run(measure, [walker, path], args.repeat)
    b, b_rss, out = run(measure, [binary, "replay", path], args.repeat)
    print(f"directories: {creations} creations in as many directories, {os.path.getsize(path) >> 20} MiB, "
          f"{count(out, 'file events')} file events: (a) bare {a:.2f}s {a_rss:.1f} MiB, (b) replay {b:.2f}s "
          f"{b_rss:.1f} MiB, b/a {b / a:.2f}; peak RSS (target < 64 MiB) {verdict(b_rss < 64)}")


def cost(measure, command, counter, repeat):
    """What `command` costs: instructions (callgrind) or best wall seconds of `repeat`;
    and its output."""
    if counter == "instructions":
        _, _, text = run(measure, ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + command, 1)
        return int(re.search(r"Collected : (\d+)", text).group(1)), text
    seconds, _, text = run(measure, command, repeat)
    return seconds, text


def waiting_mode(args, binary, measure):
    """--waiting: the cost per block of the last nine tenths against the first tenth's,
    and, for reference, against the control log's, where nothing waits."""
    blocks = args.waiting_events
    tenth = blocks // 10
    empty = os.path.join(args.work, "empty.log")
    open(empty, "wb").close()

    def log(n, awaited=True):
        name = f"waiting-{n}.log" if awaited else f"waiting-control-{n}.log"
        return ensure(os.path.join(args.work, name), repr(("waiting", n, awaited)),
                      lambda target: waiting(target, n, awaited))

    logs = [("empty", 0, empty), ("first tenth", tenth, log(tenth)), ("whole", blocks, log(blocks)),
            ("control", blocks, log(blocks, awaited=False))]
    costs, summaries = [], []
    for label, n, path in logs:
        print(f"replay on the {label} log ({args.counter}) ...", file=sys.stderr)
        figure, text = cost(measure, [binary, "replay", path], args.counter, args.repeat)
        costs.append(figure)
        summaries.append(re.findall(r"\d+ file events \([^)]*\)", text)[-1])
    empty_cost, tenth_cost, whole_cost, control_cost = costs
    if args.counter == "instructions":
        unit, shown, per_block, scale = "instructions", ",.0f", "instructions", 1
    else:
        unit, shown, per_block, scale = f"seconds (best of {args.repeat})", ".3f", "µs", 1e6
    first = (tenth_cost - empty_cost) / tenth * scale
    last = (whole_cost - tenth_cost) / (blocks - tenth) * scale
    control = (control_cost - empty_cost) / blocks * scale

    print(f"\nwaiting benchmark, {time.strftime('%Y-%m-%d')}, {unit}, {binary}")
    print(f"{'log':12} {'blocks':>8} {'MiB':>6} {'cost':>16}")
    for (label, n, path), figure in zip(logs, costs):
        print(f"{label:12} {n:8d} {os.path.getsize(path) / (1 << 20):6.1f} {figure:16{shown}}")
    print(f"whole: {summaries[2]}; control: {summaries[3]}")
    print(f"{per_block} per block: first tenth {first:,.1f}, last nine tenths {last:,.1f}, control (none waits) {control:,.1f}")
    print(f"waiting: last nine tenths / first tenth = {last / first:.2f} (target <= 1.20) {verdict(last / first <= 1.2)}")
    print(f"for reference: last nine tenths / control = {last / control:.2f}")


def never_ending(target, count):
    """Writes `count` events of one SYSCALL record each, all in one second of log time:
    none has an end record, none expires, so all but the regrouper's bound stay open."""
    with open(target, "wb") as out:
        for n in range(count):
            out.write(b"type=SYSCALL msg=audit(1800000000.000:%d): arch=c000003e syscall=2 success=no exit=-2 "
                      b"a0=0 a1=0 a2=0 a3=0 items=1 ppid=1 pid=%d auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 "
                      b"sgid=0 fsgid=0 tty=(none) ses=1 comm=\"x\" exe=\"/bin/x\" key=(null)\n" % (n + 1, n + 10))


def open_mode(args, binary, measure):
    """--open: the cost per event of events completed because too many are open, at
    150,000 and 300,000 never-ending events (100,000 stay open at most)."""
    seconds = []
    for events in (150_000, 300_000):
        path = ensure(os.path.join(args.work, f"open-{events}.log"), repr(("open", events)),
                      lambda target: never_ending(target, events))
        figure, _, _ = run(measure, [binary, "replay", path], args.repeat)
        seconds.append(figure)
        print(f"open: {events:7d} never-ending events: {figure:6.2f}s")
    ratio = (seconds[1] - seconds[0]) / seconds[0]
    print(f"open: the second 150,000 cost {ratio:.2f} times the first (target <= 1.20) {verdict(ratio <= 1.2)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", help="the audisp-lkm to measure (default: build this repository's release binary)")
    parser.add_argument("--size-mb", type=int, default=110, help="size of each log (default 110)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each program (default 5)")
    parser.add_argument("--logs", default="modern,mixed,evasion", help="logs to time (default modern,mixed,evasion)")
    parser.add_argument("--work", default=os.path.join(ROOT, "bench-data"), help="where the logs go")
    parser.add_argument("--large", action="store_true", help="also run (b2) on a 1 GiB log")
    parser.add_argument("--flood", action="store_true", help="only the flood: peak RSS at 200,000 and 1,000,000 alerts")
    parser.add_argument("--waiting", action="store_true", help="only the waiting table: cost per event, first tenth and rest")
    parser.add_argument("--waiting-events", type=int, default=100_000, help="blocks of the --waiting log (default 100,000)")
    parser.add_argument("--open", action="store_true", help="only open events beyond the bound: cost per event at 150,000 and 300,000")
    parser.add_argument("--directories", action="store_true",
                        help="only a log whose every event teaches a directory: replay against bare libauparse, peak RSS")
    parser.add_argument("--pace", action="store_true",
                        help="the targets in instructions of each program's busiest thread (callgrind), on slices")
    parser.add_argument("--slice-mb", type=int, default=10, help="--pace: MiB of each log counted (default 10)")
    parser.add_argument("--counter", choices=("instructions", "wall"), default="instructions",
                        help="--waiting's cost: instructions (valgrind callgrind, default) or wall time")
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    binary, walker, measure = programs(args)
    if args.flood:
        flood_mode(args, binary, measure)
    elif args.waiting:
        waiting_mode(args, binary, measure)
    elif args.open:
        open_mode(args, binary, measure)
    elif args.directories:
        directories_mode(args, binary, walker, measure)
    elif args.pace:
        pace_mode(args, binary, walker)
    else:
        throughput(args, binary, walker, measure)
        if args.large:
            big = replicated(args.work, "modern-1g", [KERNEL_LOG, EVASION_LOG], 1 << 30)
            b, b_rss, b_out = run(measure, [binary, "replay", "--events", big], 1)
            print(f"large: {os.path.getsize(big) / (1 << 30):.2f} GiB modern log, {count(b_out, 'events')} events: "
                  f"(b2) {b:.2f}s, peak RSS {b_rss:.1f} MiB")


if __name__ == "__main__":
    main()
