"""
test_smtp_diskfull.py - disk full during DATA (RELIABILITY.md row 11):
gentd's data_dir sits on a 16 MiB tmpfs; 3 MiB messages are sent until
the disk is full. The promise: a 4xx (451 4.3.0), never a 250 for a
message that could not be stored, never a 5xx (the sender must retry, not
bounce). Every message that got 250 is readable through the API afterwards
and complete; a message that got 4xx is not stored. The same holds with
six clients sending at once on the full disk (big and ~64 KiB messages
mixed), when the store's writer commits several messages in one batch and
one of them fails. Afterwards the server stays usable: a tiny message gets 250 or 4xx (never 5xx), NOOP/RSET answer
250 on the same session, new sessions are greeted, /healthz is 200 and
SIGTERM gives exit 0.

The tmpfs lives in a private mount namespace of gentd's own
(`unshare -m --propagation private sh -c 'mount -t tmpfs ... && exec
gentd serve ...'`), so nothing is mounted on the host; `gentd admin`
commands enter that namespace with nsenter, and the results are read
through the API only. Skipped when unshare/mount/nsenter are refused.

(There is no delete API yet, so "recovery after space frees" is limited to
the server staying sane and answering while the disk is full.)

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_diskfull.py
"""

import base64
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
import dns_fixture
from smtp_fixture import (MailEnv, SmtpConn, Closed, make_message, dot_stuff,
                          split_stored, verified_domain)

TMPFS_SIZE = "16m"
MESSAGE_MIB = 3
MAX_MESSAGES = 12           # 12 x 3 MiB is far past 16 MiB
MAX_SECONDS = 150.0         # for each filling loop / the concurrent clients
CONC_CLIENTS = 6
CONC_MESSAGES = 24
REPLY_TIMEOUT = 90.0        # a sanitizer build is several times slower
HTTP_TIMEOUT = 90.0
START_TIMEOUT = 60.0
UNSHARE = shutil.which("unshare")
NSENTER = shutil.which("nsenter")
CRASH_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                 "runtime error:", "Segmentation fault", "SIGSEGV", "SIGABRT",
                 "double free", "stack smashing")


