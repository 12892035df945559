#!/usr/bin/env bash
# bench_messages.sh - the messages API on a big inbox. It fills one inbox
# with BENCH_MESSAGES generated messages sent over SMTP (reports the
# ingest rate), then measures list, filtered list, get, search (rare word,
# common word, by relevance) and the threads list with wrk, and a static
# response from nginx on the same machine in the same run; prints one
# table with req/s, p50/p90/p99, non-2xx and each row's ratio to nginx,
# plus gentd's RSS and the size of tenant.db.
#
# usage: bench/bench_messages.sh        (see bench/README.md)
# environment (defaults in brackets):
#   BENCH_MESSAGES [100000]      messages in the inbox
#   BENCH_SMTP_SESSIONS [12]     parallel SMTP sessions for the ingest
#   BENCH_INGEST_TIMEOUT [600]   seconds the ingest may take
#   BENCH_SEED [1]               the corpus (same seed, same messages)
#   BENCH_GET_IDS [5000]         ids the get run cycles over
#   BENCH_THREADS [2]  BENCH_CONNECTIONS [32]  BENCH_DURATION [10s]
#   BENCH_WARMUP [2s]  warm-up run before each measured run ("0" = none)
#   BENCH_WRK_TIMEOUT [5s]       wrk --timeout: slower answers count as errors
#   BENCH_NGINX_WORKERS [auto]   worker_processes for nginx
#   GENTD [build/gentd]          the binary to measure
#   BENCH_KEEP=1                 keep the temp dir (data, logs, wrk output)
#
# Everything listens on 127.0.0.1 only; every wait is bounded; the EXIT
# trap stops the processes this script started (by pid) and removes the
# temp dir.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)

count=${BENCH_MESSAGES:-100000}
sessions=${BENCH_SMTP_SESSIONS:-12}
ingest_timeout=${BENCH_INGEST_TIMEOUT:-600}
seed=${BENCH_SEED:-1}
n_ids=${BENCH_GET_IDS:-5000}
threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-32}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
wrk_timeout=${BENCH_WRK_TIMEOUT:-5s}
nginx_workers=${BENCH_NGINX_WORKERS:-auto}
gentd=${GENTD:-$src/build/gentd}

. "$here/lib.sh"

case $count in ''|*[!0-9]*) die "BENCH_MESSAGES must be a number" ;; esac
[ "$count" -ge 1000 ] || die "BENCH_MESSAGES must be at least 1000 (the rare word is in 0.1%)"

need wrk wrk
need nginx nginx-light /usr/sbin/nginx
need curl curl
need python3 python3
need dnsmasq dnsmasq-base /usr/sbin/dnsmasq
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
dnsmasq_bin=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)

build_gentd

gentd_pid=
ingest_pid=
bench_stop() {
	stop_pid "$ingest_pid" TERM	# its SMTP sessions end with it
	stop_pid "$gentd_pid" TERM
}
bench_tmpdir gentd-bench-messages

