# virtio-fs tests: --share and --rootfs DIR. Sourced by run.sh (cap, status,
# bad); run as root (the emulated host's tests are), the unprivileged user
# from t_jail.sh's jail_user_setup. The Debian tree (with python3 and git)
# comes from tests/vm/fs-fixtures.sh via $FIXTURES (default /tests/fixtures).
FS_FIX=${FIXTURES:-/tests/fixtures}/fs
FS_DEB=$FS_FIX/debian

# fs_sum DIR: a checksum of a tree: names (and link targets), types, modes,
# owners, sizes, mtimes and contents.
fs_sum() {
	(cd "$1" && { find . -exec stat -c '%N %F %a %u %g %s %Y' {} + | sort
		find . -type f -exec sha256sum {} + | sort; }) | sha256sum | cut -d' ' -f1
}

# fs_ucap CMD: CMD (one string, a shell command line) as the unprivileged
# user; stdout in $T/out, stderr in $T/err, status in $rc.
fs_ucap() {
	su -s /bin/sh "$JAIL_USER" -c "$1" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
}

fs_have_debian() {
	[ -x "$FS_DEB/usr/bin/python3" ] && return 0
	skip "$1" "no Debian tree (make fs-fixtures)"
	return 1
}

# The usual file operations on a :rw share, each checked on the host.
t_fs_rw() {
	_d=$T/rw
	mkdir -p "$_d/sub"
	echo hello >"$_d/a"
	cap --share "$_d:/mnt/s:rw" -- sh -c 'cd /mnt/s && cat a && echo new > b &&
		mv b c && ln c hard && ln -s a sym && chmod 640 c && echo 0123456789 > t &&
		truncate -s 4 t && fallocate -l 1048576 big && mkfifo fifo && mkdir -p d/e &&
		rmdir d/e && touch -d "2001-02-03 04:05:06" a && stat -c "%u %g" c'
	expect_eq "rw: the command succeeds" "$rc" 0
	expect_grep "rw: reads the host's file" "$T/out" "^hello$"
	expect_eq "rw: write + rename reach the host" "$(cat "$_d/c" 2>&1)" new
	expect_eq "rw: the old name is gone" "$(ls "$_d/b" 2>&1 | grep -c 'No such')" 1
	expect_eq "rw: hard link (2 links, same inode)" \
		"$(stat -c %h "$_d/c") $(stat -c %i "$_d/c")" "2 $(stat -c %i "$_d/hard")"
	expect_eq "rw: symlink" "$(readlink "$_d/sym")" a
	expect_eq "rw: chmod" "$(stat -c %a "$_d/c")" 640
	expect_eq "rw: truncate" "$(cat "$_d/t")" 0123
	expect_eq "rw: fallocate" "$(stat -c %s "$_d/big")" 1048576
	expect_eq "rw: mkfifo" "$(stat -c %F "$_d/fifo")" fifo
	expect_eq "rw: mkdir -p, rmdir" "$(ls -A "$_d/d")" ""
	expect_eq "rw: touch -d" "$(stat -c %Y "$_d/a")" "$(date -d '2001-02-03 04:05:06' +%s)"
	expect_grep "rw: files the guest's root made show as root's in the guest" "$T/out" "^0 0$"
	expect_eq "rw: ... and are capsa's user's on the host" "$(stat -c '%u %g' "$_d/c")" "0 0"
	cap --share "$_d:/mnt/s:rw" -- sh -c 'rm /mnt/s/hard /mnt/s/sym && rm -r /mnt/s/sub &&
		ls /mnt/s | tr "\n" " "'
	expect_eq "rw: rm and rm -r" "$(cat "$T/out")" "a big c d fifo t "
	# A host change made while the command runs is seen in the guest.
	echo before >"$_d/live"
	"$CAPSA" --share "$_d:/s:rw" -- sh -c 'cat /s/live; echo ready > /s/flag
		i=0; while [ $i -lt 100 ] && [ "$(cat /s/live)" = before ]; do sleep 0.2; i=$((i+1)); done
		cat /s/live' >"$T/out" 2>"$T/err" </dev/null &
	_p=$! _i=0
	while [ $_i -lt 300 ] && [ ! -e "$_d/flag" ]; do sleep 0.1; _i=$((_i + 1)); done
	echo after >"$_d/live"
	wait $_p
	expect_eq "rw: a file changed on the host during the run is seen" \
		"$(tr '\n' ' ' <"$T/out")" "before after "
	rm -rf "$_d"
}

