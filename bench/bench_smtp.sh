#!/usr/bin/env bash
# bench_smtp.sh - SMTP ingest rate (messages/s) of gentd and of a private
# Postfix instance used as a sink (accept into its queue, fsync, discard),
# both driven by Postfix's smtp-source on the same machine in one run.
# Message sizes 1 KiB, 4 KiB and 64 KiB, with 1 and 20 parallel sessions.
# Prints one row per size x sessions with both rates, the ratio
# gentd/peer and gentd's CPU time per 1000 messages; then gentd's peak RSS.
#
# usage: bench/bench_smtp.sh            (see bench/README.md)
# environment (defaults in brackets):
#   BENCH_SIZES ["1024 4096 65536"]  message payload sizes (smtp-source -l)
#   BENCH_SESSIONS ["1 20"]          parallel sessions (smtp-source -s)
#   BENCH_SCALE [1]                  multiply every message count by this
#   BENCH_REUSE [0]                  1: many messages per connection (-d)
#   BENCH_RUN_TIMEOUT [90]           seconds one smtp-source run may take
#   BENCH_PEER [postfix]             "smtp-sink" to skip the private Postfix
#   GENTD [build/gentd]              the binary to measure
#   BENCH_KEEP=1                     keep the temp dir (configs, logs)
#
# Everything listens on 127.0.0.1 only; every wait is bounded; the EXIT
# trap stops the processes this script started (by pid) and removes the
# temp dir. The system's Postfix (/etc/postfix) is never started or used.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
helper=$here/smtp_bench_helper.py

sizes=${BENCH_SIZES:-1024 4096 65536}
sessions_list=${BENCH_SESSIONS:-1 20}
scale=${BENCH_SCALE:-1}
reuse=${BENCH_REUSE:-0}
run_timeout=${BENCH_RUN_TIMEOUT:-90}
peer=${BENCH_PEER:-postfix}
gentd=${GENTD:-$src/build/gentd}

. "$here/lib.sh"

case $peer in postfix|smtp-sink) ;; *) die "BENCH_PEER must be postfix or smtp-sink" ;; esac

# --- tools: install only what is missing ------------------------------------

need curl curl
need python3 python3
need dnsmasq dnsmasq-base /usr/sbin/dnsmasq
dnsmasq_bin=$(command -v dnsmasq 2>/dev/null || echo /usr/sbin/dnsmasq)

# smtp-source, smtp-sink and the Postfix daemons all come with "postfix";
# need_postfix keeps a system Postfix from running on port 25.
need_postfix smtp-source
smtp_source=$(command -v smtp-source 2>/dev/null || echo /usr/sbin/smtp-source)
smtp_sink=$(command -v smtp-sink 2>/dev/null || echo /usr/sbin/smtp-sink)
[ -x "$smtp_source" ] || die "no smtp-source (package postfix)"

build_gentd

# --- temp dir, cleanup ----------------------------------------------------------

gentd_pid=
peer_pid=
src_pid=
bench_stop() {	# lib.sh's EXIT trap: these, then dnsmasq; then it removes $tmp
	stop_pid "$src_pid" TERM
	stop_pid "$gentd_pid" TERM
	stop_pid "$peer_pid" TERM	# Postfix master: its children follow it
}
bench_tmpdir gentd-bench-smtp
# dnsmasq (as nobody) and the Postfix daemons (as postfix) reach into it.
chmod 755 "$tmp"

# --- helpers ------------------------------------------------------------------------

helper() { python3 "$helper" "$@"; }

clk_tck=$(getconf CLK_TCK)

now() { date +%s.%N; }

# count_for SIZE SESSIONS: messages per measured run (before BENCH_SCALE)
count_for() {
	local n
	case $1:$2 in
	1024:1 | 4096:1) n=1000 ;;
	1024:* | 4096:*) n=4000 ;;
	65536:1) n=400 ;;
	65536:*) n=1500 ;;
	*:1) n=500 ;;
	*) n=2000 ;;
	esac
	awk -v n="$n" -v s="$scale" 'BEGIN { n = int(n * s + 0.5); print (n < 1 ? 1 : n) }'
}

size_label() {
	awk -v b="$1" 'BEGIN {
		if (b % 1024 == 0) printf "%d KiB", b / 1024; else printf "%d B", b }'
}

# --- dnsmasq ----------------------------------------------------------------------

dns_start

# --- gentd: a verified domain and an inbox ------------------------------------------

# smtp-source opens a new connection for every message; a session that has
# sent 221 may still count against smtp_max_per_ip (default 20) when the
# next one arrives, so the per-IP limit is raised above the session count.
gentd_owner_start "smtp_max_per_ip = 200"
gsport=$sport

domain_verify bench.test
api POST /v1/inboxes/ '{"address":"sink@bench.test"}' >"$tmp/inbox.json" ||
    die "POST /v1/inboxes/ failed"
wait_smtp "$gsport" "$gentd_pid" || die "gentd SMTP on $gsport does not greet"

