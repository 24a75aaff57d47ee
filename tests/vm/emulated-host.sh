#!/bin/bash
# Run VM tests inside an *emulated KVM host* (see design.md, "Testing on
# machines without a usable KVM"): QEMU TCG with an AMD SVM CPU boots Debian's
# cloud kernel, which loads kvm-amd and so gives the tests a /dev/kvm that can
# run real guests, even where the local /dev/kvm cannot.
#
# usage: emulated-host.sh BUILD_DIR CAPSA_BINARY TESTS_DIR [EXTRA_FILE...]
#   BUILD_DIR     cache for the unpacked kernel; the initramfs and serial.log go here
#   CAPSA_BINARY  static binary installed as /bin/capsa in the emulated host
#   TESTS_DIR     copied to /tests; init runs `sh /tests/run.sh $(cat /tests/args)`;
#                 tests/vm/lib.sh is added as /tests/lib.sh if TESTS_DIR has none
#   EXTRA_FILE    copied into /tests/bin/ (which is on PATH)
# env: EHOST_TIMEOUT (s, default 900), EHOST_MEM (MiB, default 3072),
#      EHOST_ARGS (arguments for run.sh, e.g. to select tests),
#      EHOST_FIXTURES (a directory copied to /tests/fixtures; it lives in RAM,
#        but for the files named in an ehost-disks file in it, one name a line
#        relative to that file: each is attached read-only as a virtio disk
#        instead, and its path is a symlink to the disk),
#      EHOST_MODULES (more modules to load, e.g. vhost_vsock for the benchmarks),
#      EHOST_QEMU (the emulator, default qemu-system-x86_64), EHOST_SMP (its CPUs, 2),
#      EHOST_ACCEL (an -accel value, e.g. tcg,thread=single)
# Exit status 0 only if run.sh exited 0, printed a TAP plan and no `not ok`.
set -eu

