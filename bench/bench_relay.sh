#!/usr/bin/env bash
# bench_relay.sh - outbound relay rate: messages per second from "queued"
# to "received by a loopback SMTP sink" for gentd (POST /v1/messages/,
# relay_host = the sink) and for a private Postfix instance (SMTP
# submission, relayhost = the same sink), one after the other in one run.
# Two runs each: "live" (enqueue N while the relay runs; first message to
# last at the sink) and "backlog" (N queued while the relay host hangs,
# then a restart with the sink; restart to last at the sink). Prints the
# enqueue and delivered rates, the sink's sessions, the ratios
# gentd/postfix, and gentd's CPU time and RSS.
#
# usage: bench/bench_relay.sh            (see bench/README.md)
# environment (defaults in brackets):
#   BENCH_MESSAGES [2000]     messages per measured run (one recipient each)
#   BENCH_CLIENTS [8]         parallel clients enqueueing (HTTP or SMTP)
#   BENCH_BODY_BYTES [1024]   text body size of each message
#   BENCH_WARMUP [20]         messages sent (and checked) before each run
#   BENCH_TIMEOUT [180]       seconds one run may take, first message to last
#   BENCH_CONCURRENCY [32]    Postfix default_destination_concurrency_limit
#   BENCH_LOG_LEVEL [info]    gentd log_level (Postfix logs every delivery too)
#   GENTD [build/gentd]       the binary to measure
#   BENCH_KEEP=1              keep the temp dir (configs, logs)
#
# Everything listens on 127.0.0.1 only; every wait is bounded; the EXIT
# trap stops the processes this script started (by pid) and removes the
# temp dir. The system's Postfix (/etc/postfix) is never started or used.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
helper=$here/relay_bench_helper.py

n=${BENCH_MESSAGES:-2000}
clients=${BENCH_CLIENTS:-8}
body_bytes=${BENCH_BODY_BYTES:-1024}
warmup=${BENCH_WARMUP:-20}
run_timeout=${BENCH_TIMEOUT:-180}
pf_conc=${BENCH_CONCURRENCY:-32}
log_level=${BENCH_LOG_LEVEL:-info}
gentd=${GENTD:-$src/build/gentd}

. "$here/lib.sh"

# --- tools: install only what is missing ------------------------------------

need curl curl
need python3 python3
# smtp-sink and the Postfix daemons come with "postfix"; as in
# bench_smtp.sh, need_postfix keeps the system instance from starting.
need_postfix smtp-sink
smtp_sink=$(command -v smtp-sink 2>/dev/null || echo /usr/sbin/smtp-sink)
[ -x "$smtp_sink" ] || die "no smtp-sink (package postfix)"

build_gentd

# --- temp dir, cleanup ----------------------------------------------------------

gentd_pid=
sink_pid=
pf_pid=
load_pid=
bh_pid=
bench_stop() {	# lib.sh's EXIT trap: these; then it removes $tmp
	stop_pid "$load_pid" TERM
	stop_pid "$bh_pid" TERM
	stop_pid "$gentd_pid" TERM
	stop_pid "$pf_pid" TERM	# Postfix master: its children follow it
	stop_pid "$sink_pid" TERM
}
bench_tmpdir gentd-bench-relay
chmod 755 "$tmp"	# the Postfix daemons (as postfix) reach into it

# --- helpers ------------------------------------------------------------------------

helper() { python3 "$helper" "$@"; }

wait_until() {	# wait_until SECONDS COMMAND...: poll every 0.1 s; 1 on timeout
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

read_vars() {	# read_vars FILE: its key=value lines become variables r_<key>
	local k v
	while IFS='=' read -r k v; do
		case $k in [a-z_]*) printf -v "r_$k" '%s' "$v" ;; esac
	done <"$1"
}

