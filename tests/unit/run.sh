#!/bin/sh
# run.sh BUILD TEST... - run unit test programs, keep each one's TAP in
# TEST.log, print one line per program and the totals; exit 1 on any failure.
set -u
# Sanitizer reports end the program with status 99 (the asan build).
export ASAN_OPTIONS=detect_leaks=1:exitcode=99
export LSAN_OPTIONS=suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
build=$1
shift
pass=0 fail=0 bad=""
for t in "$@"; do
	# A test that hangs fails (status 124) rather than stalling make check.
	timeout 120 "$t" >"$t.log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$t.log")
	f=$(grep -c '^not ok ' "$t.log")
	pass=$((pass + p)) fail=$((fail + f))
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		bad="$bad $t"
		printf '# %-5s %-12s FAIL (exit %d, %d failed)\n' "$build" "${t##*/}" "$rc" "$f"
		grep -v '^ok ' "$t.log" | sed 's/^/#   /' | tail -n 40
	else
		printf '# %-5s %-12s %4d passed\n' "$build" "${t##*/}" "$p"
	fi
done
echo "unit ($build): $pass passed, $fail failed"
[ -z "$bad" ]
