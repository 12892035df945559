"""Bounded soak (RELIABILITY.md row 25): rounds of mail over SMTP (4
sessions x 50 messages), API reads and webhook deliveries to a loopback
receiver; after two warm-up rounds, gentd's open descriptors must come back
to where they were and its resident memory must stop growing.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_soak.py
"""

import os
import sys
import secrets
import smtplib
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from smtp_fixture import SmtpTestCase, make_message

SESSIONS = 4
PER_SESSION = 50
WARMUP = 2              # rounds that fill pools (readers, threads) and caches
ROUNDS = 4              # measured after the warm-up
FD_SLACK = 6            # descriptors that may come and go (a reader connection
                        # opened late, a lingering socket); a leak of one per
                        # session or post grows by 4 or 200 a round
RSS_GROWTH_MAX_KIB = 6 * 1024   # over the measured rounds, all caches warm


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Sink.lock:
            Sink.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def sanitized(pid):
    """ASan keeps freed memory in quarantine, so RSS says nothing there
    (LeakSanitizer checks leaks at exit instead)."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class SoakTest(SmtpTestCase):
    inboxes = ("bot",)
    smtp_conf = {"webhook_allow_private": "true", "log_level": "warn"}

    def one_session(self, errors):
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as s:
                s.ehlo("soak.gentd.test")
                for _ in range(PER_SESSION):
                    subject = "soak " + secrets.token_hex(4)
                    s.sendmail("soak@client.gentd.test", [self.env.addr()],
                               make_message(subject, to=self.env.addr()))
        except Exception as e:      # reported by the main thread
            errors.append(repr(e))

    def round(self):
        errors = []
        threads = [threading.Thread(target=self.one_session, args=(errors,))
                   for _ in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertFalse(any(t.is_alive() for t in threads))
        for _ in range(20):         # the API, keep-alive and not
            st, _, _ = self.srv.request("GET", "/v1/messages/?limit=50",
                                        token=self.env.tokens["bot"])
            self.assertEqual(st, 200)

    def settle(self, want_posts):
        harness.wait_until(lambda: Sink.count >= want_posts, timeout=60,
                           what="%d webhook posts" % want_posts)
        time.sleep(1.5)             # idle connections and timers wind down

    def test_no_descriptor_or_memory_growth(self):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        st, _, rule = self.srv.request("POST", "/v1/alerts/", {
            "inbox_id": self.env.inboxes["bot"], "events": ["message.received"],
            "url": "http://127.0.0.1:%d/soak" % httpd.server_address[1]},
            token=self.env.acct.session)
        self.assertEqual(st, 201, rule)
        pid = self.srv.proc.pid
        per_round = SESSIONS * PER_SESSION

        for n in range(1, WARMUP + 1):  # caches, pools, threads
            self.round()
            self.settle(per_round * n)
        fd0, rss0 = fds(pid), rss_kib(pid)
        samples = []
        for n in range(WARMUP + 1, WARMUP + ROUNDS + 1):
            self.round()
            self.settle(per_round * n)
            samples.append((fds(pid), rss_kib(pid)))
        sys_note = "fds/rss after warm-up %d/%d KiB, then %r" % (fd0, rss0, samples)
        for fd, _ in samples:
            self.assertLessEqual(fd, fd0 + FD_SLACK, sys_note)
        if not sanitized(pid):
            self.assertLessEqual(samples[-1][1] - rss0, RSS_GROWTH_MAX_KIB, sys_note)
        self.assertEqual(len(self.env.messages("bot")),
                         per_round * (WARMUP + ROUNDS))
        sys.stderr.write("\nsoak: %s\n" % sys_note)


if __name__ == "__main__":
    unittest.main(verbosity=2)