# A thousand files made and removed: their inodes share the server's hash
# buckets and are forgotten out of order (once a crash of capsa itself).
t_fs_many() {
	_d=$T/many
	mkdir -p "$_d"
	cap --share "$_d:/s:rw" -- sh -c 'cd /s && i=0; while [ $i -lt 1000 ]; do echo $i > f$i; i=$((i+1)); done
		ls | wc -l; cat f7 f999; rm f*; ls | wc -l'
	expect_eq "1000 files: made, read and removed (exit 0)" "$rc" 0
	expect_eq "1000 files: what the guest saw" "$(tr '\n' ' ' <"$T/out")" "1000 7 999 0 "
	expect_eq "1000 files: none left on the host" "$(ls -A "$_d" | wc -l)" 0
	rm -rf "$_d"
}

# mmap(MAP_SHARED) writes reach the host file.
t_fs_mmap() {
	fs_have_debian "mmap shared write" || return
	_d=$T/mm
	mkdir -p "$_d"
	printf 'xxxxxxxxxx' >"$_d/m"
	cap --rootfs "$FS_DEB" --share "$_d:/s:rw" -- python3 -c '
import mmap
with open("/s/m", "r+b") as f:
    m = mmap.mmap(f.fileno(), 0, mmap.MAP_SHARED)
    m[2:7] = b"HELLO"
    m.flush()
    m.close()
print("mapped")'
	expect_file "mmap: python3 in the guest wrote through a shared mapping" "$T/out" mapped
	expect_eq "mmap: the host file has the bytes" "$(cat "$_d/m")" xxHELLOxxx
	rm -rf "$_d"
}

# 64 MiB of random data both ways, byte for byte; fsync survives kill -9.
t_fs_data() {
	_d=$T/data
	mkdir -p "$_d"
	# Written in 1 MiB blocks: a rw share has no writeback cache (it stays
	# coherent with the host), so each write(2) is a round trip.
	status "64 MiB guest -> host: exit 0" 0 --share "$_d:/s:rw" -- sh -c \
		'head -c 67108864 /dev/urandom > /tmp/r && dd if=/tmp/r of=/s/g2h bs=1M 2>/dev/null &&
		 sha256sum < /tmp/r | cut -d" " -f1'
	expect_eq "64 MiB guest -> host: same sha256" "$(sha256sum <"$_d/g2h" | cut -d' ' -f1)" \
		"$(cat "$T/out")"
	head -c 67108864 /dev/urandom >"$_d/h2g"
	cap --share "$_d:/s" -- sh -c 'sha256sum < /s/h2g | cut -d" " -f1'
	expect_eq "64 MiB host -> guest: same sha256" "$(cat "$T/out")" \
		"$(sha256sum <"$_d/h2g" | cut -d' ' -f1)"
	rm -f "$_d/g2h" "$_d/h2g"
	"$CAPSA" --share "$_d:/s:rw" -- sh -c 'printf synced-data > /s/f && sync /s/f &&
		echo synced; sleep 600' >"$T/out" 2>"$T/err" </dev/null &
	_p=$! _i=0
	while [ $_i -lt 300 ] && ! grep -q synced "$T/out"; do sleep 0.2; _i=$((_i + 1)); done
	kill -9 $_p
	wait $_p 2>/dev/null
	expect_eq "fsync, then kill -9 capsa: the guest synced" "$(cat "$T/out")" synced
	expect_eq "fsync, then kill -9 capsa: the data is in the host file" "$(cat "$_d/f")" synced-data
	rm -rf "$_d"
}

# git in the guest (the Debian tree as root), git log on the host.
t_fs_git() {
	fs_have_debian "git commit in the guest" || return
	_r=$FS_DEB/tmp/repo
	rm -rf "$_r"
	mkdir -p "$_r"
	echo 'print(6*7)' >"$_r/x.py"
	cap --rootfs "$FS_DEB" --share "$_r:/repo:rw" -w /repo -e HOME=/tmp -- sh -c \
		'git init -q && git add x.py && git -c user.name=Guest -c user.email=g@example.org \
		 commit -q -m "from the guest" && git status --short && python3 x.py'
	expect_eq "git: init, add, commit in the guest (exit 0)" "$rc" 0
	expect_grep "git: python3 runs the shared script" "$T/out" "^42$"
	expect_eq "git: the host's git log sees the commit" \
		"$(chroot "$FS_DEB" git -C /tmp/repo log --format='%an %s' 2>&1)" "Guest from the guest"
	expect_eq "git: the host's git status is clean" \
		"$(chroot "$FS_DEB" git -C /tmp/repo status --short 2>&1)" ""
	rm -rf "$_r"
}

