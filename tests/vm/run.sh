#!/bin/sh
# VM tests: run the real capsa against a real KVM and guest kernel.
# usage: run.sh [GROUP...]   (default: every group)
# Each tests/vm/t_*.sh defines groups (shell functions t_NAME) and adds
# them to ALL_GROUPS.
# Prints TAP. Runs in the emulated KVM host (busybox sh) or directly on a
# host whose KVM can boot a guest; CAPSA names the binary (default: capsa).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
CAPSA=${CAPSA:-capsa}
T=$(mktemp -d)

# cap ARGS...: run capsa with stdin from /dev/null; stdout in $T/out,
# stderr in $T/err, exit status in $rc.
cap() {
	"$CAPSA" "$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# status NAME WANT ARGS...: run capsa and check its exit status.
status() {
	_name=$1 _want=$2
	shift 2
	cap "$@"
	if [ "$rc" = "$_want" ]; then
		ok "$_name"
	else
		fail "$_name" "exit status $rc, want $_want; stderr: $(head -c 300 "$T/err")"
	fi
}

# leftovers: what a capsa run could leave behind: processes, mounts, files
# in $T (sockets, images), taps.
leftovers() {
	echo "procs: $(pidof capsa capsa-broker 2>/dev/null)"
	echo "mounts: $(md5sum </proc/mounts)"
	echo "files: $(ls -a "$T" | grep -v -x -e out -e err -e .before -e .after -e .watchdog -e .group -e .beat | tr '\n' ' ')"
	echo "links: $(ls /sys/class/net | tr '\n' ' ')"
}

# bad NAME ARGS...: capsa must refuse with exit 125 and one line on stderr,
# and leave nothing behind.
bad() {
	_name=$1
	shift
	leftovers >"$T/.before"
	status "$_name: exit 125" 125 "$@"
	expect_lines "$_name: one line on stderr" "$T/err" 1
	leftovers >"$T/.after"
	if cmp -s "$T/.before" "$T/.after"; then ok "$_name: nothing left behind"
	else fail "$_name: nothing left behind" "$(diff "$T/.before" "$T/.after" | tail -n +2 | tr '\n' ' ')"; fi
}

# A capsa that runs for more than CAPSA_MAX_RUN seconds is stuck: show
# where each of its threads is, then kill it, so one hang costs one test
# rather than the whole run.
watchdog() {
	while sleep 10; do
		now=$(date +%s)
		for pid in $(pidof capsa capsa-test 2>/dev/null); do
			# /proc/PID appeared when the process started.
			start=$(stat -c %Y /proc/$pid 2>/dev/null) || continue
			[ $((now - start)) -gt "${CAPSA_MAX_RUN:-240}" ] || continue
			echo "# watchdog: capsa $pid has run $((now - start))s: $(tr '\0' ' ' </proc/$pid/cmdline)"
			for t in /proc/$pid/task/*; do
				echo "#   $(cat $t/comm) $(cut -d' ' -f3 $t/stat) wchan=$(cat $t/wchan) syscall=$(cut -d' ' -f1 $t/syscall) utime=$(cut -d' ' -f14 $t/stat)"
				sed 's/^/#     /' $t/stack 2>/dev/null | head -n 12
			done
			# What capsa waits for: its vCPUs, IOAPIC pins, rings and
			# requests in flight (SIGUSR1), from its stderr if a file.
			err=$(readlink /proc/$pid/fd/2)
			kill -USR1 "$pid"
			sleep 2
			[ ! -f "$err" ] || grep '^capsa: state: ' "$err" | tail -n 40 | sed 's/^/#   /'
			if [ -n "${EHOST:-}" ]; then
				# A guest rip equal to this is the emulated host's own
				# (in Debian 6.1.0-57 kvm-amd.ko, VMRUN ends at +0x9c):
				# the emulation replaced the guest's registers with its
				# host's. Only there: elsewhere the kernel and module
				# differ, and a non-root reader sees zeros.
				a=$(awk '$3 == "__svm_vcpu_run" { print $1 }' /proc/kallsyms)
				[ -z "$a" ] || printf '#   the emulated host resumes after VMRUN at 0xffffffff%08x\n' \
					$((0x${a#ffffffff} + 0x9c))
				# A stuck guest is how its freezes begin:
				# emulated-host.sh reruns the group in a fresh one.
				echo "EHOST-STUCK"
			fi
			kill -9 "$pid"
		done
	done
}
# Started from a subshell so that it is no job of this shell: tests may
# `wait` for all their background jobs.
(watchdog & echo $! >"$T/.watchdog")
trap 'kill $(cat "$T/.watchdog") 2>/dev/null; rm -rf "$T"' EXIT

ALL_GROUPS=
for f in "$here"/t_*.sh; do
	. "$f"
done
# The emulated host reruns what a frozen run left undone: it needs the list.
echo "# groups:" ${*:-$ALL_GROUPS}
# In the emulated host a guest now and then dies or hangs for reasons of the
# emulation (see emulated-host.sh), with any VMM: there a failed group is
# shown, then run once more, and only its second run counts. A group's
# lines are held until it ends, so a heartbeat shows it is still going; a
# group still going after CAPSA_MAX_GROUP seconds waits for a guest that is
# gone, and the emulated host reruns it in a fresh one (EHOST-STUCK).
for g in ${*:-$ALL_GROUPS}; do
	diag "$g"
	if [ -z "${EHOST:-}" ]; then
		$g
		continue
	fi
	n0=$_tap_n f0=$_tap_failed
	: >"$T/.group"
	# No job of this shell (tests may `wait` for all of theirs).
	( (s=0; while sleep 30; do
		s=$((s + 30))
		echo "# ... $g is running"
		[ $s -ge "${CAPSA_MAX_GROUP:-600}" ] || continue
		echo "# watchdog: $g has run ${s}s, longer than any group takes"
		echo "EHOST-STUCK"
	done) & echo $! >"$T/.beat" )
	$g >>"$T/.group"
	kill "$(cat "$T/.beat")" 2>/dev/null
	if [ "$_tap_failed" -eq "$f0" ]; then
		cat "$T/.group"
		continue
	fi
	_tap_n=$n0 _tap_failed=$f0
	diag "$g failed in the emulated host; once more. Its first run:"
	grep -e '^not ok' -e '^#' "$T/.group" | sed 's/^/#   /'
	$g
done
plan
