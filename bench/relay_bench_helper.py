#!/usr/bin/env python3
"""relay_bench_helper.py - load and timing for bench_relay.sh (stdlib only).

    field NAME          top-level JSON field NAME of stdin
    run KIND TARGET N CLIENTS SINK_OUT SINK_PORT TIMEOUT BODY_BYTES
                        enqueue N messages with CLIENTS parallel clients and
                        wait until the sink (smtp-sink -c, its output in
                        SINK_OUT) counted N more; prints key=value lines.
                        KIND http: TARGET is PORT:TOKEN, each message one
                        POST /v1/messages/ (keep-alive connection per client)
                        KIND smtp: TARGET is PORT, each message one SMTP
                        transaction (one session per client)
                        Everything stops TIMEOUT seconds after the first
                        message; what was delivered by then is reported.
                        SINK_OUT "-": enqueue only, do not wait.
    drain SINK_OUT SINK_PORT N TIMEOUT
                        print "ready=1", then wait (at most TIMEOUT s) until
                        the sink counted N more; prints key=value lines
    blackhole PORT SECONDS
                        accept SMTP connections on 127.0.0.1:PORT and never
                        answer (for SECONDS at most), so a relay's deliveries
                        hang and its queue fills
    queue DATA_DIR      gentd's outbound rows by status ("sent=N queued=M")
    latency DATA_DIR SKIP
                        p50/p90/max of delivered_at - created_at (ms) of the
                        sent rows, the SKIP oldest (the warm-up) left out
"""

import glob
import http.client
import json
import os
import re
import smtplib
import socket
import sqlite3
import sys
import threading
import time

SENDER = "agent@bench.test"
ERRORS_MAX = 10	# stop the load after this many failed messages