# :ro: every mutating operation fails with EROFS; the tree is unchanged.
t_fs_ro() {
	_d=$T/ro
	mkdir -p "$_d/dir"
	echo data >"$_d/f"
	ln -s f "$_d/l"
	_before=$(fs_sum "$_d")
	cap --share "$_d:/s" -- sh -c 'cd /s
		for op in "echo x > f" "echo x >> f" "echo x > new" "rm f" "mv f g" "ln f h" \
			"ln -s f k" "chmod 777 f" "touch f" "truncate -s 0 f" "mkdir d2" "rmdir dir" \
			"mkfifo p" "fallocate -l 4096 f" "rm l" "chown 1:1 f"; do
			if sh -c "$op" 2>/dev/null; then echo "ALLOWED: $op"
			elif sh -c "$op" 2>&1 | grep -q "Read-only"; then echo "erofs"
			else echo "OTHER: $op: $(sh -c "$op" 2>&1)"; fi
		done; cat f'
	expect_eq "ro: 16 mutating operations, each fails with EROFS" \
		"$(grep -c '^erofs$' "$T/out")" 16
	expect_grep "ro: reading works" "$T/out" "^data$"
	if grep -q -e ALLOWED -e OTHER "$T/out"; then
		fail "ro: no other outcome" "$(grep -e ALLOWED -e OTHER "$T/out" | tr '\n' ';')"
	else
		ok "ro: no other outcome"
	fi
	# The guest remounting the share read-write changes nothing: capsa refuses.
	cap --share "$_d:/s" -- sh -c 'mount -o remount,rw /s && echo x > /s/f; echo "rc=$?"'
	expect_grep "ro: remounted rw in the guest, a write still fails" "$T/out" "^rc=[1-9]"
	expect_eq "ro: the host tree is unchanged (checksum)" "$(fs_sum "$_d")" "$_before"
	rm -rf "$_d"
}

# Escapes: symlinks resolve in the guest; a symlink swapped in on the host;
# FIFOs and device nodes never opened on the host.
t_fs_escape() {
	_d=$T/esc
	mkdir -p "$_d/in" "$T/secret"
	echo SECRET >"$T/secret/f"
	ln -s /etc "$_d/etc"
	ln -s ../../secret "$_d/in/up"
	ln -s "$T/secret" "$_d/abs"
	cap --share "$_d:/s:rw" -- sh -c 'mkdir -p /etc; echo guest-etc > /etc/capsa-mark; cat /s/etc/capsa-mark;
		cat /s/in/up/f 2>&1; cat /s/abs/f 2>&1; echo changed > /s/etc/capsa-x 2>&1'
	expect_eq "escape: the guest wrote through /s/etc to its own /etc, not the host's" \
		"$(ls /etc/capsa-x /etc/capsa-mark 2>&1 | grep -c 'No such')" 2
	expect_grep "escape: /s/etc -> /etc is the guest's /etc" "$T/out" "^guest-etc$"
	if grep -q SECRET "$T/out"; then fail "escape: ../../ and absolute symlinks stay in the guest" \
		"$(cat "$T/out")"; else ok "escape: ../../ and absolute symlinks stay in the guest"; fi
	# A host loop swaps a directory for a symlink to the secret while the guest reads.
	(while [ ! -e "$_d/stop" ]; do
		rm -rf "$_d/race"; mkdir "$_d/race"; echo inside >"$_d/race/f"
		rm -rf "$_d/race"; ln -s "$T/secret" "$_d/race"
	done) &
	_loop=$!
	cap --share "$_d:/s" -- sh -c 'n=0; i=0; while [ $i -lt 2000 ]; do
		cat /s/race/f 2>/dev/null; i=$((i+1)); done | sort | uniq -c'
	touch "$_d/stop"
	wait $_loop
	expect_grep "escape: the race ran (the guest read the directory's file)" "$T/out" "inside"
	if grep -q SECRET "$T/out"; then fail "escape: a symlink swapped in never leads out" "$(cat "$T/out")"
	else ok "escape: a symlink swapped in never leads out"; fi
	# A FIFO on the share: the guest's pipe, never opened on the host.
	mkfifo "$_d/fifo"
	(cat "$_d/fifo" >"$T/fifo.out") &
	_cat=$!
	cap --share "$_d:/s:rw" -- sh -c 'timeout 2 sh -c "echo from-guest > /s/fifo"; echo "rc=$?"'
	sleep 1
	expect_grep "escape: the guest's write to a shared FIFO blocks in the guest" "$T/out" "^rc=[1-9]"
	expect_eq "escape: the host's FIFO reader got nothing (capsa never opened it)" \
		"$(cat "$T/fifo.out" 2>/dev/null)" ""
	expect_eq "escape: ... and is still waiting" "$(kill -0 $_cat 2>/dev/null && echo waiting)" waiting
	echo >"$_d/fifo"
	wait $_cat
	rm -rf "$_d" "$T/secret" "$T/fifo.out"
}

