#!/usr/bin/env python3
"""oci-config.py SECCOMP_JSON CONTAINERS_CONF OUT - an OCI runtime config
as Podman would write it for `podman run --device /dev/kvm --network none`
(rootful): its default mounts, namespaces, masked and read-only paths, the
default capabilities of containers.conf, and its seccomp profile
(containers-common's seccomp.json) resolved the way Podman resolves it for
those capabilities on x86-64. process.args is the placeholder "@ARGS@",
which tests/vm/t_container.sh replaces.
"""
import json
import re
import sys

ARCH = "amd64"


def default_caps(conf):
    """The default_capabilities list of containers.conf, as CAP_ names."""
    m = re.search(r"^default_capabilities\s*=\s*\[(.*?)\]", conf, re.S | re.M)
    if not m:
        sys.exit("oci-config: no default_capabilities in containers.conf")
    return ["CAP_" + c for c in re.findall(r'"([A-Z_]+)"', m.group(1))]


def applies(rule, caps):
    """Podman's reading of a rule's includes and excludes."""
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and ARCH not in inc["arches"]:
        return False
    if inc.get("caps") and not all(c in caps for c in inc["caps"]):
        return False
    if exc.get("arches") and ARCH in exc["arches"]:
        return False
    if exc.get("caps") and any(c in caps for c in exc["caps"]):
        return False
    return True


def seccomp(profile, caps):
    """The profile in the runtime spec's linux.seccomp form."""
    out = {"defaultAction": profile["defaultAction"], "architectures": [], "syscalls": []}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    for a in profile.get("archMap", []):
        if a["architecture"] == "SCMP_ARCH_X86_64":
            out["architectures"] = [a["architecture"]] + a.get("subArchitectures", [])
    for rule in profile["syscalls"]:
        if not applies(rule, caps):
            continue
        r = {"names": rule["names"], "action": rule["action"]}
        if rule.get("errnoRet") is not None:
            r["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            r["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op")} for a in rule["args"]]
        out["syscalls"].append(r)
    return out


def mounts():
    """Podman's default mounts."""
    def m(dest, typ, src, opts):
        return {"destination": dest, "type": typ, "source": src, "options": opts}
    return [
        m("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        m("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        m("/dev/pts", "devpts", "devpts",
          ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        m("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        m("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        m("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        m("/sys/fs/cgroup", "cgroup", "cgroup", ["rprivate", "nosuid", "noexec", "nodev", "relatime", "ro"]),
    ]


def devices():
    """/dev/kvm, and the device cgroup rules: deny all but the defaults and kvm."""
    allow = [("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9), ("c", 5, 0),
             ("c", 5, 1), ("c", 5, 2), ("c", 136, -1), ("c", 10, 232)]
    rules = [{"allow": False, "access": "rwm"}]
    for t, major, minor in allow:
        r = {"allow": True, "type": t, "major": major, "access": "rwm"}
        if minor >= 0:
            r["minor"] = minor
        rules.append(r)
    kvm = {"path": "/dev/kvm", "type": "c", "major": 10, "minor": 232, "fileMode": 0o666,
           "uid": 0, "gid": 0}
    return [kvm], rules


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        profile = json.load(f)
    with open(sys.argv[2]) as f:
        caps = default_caps(f.read())
    devs, rules = devices()
    config = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": ["@ARGS@"],
            "env": ["PATH=/", "HOME=/"],
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}],
            "oomScoreAdj": 0,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "ctr",
        "mounts": mounts(),
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "devices": devs,
            "resources": {"devices": rules},
            "seccomp": seccomp(profile, caps),
            "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
                            "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block"],
            "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }
    with open(sys.argv[3], "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