def namespace_usable():
    """None when a private mount namespace with a tmpfs works here, else
    the reason."""
    if not UNSHARE or not NSENTER:
        return "unshare/nsenter not installed (util-linux)"
    d = tempfile.mkdtemp(prefix="gentd-nsprobe-")
    try:
        p = subprocess.run([UNSHARE, "-m", "--propagation", "private", "sh", "-c",
                            'mount -t tmpfs -o size=1m tmpfs "$1" && '
                            'touch "$1/x" && test -e "$1/x"', "probe", d],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            return "unshare -m / mount -t tmpfs refused: %s" % (
                p.stderr.strip()[:300] or "exit %d" % p.returncode)
        if os.path.exists(os.path.join(d, "x")):
            return "the tmpfs leaked out of the mount namespace"
        return None
    except (OSError, subprocess.TimeoutExpired) as e:
        return "unshare does not run: %r" % e
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# gentd with its data_dir on a tmpfs of its own
# --------------------------------------------------------------------------

class TmpfsGentd(harness.Gentd):
    """A harness.Gentd started as
        unshare -m --propagation private sh -c 'mount tmpfs && exec gentd serve'
    The pid stays gentd's (unshare and sh exec), so signals and stop() work
    as usual; admin commands run inside the namespace through nsenter."""

    def __init__(self, conf, name):
        super().__init__(conf, name=name)
        self.mnt = os.path.join(self.dir, "tmpfs")
        os.mkdir(self.mnt)
        self.data_dir = os.path.join(self.mnt, "data")
        self.write_config()

    def command(self):
        return [UNSHARE, "-m", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o size=%s,mode=0755 tmpfs "$1" && '
                'exec "$2" serve --config "$3"' % TMPFS_SIZE,
                "gentd-tmpfs", self.mnt, harness.BIN, self.conf_path]

    def start(self, wait=True, timeout=START_TIMEOUT):
        assert not self.running(), "already running"
        for attempt in range(3):
            with open(self.log_path, "ab") as logf:
                logf.write(("--- %s start on a %s tmpfs (port %d) ---\n"
                            % (self.name, TMPFS_SIZE, self.port)).encode())
                logf.flush()
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=logf, env=self._env())
            if not wait:
                return self
            try:
                self.wait_healthy(timeout)
                return self
            except AssertionError:
                if self.proc.poll() is not None and \
                        "address already in use" in self.log_text().lower() \
                        and attempt < 2:
                    self.port, self.smtp_port = harness.free_ports(2)
                    self.write_config()
                    continue
                raise
        return self

    def admin_raw(self, *args, timeout=60):
        assert self.running(), "admin commands need the namespace of a running gentd"
        return subprocess.run(
            [NSENTER, "-t", str(self.proc.pid), "-m", "--", harness.BIN, "admin"] +
            list(args) + ["--config", self.conf_path],
            capture_output=True, text=True, timeout=timeout, env=self._env(),
            stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

def big_body(rnd, mib, tag):
    """About mib MiB of 76-character lines (incompressible), ending with a
    marker line so a truncated copy shows."""
    raw = rnd.randbytes(mib * 1024 * 1024 * 3 // 4)
    b64 = base64.b64encode(raw)
    lines = [b64[i:i + 76] for i in range(0, len(b64), 76)]
    return (b"\r\n".join(lines) + b"\r\nEND-OF-" + tag.encode() + b"\r\n").decode()


class SmtpDiskFullTest(unittest.TestCase):
    """One gentd on a 16 MiB tmpfs for the class; the tests run in name
    order and each works whether or not the disk is already full."""
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        why = namespace_usable()
        if why:
            raise unittest.SkipTest(why)
        cls.env = MailEnv(make_srv=TmpfsGentd, conf={"smtp_max_message": "8M"},
                                inboxes=("bot",), name="SmtpDiskFullTest")
        cls.addClassCleanup(cls.env.cleanup)
        cls.srv = cls.env.srv
        cls.rnd = random.Random(0x5eed)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else None
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n===== log tail of gentd (%s) =====\n%s\n"
                             "===== end of log =====\n"
                             % (self.srv.dir, self.srv.log_tail(100)))
        return out

    # -- helpers --

    def transaction(self, c, data):
        """MAIL, RCPT, DATA, the data; (stage, reply) of the last step."""
        r = c.cmd("MAIL FROM:<full@client.gentd.test>")
        if r.code != 250:
            return "MAIL", r
        r = c.cmd("RCPT TO:<%s>" % self.env.addr())
        if r.code != 250:
            c.cmd("RSET")
            return "RCPT", r
        r = c.cmd("DATA")
        if r.code != 354:
            return "DATA", r
        c.send(dot_stuff(data))
        return "end of data", c.reply(REPLY_TIMEOUT)

    def check_store(self, sent, results, what):
        """results: [(subject, stage, code, text)]. Every 250 is stored once
        and byte for byte; nothing refused is stored; no 5xx."""
        by_subject = {}
        for m in self.env.messages():
            by_subject.setdefault(m.get("subject"), []).append(m)
        fivexx = [x for x in results if x[2] is not None and x[2] >= 500]
        lost, dup, partial, stored_refused = [], [], [], []
        for subject, stage, code, text in results:
            got = by_subject.get(subject, [])
            if code != 250:
                if got:
                    stored_refused.append("%s (%s %s)" % (subject, code, text))
                continue
            if not got:
                lost.append(subject)
                continue
            if len(got) > 1:
                dup.append(subject)
            st, _, _ = self.srv.request("GET", "/v1/messages/%s/raw/" % got[0]["id"],
                                        token=self.env.tokens["bot"],
                                        timeout=HTTP_TIMEOUT)
            raw = self.srv.last_body
            try:
                self.assertEqual(st, 200, "raw: %d" % st)
                split_stored(raw, sent[subject])
                self.assertEqual(got[0]["size"], len(raw), "size")
            except AssertionError as e:
                partial.append("%s: %s" % (subject, str(e)[:300]))
        self.assertEqual(fivexx, [], "%s: 5xx replies while the disk was full "
                         "(the sender would bounce the mail)" % what)
        store_errors = [l for l in self.srv.log_text().splitlines()
                        if "component=store" in l and "level=error" in l]
        self.assertEqual(lost, [], "%s: got 250 but are not stored (lost mail); "
                         "the store's last errors:\n%s"
                         % (what, "\n".join(store_errors[-8:])))
        self.assertEqual(partial, [], "%s: stored but not complete" % what)
        self.assertEqual(dup, [], "%s: stored more than once" % what)
        self.assertEqual(stored_refused, [], "%s: refused with 4xx but stored "
                         "anyway (the sender's retry duplicates them)" % what)

    def fill(self, c, tag, sent, results, mib=MESSAGE_MIB):
        """Big messages on session c until the first reply that is not 250
        (or the bounds); returns that result or None."""
        started = time.monotonic()
        for i in range(MAX_MESSAGES):
            if time.monotonic() - started > MAX_SECONDS:
                break
            subject = "%s-%02d" % (tag, i)
            data = make_message(subject, big_body(self.rnd, mib, subject))
            sent[subject] = data
            try:
                stage, r = self.transaction(c, data)
            except (Closed, OSError) as e:
                results.append((subject, "connection", None, repr(e)))
                return results[-1]
            results.append((subject, stage, r.code, r.last))
            if r.code != 250:
                return results[-1]
        return None

    # -- the tests (run in name order) --

    def test_1_fill_until_4xx(self):
        """Sequential 3 MiB messages until the disk is full: every 250 is
        stored, the first failure is a 4xx after the data, and the session
        still works (a tiny message gets 250 or 4xx, NOOP/RSET 250)."""
        tag = harness.uniq("full-")
        sent, results = {}, []
        c = SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220, c.greeting)
        c.ehlo("full.gentd.test")
        t0 = time.monotonic()
        first_failure = self.fill(c, tag, sent, results)
        summary = "\n".join("  %s: %s -> %s %s" % x for x in results)
        sys.stderr.write("\nsequential: %d big messages in %.1fs:\n%s\n"
                         % (len(results), time.monotonic() - t0, summary))
        self.assertIsNotNone(first_failure, "the %s tmpfs never filled up:\n%s"
                             % (TMPFS_SIZE, summary))
        self.assertIsNotNone(first_failure[2], "the connection was lost instead "
                             "of a 4xx reply:\n%s" % summary)
        self.assertEqual(first_failure[2] // 100, 4, "the full disk gave a "
                         "non-4xx reply:\n%s" % summary)
        self.assertEqual(first_failure[1], "end of data", summary)
        self.assertTrue(first_failure[3].startswith("4."), "no enhanced code: %r"
                        % (first_failure,))
        self.assertTrue(any(x[2] == 250 for x in results) or len(self.env.messages()),
                        "not even the first message fit:\n%s" % summary)

        # The same session goes on.
        tiny_subject = tag + "-tiny"
        sent[tiny_subject] = make_message(tiny_subject, "tiny\r\n")
        stage, r = self.transaction(c, sent[tiny_subject])
        results.append((tiny_subject, stage, r.code, r.last))
        sys.stderr.write("  tiny message after the failure: %s -> %r\n" % (stage, r))
        self.assertIn(r.code // 100, (2, 4), "tiny message after the full disk: "
                      "%s %r" % (stage, r))
        self.assertEqual(c.cmd("NOOP").code, 250)
        self.assertEqual(c.cmd("RSET").code, 250)
        c.cmd("QUIT")
        self.check_store(sent, results, "sequential")

    def test_2_concurrent_clients_on_full_disk(self):
        """Several clients at once on a full disk, big and medium messages
        mixed: the writer then commits several messages in one batch, one
        of which fails. Still: every 250 stored, every 4xx not stored, no
        5xx."""
        tag = harness.uniq("conc-")
        sent, results = {}, []
        with SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT) as c:
            c.ehlo("fill.gentd.test")
            first = self.fill(c, tag + "-fill", sent, results)
            self.assertIsNotNone(first, "disk never filled")
            c.cmd("QUIT")
        big = big_body(self.rnd, 1, tag + "-big")
        medium = ("m" * 70 + "\r\n") * 900            # about 64 KiB
        for k in range(CONC_CLIENTS):
            for j in range(CONC_MESSAGES):
                subject = "%s-w%d-%d" % (tag, k, j)
                sent[subject] = make_message(subject, big if (j + k) % 2 == 0
                                             else medium)
        lock = threading.Lock()

        def worker(k):
            try:
                with SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT) as cc:
                    cc.ehlo("conc%d.gentd.test" % k)
                    for j in range(CONC_MESSAGES):
                        subject = "%s-w%d-%d" % (tag, k, j)
                        try:
                            stage, r = self.transaction(cc, sent[subject])
                            res = (subject, stage, r.code, r.last)
                        except (Closed, OSError) as e:
                            res = (subject, "connection", None, repr(e))
                        with lock:
                            results.append(res)
                        if res[2] is None:
                            return
                    cc.cmd("QUIT")
            except (Closed, OSError) as e:
                with lock:
                    results.append(("%s-w%d" % (tag, k), "connect", None, repr(e)))

        t0 = time.monotonic()
        threads = [threading.Thread(target=worker, args=(k,), daemon=True)
                   for k in range(CONC_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, MAX_SECONDS - (time.monotonic() - t0)))
        self.assertFalse(any(t.is_alive() for t in threads),
                         "clients still running after %.0fs" % MAX_SECONDS)
        with lock:
            results = list(results)
        codes = {}
        for x in results:
            codes[x[2]] = codes.get(x[2], 0) + 1
        sys.stderr.write("\nconcurrent: %d clients x %d messages in %.1fs: "
                         "replies %r\n" % (CONC_CLIENTS, CONC_MESSAGES,
                                           time.monotonic() - t0, codes))
        lost_conn = [x for x in results if x[2] is None]
        self.assertEqual(lost_conn, [], "connections lost instead of a reply")
        self.check_store(sent, results, "concurrent")

    def test_3_server_survives(self):
        """With the disk (still) full: a tiny message gets 250 or 4xx,
        sessions and the API work, SIGTERM gives exit 0, no crash."""
        with SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT) as c:
            self.assertEqual(c.greeting.code, 220, c.greeting)
            c.ehlo("again.gentd.test")
            subject = harness.uniq("after-")
            data = make_message(subject, "still there?\r\n")
            stage, r = self.transaction(c, data)
            self.assertIn(r.code // 100, (2, 4), "%s %r" % (stage, r))
            self.assertEqual(c.cmd("NOOP").code, 250)
            self.assertEqual(c.cmd("RSET").code, 250)
            c.cmd("QUIT")
        self.check_store({subject: data}, [(subject, stage, r.code, r.last)], "after")
        st, _, _ = self.srv.request("GET", "/healthz", timeout=HTTP_TIMEOUT)
        self.assertEqual(st, 200, "healthz with a full disk")
        self.assertTrue(self.srv.running(), "gentd died")
        self.assertEqual(self.srv.stop(timeout=120), 0)
        hits = [m for m in CRASH_MARKERS if m in self.srv.log_text()]
        self.assertEqual(hits, [], "crash/sanitizer markers in the log")


if __name__ == "__main__":
    unittest.main(verbosity=2)
