#!/bin/sh
# fs.sh BUILD_DIR CAPSA - shared-directory benchmark: capsa's virtio-fs
# against QEMU microvm with vhost-user-fs-device and Debian's virtiofsd, and
# against QEMU's virtio-9p-device, with the same guest kernel, the same
# Debian tree (tests/vm/fs-fixtures.sh) as the root and the same workload,
# in the same (emulated) KVM host.
#
# Each guest's root is the Debian tree (read-only), and a second share, the
# work directory, is at /mnt (read-write). In the guest, in this order
# (fsbench.c times each):
#   python3 -c 'import json, email, asyncio'      first thing after boot: cold
#   find /mnt/tree | wc -l                        a 20,000-file tree
#   git -C /mnt/tree status                       the same tree, committed
#   create + stat + unlink 10,000 small files
#   sequential write of 256 MiB (1 MiB writes, then fsync), then read it
#   back after dropping the guest's page cache
# capsa: --rootfs DIR (read-only, cached) and --share WORK:/mnt:rw.
# virtiofsd: one per share, its defaults (cache=auto); 9p: msize=512000,
# cache=none (the default). Prints each figure for the three and the ratios
# of capsa's speed to virtiofsd's and to 9p's (higher is better for capsa).
#
# env: BENCH_FILES (default 10000), BENCH_TREE (20000), BENCH_MIB (256)
set -eu
B=$1 CAPSA=$2
here=$(cd "$(dirname "$0")" && pwd)
vm=$here/../vm
W=$B/bench-fs
DEB=$B/fixtures/fs/debian
[ -x "$DEB/usr/bin/python3" ] || { echo "bench-fs: no Debian tree (make fs-fixtures)" >&2; exit 1; }
rm -rf "$W"
mkdir -p "$W/tests" "$W/fix/work/tree"

musl-gcc -O2 -static -o "$W/fix/work/fsbench" "$here/fsbench.c"
sh "$here/qemu-fixture.sh" "$W/fix/qemu"
cp /usr/lib/qemu/virtiofsd "$W/fix/qemu/"
ldd /usr/lib/qemu/virtiofsd | awk '$3 ~ /^\// { print $3 }' |
	while read -r lib; do cp -L "$lib" "$W/fix/qemu/lib/"; done
cp "$B/bzImage" "$W/fix/bzImage"
cp -al "$DEB" "$W/fix/debian"

# The tree: BENCH_TREE files of 100 bytes in directories of 100.
n=${BENCH_TREE:-20000}
awk -v n="$n" -v d="$W/fix/work/tree" 'BEGIN {
	for (i = 0; i < n; i++) {
		if (i % 100 == 0) system("mkdir -p " d "/d" int(i / 100))
		f = d "/d" int(i / 100) "/f" i
		printf "%0100d", i > f
		close(f)
	}
}'

cat >"$W/fix/work/workload.sh" <<'EOF'
# In the guest, the Debian tree as root, the work share at /mnt.
export HOME=/tmp PATH=/usr/bin:/bin:/usr/sbin:/sbin
read -r files mib </mnt/params
/mnt/fsbench run python python3 -c 'import json, email, asyncio'
/mnt/fsbench run find sh -c 'find /mnt/tree | wc -l'
/mnt/fsbench run gitstatus git -C /mnt/tree status --porcelain
mkdir -p /mnt/files
/mnt/fsbench files /mnt/files "$files"
rmdir /mnt/files
/mnt/fsbench write /mnt/big "$mib"
sync
echo 3 >/proc/sys/vm/drop_caches
/mnt/fsbench read /mnt/big
rm -f /mnt/big
EOF
echo "${BENCH_FILES:-10000} ${BENCH_MIB:-256}" >"$W/fix/work/params"