# --- the peer: a private Postfix instance (or smtp-sink) --------------------------

pport=$(free_port)
pdir=$tmp/postfix
pconf=$pdir/etc
pqueue=$pdir/spool
pdaemons=$(postconf -dh daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)
peer_label=
pf_version=$(postconf -dh mail_version 2>/dev/null || echo '?')

start_postfix() {	# 0 when a private Postfix greets on $pport
	[ "$(id -u)" -eq 0 ] || { say "a private Postfix needs root"; return 1; }
	[ -x "$pdaemons/master" ] || { say "no $pdaemons/master"; return 1; }
	getent passwd postfix >/dev/null || { say "no user postfix"; return 1; }
	mkdir -p "$pconf" "$pqueue" "$pdir/data"
	: >"$pdir/maillog"
	chown postfix "$pdir/data"
	# Every path is in $pdir; nothing reads or writes /etc/postfix except
	# post-install's list of files ($meta_directory/postfix-files).
	cat >"$pconf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pqueue
data_directory = $pdir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = sink.bench.local
mydomain = bench.local
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination = bench.test
local_recipient_maps =
alias_maps =
alias_database =
local_transport = discard:
default_transport = discard:
relay_transport = discard:
virtual_transport = discard:
smtpd_peername_lookup = no
in_flow_delay = 0s
biff = no
maillog_file_prefixes = $pdir
maillog_file = $pdir/maillog
EOF
	cat >"$pconf/master.cf" <<EOF
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
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
	# "postfix check" creates the queue directories with their owners.
	if ! postfix -c "$pconf" check >"$pdir/check.log" 2>&1; then
		cat "$pdir/check.log" "$pdir/maillog" >&2 2>/dev/null || true
		say "postfix check failed"
		return 1
	fi
	# master in the foreground (like "postfix start-fg"), as our child.
	"$pdaemons/master" -c "$pconf" -s >"$pdir/master.out" 2>&1 &
	peer_pid=$!
	if ! wait_smtp "$pport" "$peer_pid"; then
		cat "$pdir/master.out" "$pdir/maillog" >&2 2>/dev/null || true
		say "the private Postfix does not greet on 127.0.0.1:$pport"
		stop_pid "$peer_pid" TERM
		peer_pid=
		return 1
	fi
	peer_label="postfix $pf_version (private instance: smtpd, cleanup writes and fsyncs the queue file, qmgr hands it to discard)"
}

start_sink() {
	[ -x "$smtp_sink" ] || die "no smtp-sink either"
	local user=()
	[ "$(id -u)" -eq 0 ] && user=(-u nobody)
	"$smtp_sink" "${user[@]}" "127.0.0.1:$pport" 256 >"$tmp/smtp-sink.out" 2>&1 &
	peer_pid=$!
	wait_smtp "$pport" "$peer_pid" || die "smtp-sink does not greet on $pport"
	peer_label="smtp-sink from postfix $pf_version: NOT a full Postfix (it answers 250 and writes nothing to disk)"
}

peer_name=postfix
if [ "$peer" = smtp-sink ] || ! start_postfix; then
	[ "$peer" = smtp-sink ] || warn "a private Postfix could not be started; the peer is smtp-sink, NOT a full Postfix"
	peer_name=smtp-sink
	start_sink
fi

pf_sent() {	# messages the private Postfix has delivered (discarded)
	grep -c ' status=sent ' "$pdir/maillog" 2>/dev/null || true
}
pf_queued() {	# files still in the private Postfix's queue
	find "$pqueue/maildrop" "$pqueue/incoming" "$pqueue/active" \
	    "$pqueue/deferred" "$pqueue/hold" -type f 2>/dev/null | wc -l
}

