# virtio-blk tests: --disk and --rootfs. Sourced by run.sh (cap, status, bad).
# Images are made here, in $T; the Debian root filesystems come from
# tests/vm/blk-fixtures.sh via $FIXTURES (default /tests/fixtures).
BLK_FIX=${FIXTURES:-/tests/fixtures}/blk

sha() { sha256sum "$1" | cut -d' ' -f1; }

# Disks appear in order, with their size, read-only flag and serial.
t_blk_disk() {
	truncate -s 8M "$T/a.img"
	truncate -s 4M "$T/b.img"
	cap --disk "$T/a.img" --disk "$T/b.img:ro" -- sh -c \
		'echo $(cat /sys/block/vda/size /sys/block/vdb/size /sys/block/vda/ro /sys/block/vdb/ro)'
	expect_file "two disks: vda 8 MiB rw, vdb 4 MiB ro" "$T/out" "16384 8192 0 1"
	cap --disk "$T/a.img" -- cat /sys/block/vda/serial
	expect_grep "GET_ID: a capsa serial" "$T/out" "^capsa-[0-9a-f]\{14\}$"
	cp "$T/out" "$T/serial1"
	cap --disk "$T/a.img" -- cat /sys/block/vda/serial
	expect_eq "GET_ID: the same serial next time" "$(cat "$T/out")" "$(cat "$T/serial1")"
	cap --disk "$T/a.img" -- sh -c 'printf hello-disk | dd of=/dev/vda bs=512 seek=3 conv=sync 2>/dev/null'
	expect_eq "a write reaches the image at the right offset" \
		"$(dd if="$T/a.img" bs=512 skip=3 count=1 2>/dev/null | head -c 10)" "hello-disk"
	cap --disk "$T/a.img" -- sh -c 'dd if=/dev/vda bs=512 skip=3 count=1 2>/dev/null | head -c 10'
	expect_eq "and reads back in the guest" "$(cat "$T/out")" "hello-disk"
	cap --disk "$T/a.img" -- sh -c 'cat /sys/block/vda/queue/discard_max_bytes \
		/sys/block/vda/queue/write_zeroes_max_bytes'
	if [ "$(sed -n 1p "$T/out")" -gt 0 ] 2>/dev/null && [ "$(sed -n 2p "$T/out")" -gt 0 ]; then
		ok "discard and write-zeroes offered"
	else
		fail "discard and write-zeroes offered" "$(cat "$T/out" "$T/err")"
	fi
	rm -f "$T/a.img" "$T/b.img" "$T/serial1"
}

# 64 MiB of random data written in the guest lands byte for byte.
t_blk_data() {
	truncate -s 64M "$T/d.img"
	status "64 MiB random: exit 0" 0 --disk "$T/d.img" -- sh -c \
		'head -c 67108864 /dev/urandom | tee /dev/vda | sha256sum | cut -d" " -f1; sync'
	expect_eq "64 MiB random: the image holds exactly the guest's bytes" \
		"$(sha "$T/d.img")" "$(cat "$T/out")"
	cap --disk "$T/d.img" -- sh -c 'sha256sum /dev/vda | cut -d" " -f1'
	expect_eq "64 MiB random: the guest reads the same back" "$(cat "$T/out")" "$(sha "$T/d.img")"
	rm -f "$T/d.img"
}

# Data the guest flushed is on the host file even when capsa is killed -9.
t_blk_flush() {
	truncate -s 4M "$T/f.img"
	"$CAPSA" --disk "$T/f.img" -- sh -c \
		'printf flushed-data | dd of=/dev/vda bs=512 seek=1 conv=sync,fsync 2>/dev/null &&
		 echo flushed; sleep 600' >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	i=0
	while [ $i -lt 300 ] && ! grep -q flushed "$T/out"; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -9 $pid
	wait $pid 2>/dev/null
	expect_eq "write + FLUSH, then kill -9 capsa: the guest flushed" "$(cat "$T/out")" flushed
	expect_eq "write + FLUSH, then kill -9 capsa: the data is in the file" \
		"$(dd if="$T/f.img" bs=512 skip=1 count=1 2>/dev/null | head -c 12)" flushed-data
	rm -f "$T/f.img"
}