die() { echo "emulated-host: $*" >&2; exit 1; }
[ $# -ge 3 ] || die "usage: $0 BUILD_DIR CAPSA_BINARY TESTS_DIR [EXTRA_FILE...]"
B=$1 CAPSA=$2 TESTS=$3; shift 3
[ -f "$CAPSA" ] || die "no such file: $CAPSA"
[ -f "$TESTS/run.sh" ] || die "no run.sh in $TESTS"
mkdir -p "$B"; B=$(cd "$B" && pwd)

# 1. Debian's cloud kernel, unpacked (not installed) and cached.  The
# metapackage only depends on the real, ABI-versioned image package.
K=$B/kernel
if [ ! -e "$K/.done" ]; then
	pkg=$(apt-cache depends linux-image-cloud-amd64 |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*\)/\1/p' | head -n1)
	[ -n "$pkg" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update?)"
	rm -rf "$K" "$B/deb"; mkdir -p "$B/deb"
	# As root apt warns that _apt cannot write here; harmless.
	(cd "$B/deb" && apt-get download -q "$pkg") || die "apt-get download $pkg failed"
	dpkg-deb -x "$B"/deb/*.deb "$K"
	rm -rf "$B/deb"
	touch "$K/.done"
fi
VMLINUZ=$(ls "$K"/boot/vmlinuz-* | head -n1)
MODDIR=$(ls -d "$K"/lib/modules/* | head -n1)

# 2. The initramfs, rebuilt every run (cheap) so it always has current tests.
R=$B/initramfs
rm -rf "$R"; mkdir -p "$R"/bin "$R"/dev "$R"/proc "$R"/sys "$R"/tmp "$R"/run "$R"/lib/modules
ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is not static (apt-get install busybox-static)"
cp /bin/busybox "$R/bin/busybox"
ln -s busybox "$R/bin/sh"          # the rest of the applet links are made by /init
cp "$CAPSA" "$R/bin/capsa"; chmod 755 "$R/bin/capsa"
# One VM held open through the run: kvmhold.c says why.
src=$(dirname "$0")/kvmhold.c
[ "$B/kvmhold" -nt "$src" ] || cc -static -O2 -Wall -o "$B/kvmhold" "$src" || die "cannot build $src"
cp "$B/kvmhold" "$R/bin/kvmhold"
cp -a "$TESTS/." "$R/tests"
# Fixtures too large for RAM become disks: DRIVES for qemu, /etc/disks
# ("vdX PATH" lines) for the init to link.
DRIVES= ndisk=0
mkdir -p "$R/etc"; : >"$R/etc/disks"
if [ -n "${EHOST_FIXTURES:-}" ]; then
	excl=
	for list in $(cd "$EHOST_FIXTURES" && find . -name ehost-disks); do
		dir=$(dirname "$list")
		while read -r f; do
			[ -n "$f" ] || continue
			[ -f "$EHOST_FIXTURES/$dir/$f" ] || die "ehost-disks: no $dir/$f"
			dev=vd$(echo abcdefghijklmnop | cut -c$((ndisk + 1)))
			ndisk=$((ndisk + 1))
			DRIVES="$DRIVES -drive file=$EHOST_FIXTURES/$dir/$f,format=raw,if=virtio,readonly=on"
			echo "$dev /tests/fixtures/${dir#./}/$f" >>"$R/etc/disks"
			excl="$excl --exclude=$dir/$f"
		done <"$EHOST_FIXTURES/$list"
	done
	mkdir -p "$R/tests/fixtures"
	# shellcheck disable=SC2086 # a list of options
	tar -C "$EHOST_FIXTURES" -cf - $excl . | tar -C "$R/tests/fixtures" -xf -
fi
# The TAP helper, for run.sh to source as /tests/lib.sh.
[ -e "$R/tests/lib.sh" ] || cp "$(dirname "$0")/lib.sh" "$R/tests/lib.sh"
mkdir -p "$R/tests/bin"
[ $# -eq 0 ] || cp "$@" "$R/tests/bin/"

# Modules plus whatever they depend on, in load order (deps first).  The .deb
# has no modules.dep (depmod runs in postinst), so ask modinfo.  busybox insmod
# cannot read compressed modules, so .ko.xz/.ko.zst are decompressed here.
# modinfo is in /sbin or /usr/sbin (kmod), which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
command -v modinfo >/dev/null || die "modinfo not found (sh .ci/deps installs kmod)"
: >"$R/lib/modules/order"
addmod() {
	grep -qx "$1" "$R/lib/modules/order" && return
	local f dep
	f=$(find "$MODDIR" -name "$1.ko*" -o -name "$(echo "$1" | tr _ -).ko*" | head -n1)
	[ -n "$f" ] || die "module $1 not found in $MODDIR"
	for dep in $(modinfo -F depends "$f" | tr , ' '); do addmod "$dep"; done
	case $f in
	*.ko) cp "$f" "$R/lib/modules/$1.ko" ;;
	*.xz) xz -dc "$f" >"$R/lib/modules/$1.ko" ;;
	*.zst) zstd -qdc "$f" >"$R/lib/modules/$1.ko" ;;
	*.gz) gzip -dc "$f" >"$R/lib/modules/$1.ko" ;;
	esac
	echo "$1" >>"$R/lib/modules/order"
}
disk_mods=; [ $ndisk -eq 0 ] || disk_mods="virtio_pci virtio_blk"
for m in irqbypass kvm kvm-amd tun veth $disk_mods ${EHOST_MODULES:-}; do addmod "$m"; done


cat >"$R/init" <<'EOF'
#!/bin/sh
# PID 1 of the emulated host: bring up KVM, run the tests, power off.
/bin/busybox --install -s /bin
export PATH=/tests/bin:/bin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
exec </dev/console >/dev/console 2>&1

fail() { echo "EHOST: kvm FAILED: $*"; dmesg | tail -n 20; echo "EHOST-EXIT 125"; poweroff -f; }
for m in $(cat /lib/modules/order); do
	args=; [ "$m" = kvm-amd ] && args=nested=0
	insmod /lib/modules/$m.ko $args || fail "insmod $m"
done
# devtmpfs normally creates these; mknod in case it did not.
[ -e /dev/kvm ] || mknod /dev/kvm c 10 232
mkdir -p /dev/net; [ -e /dev/net/tun ] || mknod /dev/net/tun c 10 200
while read -r dev path; do
	for i in $(seq 50); do [ -b /dev/$dev ] && break; sleep 0.1; done
	[ -b /dev/$dev ] || fail "no disk /dev/$dev for $path"
	mkdir -p "$(dirname "$path")"; ln -sf /dev/$dev "$path"
done </etc/disks
[ -r /dev/kvm ] && [ -w /dev/kvm ] || fail "/dev/kvm unusable"
ip link set lo up
hostname ehost
kvmhold &
echo "EHOST: kvm ready (uptime $(cut -d' ' -f1 /proc/uptime)s)"

# stdin is /dev/null: nothing ever types on the console, so a test reading
# stdin would otherwise hang until EHOST_TIMEOUT.
cd /tests
EHOST=1 sh /tests/run.sh $(cat /tests/args) </dev/null
echo "EHOST-EXIT $?"
poweroff -f
EOF
chmod 755 "$R/init"

# 3. Boot under TCG.  stdin from /dev/null so qemu leaves the terminal alone;
# serial output goes both to our stdout and to the log.  qboot instead of
# SeaBIOS: boots a bit faster and does not send terminal resets/screen clears
# down the serial line; -nic none drops the unused NIC and its iPXE ROM.
# TCG lacks a few EPYC CPUID features and warns about each one: filter that.
#
# Under heavy load the emulated host itself has been seen to freeze now and
# then (QEMU's TCG running nested SVM): nothing prints, not even run.sh's own
# watchdog, or a guest's vCPU spins in guest mode and the emulated host
# freezes once it is killed. So a run that prints nothing for EHOST_STALL
# seconds, or whose watchdog says EHOST-STUCK, is stopped, and the groups it
# had not finished go to a fresh emulated host; a group that stalls twice
# fails the run, so a capsa that hangs for its own reasons still fails.
# The emulated host's own kernel also oopses now and then, under QEMU's
# guests as well as capsa's (page faults recursing in its entry code until
# the stack runs out: the GS base it finds is wrong); no program can cause
# that, so such an oops is not the group's strike; EHOST_CRASHES (default 4)
# of them end the run. Nor is a freeze while it boots, before any group ran.
TIMEOUT=${EHOST_TIMEOUT:-900}
STALL=${EHOST_STALL:-300}
LOG=$B/serial.log
END=$(($(date +%s) + TIMEOUT))

# boot GROUPS LOG: one emulated host running run.sh GROUPS; returns qemu's
# status, 124 on timeout, 125 on a stall.
boot() {
	printf '%s\n' "$1" >"$R/tests/args"
	# Uncompressed newc: decompressing in TCG costs more than copying the bytes.
	# The kernel's built-in initramfs already provides /dev/console.
	(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$B/initrd.cpio"
	: >"$2"
	timeout -k 10 $((END - $(date +%s))) ${EHOST_QEMU:-qemu-system-x86_64} -M q35 -cpu EPYC,+svm -smp ${EHOST_SMP:-2} ${EHOST_ACCEL:+-accel $EHOST_ACCEL} \
		-m "${EHOST_MEM:-3072}" -nographic -serial stdio -monitor none \
		-kernel "$VMLINUZ" -initrd "$B/initrd.cpio" -no-reboot \
		-append 'console=ttyS0 quiet panic=-1' \
		-nic none -bios /usr/share/qemu/qboot.rom $DRIVES </dev/null \
		2> >(grep -v "TCG doesn't support requested feature" >&2) >>"$2" &
	local qemu=$! size=-1 still=0 rc
	tail -n +1 -f "$2" --pid=$qemu &
	local tailer=$!
	while kill -0 $qemu 2>/dev/null; do
		sleep 5
		if [ "$(stat -c %s "$2")" = "$size" ]; then
			still=$((still + 5))
		else
			size=$(stat -c %s "$2") still=0
		fi
		# run.sh's watchdog saw a guest stuck for good (see run.sh).
		if [ $still -ge "$STALL" ] || grep -q '^EHOST-STUCK' "$2"; then
			pkill -P $qemu 2>/dev/null; kill $qemu 2>/dev/null
			wait $qemu 2>/dev/null; wait $tailer 2>/dev/null
			return 125
		fi
	done
	wait $qemu
	rc=$?
	wait $tailer 2>/dev/null
	return $rc
}

rm -f "$LOG" "$LOG".*
: >"$B/results.txt"
todo=${EHOST_ARGS:-}
attempt=0 stalled= crashes=0 boot_freezes=0
while :; do
	attempt=$((attempt + 1))
	set +e
	boot "$todo" "$LOG.$attempt"
	rc=$?
	set -e
	cp "$LOG.$attempt" "$LOG"
	tr -d '\r' <"$LOG" >"$LOG.txt"
	# Done: run.sh finished, or the whole run's time is up.
	if grep -q '^EHOST-EXIT' "$LOG.txt" || [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		break
	fi
	# A freeze, or the emulated host's own kernel died (TCG's nested SVM
	# has crashed it too): keep the TAP of the groups that finished; rerun
	# the rest.
	all=$(sed -n 's/^# groups: //p' "$LOG.txt" | tail -n1)
	stuck=$(sed -n 's/^# \(t_[a-z0-9_]*\)$/\1/p' "$LOG.txt" | tail -n1)
	if grep -q '^\[ *[0-9.]*\] .* \[#[0-9]*\] ' "$LOG.txt"; then  # an oops: "...: 0000 [#1] SMP"
		crashes=$((crashes + 1))
		[ $crashes -le "${EHOST_CRASHES:-4}" ] || die "the emulated host's kernel crashed $crashes times"
		echo "emulated-host: the emulated host's own kernel crashed${stuck:+ in $stuck} (see $LOG.$attempt); rerunning from there" >&2
	elif [ -z "$stuck" ]; then
		# It froze booting, before any group of this attempt: no test's
		# doing; EHOST_BOOT_FREEZES (default 2) of them end the run.
		boot_freezes=$((boot_freezes + 1))
		[ $boot_freezes -le "${EHOST_BOOT_FREEZES:-2}" ] ||
			die "emulated host froze before the tests began, $boot_freezes times (see $LOG.$attempt)"
		echo "emulated-host: the emulated host froze while booting (see $LOG.$attempt); booting another" >&2
	else
		case " $stalled " in *" $stuck "*) die "emulated host stalled twice in $stuck" ;; esac
		stalled="$stalled $stuck"
		echo "emulated-host: the emulated host froze in $stuck (no output for ${STALL}s, or stuck past run.sh's watchdog); rerunning from there" >&2
	fi
	[ -n "$all" ] && [ -n "$stuck" ] || continue  # it died before the first group: all again
	awk -v g="# $stuck" '$0 == g { exit } /^(not )?ok( |$)/' "$LOG.txt" >>"$B/results.txt"
	todo=$(echo "$all" | tr ' ' '\n' | sed -n "/^$stuck\$/,\$p" | tr '\n' ' ')
done

# 4. Verdict from the logs (the tty's \r stripped).
case $rc in 124 | 137) die "timeout after ${TIMEOUT}s" ;; esac
why=$(sed -n 's/^EHOST: kvm FAILED: //p' "$LOG.txt")
[ -z "$why" ] || die "kvm modules failed to load: $why"
status=$(sed -n 's/^EHOST-EXIT \([0-9]*\)$/\1/p' "$LOG.txt" | tail -n1)
[ -n "$status" ] || die "emulated host died before run.sh finished (qemu rc $rc, see $LOG.$attempt)"
plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$LOG.txt" | tail -n1)
[ -n "$plan" ] || die "no TAP plan line"
nlast=$(grep -c '^\(not \)\?ok\( \|$\)' "$LOG.txt" || true)
[ "$nlast" -eq "$plan" ] || die "plan says $plan tests but $nlast ran"
grep '^\(not \)\?ok\( \|$\)' "$LOG.txt" >>"$B/results.txt" || true
nfail=$(grep -c '^not ok' "$B/results.txt" || true)
total=$(wc -l <"$B/results.txt")
[ "$nfail" -eq 0 ] || die "$nfail of $total test(s) failed"
[ "$status" -eq 0 ] || die "run.sh exited with status $status"
reran=${stalled:+, reran after a freeze in:$stalled}
[ $crashes -eq 0 ] || reran="$reran, reran after $crashes crash(es) of the emulated host's kernel"
[ $boot_freezes -eq 0 ] || reran="$reran, booted again after $boot_freezes freeze(s) while booting"
echo "emulated-host: all $total tests passed$reran" >&2
