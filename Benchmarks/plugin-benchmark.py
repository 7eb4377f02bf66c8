#!/usr/bin/env python3
"""Live plugin benchmark: audisp-lkm installed under the real auditd, under load.

Needs root, auditd running and audisp-lkm installed (./install.sh) with its default
syslog output, and rsyslog writing authpriv to /var/log/auth.log. Run by hand; not a test.

A background load of audit events that do not concern the rule runs at each rate given,
from a paced loop in an audited scratch directory, /var/tmp/lkm-bench: `write` opens
existing files for writing (skipped before libauparse), `create` creates and removes
files (each creation judged by its absolute names, outside the rule's places, and skipped
before libauparse too), `tables` and `known` see below. The alert cap is
lifted for the run (max_alerts = unlimited, restored after); meanwhile a probe creates a file in /etc/modprobe.d every 100 ms. It
reports, per rate:
  - alert latency, from the probe's system call (the kernel's event time, ms) to rsyslog's
    reception of the alert (its microsecond timestamp in auth.log): p50, p99, max;
  - the plugin's CPU use (utime+stime from /proc) as % of one core, and per 1,000 events/s;
  - its peak memory (VmHWM) and the records it dropped (its state report);
  - auditd's own plugin queue figures (auditd.state after SIGCONT) and whether auditd
    logged "queue to plugins is full".
The baseline for CPU is the same plugin idle over the same time.

With --tables (or `tables` in --load), a third load keeps the plugin's tables as full
as live use can: files made relative to a directory descriptor in fresh directories the
plugin does not know, many by short processes (cp) whose execs it must hold and then
parse (see TablesStep; an execve rule on this script's children is added for the run).
Live, the plugin never waits for a directory (it asks the file system, at most every
50 ms), so this is its worst case. Its CPU per 1,000 events/s is compared with the
`known` load's at the same rate, in the same run (target: within 1.2 times): the same
events, every file made in one directory the plugin knows. The tables' figures
(processes, directories, look-ups) are printed from the state report:
    Benchmarks/plugin-benchmark.py --tables --load create --rates 1000,4000

With --mounts, it instead measures what the mount rules of audit-rules/50-audisp-lkm.rules
cost a container host: 500 bind mounts and unmounts elsewhere, timed with the shipped
rules but those, then with all of them, and the records they made under the key (none
expected: they are filtered by the places' paths). Needs root and auditd, not the plugin.

With --flood, it instead creates 30,000 and then 150,000 files in /etc/modprobe.d (every one
an alert, the default cap withholding all but 25) and reports the plugin's resident and
peak memory after each stage, once it has processed them: no table may grow with a flood.
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time

SCRATCH = "/var/tmp/lkm-bench"
PROBES = "/etc/modprobe.d"
KEY = "lkm-bench"
AUTH_LOG = "/var/log/auth.log"
STATE = "/run/audisp-lkm.state"
SETTINGS = "/etc/audit/audisp-lkm.conf"


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def auditd_pid():
    return int(re.search(r"^pid (\d+)", sh("auditctl", "-s"), re.M).group(1))


def plugin_pid(name="audisp-lkm"):
    out = subprocess.run(["pgrep", "-x", "-P", str(auditd_pid()), name], capture_output=True, text=True).stdout
    if not out.strip():
        sys.exit(f"{name} is not running under auditd" + (": run ./install.sh first" if name == "audisp-lkm" else ""))
    return int(out.split()[0])


BASELINE_CONF = "/etc/audit/plugins.d/zz-lkm-bench-cat.conf"


def start_baseline():
    """The cheapest possible plugin, in the same run: cat, reading the same stream into
    /dev/null (auditd gives plugins its own stdout). Its CPU is what receiving auditd's
    records costs at all: one socket buffer per record, in the kernel."""
    with open(BASELINE_CONF, "w") as f:
        f.write("active = yes\ndirection = out\npath = /usr/bin/cat\ntype = always\nformat = string\n")
    os.chmod(BASELINE_CONF, 0o640)
    os.kill(auditd_pid(), 1)
    for _ in range(50):
        time.sleep(0.1)
        out = subprocess.run(["pgrep", "-x", "-P", str(auditd_pid()), "cat"], capture_output=True, text=True).stdout
        if out.strip():
            return int(out.split()[0])
    sys.exit("auditd did not start the baseline plugin (cat)")


def stop_baseline():
    if os.path.exists(BASELINE_CONF):
        os.unlink(BASELINE_CONF)
        os.kill(auditd_pid(), 1)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_kib(pid):
    return int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


def plugin_state(pid):
    os.kill(pid, 10)  # SIGUSR1
    time.sleep(0.3)
    return dict(line.split(" = ", 1) for line in open(STATE).read().splitlines() if " = " in line)


def auditd_state():
    os.kill(auditd_pid(), 18)  # SIGCONT
    time.sleep(0.3)
    for path in ("/var/run/auditd.state", "/run/audit/auditd.state"):
        if os.path.exists(path):
            return open(path).read()
    return ""


def write_step(n):
    """write: opens an existing file for writing (not a creation: skipped before libauparse)."""
    os.close(os.open(f"{SCRATCH}/f{n % 64}", os.O_WRONLY | os.O_TRUNC))
    return 1


def create_step(n):
    """create: creates a file, then removes it (both skipped before libauparse: the
    creation's absolute names are outside every place the rule covers)."""
    if n % 2 == 0:
        os.close(os.open(f"{SCRATCH}/f{n % 64}", os.O_CREAT | os.O_WRONLY, 0o600))
    else:
        os.unlink(f"{SCRATCH}/f{(n - 1) % 64}")
    return 1


class TablesStep:
    """tables: the worst case for the plugin's tables, live. Replay holds a file event
    whose directory it does not know until the stream names it; the plugin cannot wait,
    so it asks the file system (at most every 50 ms) and sends the event on, unresolved.
    What costs it most is therefore files in directories it does not know, made by
    processes it has not seen. Per directory, 8 events:
      - mkdir of a fresh directory by absolute path (skipped before libauparse: the
        directory stays unknown to the plugin);
      - `cp SRC DIR/`, a short process: its exec (held, then parsed because the process
        makes a file; audited by an execve rule on this script's children) and its
        creation, which coreutils 9 makes relative to a descriptor of DIR
        (openat(3, "src", O_CREAT|O_EXCL));
      - 5 creations relative to a descriptor of DIR (openat(dirfd, "tN", O_CREAT)),
    in 7 steps (the cp is one).
    Nothing is removed during the run (a removal is skipped, and would dilute the load);
    the whole scratch directory goes at the end.

    `fresh=False` is the `known` load, the baseline: the same events (the same mkdir, cp
    and descriptor creations, new names each time), but every file made in one directory
    the plugin has known since the first event, so that only the tables' pressure differs."""
    STEPS = 7

    def __init__(self, root, fresh=True):
        self.root = root
        self.fresh = fresh
        os.makedirs(root, exist_ok=True)
        self.source = f"{root}/src"
        open(self.source, "w").close()
        self.directory = self.path = None
        self.children = []
        self.failures = 0

    def __call__(self, i):
        phase = i % self.STEPS
        if phase == 0:
            self.reap(block=False)
            path = f"{self.root}/d{i // self.STEPS}"
            os.mkdir(path)
            if self.fresh or self.directory is None:
                if self.directory is not None:
                    os.close(self.directory)
                self.directory = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
                self.path = path
            return 1
        # In one directory the files need names of their own; fresh directories reuse them.
        name = f"{phase}" if self.fresh else f"{i}"
        if phase == 1:
            self.children.append(os.posix_spawn("/bin/cp", ["cp", self.source, f"{self.path}/c{name}"], {}))
            return 2
        os.close(os.open(f"t{name}", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=self.directory))
        return 1

    def reap(self, block=True):
        """Collects the finished cp processes (all of them when `block`), counting failures."""
        running = []
        for child in self.children:
            done, status = os.waitpid(child, 0 if block else os.WNOHANG)
            if done == 0:
                running.append(child)
            elif os.waitstatus_to_exitcode(status) != 0:
                self.failures += 1
        self.children = running

    def close(self):
        self.reap()
        if self.directory is not None:
            os.close(self.directory)


def make_step(kind, rate):
    """The step of load `kind` (write, create, tables; a tables load in a subtree of its own)."""
    if kind in ("tables", "known"):
        return TablesStep(f"{SCRATCH}/{kind}-{rate}", fresh=kind == "tables")
    return {"write": write_step, "create": create_step}[kind]


def load(step, rate, stop, counter):
    """Audited system calls in SCRATCH at `rate` events/s, in batches paced every 10 ms:
    `step(i)`, for i = 0, 1, ..., makes the next events and says how many."""
    per_tick = max(1, rate // 100)
    calls = made = 0
    next_tick = time.monotonic()
    while not stop.is_set():
        goal = made + per_tick
        while made < goal:
            made += step(calls)
            calls += 1
        counter[0] = made
        next_tick += 0.01
        delay = next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def probe(marker, stop, made):
    i = 0
    while not stop.is_set():
        path = f"{PROBES}/{marker}-{i}.conf"
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
        os.close(fd)
        made.append(path)
        i += 1
        time.sleep(0.1)


RSYSLOG_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)([+-]\d\d:\d\d)")


def latencies(marker, since_offset):
    from datetime import datetime
    result = []
    with open(AUTH_LOG, errors="replace") as f:
        f.seek(since_offset)
        for line in f:
            if marker not in line or "audisp-lkm[" not in line:
                continue
            stamp = RSYSLOG_STAMP.match(line)
            event = re.search(r"event_id=(\d+)\.(\d+):", line)
            if not stamp or not event:
                continue
            received = datetime.fromisoformat(stamp.group(1) + stamp.group(2)).timestamp()
            result.append(received - (int(event.group(1)) + int(event.group(2)) / 1000))
    return sorted(result)


def percentile(values, p):
    return values[min(len(values) - 1, int(len(values) * p / 100))] if values else float("nan")


def run(kind, rate, seconds, pid, baseline):
    """One row: `seconds` of load and probes. The last column of the table is auditd's
    deepest plugin queue since it started (so a jump shows the row that caused it)."""
    marker = f"lkmbench{int(time.time())}r{rate}"
    offset = os.path.getsize(AUTH_LOG)
    stop = threading.Event()
    counter = [0]
    made = []
    threads = [threading.Thread(target=probe, args=(marker, stop, made))]
    step = make_step(kind, rate) if rate else None
    if step:
        threads.append(threading.Thread(target=load, args=(step, rate, stop, counter)))
    cpu0, base0, t0 = cpu_seconds(pid), cpu_seconds(baseline), time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(pid) - cpu0
    base = cpu_seconds(baseline) - base0
    try:
        if hasattr(step, "close"):
            step.close()
        time.sleep(1)
        found = latencies(marker, offset)
    finally:
        # The probes go whatever failed: they are files in /etc/modprobe.d.
        for path in made:
            os.unlink(path)
    achieved = counter[0] / elapsed
    return {
        "rate": achieved, "cpu_percent": 100 * cpu / elapsed, "base_percent": 100 * base / elapsed,
        "probes": len(made), "alerts": len(found),
        "p50_ms": 1000 * percentile(found, 50), "p99_ms": 1000 * percentile(found, 99),
        "max_ms": 1000 * (found[-1] if found else float("nan")),
        "failures": getattr(step, "failures", 0),
    }


def tables_note(kind, rate, before, after, failures):
    """What a tables or known row did to the plugin's tables, from its state reports around it."""
    grew = {key: int(after.get(key, 0)) - int(before.get(key, 0))
            for key in ("parsed_events", "file_events", "unresolved_paths", "directory_lookups")}
    return (f"{kind} {rate}/s: parsed events +{grew['parsed_events']}, file events +{grew['file_events']} "
            f"({grew['unresolved_paths']} unresolved), file system look-ups +{grew['directory_lookups']}; "
            f"known processes {after.get('known_processes')}, known directories {after.get('known_directories')}; "
            f"cp failures {failures}")


def against_known(per_thousand):
    """The tables load's CPU per 1,000 events/s against the known load's (the same events
    in a directory the plugin knows), rate by rate."""
    lines = []
    for (kind, rate), tables in per_thousand.items():
        known = per_thousand.get(("known", rate))
        if kind == "tables" and known:
            lines.append(f"tables / known, CPU per 1,000 events/s at {rate}/s: {tables / known:.2f} (target <= 1.20) "
                         f"{'PASS' if tables / known <= 1.2 else 'MISS'}")
    return lines


def flood(pid, stages):
    """Alerting creations in PROBES up to each total in `stages`; memory after each."""
    marker = f"lkmflood{int(time.time())}"
    made = []
    base = int(plugin_state(pid)["file_events"])
    rows = []
    try:
        for total in stages:
            while len(made) < total:
                path = f"{PROBES}/{marker}-{len(made)}.conf"
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
                made.append(path)
            deadline = time.monotonic() + 120
            while int(plugin_state(pid)["file_events"]) < base + total and time.monotonic() < deadline:
                time.sleep(1)
            state = plugin_state(pid)
            status = open(f"/proc/{pid}/status").read()
            rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
            rows.append((total, int(state["file_events"]) - base, rss, peak_memory_kib(pid) / 1024,
                         state.get("alerted_identities"), state.get("known_directories"), state.get("alerts_withheld_by_cap")))
    finally:
        for path in made:
            os.unlink(path)
    print(f"{'created':>9} {'seen':>9} {'RSS MiB':>8} {'peak MiB':>9} {'identities':>10} {'directories':>11} {'withheld':>9}")
    for total, seen, rss, peak, identities, directories, withheld in rows:
        print(f"{total:9d} {seen:9d} {rss:8.1f} {peak:9.1f} {identities:>10} {directories:>11} {withheld:>9}")
    print(f"peak ratio {rows[-1][3] / rows[0][3]:.2f} (target <= 1.25)")


def mounts(count=500):
    """A container host's pattern: bind mounts started and stopped in a loop, elsewhere."""
    rules = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "audit-rules/50-audisp-lkm.rules")
    work = "/var/tmp/lkm-bench-mounts"
    os.makedirs(f"{work}/src", exist_ok=True)
    os.makedirs(f"{work}/dst", exist_ok=True)

    def loop():
        started = time.monotonic()
        for _ in range(count):
            subprocess.run(["mount", "--bind", f"{work}/src", f"{work}/dst"], check=True)
            subprocess.run(["umount", f"{work}/dst"], check=True)
        return time.monotonic() - started

    def keyed_records(since):
        out = subprocess.run(["ausearch", "--raw", "-k", "audisp-lkm", "-m", "SYSCALL", "--start", since],
                             capture_output=True, text=True).stdout
        return sum(1 for line in out.splitlines() if " syscall=165 " in line or " syscall=429 " in line)

    base = f"{work}/base.rules"
    with open(rules) as f, open(base, "w") as out:
        out.writelines(line for line in f if "-S mount" not in line)
    try:
        subprocess.run(["auditctl", "-D", "-k", "audisp-lkm"], capture_output=True)
        subprocess.run(["auditctl", "-R", base], check=True, capture_output=True)
        without = min(loop() for _ in range(3))
        subprocess.run(["auditctl", "-D", "-k", "audisp-lkm"], capture_output=True)
        subprocess.run(["auditctl", "-R", rules], check=True, capture_output=True)
        since = time.strftime("%H:%M:%S")
        with_rules = min(loop() for _ in range(3))
        time.sleep(1)
        records = keyed_records(since)
    finally:
        subprocess.run(["auditctl", "-D", "-k", "audisp-lkm"], capture_output=True)
        subprocess.run(["rm", "-rf", work])
    print(f"{count} bind mounts and unmounts elsewhere: {without:.2f} s without the mount rules, {with_rules:.2f} s with them "
          f"({100 * (with_rules - without) / without:+.1f} %); mount records under the key: {records}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="1000,4000", help="background events/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--load", default="write,create", help="write, create, known, tables, comma-separated (see the steps)")
    parser.add_argument("--tables", action="store_true",
                        help="add the tables load (TablesStep) and the known load it is compared with")
    parser.add_argument("--mounts", action="store_true", help="only the cost of the mount rules (no plugin needed)")
    parser.add_argument("--flood", action="store_true", help="only the flood: memory after 30,000 and 150,000 alerts")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")
    if args.mounts:
        mounts()
        return
    pid = plugin_pid()
    if args.flood:
        made_probe_dir = not os.path.isdir(PROBES)
        os.makedirs(PROBES, exist_ok=True)
        try:
            flood(pid, (30_000, 150_000))
        finally:
            if made_probe_dir:
                os.rmdir(PROBES)
        return
    os.makedirs(SCRATCH, exist_ok=True)
    made_probe_dir = not os.path.isdir(PROBES)
    os.makedirs(PROBES, exist_ok=True)
    sh("auditctl", "-a", "always,exit", "-F", "arch=b64", "-F", f"dir={SCRATCH}", "-F", "perm=wa", "-k", KEY)
    loads = args.load.split(",")
    if args.tables:
        loads += [kind for kind in ("known", "tables") if kind not in loads]
    if "tables" in loads or "known" in loads:
        # The tables load's short processes (cp) are this script's children: their execs.
        sh("auditctl", "-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-F", f"ppid={os.getpid()}", "-k", KEY)
    # The probes raise 10 alerts a second: lift the alert cap (per group and ceiling) meanwhile.
    settings = open(SETTINGS).read()
    with open(SETTINGS, "w") as f:
        f.write(re.sub(r"(?m)^(max_alerts|alert_ceiling)\s*=.*$", "", settings)
                + "\nmax_alerts = unlimited\nalert_ceiling = unlimited\n")
    os.kill(pid, 1)  # SIGHUP
    time.sleep(0.5)
    try:
        baseline = start_baseline()
        runs = [("idle", 0)] + [(kind, int(rate)) for kind in loads for rate in args.rates.split(",")]
        per_thousand, notes = {}, []
        state0 = plugin_state(pid)
        print(f"plugin pid {pid}; {args.seconds:.0f} s per run; a probe file every 100 ms")
        print(f"{'load':>6} {'events/s':>9} {'cpu %':>6} {'%/1k ev/s':>9} {'cat %':>6} {'ratio':>5} {'probes':>6} {'alerts':>6} "
              f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'auditd q':>8}")
        for kind, rate in runs:
            for i in range(64):
                path = f"{SCRATCH}/f{i}"
                if kind == "create" and os.path.exists(path):
                    os.unlink(path)
                elif kind == "write" and not os.path.exists(path):
                    open(path, "w").close()
            before = plugin_state(pid) if kind in ("tables", "known") else None
            r = run(kind, rate, args.seconds, pid, baseline)
            per_k = per_thousand[kind, rate] = r["cpu_percent"] / (r["rate"] / 1000) if r["rate"] else float("nan")
            ratio = r["cpu_percent"] / r["base_percent"] if r["base_percent"] > 0 else float("nan")
            depth = re.search(r"max plugin queue depth used = (\d+)", auditd_state())
            print(f"{kind:>6} {r['rate']:9.0f} {r['cpu_percent']:6.2f} {per_k:9.3f} {r['base_percent']:6.2f} {ratio:5.1f} {r['probes']:6d} "
                  f"{r['alerts']:6d} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f} {r['max_ms']:7.1f} {depth.group(1) if depth else '?':>8}")
            if before:
                notes.append(tables_note(kind, rate, before, plugin_state(pid), r["failures"]))
        for note in notes + against_known(per_thousand):
            print(note)
        state = plugin_state(pid)
        print(f"peak memory (VmHWM): {peak_memory_kib(pid) / 1024:.1f} MiB")
        dropped = int(state.get("records_dropped_by_full_input_queue", 0)) - int(state0.get("records_dropped_by_full_input_queue", 0))
        print(f"records processed: {int(state['records']) - int(state0['records'])}; "
              f"records dropped by the plugin's full input queue: {dropped}; "
              f"input queue high water: {int(state.get('input_queue_high_water_bytes', 0)) / 1024:.0f} KiB")
        auditd = auditd_state()
        for line in auditd.splitlines():
            if "plugin queue" in line or "overflow" in line:
                print(f"auditd: {line.strip()}")
        full = subprocess.run(["grep", "-c", "queue to plugins is full", "/var/log/syslog"], capture_output=True, text=True).stdout.strip()
        print(f"auditd 'queue to plugins is full' messages in /var/log/syslog: {full or 0}")
    finally:
        stop_baseline()
        with open(SETTINGS, "w") as f:
            f.write(settings)
        os.kill(pid, 1)
        subprocess.run(["auditctl", "-D", "-k", KEY], capture_output=True)
        subprocess.run(["rm", "-rf", SCRATCH])
        if made_probe_dir:
            os.rmdir(PROBES)


if __name__ == "__main__":
    main()
