# bench/lib.sh - shell helpers shared by the bench scripts. Sourced, not run:
#
#	set -euo pipefail
#	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#	src=$(cd "$here/.." && pwd)
#	. "$here/lib.sh"
#
# What the caller provides:
#   src, gentd                      for build_gentd
#   threads conns duration warmup   for run_wrk (wrk -t/-c, -d, warm-up)
#   wrk_timeout                     optional, for run_wrk (wrk --timeout; 5s)
#   nginx_workers, nginx_bin        for nginx_start
#   bench_stop()                    optional; the EXIT trap calls it to stop
#                                   the caller's processes (stop_pid each)
#   session, gbase                  for api (a session token, gentd's URL)
#   dnsmasq_bin                     optional, for dns_start (dnsmasq)
#
# What it sets: tmp (bench_tmpdir), wrk_pid (while wrk runs), nginx_pid
# (nginx_start), dns_pid and dns_port (dns_start), warnings (warn). Every
# wait here is bounded and every process is stopped by its pid.

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
apt_install() {	# apt_install PACKAGE: apt-get install (after one apt-get update)
	command -v apt-get >/dev/null 2>&1 || die "apt-get missing; install $1"
	say "installing $1"
	if [ -z "$apt_updated" ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

need() {	# need COMMAND PACKAGE [PATH-TO-CHECK]
	local cmd=$1 pkg=$2 path=${3:-}
	if command -v "$cmd" >/dev/null 2>&1 || { [ -n "$path" ] && [ -x "$path" ]; }; then
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "$cmd is missing; install $pkg"
	apt_install "$pkg"
}

# need_postfix TOOL: install package postfix unless TOOL (smtp-source,
# smtp-sink; in PATH or /usr/sbin) is there. Installing it must not leave a
# system Postfix running on port 25: we preseed "No configuration" (no
# /etc/postfix/main.cf, so the system instance cannot start), and
# stop/disable it if it runs all the same.
need_postfix() {
	if command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; then
		return 0
	fi
	if ! dpkg -s postfix >/dev/null 2>&1 && command -v debconf-set-selections >/dev/null 2>&1; then
		echo "postfix postfix/main_mailer_type select No configuration" |
		    as_root debconf-set-selections
	fi
	apt_install postfix
	if [ -f /etc/postfix/main.cf ] && as_root /usr/sbin/postfix status >/dev/null 2>&1; then
		say "stopping the system Postfix that the install started"
		as_root /usr/sbin/postfix stop >/dev/null 2>&1 || true
	fi
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		as_root systemctl disable --now postfix >/dev/null 2>&1 || true
	fi
}

# --- gentd binary ---------------------------------------------------------------

build_gentd() {	# build $src/build/gentd unless GENTD names a binary
	if [ -z "${GENTD:-}" ] && [ ! -x "$gentd" ]; then
		say "building gentd ($src/build)"
		[ -f "$src/build/build.ninja" ] || meson setup "$src/build" "$src" >/dev/null
		ninja -C "$src/build" gentd >/dev/null
	fi
	[ -x "$gentd" ] || die "no gentd binary at $gentd"
}

# --- temp dir, cleanup ----------------------------------------------------------

tmp=
wrk_pid=
nginx_pid=
dns_pid=

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

bench__cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_pid "$wrk_pid" TERM
	if declare -F bench_stop >/dev/null; then
		bench_stop
	fi
	stop_pid "$nginx_pid" QUIT
	stop_pid "$dns_pid" TERM
	if [ -n "${BENCH_KEEP:-}" ]; then
		say "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	exit "$rc"
}

bench_tmpdir() {	# bench_tmpdir NAME: $tmp, and the traps that clean up
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap bench__cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# --- warnings: figures that are not trustworthy ----------------------------------------

warnings=()
warn() { say "WARNING: $*"; warnings+=("$*"); }

# warnings_report: after the report, when warn was called: the "!!!" lines
# (how many, then each warning) and exit 1
warnings_report() {
	local w
	[ "${#warnings[@]}" -gt 0 ] || return 0
	echo
	echo "!!! ${#warnings[@]} WARNING(S): the figures above are not trustworthy"
	for w in "${warnings[@]}"; do
		echo "!!! $w"
	done
	exit 1
}

# --- ports, waits, JSON ---------------------------------------------------------------

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Ports are picked from 20000 up to the start of the kernel's ephemeral
# range, so an outgoing connection's local port (which a connect test
# cannot see) does not collide with the listener we are about to start.
taken_ports=" "
free_port() {
	local p _ lo span=40000
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=
	case $lo in ''|*[!0-9]*) ;; *) [ "$lo" -gt 21000 ] && span=$((lo - 20000)) ;; esac
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % span))
		case $taken_ports in *" $p "*) continue ;; esac
		if ! port_in_use "$p"; then
			taken_ports="$taken_ports$p "
			echo "$p"
			return 0
		fi
	done
	die "no free loopback port found"
}

