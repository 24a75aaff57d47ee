#!/usr/bin/env python3
# mkcorpus.py - write the committed seed corpus, tests/fuzz/corpus/<name>/.
# The formats are those the harnesses' comments describe. Run from the
# repository root after changing a format: python3 tests/fuzz/mkcorpus.py
import os
import struct

OUT = "tests/fuzz/corpus"
seeds = {}


def seed(harness, name, data):
    seeds.setdefault(harness, []).append((name, bytes(data)))


# ---- queue: struct hdr, then RAM -------------------------------------------
def queue_seed(name, size, chains, last_avail=0, avail_idx=None, off=0):
    """chains: list of lists of (addr, len, flags, next) placed from desc 0."""
    desc, avail, used = 0x100, 0x200, 0x300
    ram = bytearray(0x800)
    heads, i = [], 0
    for chain in chains:
        heads.append(i)
        for (addr, ln, flags, nxt) in chain:
            struct.pack_into("<QIHH", ram, desc + 16 * i, addr, ln, flags, nxt)
            i += 1
    for k, h in enumerate(heads):
        struct.pack_into("<H", ram, avail + 4 + 2 * ((last_avail + k) % size), h)
    idx = (last_avail + len(heads)) & 0xffff if avail_idx is None else avail_idx
    struct.pack_into("<HH", ram, avail, 0, idx)
    hdr = struct.pack("<HHHHIII", size, last_avail, last_avail, off, desc, avail, used)
    seed("queue", name, hdr + bytes(ram))


N, W, I = 1, 2, 4
queue_seed("one", 8, [[(0x400, 64, 0, 0)]])
queue_seed("out-in", 8, [[(0x400, 16, N, 1), (0x500, 32, N | W, 2), (0x600, 8, W, 0)]], off=4)
queue_seed("two-chains", 4, [[(0x400, 44, 0, 0)], [(0x500, 100, W, 0)]])
queue_seed("loop", 8, [[(0x400, 16, N, 1), (0x500, 16, N, 0)]])
queue_seed("indirect", 8, [[(0x400, 32, I, 0)]])
queue_seed("wrap", 8, [[(0x400, 1, 0, 0)], [(0x401, 1, W, 0)]], last_avail=0xffff)
queue_seed("past-ram", 16, [[(0xfff0, 0x20, W, 0)]])

# ---- mmio: device shape (10 bytes), then {kind, width, off, val} ------------
def mmio(kind, width, off, val):
    return struct.pack("<BBHI", kind, width, off + 0x100, val)


def w(off, val):
    return mmio(1, 2, off, val)


def r(off):
    return mmio(0, 2, off, 0)


shape = bytes([19, 2 | (16 << 2)]) + struct.pack("<Q", 1 << 3)
init = (w(0x70, 0) + w(0x70, 3) + r(0x10) + w(0x14, 1) + r(0x10) + w(0x24, 1) + w(0x20, 1)
        + w(0x70, 11))
queue = (w(0x30, 0) + r(0x34) + w(0x38, 8) + w(0x80, 0x1000) + w(0x84, 0) + w(0x90, 0x2000)
         + w(0x94, 0) + w(0xa0, 0x3000) + w(0xa4, 0) + w(0x44, 1) + r(0x44))
seed("mmio", "init", shape + init + queue + w(0x70, 15) + r(0x60) + w(0x64, 3))
seed("mmio", "config", shape + r(0x100) + mmio(0, 0, 0x103, 0) + mmio(0, 3, 0x108, 0)
     + mmio(0, 1, 0x10e, 0) + mmio(1, 2, 0x100, 7))
seed("mmio", "bad-queue", shape + init + w(0x30, 1) + w(0x38, 3) + w(0x44, 1) + r(0x70)
     + w(0x70, 0) + r(0x70))
seed("mmio", "widths", shape + mmio(0, 0, 0, 0) + mmio(0, 1, 2, 0) + mmio(1, 3, 0x70, 15)
     + mmio(0, 2, 0xffc, 0) + mmio(0, 2, 0x1000, 0) + mmio(0, 2, -0x100, 0))

# ---- vsock: a program of commands ------------------------------------------
POKE, KICK, HWRITE, HREAD, HCLOSE, REG, DESC, POST, PACKET, RXBUFS = range(10)
CONTROL, STDIN, STDOUT, STDERR, SLOW1, SLOW2, P7 = range(7)
REQ, RESP, RST, SHUT, RW, CUPD, CREQ = 1, 2, 3, 4, 5, 6, 7


