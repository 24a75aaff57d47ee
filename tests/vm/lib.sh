# Tiny TAP helper for tests/vm run.sh scripts (POSIX sh; works in busybox ash).
# Source it, call the functions below, and end with `plan`:
#   . /tests/lib.sh
#   check "kvm opens" test -w /dev/kvm
#   expect_eq "answer" "$(echo 42)" 42
#   plan
# Each test prints one `ok N - NAME` or `not ok N - NAME` line; failures add
# `# ...` diagnostics.  The emulated-host harness fails the run on any
# `not ok`, a missing plan, or a plan that does not match the ok count.

_tap_n=0
_tap_failed=0

# ok NAME: record a pass.
ok() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1"
}

# fail NAME [REASON...]: record a failure with a diagnostic line.
fail() {
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	echo "not ok $_tap_n - $1"
	shift
	[ $# -eq 0 ] || echo "# $*"
}

# skip NAME REASON: record a skipped test (counts as passing in TAP).
skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n - $1 # SKIP $2"
}

# diag MSG...: print a diagnostic line.
diag() { echo "# $*"; }

# check NAME CMD [ARG...]: pass if CMD exits 0; on failure show its output.
check() {
	_tap_name=$1
	shift
	if _tap_out=$("$@" 2>&1); then
		ok "$_tap_name"
	else
		fail "$_tap_name" "command failed (status $?): $*"
		[ -z "$_tap_out" ] || printf '%s\n' "$_tap_out" | sed 's/^/#   /'
	fi
}

# expect_eq NAME GOT WANT: pass if the two strings are equal.
expect_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "got '$2', want '$3'"
	fi
}

# plan: print the trailing `1..N` plan; returns non-zero if anything failed,
# so `plan; exit $?` (or ending run.sh with `plan`) gives a useful status.
plan() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}

# expect_file NAME FILE WANT: pass if FILE holds exactly WANT (plus a newline
# when WANT is not empty).
expect_file() {
	if [ -z "$3" ]; then
		[ ! -s "$2" ] && ok "$1" && return
	elif [ "$(cat "$2")" = "$3" ] && [ "$(tail -c1 "$2" | od -An -c | tr -d ' ')" = '\n' ]; then
		ok "$1"
		return
	fi
	fail "$1" "$2 holds '$(head -c 200 "$2")', want '$3'"
}

# expect_grep NAME FILE PATTERN: pass if FILE has a line matching PATTERN.
expect_grep() {
	if grep -q -- "$3" "$2"; then
		ok "$1"
	else
		fail "$1" "no '$3' in $2: '$(head -c 300 "$2")'"
	fi
}

# expect_lines NAME FILE N: pass if FILE has exactly N lines.
expect_lines() {
	expect_eq "$1" "$(wc -l <"$2" | tr -d ' ')" "$3"
}