# A device node and a FIFO on a / share (the emulated host's own root).
t_fs_special() {
	mknod /capsa-fs-zero c 1 5
	mkfifo /capsa-fs-fifo
	cap --share /:/host -- sh -c 'head -c 4 /host/capsa-fs-zero >/dev/null; echo "zero=$?";
		timeout 2 cat /host/capsa-fs-fifo; echo "fifo=$?"; ls /host/proc | head -n 3 | wc -l;
		ls /host/tests/run.sh'
	expect_grep "/ share: a device node on it cannot be opened (nodev)" "$T/out" "^zero=[1-9]"
	expect_grep "/ share: a FIFO on it stays the guest's (blocks, no host writer)" "$T/out" "^fifo=[1-9]"
	expect_grep "/ share: the host's /proc is not served (another filesystem)" "$T/out" "^0$"
	expect_grep "/ share: the host's files are" "$T/out" "^/host/tests/run.sh$"
	rm -f /capsa-fs-zero /capsa-fs-fifo
}

# --rootfs DIR: the Debian tree as the root, below a tmpfs overlay.
t_fs_rootfs() {
	fs_have_debian "--rootfs DIR" || return
	_before=$(fs_sum "$FS_DEB")
	cap --rootfs "$FS_DEB" -- python3 -c 'print(6*7)'
	expect_file "--rootfs DIR: python3 prints 42" "$T/out" 42
	expect_file "--rootfs DIR: stderr empty" "$T/err" ""
	cap --rootfs "$FS_DEB" -- sh -c 'echo x > /etc/x && rm -rf /usr/share/perl5 &&
		cat /etc/x /etc/debian_version && test -c /dev/null && test -r /proc/self/stat &&
		touch /tmp/t /run/r && python3 -c "import json, email, asyncio; print(\"imports\")"'
	expect_grep "--rootfs DIR: writes go to the overlay" "$T/out" "^x$"
	expect_grep "--rootfs DIR: Debian 12" "$T/out" "^12\."
	expect_grep "--rootfs DIR: the stdlib imports" "$T/out" "^imports$"
	status "--rootfs DIR: exit status passes through" 7 --rootfs "$FS_DEB" -- sh -c 'exit 7'
	status "--rootfs DIR: missing command gives 127" 127 --rootfs "$FS_DEB" -- no-such-command
	expect_eq "--rootfs DIR: nothing in DIR changed (checksum)" "$(fs_sum "$FS_DEB")" "$_before"
	# With a share and -w into it.
	mkdir -p "$T/proj"
	echo 'print("from the share")' >"$T/proj/p.py"
	cap --rootfs "$FS_DEB" --share "$T/proj:rw" -w "$T/proj" -- sh -c 'python3 p.py > out.txt; pwd'
	expect_file "--rootfs DIR + --share + -w: the working directory" "$T/out" "$T/proj"
	expect_eq "--rootfs DIR + --share: the output landed in the share" "$(cat "$T/proj/out.txt")" \
		"from the share"
	rm -rf "$T/proj"
}

# --rootfs /: the emulated host's own userland, with the guest's own /proc etc.
t_fs_rootfs_host() {
	echo host-tmp >/tmp/capsa-fs-marker
	cap --rootfs / -- sh -c 'ls /tests/run.sh; readlink /proc/self/exe; cat /proc/1/comm;
		ls /tmp/capsa-fs-marker 2>&1; test -c /dev/null && echo dev; echo x > /new && cat /new;
		uname -n'
	expect_eq "--rootfs /: exit 0" "$rc" 0
	expect_grep "--rootfs /: the host's files" "$T/out" "^/tests/run.sh$"
	expect_grep "--rootfs /: runs the host's busybox" "$T/out" "^/bin/busybox$"
	expect_grep "--rootfs /: /proc is the guest's (PID 1 is capsa's init)" "$T/out" "^init$"
	expect_grep "--rootfs /: /tmp is the guest's" "$T/out" "No such file"
	expect_grep "--rootfs /: /dev is the guest's" "$T/out" "^dev$"
	expect_grep "--rootfs /: writes stay in the guest" "$T/out" "^x$"
	expect_eq "--rootfs /: ... not on the host" "$(ls /new 2>&1 | grep -c 'No such')" 1
	rm -f /tmp/capsa-fs-marker
}

