# Bad input: a table of invocations capsa must refuse, each with exit 125,
# one line on stderr naming the cause, and nothing left behind (see bad()).
# Sourced by run.sh.

t_bad_table() {
	mkdir -p "$T/dir"
	head -c 1000 /dev/zero >"$T/odd.img"
	head -c 1048576 /dev/zero >"$T/ok.img"
	mkfifo "$T/fifo"
	touch "$T/exists"
	printf 'GOOD=1\nnot a valid line\n' >"$T/bad.env"
	long=$(head -c 120000 /dev/zero | tr '\0' x)
	longpath=/tmp/$(head -c 120 /dev/zero | tr '\0' p)
	# NAME | ARGS (shell words)
	while IFS='|' read -r name args; do
		[ -n "$name" ] || continue
		eval "set -- $args"
		bad "$name" "$@"
	done <<TABLE
unknown flag|--frobnicate -- true
unknown short flag|-Z -- true
missing --|echo hi
nothing after --|--
empty command name|-- ''
flag without its value|--memory
flag given a value it does not take|--verbose=yes -- true
--memory 0|--memory 0 -- true
--memory 1T|--memory 1T -- true
--memory abc|--memory abc -- true
--memory below the minimum|--memory 16 -- true
--memory with a bad suffix|--memory 1GM -- true
--cpus 0|--cpus 0 -- true
--cpus 1000|--cpus 1000 -- true
--cpus -1|--cpus -1 -- true
--cpus 1.5|--cpus 1.5 -- true
--timeout 0|--timeout 0 -- true
--timeout abc|--timeout abc -- true
--kill-after abc|--kill-after abc -- true
--cid 2 (the host's)|--cid 2 -- true
--cid abc|--cid abc -- true
--disk missing|--disk /nonexistent.img -- true
--disk a directory|--disk "$T/dir" -- true
--disk a fifo|--disk "$T/fifo" -- true
--disk odd-sized image|--disk "$T/odd.img" -- true
--rootfs missing|--rootfs /nonexistent.img -- true
--rootfs odd-sized image|--rootfs "$T/odd.img" -- true
-e with an empty name|-e =x -- true
-e of a variable the host lacks|-e CAPSA_SURELY_UNSET -- true
--env-file missing|--env-file /nonexistent -- true
--env-file with a bad line|--env-file "$T/bad.env" -- true
--env-file a directory|--env-file "$T/dir" -- true
-w relative|-w tmp -- true
-w missing directory (guest side)|-w /nonexistent -- true
--copy missing source|--copy /nonexistent -- true
--copy relative guest path|--copy "$T/ok.img:rel" -- true
--vsock PATH that exists|--vsock "$T/exists" -- true
--vsock PATH too long|--vsock "$longpath" -- true
--jail bogus|--jail bogus -- true
--user nobody-such|--user nobody-such -- true
arguments over 1 MiB|-- true "$long" "$long" "$long" "$long" "$long" "$long" "$long" "$long" "$long"
too much to copy for --memory|--memory 64 --copy "${FIXTURES:-/tests/fixtures}" -- true
TABLE
	expect_eq "an existing --vsock PATH is left alone" "$(ls "$T/exists")" "$T/exists"
	rm -rf "$T/dir" "$T/odd.img" "$T/ok.img" "$T/fifo" "$T/exists" "$T/bad.env"
}

ALL_GROUPS="$ALL_GROUPS t_bad_table"
