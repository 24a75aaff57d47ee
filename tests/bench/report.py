#!/usr/bin/env python3
"""report.py BUILD_DIR CAPSA - the table and bench.json of `make bench`.

Reads the measurements of the last runs (BUILD_DIR/bench-vm/log from
tests/bench/vm.sh, BUILD_DIR/bench-blk/log from tests/bench/blk.sh,
BUILD_DIR/bench-net/ehost.log from tests/bench/net.sh,
BUILD_DIR/bench-exec/log from tests/bench/exec.sh, BUILD_DIR/bench-fs/log
from tests/bench/fs.sh), adds
the static facts (binary sizes, seccomp filter sizes), prints one markdown
table on stdout and writes the same figures to BUILD_DIR/bench.json. A
bench.json already there is kept as bench-prev.json, and capsa's figures
are compared with it.

Ratios are capsa / QEMU. Times and memory: lower is better; throughput:
higher is better.
"""
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

B, CAPSA = sys.argv[1], sys.argv[2]


def median(v):
    return statistics.median(v) if v else None


def p90(v):
    """Nearest-rank 90th percentile."""
    if not v:
        return None
    s = sorted(v)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def kv(words):
    return dict(w.split("=", 1) for w in words if "=" in w)


def read_vm(path):
    """BENCH <metric> <side> key=value... -> {(metric, side): [dict, ...]}."""
    runs, env = {}, None
    if not os.path.exists(path):
        return runs, env
    for line in open(path, encoding="utf-8", errors="replace"):
        w = line.split()
        if len(w) < 3 or w[0] != "BENCH":
            continue
        if w[1] == "env":
            env = " ".join(w[2:])
            continue
        runs.setdefault((w[1], w[2]), []).append(kv(w[3:]))
    return runs, env


def read_blk(path):
    """blk.sh's "RESULT what capsa|qemu value unit" lines, one a run -> {what: ([capsa], [qemu])}."""
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"RESULT (\S+) (capsa|qemu) ([0-9.]+) *(IOPS|[kKMG]B/s)", line.strip())
        if m:
            v = float(m.group(3))
            v = v * 1000 if m.group(4) == "GB/s" else v / 1000 if m.group(4) in ("kB/s", "KB/s") else v
            out.setdefault(m.group(1), ([], []))[m.group(2) == "qemu"].append(v)
    return out


def read_net(path):
    """net.sh's "RESULT capsa|qemu G2H H2G" lines (MiB/s) -> {side: ([g2h], [h2g])}."""
    out = {"capsa": ([], []), "qemu": ([], [])}
    if os.path.exists(path):
        for line in open(path, encoding="utf-8", errors="replace"):
            w = line.replace("\r", "").split()
            if len(w) == 4 and w[0] == "RESULT" and w[1] in out:
                out[w[1]][0].append(float(w[2]) * 1.048576)
                out[w[1]][1].append(float(w[3]) * 1.048576)
    return out


def read_fs(path):
    """fs.sh's RESULT lines -> {what: (capsa, virtiofsd, 9p)}: ms, or MB/s for seq*."""
    out = {}
    if not os.path.exists(path):
        return out

    def num(s, seq):
        w = s.split()
        try:
            return float(w[1 if seq else 0])
        except (IndexError, ValueError):
            return None

    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"RESULT (\S+) capsa: (.*) \| virtiofsd: (.*) \| 9p: (.*)", line.strip())
        if m:
            seq = m.group(1).startswith("seq")
            out[m.group(1)] = tuple(num(m.group(i), seq) for i in (2, 3, 4))
    return out


def values(runs, metric, side, key, ok_status=True):
    out = []
    for r in runs.get((metric, side), []):
        if ok_status and r.get("status", "0") != "0":
            continue
        try:
            out.append(float(r[key]))
        except (KeyError, ValueError):
            pass
    return out


def failures(runs, metric, side):
    return sum(1 for r in runs.get((metric, side), []) if r.get("status", "0") != "0")


def tree_size(paths):
    return sum(os.path.getsize(p) for p in paths if os.path.exists(p))