t_fs_bad() {
	mkdir -p "$T/sd"
	echo x >"$T/sfile"
	bad "--share missing HOST" --share "$T/missing" -- true
	expect_grep "--share missing HOST: named" "$T/err" "missing: No such file"
	bad "--share a file" --share "$T/sfile" -- true
	expect_grep "--share a file: said so" "$T/err" "not a directory"
	bad "--share GUEST not absolute" --share "$T/sd:rel" -- true
	bad "--share GUEST in /proc" --share "$T/sd:/proc/x" -- true
	bad "--share GUEST /sys" --share "$T/sd:/sys" -- true
	bad "--share GUEST in /dev" --share "$T/sd:/dev/shm" -- true
	bad "--share GUEST /" --share "$T/sd:/" -- true
	bad "two shares on one GUEST" --share "$T/sd:/x" --share "/tmp:/x" -- true
	bad "--share of /proc (a pseudo-filesystem)" --share /proc:/x -- true
	bad "--share with an empty HOST" --share ":/x" -- true
	bad "--rootfs /:rw" --rootfs /:rw -- true
	expect_grep "--rootfs /:rw: said why" "$T/err" "never writable"
	bad "--rootfs missing DIR" --rootfs "$T/missing/" -- true
	jail_user_setup
	mkdir -p /tmp/capsa-fs-sd
	chmod 000 /tmp/capsa-fs-sd
	fs_ucap "$(command -v "$CAPSA") --share /tmp/capsa-fs-sd -- true"
	expect_eq "--share unreadable: exit 125" "$rc" 125
	expect_grep "--share unreadable: said why" "$T/err" "Permission denied"
	expect_lines "--share unreadable: one line" "$T/err" 1
	chmod "$_kvm_mode" /dev/kvm
	rm -rf "$T/sd" "$T/sfile" /tmp/capsa-fs-sd
}

# Identity when capsa starts as root: :rw shares are served as their owner.
t_fs_identity() {
	jail_user_setup
	_d=$T/id
	mkdir -p "$_d/u" "$_d/r" "$_d/any"
	chown 1000:1000 "$_d/u"
	chmod 777 "$_d/any"
	cap --share "$_d/u:/u:rw" -- sh -c 'touch /u/made; stat -c "%u %g" /u/made'
	expect_eq "root, share owned by 1000: the new file is 1000's" "$(stat -c '%u %g' "$_d/u/made")" "1000 1000"
	expect_file "root, share owned by 1000: the guest sees it as root's" "$T/out" "0 0"
	cap --share "$_d/r:/r:rw" -- touch /r/made
	expect_eq "root, share owned by root: the new file is root's" "$(stat -c '%u' "$_d/r/made")" 0
	cap --user 1234:1234 --share "$_d/any:/a:rw" -- touch /a/made
	expect_eq "root with --user 1234: the new file is 1234's" "$(stat -c '%u %g' "$_d/any/made")" \
		"1234 1234"
	bad "root, two :rw shares with different owners" --share "$_d/u:/u:rw" --share "$_d/r:/r:rw" -- true
	expect_grep "root, two owners: names --user" "$T/err" "give --user"
	# The jailed process: nobody, with the owner kept for the share threads' fsuid.
	"$CAPSA" --share "$_d/u:/u:rw" -- sleep 30 </dev/null >/dev/null 2>&1 &
	_p=$!
	sleep 6
	_main=$(sed -n 's/^Uid:[[:space:]]*//p' /proc/$_p/status | tr '\t' ' ')
	_fs=$(for _t in /proc/$_p/task/*; do sed -n 's/^Uid:[[:space:]]*//p' "$_t/status"; done |
		tr '\t' ' ' | grep -c ' 1000$')
	kill $_p
	wait $_p 2>/dev/null
	expect_eq "root: the main thread is nobody (saved uid 1000)" "$_main" "65534 65534 1000 65534"
	expect_eq "root: the 5 share threads have fsuid 1000" "$_fs" 5
	rm -rf "$_d"
}

