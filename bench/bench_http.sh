#!/usr/bin/env bash
# bench_http.sh - requests/s of an authenticated, scope-checked GET against
# gentd, and of a static response from nginx on the same machine, in one
# run; prints both, their p50/p99 latencies and the ratio gentd/nginx.
#
# usage: bench/bench_http.sh            (see bench/README.md)
# environment (defaults in brackets):
#   BENCH_THREADS [2]  BENCH_CONNECTIONS [32]  BENCH_DURATION [10s]
#   BENCH_WARMUP [2s]  warm-up run before each measured run ("0" = none)
#   BENCH_NGINX_WORKERS [auto]   worker_processes for nginx
#   GENTD [build/gentd]          the binary to measure
#   BENCH_KEEP=1                 keep the temp dir (configs, logs, wrk output)
#
# Everything listens on 127.0.0.1 only; every wait is bounded; the EXIT
# trap stops the processes this script started (by pid) and removes the
# temp dir.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)

threads=${BENCH_THREADS:-2}
conns=${BENCH_CONNECTIONS:-32}
duration=${BENCH_DURATION:-10s}
warmup=${BENCH_WARMUP:-2s}
nginx_workers=${BENCH_NGINX_WORKERS:-auto}
gentd=${GENTD:-$src/build/gentd}

. "$here/lib.sh"

need wrk wrk
need nginx nginx-light /usr/sbin/nginx
need curl curl
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

build_gentd

gentd_pid=
bench_stop() { stop_pid "$gentd_pid" TERM; }
bench_tmpdir gentd-bench

# --- gentd ----------------------------------------------------------------------------

gport=$(free_port)
sport=$(free_port)
mkdir -p "$tmp/gentd-data"
cat >"$tmp/gentd.conf" <<EOF
data_dir = $tmp/gentd-data
hostname = bench.test
http_listen = 127.0.0.1:$gport
smtp_listen = 127.0.0.1:$sport
log_level = warn
scrypt_log2n = 10
EOF

email=owner@bench.test
password=bench-password-1
user_json=$("$gentd" admin create-user --config "$tmp/gentd.conf" \
    --email "$email" --password "$password" --tenant bench) ||
    die "gentd admin create-user failed"
tenant_id=$(json_field tenant_id <<<"$user_json")
[ -n "$tenant_id" ] || die "no tenant_id in: $user_json"
inbox_json=$("$gentd" admin create-inbox --config "$tmp/gentd.conf" \
    --tenant-id "$tenant_id" --address agent@bench.test) ||
    die "gentd admin create-inbox failed"
inbox_id=$(json_field inbox_id <<<"$inbox_json")
[ -n "$inbox_id" ] || die "no inbox_id in: $inbox_json"

"$gentd" serve --config "$tmp/gentd.conf" >"$tmp/gentd.log" 2>&1 &
gentd_pid=$!
gbase=http://127.0.0.1:$gport
wait_http "$gbase/healthz" "$gentd_pid" gentd "$tmp/gentd.log"

login=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
    "$gbase/v1/auth/login/") || die "login failed"
session=$(json_field session_token <<<"$login")
[ -n "$session" ] || die "no session_token in login answer"
token_json=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $session" \
    -d "{\"inbox_id\":\"$inbox_id\",\"scopes\":[\"read\"],\"label\":\"bench\"}" \
    "$gbase/v1/tokens/") || die "token creation failed"
token=$(json_field raw_token <<<"$token_json")
[ -n "$token" ] || die "no raw_token in token answer"

gurl=$gbase/v1/sender-rules/
auth="Authorization: Bearer $token"
code=$(curl -sS -o "$tmp/sample.json" -w '%{http_code}' --max-time 10 \
    -H "$auth" "$gurl")
[ "$code" = 200 ] || die "GET $gurl answered $code: $(cat "$tmp/sample.json")"

run_wrk gentd "$gurl" "$auth"
stop_pid "$gentd_pid" TERM
gentd_pid=

# --- nginx ----------------------------------------------------------------------------

nport=$(free_port)
nginx_start "$nport"

run_wrk nginx "http://127.0.0.1:$nport/"
stop_pid "$nginx_pid" QUIT
nginx_pid=

# --- report -----------------------------------------------------------------------------

g_rps=$(wrk_rps gentd)
n_rps=$(wrk_rps nginx)
if [ -z "$g_rps" ] || [ -z "$n_rps" ]; then
	die "could not read wrk output"
fi

echo
echo "wrk -t$threads -c$conns -d$duration on 127.0.0.1 ($(nproc) CPUs, $(uname -r))"
echo "  gentd: GET /v1/sender-rules/ with an agent token (scope workflows:read)"
echo "  nginx: GET / -> return 200 '{\"status\":\"ok\"}' ($nginx_workers workers)"
echo
printf '%-8s %12s %10s %10s %10s %9s\n' server req/s p50 p90 p99 non-2xx
for s in gentd nginx; do
	wrk_row 8 "$s"
	echo
	errs=$(wrk_errors $s)
	[ -z "$errs" ] || echo "         socket errors: $errs"
done
echo
awk -v g="$g_rps" -v n="$n_rps" 'BEGIN {
	printf "ratio gentd/nginx: %.3f (gentd serves %.1f%% of nginx'"'"'s static rate)\n",
	    g / n, 100 * g / n
}'
if [ "$(wrk_non2xx gentd)" != 0 ] || [ "$(wrk_non2xx nginx)" != 0 ] ||
    [ -n "$(wrk_errors gentd)$(wrk_errors nginx)" ]; then
	say "WARNING: non-2xx answers or socket errors; the figures are not comparable"
	exit 1
fi