# gentd_owner_start [EXTRA CONFIG LINES]: a gentd on free loopback ports with
# dnsmasq as its resolver (dns_start first) and an owner signed in. Sets
# gport, sport (SMTP), gdata, gbase, gentd_pid, email, password, session.
gentd_owner_start() {
	gport=$(free_port)
	sport=$(free_port)
	gdata=$tmp/gentd-data
	mkdir -p "$gdata"
	cat >"$tmp/gentd.conf" <<EOF
data_dir = $gdata
hostname = mx.bench.test
http_listen = 127.0.0.1:$gport
smtp_listen = 127.0.0.1:$sport
dns_servers = 127.0.0.1:$dns_port
dns_timeout = 500ms
log_level = warn
scrypt_log2n = 10
${1:-}
EOF
	email=owner@bench.test
	password=bench-password-1
	"$gentd" admin create-user --config "$tmp/gentd.conf" --email "$email" \
	    --password "$password" --tenant bench >"$tmp/create-user.json" 2>>"$tmp/gentd.log" ||
	    die "gentd admin create-user failed: $(cat "$tmp/gentd.log")"
	"$gentd" serve --config "$tmp/gentd.conf" >>"$tmp/gentd.log" 2>&1 &
	gentd_pid=$!
	gbase=http://127.0.0.1:$gport
	wait_http "$gbase/healthz" "$gentd_pid" gentd "$tmp/gentd.log"
	session=
	login=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
	    -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
	    "$gbase/v1/auth/login/") || die "login failed"
	session=$(json_field session_token <<<"$login")
	[ -n "$session" ] || die "no session_token in login answer"
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