# A read-only disk: writes fail in the guest and the file is unchanged.
t_blk_ro() {
	dd if=/dev/urandom of="$T/r.img" bs=64k count=16 2>/dev/null
	before=$(sha "$T/r.img")
	cap --disk "$T/r.img:ro" -- sh -c \
		'dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct 2>&1; echo "dd=$?"'
	expect_grep "ro: a raw write fails" "$T/out" "^dd=[1-9]"
	expect_grep "ro: ... with EROFS, EPERM or EIO" "$T/out" \
		"Read-only file system\|Operation not permitted\|I/O error\|Permission denied"
	truncate -s 4M "$T/e.img"
	mke2fs -F "$T/e.img" >/dev/null 2>&1
	ebefore=$(sha "$T/e.img")
	cap --disk "$T/e.img:ro" -- sh -c \
		'mkdir /tmp/m && mount -o ro /dev/vda /tmp/m && { echo x > /tmp/m/x; echo "write=$?"; }'
	expect_grep "ro: a file write on its filesystem fails" "$T/err" "Read-only file system"
	expect_grep "ro: ... and the command sees it" "$T/out" "^write=[1-9]"
	expect_eq "ro: the image is unchanged" "$(sha "$T/r.img")" "$before"
	expect_eq "ro: the filesystem image is unchanged" "$(sha "$T/e.img")" "$ebefore"
	rm -f "$T/r.img" "$T/e.img"
}

# Discard punches holes in the image; the range reads back as zeroes.
t_blk_discard() {
	dd if=/dev/urandom of="$T/z.img" bs=1M count=4 2>/dev/null
	rest() { { head -c 1048576 "$T/z.img"; tail -c 2097152 "$T/z.img"; } | sha256sum; }
	before=$(rest)
	cap --disk "$T/z.img" -- blkdiscard -o 1048576 -l 1048576 /dev/vda
	expect_eq "blkdiscard: exit 0" "$rc" 0
	expect_eq "blkdiscard: the range is zeroes in the image" \
		"$(dd if="$T/z.img" bs=1M skip=1 count=1 2>/dev/null | tr -d '\0' | wc -c | tr -d ' ')" 0
	expect_eq "blkdiscard: the rest is untouched" "$(rest)" "$before"
	rm -f "$T/z.img"
}

t_blk_bad() {
	bad "--disk missing file" --disk "$T/missing.img" -- true
	expect_grep "--disk missing file: named" "$T/err" "missing.img: No such file"
	bad "--disk a directory" --disk "$T" -- true
	expect_grep "--disk a directory: said so" "$T/err" "directory"
	bad "--disk a directory, :ro" --disk "$T:ro" -- true
	truncate -s 1000 "$T/odd.img"
	bad "--disk 1000 bytes" --disk "$T/odd.img" -- true
	expect_grep "--disk 1000 bytes: said why" "$T/err" "not a multiple of 512"
	bad "--disk /dev/null" --disk /dev/null -- true
	bad "--rootfs missing file" --rootfs "$T/missing.ext4" -- true
	bad "--disk with an empty path" --disk :ro -- true
	truncate -s 1M "$T/u.img"
	chmod 000 "$T/u.img"
	if unshare -U true 2>/dev/null; then
		# Not root any more (in a user namespace), so mode 000 means no access.
		unshare -U "$CAPSA" --disk "$T/u.img" -- true >"$T/out" 2>"$T/err" </dev/null
		expect_eq "--disk unreadable: exit 125" "$?" 125
		expect_grep "--disk unreadable: said why" "$T/err" "Permission denied"
		expect_lines "--disk unreadable: one line" "$T/err" 1
	else
		skip "--disk unreadable" "unshare -U not permitted here"
	fi
	# An image another capsa is writing to is refused.
	truncate -s 1M "$T/busy.img"
	"$CAPSA" --disk "$T/busy.img" -- sleep 600 >/dev/null 2>&1 </dev/null &
	pid=$!
	sleep 1
	bad "--disk in use by another capsa" --disk "$T/busy.img" -- true
	expect_grep "--disk in use: said so" "$T/err" "in use"
	kill -9 $pid
	wait $pid 2>/dev/null
	rm -f "$T/odd.img" "$T/u.img" "$T/busy.img"
}