def body_text(i, size):
    line = "This line pads relay benchmark message %d to its size.\n" % i
    return (line * (size // len(line) + 1))[:size]


def sink_counts(path):
    """(sessions, messages) from the last counter line of smtp-sink -c."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 256))
            tail = f.read().decode("ascii", "replace")
    except OSError:
        return 0, 0
    m = re.findall(r"sess=(\d+) quit=\d+ mesg=(\d+)", tail)
    return (int(m[-1][0]), int(m[-1][1])) if m else (0, 0)


def conns_to(port):
    """Established TCP connections whose remote port is port (clients of the sink)."""
    n = 0
    want = ":%04X" % port
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    p = line.split(None, 4)
                    if p[3] == "01" and p[2].endswith(want):
                        n += 1
        except OSError:
            pass
    return n


class Load:
    def __init__(self, kind, target, n, size, deadline):
        self.kind, self.n, self.size, self.deadline = kind, n, size, deadline
        if kind == "http":
            port, self.token = target.split(":", 1)
        else:
            port = target
        self.port = int(port)
        self.lock = threading.Lock()
        self.next = 0
        self.ok = self.failed = 0
        self.first_error = ""
        self.t_last_ok = None

    def take(self):
        with self.lock:
            if self.next >= self.n or self.failed >= ERRORS_MAX or \
                    time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.next - 1

    def result(self, good, why=""):
        with self.lock:
            if good:
                self.ok += 1
                self.t_last_ok = time.monotonic()
            else:
                self.failed += 1
                if not self.first_error:
                    self.first_error = why[:300]

    def http_client(self):
        conn = None
        while (i := self.take()) is not None:
            body = json.dumps({"to": ["rcpt-%d@sink.test" % i],
                               "subject": "relay bench %d" % i,
                               "text_body": body_text(i, self.size)})
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("POST", "/v1/messages/", body, {
                    "Authorization": "Bearer " + self.token,
                    "Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 202:
                    self.result(True)
                else:
                    self.result(False, "HTTP %d %s" % (resp.status,
                                                       data.decode("utf-8", "replace")))
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.result(False, "POST: %r" % e)
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    def smtp_client(self):
        s = None
        while (i := self.take()) is not None:
            rcpt = "rcpt-%d@sink.test" % i
            msg = ("From: %s\r\nTo: %s\r\nSubject: relay bench %d\r\n"
                   "Date: %s\r\nMessage-ID: <bench-%d.%d@bench.test>\r\n"
                   "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: 7bit\r\n\r\n%s" % (
                       SENDER, rcpt, i, time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                                      time.gmtime()),
                       os.getpid(), i, body_text(i, self.size).replace("\n", "\r\n")))
            try:
                if s is None:
                    s = smtplib.SMTP("127.0.0.1", self.port, "client.bench.test", timeout=30)
                s.sendmail(SENDER, [rcpt], msg.encode())
                self.result(True)
            except (OSError, smtplib.SMTPException) as e:
                self.result(False, "SMTP: %r" % e)
                try:
                    if s:
                        s.close()
                except OSError:
                    pass
                s = None
        if s:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                s.close()


def watch(sink_out, sink_port, base, t0, timeout, want, busy):
    """Poll the sink until busy() is false and want() more messages came
    than the counters in base. Returns the counts and times (from t0)."""
    sess0, mesg0 = base
    peak, got, t_first, t_idle, at_idle, t_done = 0, 0, None, None, 0, None
    next_conn_probe = 0.0
    while True:
        now = time.monotonic()
        got = sink_counts(sink_out)[1] - mesg0
        if got and t_first is None:
            t_first = now
        if now >= next_conn_probe:
            peak = max(peak, conns_to(sink_port))
            next_conn_probe = now + 0.1
        if t_idle is None and not busy():
            t_idle, at_idle = now, got
        if t_idle is not None and got >= want():
            t_done = now
            break
        if now > t0 + timeout:
            break
        time.sleep(0.02)
    sess, mesg = sink_counts(sink_out)
    return {
        "delivered": mesg - mesg0, "delivered_at_enqueue_end": at_idle,
        "first_s": "%.3f" % ((t_first or now) - t0),
        "end_to_end_s": "%.3f" % ((t_done or time.monotonic()) - t0),
        "done": t_done is not None,
        "sink_sessions": sess - sess0, "peak_conns": peak,
    }


def report(out):
    for k, v in out.items():
        print("%s=%s" % (k, v))


def run(kind, target, n, clients, sink_out, sink_port, timeout, size):
    base = sink_counts(sink_out) if sink_out != "-" else None
    t0 = time.monotonic()
    load = Load(kind, target, n, size, t0 + timeout)
    fn = load.http_client if kind == "http" else load.smtp_client
    workers = [threading.Thread(target=fn, daemon=True) for _ in range(clients)]
    for w in workers:
        w.start()
    busy = lambda: any(w.is_alive() for w in workers)
    if sink_out == "-":
        for w in workers:
            w.join(max(0.0, t0 + timeout - time.monotonic()))
        res = {"done": not busy()}
    else:
        res = watch(sink_out, sink_port, base, t0, timeout, lambda: load.ok, busy)
    out = {
        "enqueued": load.ok, "refused": load.failed,
        "first_error": load.first_error.replace("\n", " "),
        "enqueue_s": "%.3f" % ((load.t_last_ok or time.monotonic()) - t0),
    }
    out["complete"] = int(res.pop("done") and load.ok == n and
                          res.get("delivered", n) >= n)
    out.update(res)
    report(out)


def drain(sink_out, sink_port, n, timeout):
    base = sink_counts(sink_out)
    t0 = time.monotonic()
    print("ready=1", flush=True)	# the caller starts the server now
    res = watch(sink_out, sink_port, base, t0, timeout, lambda: n, lambda: False)
    res["complete"] = int(res.pop("done"))
    res.pop("delivered_at_enqueue_end")
    report(res)


def blackhole(port, seconds):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(512)
    ls.settimeout(0.2)
    held = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            held.append(ls.accept()[0])	# never greeted, never read
        except socket.timeout:
            pass
    for c in held:
        c.close()


def tenant_dbs(data_dir):
    return glob.glob(os.path.join(data_dir, "tenants", "*", "tenant.db"))


def query(data_dir, sql):
    rows = []
    for db in tenant_dbs(data_dir):
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            rows += conn.execute(sql).fetchall()
        finally:
            conn.close()
    return rows


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, a = argv[0], argv[1:]
    if cmd == "field":
        v = json.load(sys.stdin).get(a[0])
        print("" if v is None else v)
    elif cmd == "run":
        run(a[0], a[1], int(a[2]), int(a[3]), a[4], int(a[5]), float(a[6]), int(a[7]))
    elif cmd == "drain":
        drain(a[0], int(a[1]), int(a[2]), float(a[3]))
    elif cmd == "blackhole":
        blackhole(int(a[0]), float(a[1]))
    elif cmd == "queue":
        counts = {}
        for status, c in query(a[0], "SELECT status, count(*) FROM outbound "
                                     "WHERE kind = 'send' GROUP BY status"):
            counts[status] = counts.get(status, 0) + c
        print(" ".join("%s=%d" % kv for kv in sorted(counts.items())) or "none")
    elif cmd == "latency":
        rows = query(a[0], "SELECT created_at, delivered_at - created_at FROM "
                           "outbound WHERE status = 'sent'")
        d = sorted(r[1] for r in sorted(rows)[int(a[1]):])
        if not d:
            print("-")
        else:
            pick = lambda q: d[min(len(d) - 1, int(q * len(d)))]
            print("p50=%dms p90=%dms max=%dms" % (pick(0.5), pick(0.9), d[-1]))
    else:
        raise SystemExit("unknown command %r\n%s" % (cmd, __doc__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
