#!/bin/sh
# run-fuzzers.sh - build the libFuzzer targets with clang and run each one
# for a bounded time over a copy of its seed corpus.
#
# usage: fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
#   SECONDS  per target (default 30)
#   TARGET   http-api, smtp-parse, smtp-session, mime, dns-answer,
#            search-query, smtp-reply (default: all of them)
# environment:
#   FUZZ_BUILD_DIR  build directory (default: build-fuzz in the source tree)
#   FUZZ_JOBS       parallel libFuzzer workers per target (default 1)
#   ASAN_OPTIONS, UBSAN_OPTIONS are respected when set.
#
# The whole build is instrumented (coverage in libgentd, not only in the
# harness): Meson's b_sanitize adds ASan+UBSan, -fsanitize=fuzzer-no-link
# adds coverage, and each target links libFuzzer itself. New inputs and
# crash artifacts go to fuzz/out/<target>/ (ignored by git); the seed
# corpus in fuzz/corpus/ is never modified. Exit status is non-zero when
# any target crashed, leaked, or hit undefined behaviour.
set -eu

secs=${1:-30}
[ $# -gt 0 ] && shift
case $secs in
	''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

src=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$src/build-fuzz}
jobs=${FUZZ_JOBS:-1}

# target:corpus-dir:dict (dict relative to fuzz/; "-" for none)
all_targets="http-api:http_api:http.dict smtp-parse:smtp_parse:smtp.dict \
smtp-session:smtp_session:smtp.dict mime:mime:- dns-answer:dns_answer:- \
search-query:search_query:- smtp-reply:smtp_reply:smtp_reply.dict"

command -v clang >/dev/null 2>&1 || {
	echo "$0: clang is required (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
}

setup_opts="-Dfuzzers=true -Dtests=false -Db_lundef=false \
-Db_sanitize=address,undefined -Dc_args=-fsanitize=fuzzer-no-link"
if [ ! -f "$build/build.ninja" ]; then
	# shellcheck disable=SC2086
	CC=clang meson setup "$build" "$src" $setup_opts
else
	# shellcheck disable=SC2086
	meson configure "$build" $setup_opts >/dev/null
fi

selected=
if [ $# -gt 0 ]; then
	for want in "$@"; do
		found=
		for t in $all_targets; do
			[ "${t%%:*}" = "$want" ] && selected="$selected $t" && found=1
		done
		[ -n "$found" ] || { echo "$0: unknown target '$want'" >&2; exit 2; }
	done
else
	selected=$all_targets
fi

ninja_targets=
for t in $selected; do
	ninja_targets="$ninja_targets fuzz/fuzz-${t%%:*}"
done
# shellcheck disable=SC2086
ninja -C "$build" $ninja_targets

# Undefined behaviour already reported and waiting for a fix in src/;
# each line names its reproducer in fuzz/crashes/. Delete the line when
# the fix lands so the fuzzer guards against a regression.
supp="$build/fuzz/ubsan.supp"
cat >"$supp" <<'EOF'
EOF

: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=0}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1:suppressions=$supp}"
export ASAN_OPTIONS UBSAN_OPTIONS

status=0
for t in $selected; do
	name=${t%%:*}
	rest=${t#*:}
	corpus=${rest%%:*}
	dict=${rest#*:}
	out=$src/fuzz/out/$name
	mkdir -p "$out/corpus"
	cp -n "$src/fuzz/corpus/$corpus"/* "$out/corpus/" 2>/dev/null || true
	set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$out/"
	[ "$dict" != "-" ] && set -- "$@" -dict="$src/fuzz/$dict"
	[ "$jobs" -gt 1 ] && set -- "$@" -fork="$jobs"
	echo "== fuzz-$name: $secs s (corpus $out/corpus, seeds fuzz/corpus/$corpus)"
	if ! "$build/fuzz/fuzz-$name" "$@" "$out/corpus"; then
		echo "== fuzz-$name FAILED; artifacts:" >&2
		ls -1 "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* \
		    2>/dev/null >&2 || true
		status=1
	fi
done
exit $status
