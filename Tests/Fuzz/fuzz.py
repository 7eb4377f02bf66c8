#!/usr/bin/env python3
"""Hostile-input fuzz harness for the offline commands (run by hand; a short run is in CI).

Each round builds one hostile input and runs the commands that read it, each under a
timeout and a memory limit:
  - a log: a kernel fixture or a corpus file, mutated (bytes flipped, lines repeated or
    cut, control bytes planted in node= names, ENRICHED names and paths, timestamps and
    record counts pushed to extremes), read by `replay` (JSON, `--events`, `--explain`
    in JSON) and by `report` in every format;
  - a rule file: TOML nested deep, keys by the thousand, queries nested deep, strings
    broken, read by `replay --rule`;
  - a tree: a root with links out of it (absolute and `../`), loops, FIFOs, sparse large
    files, names that are not UTF-8, read by `inventory --root` (a secret outside the
    root must never appear, and the tree must not change).
It reports crashes (a signal), hangs (the timeout), memory peaks (past the limit, or
the peak seen), invalid JSON, CSV or HTML, raw control bytes in text, CSV or HTML, and an
exit status other than 0 or 2. Exit status 1 when anything was found.

  Tests/Fuzz/fuzz.py --binary .build/release/audisp-lkm --seconds 600 --seed 7
"""
import argparse
import csv
import html.parser
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTROL = bytes(b for b in range(32) if b not in (9, 10, 13))


def sources():
    """The logs mutated: the kernel fixtures and, beside the clone, the shared corpus."""
    found = [os.path.join(ROOT, "Tests/Fixtures/kernel", name) for name in ("x86_64-i386.log", "evasion.log")]
    found += [os.path.join(ROOT, "Tests/Fixtures/kernel/report", name) for name in ("audit.log", "audit.log.1")]
    corpus = os.path.join(os.path.dirname(ROOT), "shared", "corpus")
    for directory, _, files in os.walk(corpus):
        found += [os.path.join(directory, f) for f in files if f not in ("SOURCES.md", "corpus-stats.json")]
    return found


def mutate_log(rng, data):
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 8)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        kind = rng.randrange(8)
        if kind == 0:                                     # flip bytes
            line = bytearray(lines[i])
            for _ in range(rng.randint(1, 4)):
                if line:
                    line[rng.randrange(len(line))] = rng.randrange(256)
            lines[i] = bytes(line)
        elif kind == 1:                                   # cut
            lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]
        elif kind == 2:                                   # one record repeated (an event bomb)
            lines[i + 1:i + 1] = [lines[i]] * rng.choice((10, 1000, 20000))
        elif kind == 3:                                   # control bytes in a node= name
            lines[i] = b"node=h" + bytes(rng.choice(CONTROL) for _ in range(3)) + b"x " + lines[i]
        elif kind == 4:                                   # control bytes in an ENRICHED name
            lines[i] = lines[i].replace(b'UID="root"', b'UID="r\x1b[2J\x07\x0b"', 1) + b"\x1dAUID=\"a\x1b]0;t\x07\""
        elif kind == 5:                                   # extreme timestamps and serials
            lines[i] = lines[i].replace(b"msg=audit(", rng.choice((b"msg=audit(99999999999999999999", b"msg=audit(-",
                                                                    b"msg=audit(0.999999999:18446744073709551615")), 1)
        elif kind == 6:                                   # items= lies
            lines[i] = lines[i].replace(b"items=", b"items=4294967295 x=", 1)
        else:                                             # a name made hex with control bytes
            lines[i] = lines[i].replace(b'name="', b'name=1B5D303B07' + b'"', 1)
    return b"\n".join(lines)


def hostile_toml(rng):
    kind = rng.randrange(5)
    if kind == 0:
        n = rng.choice((40, 3000, 30000))
        return "a = " + "[" * n + "]" * n
    if kind == 1:
        return "[" + "t." * rng.choice((40, 30000)) + "t]\nx = 1\n"
    if kind == 2:
        return "[rule]\n" + "".join(f"k{i} = {i}\n" for i in range(rng.choice((100, 20000))))
    query = "file where " + rng.choice(("not " * rng.choice((70, 9000)) + 'process.name == "x"',
                                        "(" * 30000 + 'process.name == "x"' + ")" * 30000,
                                        'file.path like~ "' + "\x1b" * 10 + '"'))
    if kind == 3:
        return ("[rule]\nname = 'x'\nrule_id = 'x'\ndescription = 'x'\nrisk_score = 1\nseverity = 'low'\n"
                "type = 'eql'\nlanguage = 'eql'\nquery = '''\n" + query + "\n'''\n")
    return '[rule]\nname = "' + "\\u0000" * 10 + '\nbroken = [1, 2\n'