# helper_bg OUT ARGS... [-- COMMAND...]: the helper in the background (so a
# signal reaches the trap at once), bounded; with "-- COMMAND", COMMAND runs
# once the helper printed ready=1. Then read_vars OUT.
helper_bg() {
	local out=$1 args=() rc=0
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
	timeout $((run_timeout + 30)) python3 "$helper" "${args[@]}" >"$out" 2>&1 &
	load_pid=$!
	if [ $# -gt 0 ]; then
		shift
		wait_until 10 grep -qs '^ready=1' "$out" ||
		    die "relay_bench_helper.py ${args[0]} did not start: $(cat "$out")"
		"$@"
	fi
	wait "$load_pid" || rc=$?
	load_pid=
	[ "$rc" -eq 0 ] || die "relay_bench_helper.py ${args[0]} failed (exit $rc): $(tail -n 5 "$out")"
	read_vars "$out"
}

# load NAME KIND TARGET COUNT CLIENTS [-]: enqueue COUNT messages and (unless
# "-") wait for the sink to count them; output in $tmp/run-NAME.txt.
load() {
	local sink=$tmp/sink.out
	[ "${6:-}" = - ] && sink=-
	helper_bg "$tmp/run-$1.txt" run "$2" "$3" "$4" "$5" "$sink" "$sport" \
	    "$run_timeout" "$body_bytes"
}

# drain NAME START-COMMAND...: start the server (relaying to the sink) and
# time until the sink counted $n more messages; output in $tmp/run-NAME.txt.
drain() {
	local name=$1
	shift
	helper_bg "$tmp/run-$name.txt" drain "$tmp/sink.out" "$sport" "$n" "$run_timeout" -- "$@"
}

# blackhole_start / blackhole_stop: a port that accepts and never greets,
# so the relay's deliveries hang while the backlog is enqueued.
bport=
blackhole_start() {
	bport=$(free_port)
	timeout $((run_timeout + 60)) python3 "$helper" blackhole "$bport" "$((run_timeout + 30))" &
	bh_pid=$!
	wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$bport" 2>/dev/null ||
	    die "blackhole on $bport did not start"
}
blackhole_stop() { stop_pid "$bh_pid" TERM; bh_pid=; }

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0) ? n / s : 0 }'; }
# Sessions the sink has seen end; read after the server stopped, so that
# connections it kept open (Postfix caches them) are counted.
sink_sess() {
	local v
	v=$(tail -c 256 "$tmp/sink.out" | tr '\r' '\n' | sed -n 's/^.*sess=\([0-9]*\) .*/\1/p' | tail -n 1)
	echo "${v:-0}"
}
vm() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }	# vm PID VmHWM: KiB

# --- the sink ---------------------------------------------------------------------

sport=$(free_port)
sink_user=()
[ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
# -c: running counters (sessions, QUITs, messages) written to stdout.
"$smtp_sink" "${sink_user[@]}" -c "127.0.0.1:$sport" 256 >"$tmp/sink.out" 2>&1 &
sink_pid=$!
wait_smtp "$sport" "$sink_pid" || die "smtp-sink does not greet on $sport: $(cat "$tmp/sink.out")"

# --- gentd: an operator-made inbox, a token with email:send -----------------------

gport=$(free_port)
gsport=$(free_port)
gdata=$tmp/gentd-data
gbase=http://127.0.0.1:$gport
mkdir -p "$gdata"
cat >"$tmp/gentd.conf" <<EOC
data_dir = $gdata
hostname = bench.test
http_listen = 127.0.0.1:$gport
smtp_listen = 127.0.0.1:$gsport
relay_host = 127.0.0.1:$sport
log_level = $log_level
scrypt_log2n = 10
EOC

gentd_start() {	# gentd_start RELAY_PORT: serve, relaying to 127.0.0.1:RELAY_PORT
	echo "--- gentd serve, relay_host = 127.0.0.1:$1" >>"$tmp/gentd.log"
	GENTD_RELAY_HOST=127.0.0.1:$1 "$gentd" serve --config "$tmp/gentd.conf" \
	    >>"$tmp/gentd.log" 2>&1 &
	gentd_pid=$!
	wait_until 15 curl -fsS -o /dev/null --max-time 1 "$gbase/healthz" 2>/dev/null ||
	    die "gentd did not answer /healthz within 15 s: $(tail -n 20 "$tmp/gentd.log")"
}
gentd_connects() { grep -c 'smtp-client connect ' "$tmp/gentd.log" || true; }
gentd_queue_is() { [ "$(helper queue "$gdata")" = "$1" ]; }
gentd_sent() { wait_until 30 gentd_queue_is "sent=$1"; }	# every row recorded as sent

email=owner@bench.test
password=bench-password-1
"$gentd" admin create-user --config "$tmp/gentd.conf" --email "$email" \
    --password "$password" --tenant bench >"$tmp/user.json" 2>>"$tmp/gentd.log" ||
    die "gentd admin create-user failed: $(cat "$tmp/gentd.log")"
tenant_id=$(helper field tenant_id <"$tmp/user.json")
"$gentd" admin create-inbox --config "$tmp/gentd.conf" --tenant-id "$tenant_id" \
    --address agent@bench.test >"$tmp/inbox.json" 2>>"$tmp/gentd.log" ||
    die "gentd admin create-inbox failed: $(cat "$tmp/gentd.log")"
inbox_id=$(helper field inbox_id <"$tmp/inbox.json")

gentd_start "$sport"
session=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
    "$gbase/v1/auth/login/" | helper field session_token) || die "login failed"