def pkt(slot, op, dport, payload=b"", sport=1, kick=True, flags=0, buf_alloc=65536, fwd=0,
        ram_len=0):
    """A packet; with ram_len, a payload of that many bytes of whatever RAM holds."""
    f = (16 if kick else 0) | (32 if ram_len else 0)
    return (bytes([PACKET, slot, f, sport, dport, op, flags])
            + struct.pack("<IIH", buf_alloc, fwd, ram_len or len(payload))
            + (b"" if ram_len else payload))


rx8 = bytes([RXBUFS, 7]) + bytes(range(8))
seed("vsock", "stdout", rx8 + pkt(0, REQ, STDOUT) + pkt(1, RW, STDOUT, b"hello\n")
     + bytes([HREAD, STDOUT]) + pkt(2, SHUT, STDOUT, flags=3) + rx8)
seed("vsock", "stdin", rx8 + pkt(0, REQ, STDIN, buf_alloc=4)
     + bytes([HWRITE, STDIN]) + struct.pack("<H", 10) + b"0123456789"
     + pkt(1, CUPD, STDIN, buf_alloc=4, fwd=4) + rx8 + bytes([HCLOSE, STDIN]) + rx8)
seed("vsock", "control", rx8 + pkt(0, REQ, CONTROL) + pkt(1, RW, CONTROL, b"ping")
     + bytes([HWRITE, CONTROL]) + struct.pack("<H", 4) + b"pong" + rx8
     + pkt(2, CREQ, CONTROL) + pkt(3, RST, CONTROL) + pkt(4, RW, CONTROL, b"late") + rx8)
seed("vsock", "slow", rx8 + pkt(0, REQ, SLOW1)
     + b"".join(pkt(i, RW, SLOW1, ram_len=65000) for i in range(1, 6)) + rx8
     + bytes([HREAD, SLOW1]) + rx8)
seed("vsock", "unknown", rx8 + pkt(0, REQ, P7) + pkt(1, RW, STDERR, b"x")
     + bytes([PACKET, 2, 16 | 4, 0, STDERR, 2, 0, REQ, 0]) + bytes(10) + rx8)
seed("vsock", "raw", bytes([DESC | 0x10, 0]) + struct.pack("<I", 0x20000)[:3]
     + struct.pack("<I", 44)[:3] + bytes([0, 0]) + bytes([POST | 0x10, 0])
     + bytes([POKE]) + struct.pack("<I", 0x20000)[:3] + bytes([44])
     + struct.pack("<QQIIIHHIII", 3, 2, 1000, 0x43500002, 0, 1, REQ, 0, 4096, 0)
     + bytes([KICK | 0x10]) + bytes([REG]) + struct.pack("<HI", 0x70, 0) + rx8)

# ---- runcfg ----------------------------------------------------------------
seed("runcfg", "run", b"ePATH=/bin\0eHOME=/root\0aecho\0ahello world\0hcapsa\0w/tmp\0")
seed("runcfg", "truncated", b"aecho\0ahel")
seed("runcfg", "empty-values", b"a\0e\0\0\0")

# ---- options: argv after capsa, NUL-separated -------------------------------
def argv(*a):
    return b"\0".join(x.encode() if isinstance(x, str) else x for x in a)


seed("options", "all", argv("--cpus", "2", "--memory", "2G", "-e", "A=1", "-e", "FUZZ_HOST",
                             "-w", "/tmp", "--timeout", "60", "-t", "-v", "--", "echo", "hi"))
seed("options", "inline", argv("--cpus=4", "--memory=512M", "--env=B=2", "--no-tty", "--",
                                "sh", "-c", "exit 3"))
seed("options", "help", argv("--help"))
seed("options", "version", argv("-c", "1", "--version"))
seed("options", "bad", argv("--memory", "1T", "--", "x"))
seed("options", "nodash", argv("-T", "echo"))

# ---- envfile: the file ------------------------------------------------------
seed("envfile", "good", b"A=1\n# comment\n\nFUZZ_HOST\nB=two words\nC=\nPATH")
seed("envfile", "bad", b"A=1\n=bad\n")
seed("envfile", "unset", b"NOT_SET_ANYWHERE\n")

# ---- size: selector, text[, bounds] -----------------------------------------
for i, (sel, text) in enumerate([(0, "512"), (0, "2G"), (0, "64m"), (0, "1T"), (1, "64"),
                                  (1, "0"), (2, "3600"), (0, "1GM")]):
    seed("size", "opt%d" % i, bytes([sel]) + text.encode())