def hostile_tree(rng, root, outside):
    os.makedirs(os.path.join(root, "etc/modprobe.d"))
    os.makedirs(os.path.join(root, "etc/modules-load.d"))
    d = os.path.join(root, "etc/modprobe.d")
    with open(os.path.join(outside, "secret.conf"), "w") as f:
        f.write("install usb-storage /tmp/FUZZSECRET\n")
    choices = [
        lambda: os.symlink(os.path.join(outside, "secret.conf"), os.path.join(d, "abs.conf")),
        lambda: os.symlink("../../../" + os.path.basename(outside) + "/secret.conf", os.path.join(d, "rel.conf")),
        lambda: os.symlink("loop.conf", os.path.join(d, "loop.conf")),
        lambda: os.symlink(outside, os.path.join(root, "etc/modules-load.d/dir.conf")),
        lambda: os.mkfifo(os.path.join(d, "fifo.conf")),
        lambda: os.truncate(open(os.path.join(d, "sparse.conf"), "w").name, 70 << 20),
        lambda: open(os.path.join(d.encode(), b"n\xff\xfe.conf"), "w").write("install cramfs /bin/false\n"),
        lambda: open(os.path.join(d, "many.conf"), "w").write("".join(f"install m{i}* /bin/false\n" for i in range(3000))),
        lambda: os.symlink(os.path.join(outside, "secret.conf"), os.path.join(root, "etc/modules")),
    ]
    for make in rng.sample(choices, rng.randint(2, len(choices))):
        make()


class HTMLCheck(html.parser.HTMLParser):
    def error(self, message):
        raise ValueError(message)


def check(output, kind):
    """What is wrong with `output` of format `kind` (json, csv, html, text), or None."""
    if kind == "json":
        for line in output.splitlines():
            try:
                json.loads(line)
            except ValueError as error:
                return f"invalid JSON: {error}: {line[:120]!r}"
        return None
    if any(b in CONTROL for b in output):
        return f"raw control byte in {kind}"
    text = output.decode("utf-8", errors="strict") if kind != "text" else None
    if kind == "csv":
        list(csv.reader(io.StringIO(text)))
    elif kind == "html":
        HTMLCheck().feed(text)
    return None


def run(binary, arguments, kind, timeout, memory, findings, label, input_bytes=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    start = time.monotonic()
    try:
        done = subprocess.run([binary] + arguments, input=input_bytes, capture_output=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        findings.append(f"{label}: hang (over {timeout} s): {' '.join(arguments)[:200]}")
        return None
    if done.returncode < 0:
        findings.append(f"{label}: crash (signal {-done.returncode}): {' '.join(arguments)[:200]}: {done.stderr[-300:]!r}")
    elif done.returncode not in (0, 2):
        findings.append(f"{label}: exit {done.returncode}: {done.stderr[-300:]!r}")
    elif done.returncode == 0 and kind:
        try:
            problem = check(done.stdout, kind)
        except (ValueError, UnicodeDecodeError, csv.Error) as error:
            problem = f"unreadable {kind}: {error}"
        if problem:
            findings.append(f"{label}: {problem}: {' '.join(arguments)[:200]}")
    return time.monotonic() - start, done


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--seconds", type=float, default=60, help="how long to fuzz (default 60)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=20, help="per run (default 20 s)")
    parser.add_argument("--memory-mib", type=int, default=1024, help="address space per run (default 1024 MiB)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    logs = sources()
    findings, runs = [], 0
    memory = args.memory_mib << 20
    deadline = time.monotonic() + args.seconds
    work = tempfile.mkdtemp(prefix="audisp-lkm-fuzz-")
    try:
        while time.monotonic() < deadline:
            round_dir = tempfile.mkdtemp(dir=work)
            choice = rng.randrange(10)
            if choice < 6:
                source = rng.choice(logs)
                with open(source, "rb") as f:
                    data = f.read(4 << 20)
                if source.endswith(".gz"):
                    continue
                log = os.path.join(round_dir, "audit.log")
                with open(log, "wb") as f:
                    f.write(mutate_log(rng, data))
                label = f"log {os.path.basename(source)} (seed {seed})"
                for arguments, kind in ((["replay", log], "json"), (["replay", "--events", log], "json"),
                                        (["replay", "--explain", "--format", "json", log], "json"),
                                        (["report", "--format", rng.choice(("text", "csv", "html", "json")), log], None)):
                    if arguments[0] == "report":
                        kind = arguments[2]
                    run(args.binary, arguments, kind, args.timeout, memory, findings, label)
                    runs += 1
            elif choice < 8:
                rule = os.path.join(round_dir, "rule.toml")
                with open(rule, "w") as f:
                    f.write(hostile_toml(rng))
                run(args.binary, ["replay", "--rule", rule, "/dev/null"], "json", args.timeout, memory, findings,
                    f"rule (seed {seed})")
                run(args.binary, ["inventory", "--root", round_dir, "--profile", rule], None, args.timeout, memory, findings,
                    f"profile (seed {seed})")
                runs += 2
            else:
                root, outside = os.path.join(round_dir, "root"), os.path.join(round_dir, "outside")
                os.makedirs(outside)
                hostile_tree(rng, root, outside)
                before = sorted((p, os.lstat(os.path.join(p, n)).st_mtime) for p, ds, fs in os.walk(root) for n in ds + fs)
                for fmt in ("text", "json", "csv", "html"):
                    result = run(args.binary, ["inventory", "--root", root, "--format", fmt], fmt, args.timeout, memory,
                                 findings, f"tree (seed {seed})")
                    runs += 1
                    if result and b"FUZZSECRET" in result[1].stdout:
                        findings.append(f"tree (seed {seed}): read outside the root ({fmt})")
                after = sorted((p, os.lstat(os.path.join(p, n)).st_mtime) for p, ds, fs in os.walk(root) for n in ds + fs)
                if after != before:
                    findings.append(f"tree (seed {seed}): the root changed")
            shutil.rmtree(round_dir, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for finding in findings:
        print(finding)
    print(f"fuzz: seed {seed}, {runs} runs, {len(findings)} findings, largest peak RSS {peak:.0f} MiB")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