[ -n "$session" ] || die "no session_token in the login answer"
token=$(curl -fsS --max-time 10 -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $session" \
    -d "{\"inbox_id\":\"$inbox_id\",\"scopes\":[\"email:send\"],\"label\":\"bench\"}" \
    "$gbase/v1/tokens/" | helper field raw_token) || die "token creation failed"
[ -n "$token" ] || die "no raw_token in the token answer"

# Warm-up: proves that an operator-made inbox (no domain, so no DKIM key)
# can send through the relay; the API's answer is shown when it cannot.
if [ "$warmup" -gt 0 ]; then
	load gentd-warmup http "$gport:$token" "$warmup" 2
	[ "$r_complete" = 1 ] || die "gentd warm-up: $r_enqueued of $warmup accepted" \
	    "(first refusal: ${r_first_error:-none}), $r_delivered delivered"
	gentd_sent "$warmup" || die "gentd warm-up not recorded as sent: $(helper queue "$gdata")"
fi
sent=$warmup

load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Live: enqueue while the relay runs. CPU includes recording every outcome.
say "gentd live: $n messages, $clients clients"
k0=$(gentd_connects) s0=$(sink_sess)
c0=$(cpu_ticks "$gentd_pid")
load gentd http "$gport:$token" "$n" "$clients"
g_enq=$r_enqueued g_enq_s=$r_enqueue_s g_del=$r_delivered g_e2e_s=$r_end_to_end_s
g_mid=$r_delivered_at_enqueue_end g_peak=$r_peak_conns
[ "$r_complete" = 1 ] || warn "gentd live: $g_enq of $n accepted (first refusal: ${r_first_error:-none}), $g_del delivered within ${run_timeout}s: PARTIAL"
sent=$((sent + g_enq))
gentd_sent "$sent" || warn "gentd's queue 30 s after the live run: $(helper queue "$gdata") (want sent=$sent)"
g_cpu=$(( ($(cpu_ticks "$gentd_pid") - c0) * 1000 / $(getconf CLK_TCK) ))
g_hwm=$(vm "$gentd_pid" VmHWM) g_rss=$(vm "$gentd_pid" VmRSS)
g_conns=$(( $(gentd_connects) - k0 ))
g_lat=$(helper latency "$gdata" "$warmup")
stop_pid "$gentd_pid" TERM
gentd_pid=
g_sess=$(( $(sink_sess) - s0 ))

# Backlog: enqueue while relay_host hangs (routes wait for a greeting, their
# rows stay leased), stop gentd, then time a restart with the sink as relay:
# the first claim run releases the old leases and the whole queue is due.
say "gentd backlog: $n messages queued while the relay host hangs"
blackhole_start
gentd_start "$bport"
load gentd-fill http "$gport:$token" "$n" "$clients" -
[ "$r_complete" = 1 ] || die "gentd backlog: $r_enqueued of $n accepted (first refusal: ${r_first_error:-none})"
stop_pid "$gentd_pid" TERM
gentd_pid=
blackhole_stop
g_queue=$(helper queue "$gdata")
say "gentd backlog: restart with the sink ($g_queue)"
k0=$(gentd_connects) s0=$(sink_sess)
drain gentd-drain gentd_start "$sport"
gb_del=$r_delivered gb_s=$r_end_to_end_s gb_first=$r_first_s gb_peak=$r_peak_conns
[ "$r_complete" = 1 ] || warn "gentd backlog: $gb_del of $n delivered within ${run_timeout}s after the restart: PARTIAL"
sent=$((sent + n))
gentd_sent "$sent" || warn "gentd's queue 30 s after the drain: $(helper queue "$gdata") (want sent=$sent)"
gb_cpu=$(( $(cpu_ticks "$gentd_pid") * 1000 / $(getconf CLK_TCK) ))
gb_hwm=$(vm "$gentd_pid" VmHWM)
gb_conns=$(( $(gentd_connects) - k0 ))
stop_pid "$gentd_pid" TERM
gentd_pid=
gb_sess=$(( $(sink_sess) - s0 ))

# --- Postfix: a private instance relaying to the same sink -------------------------

pport=$(free_port)
pdir=$tmp/postfix
pconf=$pdir/etc
pqueue=$pdir/spool
pdaemons=$(postconf -dh daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)
pf_version=$(postconf -dh mail_version 2>/dev/null || echo '?')

pf_why=
pf_setup() {	# 0 when the private Postfix is configured; else pf_why says why not
	[ "$(id -u)" -eq 0 ] || { pf_why="not root: Postfix's master must start as root (it switches to the postfix user)"; return 1; }
	[ -x "$pdaemons/master" ] || { pf_why="no $pdaemons/master"; return 1; }
	getent passwd postfix >/dev/null || { pf_why="no user postfix"; return 1; }
	mkdir -p "$pconf" "$pqueue" "$pdir/data"
	: >"$pdir/maillog"
	chown postfix "$pdir/data"
	# Every path is in $pdir. relayhost is rewritten by pf_start.
	cat >"$pconf/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $pqueue
data_directory = $pdir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.bench.test
mydomain = bench.test
myorigin = bench.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:$sport
smtp_host_lookup = native
smtpd_peername_lookup = no
in_flow_delay = 0s
default_destination_concurrency_limit = $pf_conc
biff = no
maillog_file_prefixes = $pdir
maillog_file = $pdir/maillog
EOC
	cat >"$pconf/master.cf" <<EOC
127.0.0.1:$pport inet n - n - - smtpd
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
EOC
	if ! postfix -c "$pconf" check >"$pdir/check.log" 2>&1; then
		pf_why="postfix check failed: $(tail -n 3 "$pdir/check.log" | tr '\n' ' ')"
		return 1
	fi
}

pf_start() {	# pf_start RELAY_PORT: master in the foreground, as our child
	postconf -c "$pconf" -e "relayhost = [127.0.0.1]:$1"
	"$pdaemons/master" -c "$pconf" -s >>"$pdir/master.out" 2>&1 &
	pf_pid=$!
	wait_smtp "$pport" "$pf_pid" ||
	    die "the private Postfix does not greet on 127.0.0.1:$pport: $(tail -n 3 "$pdir/master.out" "$pdir/maillog" | tr '\n' ' ')"
}
pf_sent() { grep -c ' status=sent ' "$pdir/maillog" 2>/dev/null || true; }
pf_empty() {
	[ "$(find "$pqueue/maildrop" "$pqueue/incoming" "$pqueue/active" \
	    "$pqueue/deferred" "$pqueue/hold" -type f 2>/dev/null | wc -l)" -eq 0 ]
}
pf_settled() { [ "$(pf_sent)" -ge "$1" ] && pf_empty; }

have_pf=
if pf_setup; then
	have_pf=1
	pf_start "$sport"
	if [ "$warmup" -gt 0 ]; then
		load postfix-warmup smtp "$pport" "$warmup" 2
		[ "$r_complete" = 1 ] || die "postfix warm-up: $r_enqueued of $warmup accepted" \
		    "(first refusal: ${r_first_error:-none}), $r_delivered delivered"
		wait_until 30 pf_settled "$warmup" || die "postfix warm-up did not settle"
	fi
	say "postfix live: $n messages, $clients clients"
	log0=$(wc -l <"$pdir/maillog") s0=$(sink_sess)
	load postfix smtp "$pport" "$n" "$clients"
	p_enq=$r_enqueued p_enq_s=$r_enqueue_s p_del=$r_delivered p_e2e_s=$r_end_to_end_s
	p_mid=$r_delivered_at_enqueue_end p_peak=$r_peak_conns
	[ "$r_complete" = 1 ] || warn "postfix live: $p_enq of $n accepted (first refusal: ${r_first_error:-none}), $p_del delivered within ${run_timeout}s: PARTIAL"
	wait_until 30 pf_settled "$((warmup + p_enq))" ||
	    warn "postfix logged $(pf_sent) of $((warmup + p_enq)) sent 30 s after the live run"
	# delay= of each "status=sent" line: seconds from arrival to delivery.
	p_lat=$(tail -n +"$((log0 + 1))" "$pdir/maillog" |
	    sed -n 's/.* delay=\([0-9.]*\),.* status=sent .*/\1/p' |
	    sort -n | awk '{ d[NR] = $1 * 1000 } END { if (!NR) { print "-"; exit }
		i = int(NR * .9) + 1; if (i > NR) i = NR
		printf "p50=%dms p90=%dms max=%dms", d[int(NR * .5) + 1], d[i], d[NR] }')
	stop_pid "$pf_pid" TERM
	pf_pid=
	p_sess=$(( $(sink_sess) - s0 ))

	# Backlog, as for gentd: relayhost hangs while the queue fills, then
	# master restarts with the sink (qmgr takes the active queue back).
	say "postfix backlog: $n messages queued while the relay host hangs"
	blackhole_start
	pf_start "$bport"
	load postfix-fill smtp "$pport" "$n" "$clients" -
	[ "$r_complete" = 1 ] || die "postfix backlog: $r_enqueued of $n accepted (first refusal: ${r_first_error:-none})"
	stop_pid "$pf_pid" TERM
	pf_pid=
	blackhole_stop
	say "postfix backlog: restart with the sink"
	s0=$(sink_sess)
	drain postfix-drain pf_start "$sport"
	pb_del=$r_delivered pb_s=$r_end_to_end_s pb_first=$r_first_s pb_peak=$r_peak_conns
	[ "$r_complete" = 1 ] || warn "postfix backlog: $pb_del of $n delivered within ${run_timeout}s after the restart: PARTIAL"
	wait_until 30 pf_empty || warn "postfix's queue is not empty 30 s after the drain"
	stop_pid "$pf_pid" TERM
	pf_pid=
	pb_sess=$(( $(sink_sess) - s0 ))
else
	warn "no private Postfix: $pf_why"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report -----------------------------------------------------------------------------

fs=$(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')
row() { printf '%-8s %9s %10s %10s %12s %12s %9s %5s  %s\n' "$@"; }
echo
echo "relay to smtp-sink on 127.0.0.1: $n messages of $body_bytes B text, one recipient each, $clients clients; $(nproc) CPUs, $(uname -r); data on ${fs:-?}"
echo "  gentd:   POST /v1/messages/ (operator-made inbox, token email:send) -> SQLite queue -> relay_host = the sink"
echo "  postfix: $pf_version, private instance: SMTP submission -> queue -> relayhost = the sink (destination concurrency $pf_conc)"
echo "  load average before/after: $load_before / $load_after"
echo
echo "live: enqueue while the relay runs; time from the first message to the last one at the sink"
row server accepted enqueue/s delivered delivered/s "at enq. end" sessions peak "queued->delivered"
row gentd "$g_enq" "$(rate "$g_enq" "$g_enq_s")" "$g_del" "$(rate "$g_del" "$g_e2e_s")" \
    "$g_mid" "$g_sess" "$g_peak" "$g_lat"
[ -n "$have_pf" ] && row postfix "$p_enq" "$(rate "$p_enq" "$p_enq_s")" "$p_del" \
    "$(rate "$p_del" "$p_e2e_s")" "$p_mid" "$p_sess" "$p_peak" "$p_lat"
echo
echo "backlog: $n queued while the relay host hung; time from the restart to the last one at the sink"
row server queued "first after" delivered delivered/s "after first/s" sessions peak
row gentd "$n" "${gb_first}s" "$gb_del" "$(rate "$gb_del" "$gb_s")" \
    "$(rate "$gb_del" "$(awk -v a="$gb_s" -v b="$gb_first" 'BEGIN { print a - b }')")" \
    "$gb_sess" "$gb_peak"
[ -n "$have_pf" ] && row postfix "$n" "${pb_first}s" "$pb_del" "$(rate "$pb_del" "$pb_s")" \
    "$(rate "$pb_del" "$(awk -v a="$pb_s" -v b="$pb_first" 'BEGIN { print a - b }')")" \
    "$pb_sess" "$pb_peak"
echo
if [ -n "$have_pf" ]; then
	awk -v g="$(rate "$g_del" "$g_e2e_s")" -v p="$(rate "$p_del" "$p_e2e_s")" \
	    -v ge="$(rate "$g_enq" "$g_enq_s")" -v pe="$(rate "$p_enq" "$p_enq_s")" \
	    -v gb="$(rate "$gb_del" "$gb_s")" -v pb="$(rate "$pb_del" "$pb_s")" 'BEGIN {
		printf "ratio gentd/postfix: live delivered/s %.3f (enqueue/s %.3f); backlog delivered/s %.3f\n",
		    g / p, ge / pe, gb / pb }'
fi
awk -v c="$g_cpu" -v n="$g_enq" -v h="$g_hwm" -v r="$g_rss" -v k="$g_conns" \
    -v bc="$gb_cpu" -v bn="$n" -v bh="$gb_hwm" -v bk="$gb_conns" 'BEGIN {
	printf "gentd CPU (utime+stime): live %d ms (%.2f ms/message, %d relay connections); backlog drain %d ms (%.2f ms/message, %d connections)\n",
	    c, n ? c / n : 0, k, bc, bn ? bc / bn : 0, bk
	printf "gentd RSS: live VmHWM %.1f MiB, VmRSS %.1f MiB at its end; drain VmHWM %.1f MiB\n",
	    h / 1024, r / 1024, bh / 1024 }'
warnings_report
