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

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

# --- tools: install only what is missing ------------------------------------

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else die "need root to run: $*"
	fi
}

apt_updated=
need() {	# need COMMAND PACKAGE [PATH-TO-CHECK]
	local cmd=$1 pkg=$2 path=${3:-}
	if command -v "$cmd" >/dev/null 2>&1 || { [ -n "$path" ] && [ -x "$path" ]; }; then
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "$cmd is missing; install $pkg"
	say "installing $pkg"
	if [ -z "$apt_updated" ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}

need wrk wrk
need nginx nginx-light /usr/sbin/nginx
need curl curl
nginx_bin=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

# --- gentd binary ---------------------------------------------------------------

if [ -z "${GENTD:-}" ] && [ ! -x "$gentd" ]; then
	say "building gentd ($src/build)"
	[ -f "$src/build/build.ninja" ] || meson setup "$src/build" "$src" >/dev/null
	ninja -C "$src/build" gentd >/dev/null
fi
[ -x "$gentd" ] || die "no gentd binary at $gentd"

# --- temp dir, cleanup ----------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gentd-bench.XXXXXX")
gentd_pid=
nginx_pid=
wrk_pid=

stop_pid() {	# stop_pid PID SIGNAL: signal, wait up to 10 s, then SIGKILL
	local pid=$1 sig=$2 _
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
		return 0
	fi
	kill "-$sig" "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$wrk_pid" TERM
	stop_pid "$gentd_pid" TERM
	stop_pid "$nginx_pid" QUIT
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers ------------------------------------------------------------------------

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

taken_ports=" "
free_port() {
	local p _
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		case $taken_ports in *" $p "*) continue ;; esac
		if ! port_in_use "$p"; then
			taken_ports="$taken_ports$p "
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port found"
}

wait_http() {	# wait_http URL PID NAME LOG: up to 15 s for a 200
	local url=$1 pid=$2 name=$3 log=$4 _
	for _ in $(seq 150); do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$log" >&2 || true
			die "$name exited during start-up"
		fi
		if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	cat "$log" >&2 || true
	die "$name did not answer $url within 15 s"
}

json_field() {	# json_field NAME < compact JSON: the string value of NAME
	sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

to_ms() {	# "1.23ms" / "850.00us" / "1.02s" -> milliseconds
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /m$/) n *= 60000
		else if (v ~ /s$/) n *= 1000
		printf "%.2f", n
	}'
}

# wrk_bounded OUT DURATION ARGS...: wrk in the background (so a signal
# reaches our trap at once), killed if it overruns DURATION by 30 s.
wrk_bounded() {
	local out=$1 d=$2 limit rc=0
	shift 2
	limit=$(( $(to_ms "$d" | cut -d. -f1) / 1000 + 30 ))
	timeout "$limit" wrk -d "$d" "$@" >"$out" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || rc=$?
	wrk_pid=
	return "$rc"
}

# run_wrk NAME URL [HEADER]: measured run, result in $tmp/wrk-NAME.txt
run_wrk() {
	local name=$1 url=$2 hdr=${3:-} args=()
	args=(-t "$threads" -c "$conns" --timeout 5s --latency)
	[ -n "$hdr" ] && args+=(-H "$hdr")
	if [ "$warmup" != "0" ]; then
		wrk_bounded "$tmp/warmup-$name.txt" "$warmup" "${args[@]}" "$url" ||
		    die "wrk warm-up against $name failed: $(cat "$tmp/warmup-$name.txt")"
	fi
	say "wrk -t$threads -c$conns -d$duration $url ($name)"
	wrk_bounded "$tmp/wrk-$name.txt" "$duration" "${args[@]}" "$url" ||
	    die "wrk against $name failed: $(cat "$tmp/wrk-$name.txt")"
}

wrk_rps() { awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk-$1.txt"; }
wrk_pct() { awk -v p="$2%" '$1 == p { print $2 }' "$tmp/wrk-$1.txt"; }
wrk_non2xx() {
	awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' \
	    "$tmp/wrk-$1.txt"
}
wrk_errors() {
	awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' \
	    "$tmp/wrk-$1.txt"
}

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
ndir=$tmp/nginx
mkdir -p "$ndir/logs" "$ndir/tmp"
cat >"$ndir/nginx.conf" <<EOF
daemon off;
worker_processes $nginx_workers;
pid $ndir/nginx.pid;
error_log $ndir/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $ndir/tmp/body;
	proxy_temp_path $ndir/tmp/proxy;
	fastcgi_temp_path $ndir/tmp/fastcgi;
	uwsgi_temp_path $ndir/tmp/uwsgi;
	scgi_temp_path $ndir/tmp/scgi;
	keepalive_requests 10000000;
	default_type application/json;
	server {
		listen 127.0.0.1:$nport;
		location / { return 200 '{"status":"ok"}'; }
	}
}
EOF
nginx_cmd=("$nginx_bin" -p "$ndir/" -e "$ndir/logs/error.log" -c "$ndir/nginx.conf")
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
    getent passwd nobody >/dev/null; then
	# Root: run nginx as nobody, so no part of it is privileged.
	chown -R nobody "$ndir"
	chmod 755 "$tmp"
	nginx_cmd=(setpriv --reuid=nobody --regid="$(id -g nobody)" \
	    --clear-groups "${nginx_cmd[@]}")
fi
"${nginx_cmd[@]}" >"$ndir/logs/stdout.log" 2>&1 &
nginx_pid=$!
wait_http "http://127.0.0.1:$nport/" "$nginx_pid" nginx "$ndir/logs/error.log"

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
	printf '%-8s %12s %8sms %8sms %8sms %9s\n' "$s" "$(wrk_rps $s)" \
	    "$(to_ms "$(wrk_pct $s 50)")" "$(to_ms "$(wrk_pct $s 90)")" \
	    "$(to_ms "$(wrk_pct $s 99)")" "$(wrk_non2xx $s)"
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