helper() { python3 "$here/messages_bench_helper.py" "$@"; }
now() { date +%s.%N; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# --- gentd: a verified domain and an inbox ------------------------------------------

dns_start
gentd_owner_start

domain_verify bench.test
inbox_json=$(api POST /v1/inboxes/ '{"address":"agent@bench.test"}') ||
    die "POST /v1/inboxes/ failed"
inbox_id=$(json_field inbox_id <<<"$inbox_json")
[ -n "$inbox_id" ] || die "no inbox_id in: $inbox_json"
token_json=$(api POST /v1/tokens/ \
    "{\"inbox_id\":\"$inbox_id\",\"scopes\":[\"read\"],\"label\":\"bench\"}") ||
    die "token creation failed"
token=$(json_field raw_token <<<"$token_json")
[ -n "$token" ] || die "no raw_token in token answer"
wait_smtp "$sport" "$gentd_pid" || die "gentd SMTP on $sport does not greet"

# --- ingest: the inbox, over SMTP ---------------------------------------------------

say "sending $count messages over SMTP in $sessions sessions (at most ${ingest_timeout}s)"
helper ingest "$sport" agent@bench.test "$count" "$sessions" "$seed" \
    "$ingest_timeout" >"$tmp/ingest.txt" &
ingest_pid=$!
rc=0
wait "$ingest_pid" || rc=$?
ingest_pid=
kill -0 "$gentd_pid" 2>/dev/null || { tail -n 20 "$tmp/gentd.log" >&2; die "gentd exited during the ingest"; }
[ "$rc" -eq 0 ] || die "ingest failed (exit $rc); gentd.log: $(tail -n 5 "$tmp/gentd.log")"
read -r _ ingest_s <"$tmp/ingest.txt"

read -r rare common < <(helper words)
read -r n_msgs n_att n_threads n_replies n_rare n_common < <(helper stats "$gdata" "$rare" "$common")
[ "$n_msgs" -eq "$count" ] || die "sent $count messages but tenant.db holds $n_msgs"
rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$gentd_pid/status")
hwm=$(awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$gentd_pid/status")
tdb=$(echo "$gdata"/tenants/*/tenant.db)
db_size=$(stat -c %s "$tdb")
wal_size=$(stat -c %s "$tdb-wal" 2>/dev/null || echo 0)

# --- the requests, each checked first --------------------------------------------------

auth="Authorization: Bearer $token"
got=$(helper ids "$gbase" "$token" "$n_ids" "$tmp/ids.txt") ||
    die "could not page through the inbox"
[ "$got" -ge 1 ] || die "no message ids from the list"
say "$got ids for the get run (paged with next_cursor)"
first_id=$(head -n 1 "$tmp/ids.txt")

# the get run's requests: /v1/messages/{id}/ over ids.txt; each wrk thread
# starts at its own place in the list
cat >"$tmp/get.lua" <<EOF
local ids = {}
for line in io.lines("$tmp/ids.txt") do ids[#ids + 1] = line end
local n = 0
function setup(thread)
	thread:set("first", n * 997)
	n = n + 1
end
local i
function init(args)
	i = first or 0
end
function request()
	i = i % #ids + 1
	return wrk.format("GET", "/v1/messages/" .. ids[i] .. "/")
end
EOF

# name | path | what the check expects of the answer (see the helper)
runs=(
	"list|/v1/messages/?limit=50|list"
	"list-attach|/v1/messages/?limit=50&has_attachment=true|list"
	"get|/v1/messages/$first_id/|object"
	"search-rare|/v1/messages/?q=$rare|all"
	"search-common|/v1/messages/?q=$common&limit=20|list"
	"search-relevance|/v1/messages/?q=$common&sort=relevance&limit=20|list"
	"threads|/v1/threads/?limit=50|list"
)
for r in "${runs[@]}"; do
	IFS='|' read -r name path kind <<<"$r"
	out=$(helper check "$gbase" "$token" "$path" "$kind") ||
	    die "$name: GET $path is not usable for the run"
	echo "${out%% *}" >"$tmp/alone-$name"
	say "$name: GET $path: 200, ${out#* }; alone ${out%% *} ms"
done

unsettled=
for r in "${runs[@]}"; do
	IFS='|' read -r name path kind <<<"$r"
	if [ "$name" = get ]; then
		run_wrk get "$gbase/" "$auth" -s "$tmp/get.lua"
	else
		run_wrk "$name" "$gbase$path" "$auth"
	fi
	kill -0 "$gentd_pid" 2>/dev/null || die "gentd exited during the $name run"
	settle "$gentd_pid" || unsettled="$unsettled $name"
done
stop_pid "$gentd_pid" TERM
gentd_pid=

# --- nginx ----------------------------------------------------------------------------

nport=$(free_port)
nginx_start "$nport"
run_wrk nginx "http://127.0.0.1:$nport/"
stop_pid "$nginx_pid" QUIT
nginx_pid=

# --- report -----------------------------------------------------------------------------

n_rps=$(wrk_rps nginx)
[ -n "$n_rps" ] || die "could not read wrk output"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f%%", 100 * a / b }'; }

echo
echo "wrk -t$threads -c$conns -d$duration --timeout $wrk_timeout on 127.0.0.1 ($(nproc) CPUs, $(uname -r)); one inbox of $count messages"
awk -v n="$count" -v s="$ingest_s" -v k="$sessions" 'BEGIN {
	printf "  ingest: %d messages over SMTP in %d sessions in %.1f s: %.1f msg/s\n", n, k, s, n / s }'
echo "  corpus: $n_att with an attachment ($(pct "$n_att" "$count")), $n_threads threads ($n_replies messages joined one);"
echo "          '$rare' in $n_rare messages ($(pct "$n_rare" "$count")), '$common' in $n_common ($(pct "$n_common" "$count"))"
echo "  gentd after the ingest: VmRSS $(mib "$rss") (VmHWM $(mib "$hwm")); tenant.db $(mib "$db_size") + WAL $(mib "$wal_size")"
echo "  every gentd request carries an agent token (scope read)"
for r in "${runs[@]}"; do
	IFS='|' read -r name path _ <<<"$r"
	[ "$name" = get ] && path="/v1/messages/{id}/ over $got ids"
	printf '  %-17s GET %s\n' "$name:" "$path"
done
echo "  nginx:            GET / -> return 200 '{\"status\":\"ok\"}' ($nginx_workers workers)"
echo
printf '%-17s %12s %10s %10s %10s %9s %9s %10s\n' endpoint req/s p50 p90 p99 \
    non-2xx "vs nginx" alone
bad=
slow=
for name in $(printf '%s\n' "${runs[@]}" | cut -d'|' -f1) nginx; do
	wrk_row 17 "$name"
	awk -v g="$(wrk_rps "$name")" -v n="$n_rps" 'BEGIN { printf " %9.3f", g / n }'
	if [ -f "$tmp/alone-$name" ]; then
		printf ' %8sms\n' "$(cat "$tmp/alone-$name")"
	else
		printf ' %10s\n' -
	fi
	errs=$(wrk_errors "$name")
	[ -z "$errs" ] || echo "                  socket errors: $errs"
	done_n=$(wrk_requests "$name")
	if [ "${done_n:-0}" = 0 ]; then
		echo "                  no request completed in the run (the figures above are not latencies)"
		bad="$bad $name"
		slow="$slow $name"
		continue
	fi
	[ "$(wrk_non2xx "$name")" = 0 ] && [ -z "$errs" ] || bad="$bad $name"
	awk -v p="$(to_ms "$(wrk_pct "$name" 50)")" 'BEGIN { exit !(p > 100) }' &&
	    slow="$slow $name"
done
echo
echo "vs nginx = req/s / nginx's req/s; alone = the fastest of 3 requests one at a time"
[ -z "$slow" ] || echo "slow (p50 over 100 ms, or no request completed):$slow"
[ -z "$unsettled" ] || echo "gentd was still busy 60 s after the run of:$unsettled (the next run shared the CPU)"
if [ -n "$bad" ]; then
	say "WARNING: non-2xx answers, socket errors or no completed request in:$bad; those figures are not comparable"
	exit 1
fi