# --rootfs IMAGE: the Debian image as /, writes in RAM only.
t_blk_rootfs() {
	if [ ! -e "$BLK_FIX/debian.ext4" ]; then
		skip "--rootfs debian.ext4" "no fixtures (make blk-fixtures)"
		return
	fi
	img=$BLK_FIX/debian.ext4
	before=$(sha "$img")
	cap --rootfs "$img" -- python3 -c 'print(6*7)'
	expect_file "--rootfs debian.ext4: python3 prints 42" "$T/out" 42
	expect_file "--rootfs debian.ext4: stderr empty" "$T/err" ""
	cap --rootfs "$img" -- sh -c 'echo x > /etc/x && cat /etc/x /etc/debian_version'
	expect_grep "--rootfs: the command writes /etc/x" "$T/out" "^x$"
	expect_grep "--rootfs: it is Debian 12" "$T/out" "^12\."
	cap --rootfs "$img" -- sh -c 'rm -rf /etc/apt && mkdir /etc/apt && touch /etc/apt/y && ls /etc/apt'
	expect_file "--rootfs: a directory removed and made again (overlay)" "$T/out" y
	cap --rootfs "$img" -- sh -c 'test -r /proc/self/stat && test -c /dev/null &&
		test -d /sys/block/vda && touch /tmp/t /run/r && test -e /dev/pts/ptmx && echo mounted'
	expect_file "--rootfs: /proc /sys /dev /tmp /run in the new root" "$T/out" mounted
	expect_eq "--rootfs: the image is unchanged" "$(sha "$img")" "$before"
	status "--rootfs: exit status passes through" 7 --rootfs "$img" -- sh -c 'exit 7'
	status "--rootfs: missing command gives 127" 127 --rootfs "$img" -- no-such-command
	cap --rootfs "$img" -- sh -c 'echo out; echo err >&2'
	expect_file "--rootfs: stdout apart" "$T/out" out
	expect_file "--rootfs: stderr apart" "$T/err" err
	cap --rootfs "$img" -w /usr/lib -- pwd
	expect_file "--rootfs: -w works in the image" "$T/out" /usr/lib
	if [ -e "$BLK_FIX/debian.squashfs" ]; then
		cap --rootfs "$BLK_FIX/debian.squashfs" -- sh -c 'echo y > /usr/y && python3 -c "print(6*7)"'
		expect_file "--rootfs debian.squashfs: python3 prints 42" "$T/out" 42
	fi
}

# --rootfs IMAGE:rw: writes persist, and the image is left clean.
t_blk_rootfs_rw() {
	if [ ! -e "$BLK_FIX/small.ext4" ]; then
		skip "--rootfs small.ext4:rw" "no fixtures (make blk-fixtures)"
		return
	fi
	cp "$BLK_FIX/small.ext4" "$T/s.ext4"
	truncate -s 1M "$T/data.img"
	cap --rootfs "$T/s.ext4:rw" --disk "$T/data.img" -- sh -c \
		'cat /etc/name; echo persisted > /etc/x; ls /dev/vdb'
	expect_eq "--rootfs :rw: exit 0" "$rc" 0
	expect_grep "--rootfs :rw: the image is the root" "$T/out" "^small$"
	expect_grep "--rootfs :rw: a --disk is vdb" "$T/out" "^/dev/vdb$"
	cap --rootfs "$T/s.ext4" -- cat /etc/x
	expect_file "--rootfs :rw: the write persisted (and mounts read-only again)" "$T/out" persisted
	if [ -e "$BLK_FIX/debian.squashfs" ]; then
		bad "--rootfs squashfs:rw" --rootfs "$BLK_FIX/debian.squashfs:rw" -- true
		expect_grep "--rootfs squashfs:rw: said why" "$T/err" "read-write"
	fi
	truncate -s 4M "$T/junk.img"
	bad "--rootfs not a filesystem" --rootfs "$T/junk.img" -- true
	rm -f "$T/s.ext4" "$T/data.img" "$T/junk.img"
}

ALL_GROUPS="$ALL_GROUPS t_blk_disk t_blk_data t_blk_flush t_blk_ro t_blk_discard t_blk_bad"
ALL_GROUPS="$ALL_GROUPS t_blk_rootfs t_blk_rootfs_rw"