# pf_settle WANT: wait (max 60 s) until WANT messages were discarded and
# the queue is empty, so the next run does not share the CPU with it.
pf_settle() {
	local want=$1 _
	for _ in $(seq 600); do
		if [ "$(pf_sent)" -ge "$want" ] && [ "$(pf_queued)" -eq 0 ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# --- runs -----------------------------------------------------------------------------

reuse_flag=()
[ "$reuse" = 1 ] && reuse_flag=(-d)

# source TARGET PORT COUNT SESSIONS SIZE OUT: smtp-source in the background
# (a signal reaches the trap at once), bounded by run_timeout.
source_run() {
	local port=$2 n=$3 s=$4 l=$5 out=$6 rc=0
	timeout "$run_timeout" "$smtp_source" -4 -c "${reuse_flag[@]}" -m "$n" -s "$s" \
	    -l "$l" -M client.src.test -f sender@src.test -t sink@bench.test \
	    "127.0.0.1:$port" >"$out" 2>&1 &
	src_pid=$!
	wait "$src_pid" || rc=$?
	src_pid=
	return "$rc"
}

gentd_stored=$(helper count "$gdata")
pf_expect=0

# measure TARGET SIZE SESSIONS COUNT: sets m_rate, m_cpu (gentd), m_ok
measure() {
	local target=$1 l=$2 s=$3 n=$4 out rc=0 t0 t1 c0 c1 got
	out=$tmp/run-$target-$l-$s.txt
	m_ok=1
	m_cpu=
	[ "$target" = gentd ] && c0=$(cpu_ticks "$gentd_pid")
	t0=$(now)
	source_run "$target" "$([ "$target" = gentd ] && echo "$gsport" || echo "$pport")" \
	    "$n" "$s" "$l" "$out" || rc=$?
	t1=$(now)
	m_rate=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
	if [ "$rc" -ne 0 ]; then
		m_ok=0
		warn "smtp-source against $target ($l bytes, $s sessions) exited $rc$([ "$rc" = 124 ] && echo " (timed out after ${run_timeout}s)"): $(tr '\r' '\n' <"$out" | grep -v '^[0-9]*$' | tail -n 3 | tr '\n' ' ')"
	fi
	if [ "$target" = gentd ]; then
		if ! kill -0 "$gentd_pid" 2>/dev/null; then
			tail -n 20 "$tmp/gentd.log" >&2 || true
			die "gentd exited during the run ($l bytes, $s sessions)"
		fi
		c1=$(cpu_ticks "$gentd_pid")
		m_cpu=$(awk -v d="$((c1 - c0))" -v hz="$clk_tck" -v n="$n" \
		    'BEGIN { printf "%.0f", d * 1000 / hz * 1000 / n }')
		got=$(helper count "$gdata")
		if [ "$((got - gentd_stored))" -ne "$n" ]; then
			m_ok=0
			warn "MISMATCH: smtp-source sent $n messages to gentd ($l bytes, $s sessions) but gentd stored $((got - gentd_stored))"
		fi
		gentd_stored=$got
	elif [ "$peer_name" = postfix ]; then
		pf_expect=$((pf_expect + n))
		if ! pf_settle "$pf_expect"; then
			m_ok=0
			warn "MISMATCH: the private Postfix discarded $(pf_sent) of $pf_expect messages so far ($(pf_queued) still queued)"
			pf_expect=$(pf_sent)
		fi
	fi
}

# Warm-up (not reported): a few messages to each, checked like the rest.
measure gentd 1024 2 20
[ "$m_ok" = 1 ] || die "warm-up against gentd failed; see the warnings above"
measure "$peer_name" 1024 2 20
[ "$m_ok" = 1 ] || die "warm-up against $peer_name failed; see the warnings above"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rows=()
start_all=$(now)
for l in $sizes; do
	for s in $sessions_list; do
		n=$(count_for "$l" "$s")
		say "$(size_label "$l"), $s session(s), $n messages: gentd"
		measure gentd "$l" "$s" "$n"
		g_rate=$m_rate g_cpu=$m_cpu g_ok=$m_ok
		say "$(size_label "$l"), $s session(s), $n messages: $peer_name"
		measure "$peer_name" "$l" "$s" "$n"
		rows+=("$l $s $n $g_rate $m_rate $g_cpu $g_ok $m_ok")
	done
done
end_all=$(now)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$gentd_pid/status")
rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gentd_pid/status")

# --- report -----------------------------------------------------------------------------

fs=$(df -PT "$tmp" 2>/dev/null | awk 'NR == 2 { print $2 }')
echo
echo "smtp-source $([ "$reuse" = 1 ] && echo "-d (one connection per session)" || echo "(one connection per message)") on 127.0.0.1; $(nproc) CPUs, $(uname -r); data on ${fs:-?}"
echo "  gentd: RCPT sink@bench.test on a verified domain; stored in SQLite (WAL, synchronous=FULL)"
echo "  peer:  $peer_label"
echo "  load average before/after: $load_before / $load_after ($(awk -v a="$start_all" -v b="$end_all" 'BEGIN { printf "%.0f", b - a }') s of runs)"
echo
printf '%-7s %5s %6s %12s %12s %8s %16s\n' size sess msgs "gentd msg/s" "$peer_name msg/s" ratio "gentd CPU ms/1k"
for r in "${rows[@]}"; do
	set -- $r
	mark=
	{ [ "$7" = 1 ] && [ "$8" = 1 ]; } || mark="  <- FAILED, see warnings"
	printf '%-7s %5s %6s %12s %12s %8s %16s%s\n' "$(size_label "$1")" "$2" "$3" \
	    "$4" "$5" "$(awk -v g="$4" -v p="$5" 'BEGIN { printf "%.3f", g / p }')" "$6" "$mark"
done
echo
awk -v h="$hwm" -v r="$rss" 'BEGIN {
	printf "gentd peak RSS (VmHWM): %.1f MiB (VmRSS at the end: %.1f MiB)\n", h / 1024, r / 1024 }'
echo "ratio = gentd msg/s / $peer_name msg/s; CPU = gentd utime+stime during the run, per 1000 messages"
if [ "$peer_name" != postfix ]; then
	echo
	echo "NOTE: the peer is smtp-sink, not a full Postfix: it writes nothing to disk."
fi
warnings_report