seed("size", "u64", bytes([3]) + b"18446744073709551615" + bytes([0]) + struct.pack("<QQ", 0, 2**64 - 1))
# The input that found parse_u64's overflow-before-non-digit bug (9fe76de).
seed("size", "crash-parse_u64", b"+850000000000000000000000000000000000000$$00$0000")
seed("size", "u64-range", bytes([3]) + b"100" + bytes([0]) + struct.pack("<QQ", 5, 99))

# ---- net: 2 setup bytes, then a program of commands (fuzz_net.c) ------------
def ncmd(kind, hi=0):
    return bytes([next(c for c in range(256) if c % 10 == kind and c & 0xf0 == hi)])


N_KICK, N_HOST, N_DRAIN, N_FRAME, N_RXBUFS, N_RESTART = 1, 2, 3, 7, 8, 9
ALL_OFFLOADS = 0x3fb  # CSUM GUEST_CSUM TSO4/6 ECN both ways, MRG_RXBUF


def nframe(payload, slot=0, mode=16, flags=0, gso=0, gso_size=0, cstart=0, coff=0):
    return (ncmd(N_FRAME) + bytes([slot, mode, flags, gso])
            + struct.pack("<HHHHH", 0, gso_size, cstart, coff, len(payload)) + payload)


def nrx(*sizes):
    return ncmd(N_RXBUFS) + bytes([len(sizes) - 1]) + b"".join(
        struct.pack("<BH", i, sz) for i, sz in enumerate(sizes))


def nhost(hdr, payload):
    rec = hdr + payload
    return ncmd(N_HOST) + struct.pack("<H", len(rec)) + rec


NHDR = bytes(12)
seed("net", "tx", struct.pack("<H", ALL_OFFLOADS) + nframe(bytes(range(60))) + ncmd(N_DRAIN))
seed("net", "tx-tso", struct.pack("<H", ALL_OFFLOADS)
     + nframe(bytes(3000), mode=16 | 2, flags=1, gso=1, gso_size=1448, cstart=34, coff=16))
seed("net", "rx", struct.pack("<H", 0x200) + nrx(4096, 4096, 4096, 4096) + nhost(NHDR, bytes(100)))
seed("net", "rx-merge", struct.pack("<H", 0x200) + nrx(2048, 2048, 2048, 2048)
     + nhost(NHDR, bytes(5000)))
seed("net", "rx-big", struct.pack("<H", 0x200) + nrx(*([64] * 16))
     + ncmd(N_HOST, 0xc0) + struct.pack("<H", 100) + nrx(4096))
seed("net", "rx-wait", struct.pack("<H", ALL_OFFLOADS) + nhost(NHDR, bytes(60)) * 3
     + nrx(4096) + ncmd(N_KICK) + nrx(4096, 4096))
seed("net", "restart", struct.pack("<H", ALL_OFFLOADS) + nrx(2048) + nhost(NHDR, bytes(5000))
     + ncmd(N_RESTART) + struct.pack("<H", 0) + nrx(4096) + nhost(NHDR, bytes(70)))

# ---- policy: port (2 bytes LE), rules, "", name, addresses (fuzz_policy.c) --
def pol(port, rules, name, addrs):
    return struct.pack("<H", port) + b"\0".join(
        x.encode() for x in list(rules) + [""] + [name] + list(addrs))


seed("policy", "public", pol(80, [], "", ["203.0.113.7"]))
seed("policy", "allow-name", pol(443, ["pypi.org:443", "*.pythonhosted.org"], "pypi.org",
                                  ["203.0.113.7", "2001:db8::7"]))
seed("policy", "deny-wins", pol(80, ["*.test", "!evil.test", "!203.0.113.0/24"], "evil.test",
                                 ["203.0.113.66"]))
seed("policy", "special", pol(80, ["0.0.0.0/0", "[fe80::/10]:80", "169.254.169.254:80"], "",
                               ["169.254.169.254", "::ffff:10.0.0.1"]))
seed("policy", "alias", pol(8080, ["host.capsa.internal:8080"], "host.capsa.internal",
                             ["127.0.0.1"]))
seed("policy", "rebind", pol(80, ["*.test:1-1024"], "x.test", ["169.254.169.254", "64:ff9b::a9fe:a9fe"]))
seed("policy", "bad", pol(0, ["[2001:db8::1", "a..b", "1.2.3", "x:0", "127.0.0.1"], "A.Test.", []))