def static_facts():
    facts = {"capsa_bytes": os.path.getsize(CAPSA)}
    with tempfile.TemporaryDirectory() as t:
        s = os.path.join(t, "capsa")
        subprocess.run(["strip", "-o", s, CAPSA], check=True)
        facts["capsa_stripped_bytes"] = os.path.getsize(s)
    chk = subprocess.run([CAPSA, "--check", "-v"], capture_output=True, text=True).stdout
    m = re.search(r"vmm filter (\d+) syscalls, vcpu filter (\d+)", chk)
    if m:
        facts["seccomp_vmm"], facts["seccomp_vcpu"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"share threads' filter \((\d+)", chk)
    if m:
        facts["seccomp_fs"] = int(m.group(1))
    qemu = shutil.which("qemu-system-x86_64")
    if qemu:
        libs = subprocess.run(["ldd", qemu], capture_output=True, text=True).stdout
        paths = set(re.findall(r"=> (/\S+)", libs)) | set(re.findall(r"^\s*(/lib\S+)", libs, re.M))
        facts["qemu_bytes"] = os.path.getsize(qemu)
        facts["qemu_libs_bytes"] = tree_size(os.path.realpath(p) for p in paths)
        facts["qemu_libs"] = len(paths)
    return facts


MIB = 1048576.0
rows = []   # dicts: name, unit, capsa, qemu, lower (bool or None), note, and raw runs


def row(name, unit, c, q, lower, note="", cruns=None, qruns=None, qlabel=None):
    rows.append({"metric": name, "unit": unit, "capsa": c, "qemu": q, "lower_is_better": lower,
                 "note": note, "capsa_runs": cruns, "qemu_runs": qruns, "qemu_label": qlabel})