# QEMU's guest: a busybox initramfs that mounts the two shares (virtio-fs or
# 9p, as the command line says) and runs the workload chrooted in the tree.
Q=$W/qroot
mkdir -p "$Q/bin" "$Q/dev" "$Q/proc" "$Q/sys" "$Q/tmp" "$Q/r"
cp /bin/busybox "$Q/bin/busybox"
ln -s busybox "$Q/bin/sh"
cat >"$Q/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
fs=$(sed -n 's/.*benchfs=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
if [ "$fs" = 9p ]; then
	o=trans=virtio,version=9p2000.L,msize=512000
	mount -t 9p -o $o,ro root /r && mount -t 9p -o $o work /r/mnt
else
	mount -t virtiofs -o ro root /r && mount -t virtiofs work /r/mnt
fi
mount -t proc proc /r/proc && mount -t devtmpfs dev /r/dev && mount -t tmpfs tmp /r/tmp
chroot /r sh /mnt/workload.sh
echo bench-done
reboot -f
EOF
chmod 755 "$Q/init"
(cd "$Q" && find . | cpio -o -H newc -R 0:0 --quiet) >"$W/fix/qemu-initrd.cpio"

# What runs in the emulated host.
cat >"$W/tests/run.sh" <<'EOF'
#!/bin/sh
. /tests/lib.sh
F=/tests/fixtures
Q=$F/qemu
cp -a $F/work /tmp/work
# The tree committed with the Debian tree's git, which sees it at /tmp/w.
mkdir -p $F/debian/tmp/w
mount --bind /tmp/work $F/debian/tmp/w
chroot $F/debian sh -c 'cd /tmp/w/tree && git init -q && git add -A &&
	git -c user.name=b -c user.email=b@example.org commit -qm tree && git status --porcelain | wc -l'
umount -l $F/debian/tmp/w
# The emulated host takes silence for a freeze: say the benchmark goes on.
# Each VMM's output is a file until it ends: the heartbeat names its last line,
# so a slow run and a stuck one can be told apart.
# Five quiet minutes of capsa's get its state dump (SIGUSR1) into its output,
# so a hung guest can be told from a slow one afterwards.
(last= quiet=0; while sleep 60; do
	now=$(tail -q -n 1 /tmp/capsa.out /tmp/virtiofsd.out /tmp/9p.out 2>/dev/null | tail -n 1 | cut -c1-100)
	echo "# bench-fs is running: $now"
	[ "$now" = "$last" ] && quiet=$((quiet + 1)) || quiet=0
	last=$now
	[ "$quiet" -ne 5 ] || kill -USR1 $(pidof capsa) 2>/dev/null || true
done) &
# A guest that died mid-workload leaves its files: the next starts clean.
clean() { rm -rf /tmp/work/files /tmp/work/big; }
timeout 1800 capsa --memory 512 --rootfs $F/debian --share /tmp/work:/mnt:rw -- sh /mnt/workload.sh \
	>/tmp/capsa.out 2>&1
echo "# capsa"; cat /tmp/capsa.out
cmd="console=ttyS0 reboot=t panic=-1 quiet rdinit=/init"
# vhost-user needs guest RAM shared with virtiofsd, and a modern virtio-mmio.
mem="-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem"
mem="$mem -global virtio-mmio.force-legacy=false"
# virtiofsd through the copied loader; chroot: the emulated host's root is
# its initramfs, which virtiofsd's default sandbox cannot pivot_root from.
vfsd="$Q/lib/ld-linux-x86-64.so.2 --library-path $Q/lib $Q/virtiofsd -o sandbox=chroot -o cache=auto"
$vfsd --socket-path=/tmp/vfs-root.sock -o source=$F/debian >/tmp/vfsd-root.log 2>&1 &
$vfsd --socket-path=/tmp/vfs-work.sock -o source=/tmp/work >/tmp/vfsd-work.log 2>&1 &
sleep 2
clean
timeout 1800 $Q/microvm -kernel $F/bzImage -initrd $F/qemu-initrd.cpio \
	-append "$cmd benchfs=virtiofs" $mem \
	-chardev socket,id=c0,path=/tmp/vfs-root.sock -device vhost-user-fs-device,chardev=c0,tag=root \
	-chardev socket,id=c1,path=/tmp/vfs-work.sock -device vhost-user-fs-device,chardev=c1,tag=work \
	</dev/null 2>&1 | tr -d '\r' >/tmp/virtiofsd.out
echo "# virtiofsd"; grep -e bench -e rror /tmp/virtiofsd.out || tail -n 30 /tmp/virtiofsd.out /tmp/vfsd-*.log
grep -q bench-done /tmp/virtiofsd.out || echo "# virtiofsd: its guest ended before the workload did"
clean
timeout 1800 $Q/microvm -kernel $F/bzImage -initrd $F/qemu-initrd.cpio -append "$cmd benchfs=9p" \
	-fsdev local,id=f0,path=$F/debian,security_model=passthrough,readonly=on \
	-device virtio-9p-device,fsdev=f0,mount_tag=root \
	-fsdev local,id=f1,path=/tmp/work,security_model=passthrough \
	-device virtio-9p-device,fsdev=f1,mount_tag=work -global virtio-mmio.force-legacy=false \
	</dev/null 2>&1 | tr -d '\r' >/tmp/9p.out
echo "# 9p"; grep -e bench -e rror /tmp/9p.out || tail -n 30 /tmp/9p.out
grep -q bench-done /tmp/9p.out || echo "# 9p: its guest ended before the workload did"
for what in python find gitstatus files create stat unlink seqwrite seqread; do
	c=$(sed -n "s/^bench $what //p" /tmp/capsa.out)
	v=$(sed -n "s/^bench $what //p" /tmp/virtiofsd.out)
	p=$(sed -n "s/^bench $what //p" /tmp/9p.out)
	echo "RESULT $what capsa: $c | virtiofsd: $v | 9p: $p"
	[ -n "$c" ] && [ -n "$v" ] && [ -n "$p" ] && ok "$what measured for all three" ||
		fail "$what measured for all three"
done
plan
EOF
EHOST_TIMEOUT=${EHOST_TIMEOUT:-3600} EHOST_FIXTURES=$W/fix \
	bash "$vm/emulated-host.sh" "$B/ehost" "$CAPSA" "$W/tests" | tee "$W/log" |
	grep -E '^(RESULT|bench|ok|not ok|#)' || true
grep '^RESULT' "$W/log" | awk '
	function ms(s) { split(s, w, " "); return w[1] + 0 }
	function rate(s) { split(s, w, " "); return w[2] + 0 }
	{
		split($0, p, /capsa: | \| virtiofsd: | \| 9p: /)
		seq = $2 ~ /^seq/
		c = seq ? rate(p[2]) : ms(p[2]); v = seq ? rate(p[3]) : ms(p[3]); q = seq ? rate(p[4]) : ms(p[4])
		# Speed-ups, higher is better for capsa: rates over rates, times under times.
		sv = seq ? (v ? c / v : 0) : (c ? v / c : 0); sq = seq ? (q ? c / q : 0) : (c ? q / c : 0)
		printf "%-10s capsa %9.1f  virtiofsd %9.1f  9p %9.1f %s  capsa %.2fx virtiofsd, %.2fx 9p\n",
			$2, c, v, q, seq ? "MB/s" : "ms", sv, sq
	}'