wait_smtp() {	# wait_smtp PORT PID: up to 15 s for a 220 greeting; 1 if none
	local port=$1 pid=$2 line _
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 1
		if line=$(timeout 2 bash -c \
		    'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r l <&3 &&
		     printf "QUIT\r\n" >&3 && echo "$l"' _ "$port" 2>/dev/null) &&
		    [ "${line:0:3}" = 220 ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

json_field() {	# json_field NAME < compact JSON: the string value of NAME
	sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

api() {	# api METHOD PATH [JSON]: body on stdout; fails unless 2xx
	local method=$1 path=$2 data=${3:-} args=() code
	args=(-sS --max-time 10 -X "$method" -H "Authorization: Bearer $session"
	    -o "$tmp/api.out" -w '%{http_code}')
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' -d "$data")
	code=$(curl "${args[@]}" "$gbase$path") || code=000
	case $code in
	2??) cat "$tmp/api.out" ;;
	*) say "$method $path answered $code: $(cat "$tmp/api.out" 2>/dev/null)"
	   return 1 ;;
	esac
}

cpu_ticks() {	# utime + stime of PID, in clock ticks (all threads)
	local stat
	stat=$(cat "/proc/$1/stat")
	stat=${stat##*) }	# past "pid (comm) "; fields now start at 3 (state)
	set -- $stat
	echo $(( ${12} + ${13} ))
}

# settle PID: wait (60 s at most) until PID uses less than 5% of one CPU
# over a second; 1 if it never does. Requests that a finished wrk run left
# queued in a server then do not run into the next measurement.
settle() {
	local pid=$1 hz a b _
	hz=$(getconf CLK_TCK)
	for _ in $(seq 60); do
		a=$(cpu_ticks "$pid")
		sleep 1
		b=$(cpu_ticks "$pid")
		[ $((b - a)) -le $((hz / 20)) ] && return 0
	done
	return 1
}

# --- wrk ------------------------------------------------------------------------------

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

# run_wrk NAME URL [HEADER [WRK-ARGS...]]: a warm-up run, then the
# measured run; its output is in $tmp/wrk-NAME.txt
run_wrk() {
	local name=$1 url=$2 hdr=${3:-} args=()
	shift 2
	[ "$#" -gt 0 ] && shift
	args=(-t "$threads" -c "$conns" --timeout "${wrk_timeout:-5s}" --latency)
	[ -n "$hdr" ] && args+=(-H "$hdr")
	args+=("$@")
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
wrk_requests() { awk '$2 == "requests" && $3 == "in" { print $1 }' "$tmp/wrk-$1.txt"; }
wrk_non2xx() {
	awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' \
	    "$tmp/wrk-$1.txt"
}
wrk_errors() {
	awk '/Socket errors:/ { sub(/.*Socket errors: /, ""); print }' \
	    "$tmp/wrk-$1.txt"
}

# wrk_row WIDTH NAME: NAME's req/s, p50, p90, p99 and non-2xx as a table
# row (no newline), the first column WIDTH wide
wrk_row() {
	local w=$1 s=$2
	printf "%-${w}s %12s %8sms %8sms %8sms %9s" "$s" "$(wrk_rps "$s")" \
	    "$(to_ms "$(wrk_pct "$s" 50)")" "$(to_ms "$(wrk_pct "$s" 90)")" \
	    "$(to_ms "$(wrk_pct "$s" 99)")" "$(wrk_non2xx "$s")"
}

# --- nginx: a constant JSON body ------------------------------------------------------

# nginx_start PORT: nginx in the foreground on 127.0.0.1:PORT, all its files
# in $tmp/nginx, answering every GET with 200 '{"status":"ok"}'; as nobody
# when we are root. Sets nginx_pid and waits (15 s at most) until it answers.
nginx_start() {
	local nport=$1 ndir=$tmp/nginx cmd=()
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
	cmd=("$nginx_bin" -p "$ndir/" -e "$ndir/logs/error.log" -c "$ndir/nginx.conf")
	if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
	    getent passwd nobody >/dev/null; then
		# Root: run nginx as nobody, so no part of it is privileged.
		chown -R nobody "$ndir"
		chmod 755 "$tmp"
		cmd=(setpriv --reuid=nobody --regid="$(id -g nobody)" \
		    --clear-groups "${cmd[@]}")
	fi
	"${cmd[@]}" >"$ndir/logs/stdout.log" 2>&1 &
	nginx_pid=$!
	wait_http "http://127.0.0.1:$nport/" "$nginx_pid" nginx "$ndir/logs/error.log"
}

# --- dnsmasq and a verified domain (for gentd to take SMTP mail) -----------------------

# smtp_bench_helper.py has the DNS helpers (freeport, dnsmasq-args, dns-wait).
dns_helper() { python3 "$(dirname "${BASH_SOURCE[0]}")/smtp_bench_helper.py" "$@"; }

dns_port=
dns_gen=0
dns_records=()

# dns_start: (re)start dnsmasq on 127.0.0.1:$dns_port (picked on the first
# call) serving dns_records and a sentinel TXT, authoritative for .test
# (nothing is forwarded). Waits (10 s at most) until the new records answer.
dns_start() {
	[ -n "$dns_port" ] || dns_port=$(dns_helper freeport)
	stop_pid "$dns_pid" TERM
	dns_pid=
	dns_gen=$((dns_gen + 1))
	chmod 755 "$tmp"	# dnsmasq runs as nobody and writes its log here
	"${dnsmasq_bin:-dnsmasq}" --no-daemon --conf-file=/dev/null --port="$dns_port" \
	    --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
	    --local=/test/ --log-facility="$tmp/dnsmasq.log" \
	    --pid-file="$tmp/dnsmasq.pid" \
	    --txt-record="_sentinel.bench.test,gen-$dns_gen" \
	    "${dns_records[@]}" >>"$tmp/dnsmasq.out" 2>&1 &
	dns_pid=$!
	if ! dns_helper dns-wait "$dns_port" _sentinel.bench.test "gen-$dns_gen" 10; then
		cat "$tmp/dnsmasq.out" >&2 || true
		die "dnsmasq on 127.0.0.1:$dns_port did not answer within 10 s"
	fi
}

# domain_verify DOMAIN: POST /v1/domains/ (signed in: $session), publish its
# records in dnsmasq and verify it (40 tries, 0.25 s apart).
domain_verify() {
	local d=$1 status= _
	api POST /v1/domains/ "{\"domain\":\"$d\"}" >"$tmp/domain.json" ||
	    die "POST /v1/domains/ failed"
	mapfile -t dns_records < <(dns_helper dnsmasq-args <"$tmp/domain.json")
	[ "${#dns_records[@]}" -eq 5 ] ||
	    die "expected 5 DNS records, got ${#dns_records[@]}: $(cat "$tmp/domain.json")"
	dns_start
	for _ in $(seq 40); do
		if api POST "/v1/domains/$d/verify/" >"$tmp/verify.json" 2>/dev/null; then
			status=$(dns_helper field status <"$tmp/verify.json")
			[ "$status" = verified ] && return 0
		fi
		sleep 0.25
	done
	die "$d not verified: $(cat "$tmp/verify.json" 2>/dev/null)"
}