def build_rows(runs, blk, net, fs, facts):
    # 1. Boot to exit of `true`.
    cb, qb = values(runs, "boot", "capsa", "wall_ms"), values(runs, "boot", "qemu", "wall_ms")
    n = f"{len(cb)} / {len(qb)} runs"
    fails = failures(runs, "boot", "capsa") + failures(runs, "boot", "qemu")
    if fails:
        n += f", {fails} failed runs left out"
    row("`true`: exec to exit, median", "ms", median(cb), median(qb), True, n, cb, qb)
    row("`true`: exec to exit, p90", "ms", p90(cb), p90(qb), True, n)
    row("`true`: exec to exit, min", "ms", min(cb) if cb else None, min(qb) if qb else None, True)
    # The stable breakdown: both with the kernel log on the serial port.
    cp, qp = runs.get(("phases", "capsa"), []), runs.get(("phases", "qemu"), [])
    nv = f"{len(cp)} / {len(qp)} runs with loglevel=7"
    row("verbose boot: VMM start to VM built", "ms",
        median(values(runs, "phases", "capsa", "built_ms")), None, True, nv + "; QEMU has no such mark")
    row("verbose boot: VMM start to guest init ready", "ms",
        median(values(runs, "phases", "capsa", "ready_ms")),
        median(values(runs, "phases", "qemu", "ready_ms")), True, nv)
    row("verbose boot: VMM start to exit status", "ms",
        median(values(runs, "phases", "capsa", "exit_ms")),
        median(values(runs, "phases", "qemu", "exit_ms")), True, nv)
    row("quiet boot: exec to guest init ready", "ms", None,
        median(values(runs, "boot", "qemu", "ready_ms")), True,
        "QEMU from vsockhost; capsa prints it only with -v")

    # The stable figure: instructions (callgrind).
    ci = [v / 1e6 for v in values(runs, "cg", "capsa", "total_ir")]
    qi = [v / 1e6 for v in values(runs, "cg", "qemu", "total_ir")]
    cs = [v / 1e6 for v in values(runs, "cg", "capsa", "setup_ir")]
    if ci or qi:
        spread = ", ".join(f"{v:.2f}" for v in ci) + " / " + ", ".join(f"{v:.2f}" for v in qi)
        row("`true`: instructions the VMM process executes (callgrind, all threads)", "M",
            median(ci), median(qi), True, f"stable figure; runs: {spread}; capsa with --jail off",
            ci, qi)
        row("capsa set-up path: exec to vm_start (callgrind)", "M", median(cs), None, True,
            "parse, build the VM, load kernel + initramfs; --jail off", cs)
    else:
        row("`true`: instructions the VMM process executes (callgrind)", "M", None, None, True,
            "not measured: valgrind not installed")

    # 2. Memory.
    def over(side):
        return [(float(r["hwm_kb"]) - float(r["guest_kb"])) / 1024
                for r in runs.get(("mem", side), [])
                if r.get("status") == "0" and r.get("guest_maps") == "1"]

    def mib(side, key):
        return median([v / 1024 for v in values(runs, "mem", side, key)])

    nm = f"median of {len(over('capsa'))} / {len(over('qemu'))} runs"
    row("VMM overhead: peak RSS - guest RAM touched", "MiB", median(over("capsa")),
        median(over("qemu")), True, nm, over("capsa"), over("qemu"))
    row("peak RSS (VmHWM)", "MiB", mib("capsa", "hwm_kb"), mib("qemu", "hwm_kb"), True, nm)
    row("guest RAM touched (Rss of the RAM mapping)", "MiB", mib("capsa", "guest_kb"),
        mib("qemu", "guest_kb"), True, nm)
    row("file-backed RSS at exit (binary, libraries)", "MiB", mib("capsa", "file_kb"),
        mib("qemu", "file_kb"), True, "capsa: includes its embedded kernel and initramfs")

    # 3. Output.
    def rate(metric, side, want=None):
        return [float(r["MBps"]) for r in runs.get((metric, side), [])
                if "MBps" in r and (want is None or r.get("bytes") == str(want))]

    co, qo = rate("out", "capsa"), rate("out", "qemu")
    mb = runs.get(("out", "capsa"), [{}])[0].get("bytes")
    size = f"{int(mb) // 1048576} MiB" if mb else "?"
    row(f"command output, `cat /dev/zero | head -c {size}` in the guest", "MB/s", median(co),
        median(qo), False, f"stdout over vsock; QEMU: vhost-vsock + vsockhost; {len(co)} / {len(qo)} runs",
        co, qo)
    cg, pg = rate("big", "capsa"), rate("big", "plain")
    bb = runs.get(("big", "plain"), [{}])[0].get("bytes")
    size = f"{int(bb) // 1048576} MiB" if bb else "?"
    row(f"`capsa -- cat /dev/zero | head -c {size}` vs the same pipe without capsa", "MB/s",
        median(cg), median(pg), False, f"QEMU column: plain `cat /dev/zero` on the host; "
        f"{len(cg)} / {len(pg)} runs", cg, pg, qlabel="plain pipe")

    # 4. vsock.
    for metric, what in (("vsock_in", "host to guest"), ("vsock_out", "guest to host")):
        c, q = rate(metric, "capsa"), rate(metric, "qemu")
        row(f"vsock stream, {what}", "MB/s", median(c), median(q), False,
            f"capsa: unix bridge (--vsock); QEMU: vhost-vsock, AF_VSOCK; {len(c)} / {len(q)} runs", c, q)

    # 5. Disk (tests/bench/blk.sh, alternating rounds).
    names = {"seqwrite": ("disk sequential write, 1 MiB O_DIRECT", "MB/s"),
             "seqread": ("disk sequential read, 1 MiB O_DIRECT", "MB/s"),
             "randread1": ("disk 4 KiB random read, 1 thread", "IOPS"),
             "randread4": ("disk 4 KiB random read, 4 threads", "IOPS")}
    for k, (name, unit) in names.items():
        c, q = blk.get(k, ([], []))
        row(name, unit, median(c), median(q), False, f"tests/bench/blk.sh; {len(c)} / {len(q)} runs"
            if c or q else "not measured (bench-blk failed or did not run)", c, q)

    # 6. Network.
    for i, what in ((0, "guest to host"), (1, "host to guest")):
        c, q = net["capsa"][i], net["qemu"][i]
        row(f"network, TCP over a tap, {what}", "MB/s", median(c), median(q), False,
            f"busybox nc; QEMU: virtio-net-device, vhost=off; {len(c)} / {len(q)} runs"
            if c or q else "not measured (bench-net failed or did not run)", c, q)

    # 7. capsa exec beside a boot, in the same run (tests/bench/exec.sh).
    ce, cb = values(runs, "exec", "capsa", "wall_ms"), values(runs, "exec_boot", "capsa", "wall_ms")
    row("`capsa exec PATH -- true`, median", "ms", median(ce), median(cb), True,
        f"beside `capsa -- true` in the same run; {len(ce)} execs / {len(cb)} boots"
        if ce else "not measured (bench-exec failed or did not run)", ce, cb,
        qlabel="`capsa -- true`")

    # 8. Shared directories (tests/bench/fs.sh, one run each): QEMU with virtiofsd, then 9p.
    names = {"python": ("shares: `python3 -c 'import json, email, asyncio'`, directory root, cold", "ms"),
             "find": ("shares: `find | wc -l`, 20,000-file tree", "ms"),
             "gitstatus": ("shares: `git status`, 20,000-file tree", "ms"),
             "files": ("shares: create + stat + unlink 10,000 small files", "ms"),
             "seqwrite": ("shares: sequential write 256 MiB, 1 MiB writes + fsync", "MB/s"),
             "seqread": ("shares: sequential read 256 MiB, cold guest cache", "MB/s")}
    for k, (name, unit) in names.items():
        c, v, p = fs.get(k, (None, None, None))
        note = "tests/bench/fs.sh, 1 run each" if k in fs else "not measured (bench-fs did not run)"
        row(name, unit, c, v, unit == "ms", note + "; QEMU: vhost-user-fs + virtiofsd")
        row(name + " (vs 9p)", unit, c, p, unit == "ms", note, qlabel="QEMU 9p")

    # 9. Static facts.
    f = facts
    qtotal = f.get("qemu_bytes", 0) + f.get("qemu_libs_bytes", 0)
    row("binary size as built (capsa: with guest kernel + initramfs)", "MiB",
        f["capsa_bytes"] / MIB, qtotal / MIB if qtotal else None, True,
        f"QEMU: qemu-system-x86_64 + its {f.get('qemu_libs', '?')} shared libraries, no guest kernel")
    row("binary size stripped", "MiB", f["capsa_stripped_bytes"] / MIB,
        f.get("qemu_bytes", 0) / MIB or None, True, "QEMU: qemu-system-x86_64 alone (Debian, stripped)")
    row("seccomp: syscalls the VMM thread filter allows", "", f.get("seccomp_vmm"), None, True,
        "QEMU: no allowlist by default (-sandbox on is a denylist)")
    row("seccomp: syscalls the vCPU thread filter allows", "", f.get("seccomp_vcpu"), None, True)
    row("seccomp: syscalls the share threads' filter allows", "", f.get("seccomp_fs"), None, True,
        "only with --share or --rootfs DIR")


def fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("", "IOPS") or (unit == "ms" and v >= 100):
        return f"{v:.0f}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def verdict(r):
    c, q, lower = r["capsa"], r["qemu"], r["lower_is_better"]
    if c is None or q is None or not q:
        return None, ""
    ratio = c / q
    if abs(ratio - 1) < 0.03:
        return ratio, "even"
    better = (ratio < 1) == lower
    side = "capsa" if better else (r["qemu_label"] or "QEMU")
    return ratio, side


def goals():
    def get(name):
        return next((r for r in rows if r["metric"].startswith(name)), None)

    out = []
    b = get("`true`: exec to exit, median")
    if b and b["capsa"] and b["qemu"]:
        out.append(("`capsa -- true` at most half of QEMU microvm's time",
                    f"{b['capsa'] / b['qemu']:.2f}x", b["capsa"] <= b["qemu"] / 2))
    m = get("VMM overhead")
    if m and m["capsa"] is not None:
        out.append(("VMM overhead under 3 MiB", f"{m['capsa']:.1f} MiB", m["capsa"] < 3))
    e = get("`capsa exec PATH -- true`")
    if e and e["capsa"] and e["qemu"]:
        out.append(("an exec costs at most 5% of a boot", f"{100 * e['capsa'] / e['qemu']:.1f}%",
                    e["capsa"] <= 0.05 * e["qemu"]))
    out.append(("binary under 8 MiB", f"{rows_by('binary size as built')['capsa']:.1f} MiB",
                rows_by("binary size as built")["capsa"] < 8))
    io = [r for r in rows if r["unit"] in ("MB/s", "IOPS") and r["capsa"] is not None
          and r["qemu"] and not r["qemu_label"]]
    if io:
        below = [r["metric"] for r in io if r["capsa"] < r["qemu"] * 0.97]
        out.append(("I/O at or above QEMU's throughput",
                    f"{len(io) - len(below)} of {len(io)} figures" +
                    (f"; below: {', '.join(below)}" if below else ""), not below))
    return out


