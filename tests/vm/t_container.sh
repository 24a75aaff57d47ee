# capsa dropped into a container as its only file, under a real OCI runtime
# (Debian's crun) with what Podman gives a container: its default
# capabilities and seccomp profile, /dev/kvm as the one extra device, no
# network (tests/vm/oci-fixture.sh). Sourced by run.sh (cap, status, bad).
OCI_FIX=${FIXTURES:-/tests/fixtures}/oci

# oci_run ARGS...: run `capsa ARGS...` as a container's process; stdout
# in $T/out, stderr in $T/err, crun's status in $rc. The emulated host's
# root is its initramfs, which nothing can pivot_root away from (crun
# would need --no-pivot), so crun runs as on a host with a real root: in a
# mount namespace whose root is a tmpfs moved over "/" (as t_jail_pivot).
oci_run() {
	_r=$T/oci-root _args='"/capsa"'
	for _a in "$@"; do _args="$_args, \"$_a\""; done
	mkdir -p "$_r"
	unshare -m sh -c '
		r=$1 fix=$2 capsa=$3 args=$4
		mount -t tmpfs oci "$r" && mkdir -p "$r/bin" "$r/dev" "$r/proc" "$r/sys" "$r/run" \
			"$r/bundle/rootfs" && cp /bin/busybox "$r/bin/" && ln -s busybox "$r/bin/sh" &&
		cp -a "$fix/sysroot/." "$r/" && cp "$capsa" "$r/bundle/rootfs/capsa" &&
		sed "s|\"@ARGS@\"|$args|" "$fix/config.json" >"$r/bundle/config.json" &&
		mount --rbind /dev "$r/dev" && mount --rbind /sys "$r/sys" && mount -t proc proc "$r/proc" &&
		cd "$r" && mount --move . / && exec chroot . /usr/bin/crun run --bundle /bundle capsa
	' sh "$_r" "$OCI_FIX" "$(command -v "$CAPSA")" "$_args" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

# A cgroup v2 hierarchy for crun, where the emulated host has none.
oci_setup() {
	[ -x "$OCI_FIX/sysroot/usr/bin/crun" ] || return 1
	grep -q " /sys/fs/cgroup cgroup2 " /proc/mounts || mount -t cgroup2 cgroup2 /sys/fs/cgroup
}

t_container() {
	if [ "$(id -u)" != 0 ] || [ ! -e "$OCI_FIX/config.json" ] || ! oci_setup; then
		skip "capsa in a crun container" "needs root and $OCI_FIX (make oci-fixture)"
		return
	fi
	oci_run -- echo hi
	expect_eq "in a crun container (Podman's capabilities and seccomp): capsa -- echo hi" \
		"$rc:$(cat "$T/out")" "0:hi"
	[ "$rc" = 0 ] || diag "stderr: $(head -c 600 "$T/err")"
	oci_run --check
	expect_eq "capsa --check in the container: a guest can run" "$rc" 0
	expect_grep "--check: the guest boots" "$T/out" "guest  *ok"
	expect_grep "--check: every jail layer applies" "$T/out" "6 of 6 layers apply"
	expect_grep "--check: capsa becomes nobody in its user namespace" "$T/out" \
		"capabilities  *applied: all dropped; now uid 65534"
	sed 's/^/# /' "$T/out"
	oci_run --jail strict -- echo strict
	expect_eq "--jail strict in the container" "$rc:$(cat "$T/out")" "0:strict"
}

ALL_GROUPS="$ALL_GROUPS t_container"