# Not root: files belong to the user who ran capsa.
t_fs_unprivileged() {
	jail_user_setup
	_d=/tmp/capsa-fs-unpriv
	rm -rf "$_d"
	mkdir -p "$_d"
	chown 1000:1000 "$_d"
	fs_ucap "$(command -v "$CAPSA") --share $_d:/s:rw -- sh -c 'echo hi > /s/f && mkdir /s/d &&
		stat -c \"%u %g\" /s/f /s/d'"
	expect_eq "unprivileged: runs" "$rc" 0
	expect_eq "unprivileged: the files are the user's on the host" \
		"$(stat -c '%u %g' "$_d/f" "$_d/d" | tr '\n' ' ')" "1000 1000 1000 1000 "
	expect_eq "unprivileged: the guest sees them as root's" "$(tr '\n' ' ' <"$T/out")" "0 0 0 0 "
	fs_ucap "$(command -v "$CAPSA") --rootfs / -- sh -c 'ls /tests/run.sh && cat /proc/1/comm'"
	expect_eq "unprivileged --rootfs /: runs the host's userland" "$(tr '\n' ' ' <"$T/out")" \
		"/tests/run.sh init "
	chmod "$_kvm_mode" /dev/kvm
	rm -rf "$_d"
}

# The jail with shares: filters per thread, and no way out through the fds.
t_fs_jail() {
	_d=$T/fj
	mkdir -p "$_d"
	"$CAPSA" --share "$_d:/s" -- sleep 30 </dev/null >/dev/null 2>&1 &
	_p=$!
	sleep 6
	_f=$(for _t in /proc/$_p/task/*; do sed -n 's/^Seccomp_filters:[[:space:]]*//p' "$_t/status"; done |
		sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
	kill $_p
	wait $_p 2>/dev/null
	expect_eq "filters: main and 5 share threads 2 each, the vCPU 3" "$_f" "2:6 3:1 "
	if ! command -v capsa-test >/dev/null; then
		skip "escape through the shared fds" "no capsa-test (make capsa-test)"
		rm -rf "$_d"
		return
	fi
	for _op in procroot shareup; do
		CAPSA_TEST_ESCAPE=share:$_op capsa-test --share "$_d:/s" -- true >"$T/out" 2>"$T/err" </dev/null
		expect_eq "jailed: $_op fails (98)" "$?" 98
		CAPSA_TEST_ESCAPE=share:$_op capsa-test --jail off --share "$_d:/s" -- true \
			>"$T/out" 2>"$T/err" </dev/null
		expect_eq "control, --jail off: $_op succeeds (99)" "$?" 99
	done
	CAPSA_TEST_ESCAPE=open capsa-test --share "$_d:/s" -- true >"$T/out" 2>"$T/err" </dev/null
	expect_eq "with shares, the main thread still cannot open (SIGSYS)" "$?" 159
	rm -rf "$_d"
}

# At the fd budget the guest gets ENFILE, and capsa goes on.
t_fs_limit() {
	jail_user_setup
	_d=/tmp/capsa-fs-lim
	rm -rf "$_d"
	mkdir -p "$_d"
	chown 1000:1000 "$_d"
	fs_ucap "ulimit -n 2600; $(command -v "$CAPSA") -v --share $_d:/s:rw -- sh -c \
		'i=0; f=0; while [ \$i -lt 700 ]; do touch /s/f\$i 2>/dev/null || f=\$((f+1)); i=\$((i+1)); done;
		 echo failed=\$f; ls /s | wc -l; echo alive'"
	expect_eq "budget: capsa exits with the command's status" "$rc" 0
	expect_grep "budget: the budget is what RLIMIT_NOFILE allows" "$T/err" "at most 552 files"
	expect_grep "budget: some creates failed" "$T/out" "^failed=[1-9]"
	expect_grep "budget: the command went on" "$T/out" "^alive$"
	chmod "$_kvm_mode" /dev/kvm
	rm -rf "$_d"
}

ALL_GROUPS="$ALL_GROUPS t_fs_rw t_fs_many t_fs_mmap t_fs_data t_fs_git t_fs_ro t_fs_escape t_fs_special"
ALL_GROUPS="$ALL_GROUPS t_fs_rootfs t_fs_rootfs_host t_fs_bad t_fs_identity t_fs_unprivileged"
ALL_GROUPS="$ALL_GROUPS t_fs_jail t_fs_limit"