def rows_by(prefix):
    return next(r for r in rows if r["metric"].startswith(prefix))


def main():
    runs, env = read_vm(os.path.join(B, "bench-vm", "log"))
    runs.update(read_vm(os.path.join(B, "bench-exec", "log"))[0])
    blk = read_blk(os.path.join(B, "bench-blk", "log"))
    net = read_net(os.path.join(B, "bench-net", "ehost.log"))
    fs = read_fs(os.path.join(B, "bench-fs", "log"))
    facts = static_facts()
    build_rows(runs, blk, net, fs, facts)
    where = {"emulated": "the emulated KVM host (QEMU TCG + nested SVM, Debian cloud kernel "
             + (env.split()[1] if env and len(env.split()) > 1 else "?") + ")",
             "direct": "this machine's KVM"}.get((env or "").split(" ")[0], "unknown (no bench-vm log)")
    print(f"\n## capsa vs QEMU microvm ({time.strftime('%Y-%m-%d %H:%M')}, {where})\n")
    print("Same guest kernel, initramfs and init, "
          "same memory and vCPUs. Ratio = capsa / QEMU.")
    if env and env.startswith("emulated"):
        print("Absolute figures in the emulated host are far below real hardware: "
              "compare the columns, not the numbers.")
    print()
    print("| metric | unit | capsa | QEMU | ratio | better | notes |")
    print("|---|---|---:|---:|---:|---|---|")
    for r in rows:
        ratio, side = verdict(r)
        r["ratio"], r["better"] = ratio, side
        q = fmt(r["qemu"], r["unit"])
        if r["qemu_label"] and r["qemu"] is not None:
            q = f"{r['qemu_label']}: {q}"
        name = r["metric"].replace("|", "\\|")
        print(f"| {name} | {r['unit']} | {fmt(r['capsa'], r['unit'])} | {q} | "
              f"{'-' if ratio is None else f'{ratio:.2f}'} | {side} | {r['note']} |")
    print("\nGoals (not tests):\n")
    g = goals()
    for name, got, met in g:
        print(f"- {name}: {got}: {'met' if met else 'NOT met'}")

    path = os.path.join(B, "bench.json")
    prev = None
    if os.path.exists(path):
        try:
            prev = json.load(open(path))
            shutil.copy(path, os.path.join(B, "bench-prev.json"))
        except (OSError, ValueError):
            prev = None
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S"), "commit": commit, "environment": where,
           "ratio": "capsa / qemu", "metrics": rows, "static": facts,
           "goals": [{"goal": n, "value": v, "met": m} for n, v, m in g]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"\nFigures and every run: {path}")
    if prev:
        old = {r["metric"]: r for r in prev.get("metrics", [])}
        lines = []
        for r in rows:
            o = old.get(r["metric"])
            if o and o.get("capsa") and r["capsa"] is not None:
                lines.append(f"- {r['metric']}: {fmt(o['capsa'], r['unit'])} -> "
                             f"{fmt(r['capsa'], r['unit'])} {r['unit']} "
                             f"({r['capsa'] / o['capsa']:.2f}x; QEMU {fmt(o.get('qemu'), r['unit'])}"
                             f" -> {fmt(r['qemu'], r['unit'])})")
        if lines:
            print(f"\ncapsa since the previous run ({prev.get('date')}, {prev.get('commit')}):\n")
            print("\n".join(lines))


main()