# ---- netmsg: flags, then one record (fuzz_netmsg.c) --------------------------
def bm(t, i, payload=b""):
    return struct.pack("<HHI", t, len(payload), i) + payload


seed("netmsg", "net-open", bytes([1]) + bm(1, 7))
seed("netmsg", "unix-open", bytes([1]) + bm(2, 8, struct.pack("<I", 5000)))
seed("netmsg", "stream-fd", bytes([2]) + bm(3, 9, struct.pack("<i", 0)))
seed("netmsg", "stream-err", bytes([0]) + bm(3, 9, struct.pack("<i", 16)))


def nreq(kind, fam, port, addr, rid, qtype, name):
    n = name.encode()
    return (struct.pack("<IBBH", 0x74656e63, kind, fam, port) + addr.ljust(16, b"\0")
            + struct.pack("<IHBB", rid, qtype, len(n), 0) + n.ljust(256, b"\0"))


seed("netmsg", "connect4", bytes([0]) + nreq(1, 4, 80, bytes([203, 0, 113, 7]), 0, 0, "www.test"))
seed("netmsg", "connect6", bytes([0]) + nreq(1, 6, 443, bytes([0x20, 1, 0xd, 0xb8]) + bytes(11) + b"\1", 0, 0, ""))
seed("netmsg", "resolve", bytes([0]) + nreq(2, 0, 0, b"", 42, 28, "PyPI.org."))

# ---- sniff: selector (even HTTP, odd TLS), then the bytes (fuzz_sniff.c) ------
seed("sniff", "http", b"\0GET / HTTP/1.1\r\nHost: www.test:8080\r\nAccept: */*\r\n\r\n")
seed("sniff", "http-abs", b"\0GET http://a.test/x HTTP/1.1\r\nHost: a.test\r\n\r\n")
seed("sniff", "http-v6", b"\0GET / HTTP/1.0\r\nHost: [2001:db8::1]\r\n\r\n")
_h = (bytes([3, 3]) + bytes(32) + b"\0" + b"\0\2\x13\1" + b"\1\0"
      + struct.pack(">H", 15) + struct.pack(">HH", 0, 11) + struct.pack(">HBH", 9, 0, 6) + b"a.test")
_hs = bytes([1]) + struct.pack(">I", len(_h))[1:] + _h
seed("sniff", "tls", b"\1" + bytes([22, 3, 1]) + struct.pack(">H", len(_hs)) + _hs)
seed("sniff", "tls-split", b"\1" + bytes([22, 3, 1, 0, 10]) + _hs[:10]
     + bytes([22, 3, 1]) + struct.pack(">H", len(_hs) - 10) + _hs[10:])
# ---- control: mode byte, then the frames of one side (fuzz_control.c) -------
def wframe(t, payload=b""):
    return struct.pack("<BI", t, len(payload)) + payload


START = b"ash\0a-c\0aecho $1\0a\0eA=1\0w/tmp\0t24x80\0o30\0"
seed("control", "client", bytes([1 | (63 << 1)]) + wframe(1, START) + wframe(2, b"input")
     + wframe(3) + wframe(4, struct.pack("<I", 2)) + wframe(5, struct.pack("<HH", 50, 132))
     + wframe(6, b"\1"))
seed("control", "client-bytewise", bytes([1]) + wframe(1, b"atrue\0") + wframe(2, b"x" * 300))
seed("control", "server", bytes([0 | (127 << 1)]) + wframe(16, b"out\n") + wframe(17, b"err\n")
     + wframe(20, struct.pack("<I", 5)) + wframe(18, struct.pack("<I", 0)))
seed("control", "server-error", bytes([0 | (7 << 1)]) + wframe(19, b"the sandbox ended"))
seed("control", "start-only", bytes([3]) + START)
seed("control", "start-bad", bytes([3]) + b"aecho\0t0x0\0o99999999999\0q\0")
seed("control", "too-big", bytes([1]) + struct.pack("<BI", 2, 65537))

# ---- fs: flags, then {op index, node, fh, cuts, u16 len, payload} (fuzz_fs.c) --
FS_OPS = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24,
          25, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36, 37, 38, 39, 40, 42, 43, 44, 45, 46,
          47, 50, 51]
LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR = 1, 2, 3, 4, 5, 6, 8, 9, 10, 11
RENAME, LINK, OPEN, READ, WRITE, STATFS, RELEASE, FSYNC = 12, 13, 14, 15, 16, 17, 18, 20
OPENDIR, READDIR, RELEASEDIR, CREATE, READDIRPLUS, RENAME2, LSEEK, FALLOCATE = 27, 28, 29, 35, 44, 45, 46, 43


def fsr(op, payload=b"", node=0, fh=0, cuts=0):
    return bytes([FS_OPS.index(op), node, fh, cuts]) + struct.pack("<H", len(payload)) + payload


def z(n):
    return bytes(n)


read_in = lambda size, off=0: struct.pack("<QQIIQII", 0, off, size, 0, 0, 0, 0)
seed("fs", "read", b"\0" + fsr(LOOKUP, b"file\0") + fsr(OPEN, z(8), node=1)
     + fsr(READ, read_in(4096), node=1, fh=1) + fsr(RELEASE, z(24), fh=1) + fsr(FORGET, struct.pack("<Q", 1), node=1))
seed("fs", "write", b"\0" + fsr(CREATE, struct.pack("<IIII", 2, 0o100644, 0, 0) + b"new\0")
     + fsr(WRITE, struct.pack("<QQIIQII", 0, 0, 5, 0, 0, 0, 0) + b"hello", node=1, fh=1)
     + fsr(FSYNC, z(16), fh=1) + fsr(FALLOCATE, struct.pack("<QQQII", 0, 0, 8192, 0, 0), fh=1)
     + fsr(LSEEK, struct.pack("<QQII", 0, 0, 4, 0), fh=1)
     + fsr(SETATTR, struct.pack("<IIQQQQQQIIIIIIII", 8, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), node=1))
seed("fs", "dirs", b"\0" + fsr(MKDIR, struct.pack("<II", 0o755, 0) + b"d\0") + fsr(OPENDIR, z(8))
     + fsr(READDIRPLUS, read_in(4096), fh=1) + fsr(READDIR, read_in(200), fh=1)
     + fsr(RELEASEDIR, z(24), fh=1) + fsr(RMDIR, b"d\0"))
seed("fs", "names", b"\0" + fsr(LOOKUP, b"..\0") + fsr(LOOKUP, b"a/b\0") + fsr(LOOKUP, b".\0")
     + fsr(LOOKUP, b"a\0b\0") + fsr(LOOKUP, b"up\0") + fsr(LOOKUP, b"passwd\0", node=1)
     + fsr(READLINK, node=1) + fsr(LOOKUP, b"x" * 300 + b"\0"))
seed("fs", "links", b"\0" + fsr(SYMLINK, b"ln\0../../etc\0") + fsr(LOOKUP, b"file\0")
     + fsr(LINK, struct.pack("<Q", 0) + b"hard\0", node=0)
     + fsr(RENAME2, struct.pack("<QII", 1, 2, 0) + b"hard\0ln\0")
     + fsr(RENAME, struct.pack("<Q", 1) + b"ln\0moved\0") + fsr(UNLINK, b"moved\0")
     + fsr(MKNOD, struct.pack("<IIII", 0o010644, 0, 0, 0) + b"p\0")
     + fsr(MKNOD, struct.pack("<IIII", 0o020644, 0x103, 0, 0) + b"dev\0"))
seed("fs", "special", b"\0" + fsr(LOOKUP, b"fifo\0") + fsr(OPEN, z(8), node=1)
     + fsr(CREATE, struct.pack("<IIII", 2, 0o100644, 0, 0) + b"fifo\0") + fsr(STATFS)
     + fsr(GETATTR, z(16), node=1))
seed("fs", "ro", b"\1" + fsr(MKDIR, struct.pack("<II", 0o755, 0) + b"d\0") + fsr(LOOKUP, b"file\0")
     + fsr(OPEN, struct.pack("<II", 1, 0), node=1) + fsr(UNLINK, b"file\0"))
seed("fs", "cuts", b"\0" + fsr(LOOKUP, b"file\0", cuts=0x37) + fsr(GETATTR, z(16), cuts=0xe0)
     + fsr(GETATTR, z(16), cuts=0xf0) + fsr(GETATTR, z(16), cuts=0x80))
seed("fs", "noinit", b"\2" + fsr(GETATTR, z(16)) + bytes([0xff, 0, 0, 0]) + struct.pack("<H", 0)
     + struct.pack("<I", 9999))

for harness, files in seeds.items():
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for name, data in files:
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
print(" ".join("%s:%d" % (h, len(f)) for h, f in sorted(seeds.items())))
