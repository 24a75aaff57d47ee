#!/bin/sh
# run.sh FUZZ_DIR SECONDS NAME... - run each libFuzzer harness for SECONDS,
# then replay its corpus in the coverage build, and print one summary line
# per harness: executions, edges, corpus size, lines covered of the files
# its "fuzz-sources:" comment names. Exit 1 when any harness crashed.
set -u
dir=$1 secs=$2
shift 2
failed=""
rows=""
for n in "$@"; do
	log=$dir/$n.log crash=$dir/crash/$n/ work=$dir/corpus/$n seeds=tests/fuzz/corpus/$n
	mkdir -p "$crash" "$work" "$seeds"
	extra="" leaks=1
	[ "$n" = envfile ] && extra="-detect_leaks=0" leaks=0	# see fuzz_envfile.c
	echo "# fuzz $n: ${secs}s"
	# shellcheck disable=SC2086
	ASAN_OPTIONS=detect_leaks=$leaks "$dir/f/fuzz_$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-print_final_stats=1 -close_fd_mask=3 -artifact_prefix="$crash" $extra \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	edges=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
	corpus=$(grep -o 'corp: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
	if [ "$rc" -ne 0 ]; then
		failed="$failed $n"
		echo "# fuzz $n: FAILED (exit $rc); input kept in $crash"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n 5 | sed 's/^/#   /'
	fi

	# Coverage: replay seeds and everything found, in the instrumented build.
	rm -f "$dir/$n.profraw"
	LLVM_PROFILE_FILE="$dir/$n.profraw" "$dir/c/fuzz_$n" -runs=0 -close_fd_mask=3 \
		"$work" "$seeds" >"$dir/$n.cov.log" 2>&1
	srcs=$(sed -n 's/^ \* fuzz-sources: //p' "tests/fuzz/fuzz_$n.c")
	lines="-"
	if llvm-profdata-14 merge -sparse -o "$dir/$n.profdata" "$dir/$n.profraw" 2>/dev/null; then
		# shellcheck disable=SC2086
		llvm-cov-14 report "$dir/c/fuzz_$n" -instr-profile="$dir/$n.profdata" $srcs \
			>"$dir/$n.cov.txt" 2>/dev/null
		# Per file "name lines-cover%", and the TOTAL row.
		lines=$(awk '$1 ~ /\.[ch]$/ { sub(ENVIRON["PWD"] "/", "", $1); printf "%s %s, ", $1, $10 }
			     $1 == "TOTAL" { printf "total %s", $10 }' "$dir/$n.cov.txt")
	fi
	rows="$rows$(printf '%-8s %12s execs  %5s edges  %5s inputs  lines: %s' \
		"$n" "${execs:-?}" "${edges:-?}" "${corpus:-?}" "$lines")
"
done
echo "# fuzz summary (${secs}s each)"
printf '%s' "$rows"
[ -z "$failed" ] || { echo "fuzz: crashes in:$failed"; exit 1; }
