"""
test_smtp_diskfull.py - disk full and I/O errors during DATA
(RELIABILITY.md row 11).

Disk full. gentd's data_dir sits on a private tmpfs with 16 MiB of room
(plus a filler file, below); 3 MiB messages are sent until the disk is
full. The promise: a 4xx (451 4.3.0), never a 250 for a message that could
not be stored, never a 5xx (the sender must retry, not bounce). Every
message that got 250 is readable through the API afterwards and complete;
a message that got 4xx is not stored. The same holds with six clients
sending at once on the full disk (big and ~64 KiB messages mixed), when
the store's writer commits several messages in one batch and one of them
fails. The server stays usable on the full disk: a tiny message gets 250
or 4xx (never 5xx), NOOP/RSET answer 250 on the same session, new sessions
are greeted, /healthz is 200.

Recovery after space frees. Next to data_dir on the same tmpfs lies a
32 MiB filler file, written before gentd starts. Once the disk is full
and a message got 451, the filler is deleted (as an operator would delete
old logs): the sender's retry of that very message gets 250 and is stored
exactly once, a new message gets 250, everything acknowledged before (in
every test of the class) is still listed and readable through the API
(GET /v1/messages/{id}/ and its raw), and the tenant's writer is not
wedged: a label created after the recovery gets 201 and reads back. Last,
SIGTERM gives exit 0 and the log has no crash or sanitizer report.

The tmpfs lives in a private mount namespace of gentd's own
(`unshare -m --propagation private sh -c 'mount -t tmpfs ... && exec
gentd serve ...'`), so nothing is mounted on the host; `gentd admin`
commands and the deletion of the filler enter that namespace with
nsenter, and the results are read through the API only. Skipped when
unshare/mount/nsenter are refused. (The namespace ends with gentd, so a
restart on the same tmpfs is not possible; the I/O error tests below
restart.)

I/O error during the commit. SQLite syncs the WAL with fdatasync, once
per commit (strace -c: fdatasync of tenant.db-wal; fsync is failed as well,
for builds that use it). gentd runs under strace (StracedGentd of
test_smtp_fsync.py), restarted on the same data_dir with
`-P <tenant.db-wal> -e inject=fdatasync,fsync:error=EIO:when=...`: only
the syncs of that file fail, counted per thread from the start of the
process, so the tenant's writer first commits two messages (250), then its
syncs fail. The call is not made; the frames stay in the page cache, as
after a real EIO on Linux. In the trace there are at least as many
successful syncs of the WAL as 250s, at least as many injected failures
as 451s, and no other failure.
  - transient (when=3..5): while the syncs fail, messages get 451, never
    250, and are not listed; then the same process, with no restart,
    answers 250 again and creates a label (201). SQLite's error is not
    sticky: the pager resets after the rollback. After a restart the 451'd
    messages are still absent, because later commits overwrote their
    frames.
  - persistent (when=3+): from the first 451 on every message gets 451, a
    label create is refused (5xx, not 201), reads and /healthz answer, the
    store logs each failed COMMIT at level=error; SIGTERM gives exit 0;
    tenant.db and control.db pass PRAGMA integrity_check read-only; a new
    gentd without injection on the same data_dir lists every message that
    ever got 250, once and whole, and takes new mail.
    Found: the last transaction whose sync failed is whole in the WAL (its
    frames have valid checksums and a commit frame), so WAL recovery at the
    next open takes it in, and the last message that got 451 is there
    after the restart. An earlier failed transaction cannot come back
    because the next attempt overwrote its frames. This is the unknown
    outcome of a failed fsync (the bytes may or may not be on disk), not a
    lost 250: the sender retries after the 451 and may get a duplicate
    (at-least-once). The test allows that one message, once and whole, and
    fails if any other 451'd message shows up.
Skipped when strace is missing or may not inject faults here.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_diskfull.py
"""

import base64
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import harness
import dns_fixture
from smtp_fixture import (MailEnv, SmtpConn, Closed, make_message, dot_stuff,
                          split_stored, verified_domain, send_mail)
import test_smtp_fsync as fsync_test

ROOM_MIB = 16               # what gentd may fill
FILLER_MIB = 32             # freed for the recovery: room for a retry and
                            # the checkpoint that grows tenant.db after it
TMPFS_SIZE = "%dm" % (ROOM_MIB + FILLER_MIB)
MESSAGE_MIB = 3
MAX_MESSAGES = 12           # 12 x 3 MiB is far past 16 MiB
MAX_SECONDS = 150.0         # for each filling loop / the concurrent clients
CONC_CLIENTS = 6
CONC_MESSAGES = 24
REPLY_TIMEOUT = 90.0        # a sanitizer build is several times slower
HTTP_TIMEOUT = 90.0
START_TIMEOUT = 60.0
STOP_TIMEOUT = 120.0
UNSHARE = shutil.which("unshare")
NSENTER = shutil.which("nsenter")
LABELS_RW = ["labels:read", "labels:write", "email:read"]
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
        unshare -m --propagation private sh -c
            'mount tmpfs && write the filler && exec gentd serve'
    The pid stays gentd's (unshare and sh exec), so signals and stop() work
    as usual; admin commands and free_filler() run inside the namespace
    through nsenter."""

    def __init__(self, conf, name):
        super().__init__(conf, name=name)
        self.mnt = os.path.join(self.dir, "tmpfs")
        os.mkdir(self.mnt)
        self.data_dir = os.path.join(self.mnt, "data")
        self.filler = os.path.join(self.mnt, "filler")
        self.write_config()

    def command(self):
        # dd writes the zeros, so tmpfs allocates every page of the filler.
        return [UNSHARE, "-m", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o size=%s,mode=0755 tmpfs "$1" && '
                'dd if=/dev/zero of="$1/filler" bs=1M count=%d status=none && '
                'exec "$2" serve --config "$3"' % (TMPFS_SIZE, FILLER_MIB),
                "gentd-tmpfs", self.mnt, harness.BIN, self.conf_path]

    def in_namespace(self, *args, timeout=60):
        assert self.running(), "the namespace lives as long as gentd"
        return subprocess.run([NSENTER, "-t", str(self.proc.pid), "-m", "--"] +
                              list(args), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def free_kib(self):
        p = self.in_namespace("df", "-k", "--output=avail", self.mnt)
        if p.returncode != 0:
            raise AssertionError("df in the namespace: %s" % p.stderr)
        return int(p.stdout.split()[-1])

    def free_filler(self):
        """Delete the filler; returns the free KiB before and after."""
        before = self.free_kib()
        p = self.in_namespace("rm", "--", self.filler)
        if p.returncode != 0:
            raise AssertionError("rm filler in the namespace: %s" % p.stderr)
        return before, self.free_kib()

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
    """One gentd on a tmpfs with 16 MiB of room for the class; the tests
    run in name order and each works whether or not the disk is already
    full (test_5 stops the server)."""
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
        cls.acked = {}              # subject -> bytes sent, every 250 so far
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["bot"], "scopes": LABELS_RW,
            "label": "diskfull labels"}, token=cls.env.acct.session)
        if st != 201:
            raise AssertionError("labels token: %d %r" % (st, tok))
        cls.labels_token = tok["raw_token"]

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
        for subject, _, code, _ in results:
            if code == 250:
                self.acked[subject] = sent[subject]

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
        self.assertIsNotNone(first_failure, "%d MiB of room never filled up:\n%s"
                             % (ROOM_MIB, summary))
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
        sessions and the API work."""
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

    def new_label(self, name):
        """POST /v1/labels/ (bounded); (status, body)."""
        st, _, body = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.env.inboxes["bot"], "name": name},
            token=self.labels_token, timeout=HTTP_TIMEOUT)
        return st, body

    def check_acked(self, what):
        """Every message acknowledged so far by this class is listed once
        and reads back whole: GET /v1/messages/{id}/ and its raw."""
        by_subject = {}
        for m in self.env.messages():
            by_subject.setdefault(m.get("subject"), []).append(m)
        bad = []
        for subject, data in sorted(self.acked.items()):
            got = by_subject.get(subject, [])
            if len(got) != 1:
                bad.append("%s: listed %d times" % (subject, len(got)))
                continue
            st, _, one = self.srv.request("GET", "/v1/messages/%s/" % got[0]["id"],
                                          token=self.env.tokens["bot"],
                                          timeout=HTTP_TIMEOUT)
            if st != 200 or one.get("subject") != subject:
                bad.append("%s: GET /v1/messages/%s/ %d %r"
                           % (subject, got[0]["id"], st, one and one.get("subject")))
                continue
            st, _, _ = self.srv.request("GET", "/v1/messages/%s/raw/" % got[0]["id"],
                                        token=self.env.tokens["bot"],
                                        timeout=HTTP_TIMEOUT)
            try:
                self.assertEqual(st, 200, "raw")
                split_stored(self.srv.last_body, data)
            except AssertionError as e:
                bad.append("%s: %s" % (subject, str(e)[:300]))
        self.assertEqual(bad, [], "%s: acknowledged messages not (or not "
                         "wholly) readable" % what)

    def test_4_recovery_after_space_frees(self):
        """Disk full and a message refused; the filler is deleted: the
        sender's retry of that message gets 250 and is stored once, a new
        message gets 250, every message acknowledged before is still
        readable, and a label create gets 201 (the writer is not wedged).
        The API answers on the full disk too."""
        tag = harness.uniq("recover-")
        sent, results = {}, []
        with SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT) as c:
            c.ehlo("recover.gentd.test")
            first = self.fill(c, tag, sent, results, mib=1)
            c.cmd("QUIT")
        summary = "\n".join("  %s: %s -> %s %s" % x for x in results)
        sys.stderr.write("\nbefore freeing space:\n%s\n" % summary)
        self.assertIsNotNone(first, "the disk never filled:\n" + summary)
        self.assertEqual((first[1], first[2]), ("end of data", 451), summary)
        refused = first[0]
        self.check_store(sent, results, "filling")

        # On the full disk the API answers: reads, and a write either
        # succeeds or is refused with a 5xx; it does not hang.
        st, _, _ = self.srv.request("GET", "/healthz", timeout=HTTP_TIMEOUT)
        self.assertEqual(st, 200, "healthz with a full disk")
        self.check_acked("on the full disk")
        full_label = harness.uniq("full-label-")
        st_full, body = self.new_label(full_label)
        sys.stderr.write("  label create on the full disk: %d\n" % st_full)
        self.assertTrue(st_full == 201 or st_full >= 500,
                        "label create on the full disk: %d %r" % (st_full, body))

        before, after = self.srv.free_filler()
        sys.stderr.write("  filler deleted: %d KiB free -> %d KiB\n" % (before, after))
        self.assertGreaterEqual(after - before, FILLER_MIB * 1024 * 9 // 10)

        # The sender retries the refused message, on a new session.
        results = []
        with SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT) as c:
            c.ehlo("recover.gentd.test")
            stage, r = self.transaction(c, sent[refused])
            results.append((refused, stage, r.code, r.last))
            self.assertEqual((stage, r.code), ("end of data", 250),
                             "the retry after space was freed: %r" % r)
            tiny = tag + "-tiny"
            sent[tiny] = make_message(tiny, "after the recovery\r\n")
            stage, r = self.transaction(c, sent[tiny])
            results.append((tiny, stage, r.code, r.last))
            self.assertEqual((stage, r.code), ("end of data", 250),
                             "a new message after space was freed: %r" % r)
            c.cmd("QUIT")
        self.check_store(sent, results, "recovery")      # the retry: once
        self.check_acked("after the recovery")

        st, lab = self.new_label(harness.uniq("after-label-"))
        self.assertEqual(st, 201, "label create after the recovery: %r" % (lab,))
        st, _, got = self.srv.request("GET", "/v1/labels/%s/" % lab["id"],
                                      token=self.labels_token, timeout=HTTP_TIMEOUT)
        self.assertEqual((st, got and got.get("name")), (200, lab["name"]))
        if st_full == 201:
            st, _, lst = self.srv.request("GET", "/v1/labels/",
                                          token=self.labels_token,
                                          timeout=HTTP_TIMEOUT)
            self.assertEqual(st, 200, lst)
            self.assertIn(full_label, [x.get("name") for x in lst["data"]],
                          "a label created (201) on the full disk is gone")
        st, _, _ = self.srv.request("GET", "/healthz", timeout=HTTP_TIMEOUT)
        self.assertEqual(st, 200)

    def test_5_clean_exit(self):
        """SIGTERM gives exit 0; no crash or sanitizer report in the log."""
        self.assertTrue(self.srv.running(), "gentd died")
        self.assertEqual(self.srv.stop(timeout=STOP_TIMEOUT), 0)
        hits = [m for m in CRASH_MARKERS if m in self.srv.log_text()]
        self.assertEqual(hits, [], "crash/sanitizer markers in the log")



# --------------------------------------------------------------------------
# I/O errors (EIO) from the sync of the commit
# --------------------------------------------------------------------------

SYNC_CALLS = "fdatasync,fsync"
EIO_MAX_MESSAGES = 10       # bound on each "send until ..." loop


def eio_injection_usable():
    """None when strace may inject EIO into fdatasync here, else why not."""
    why = fsync_test.strace_usable()
    if why:
        return why
    probe = ("import os, sys, tempfile\n"
             "f = tempfile.TemporaryFile()\n"
             "try:\n"
             "    os.fdatasync(f.fileno())\n"
             "except OSError as e:\n"
             "    sys.exit(0 if e.errno == 5 else 2)\n"
             "sys.exit(3)\n")
    try:
        p = subprocess.run([fsync_test.STRACE, "-f", "-o", os.devnull,
                            "-e", "trace=fdatasync",
                            "-e", "inject=fdatasync:error=EIO",
                            sys.executable, "-c", probe],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "strace -e inject does not run: %r" % e
    if p.returncode != 0:
        return "strace cannot inject EIO into fdatasync here (exit %d): %s" % (
            p.returncode, p.stderr.strip()[:300])
    return None


class EioGentd(fsync_test.StracedGentd):
    """gentd under strace (test_smtp_fsync.StracedGentd). With inject =
    (path, when) the fsync/fdatasync calls on that one file fail with EIO
    at the invocations `when` selects; strace counts them per thread from
    the start of the process. Each start writes its own trace file."""

    def __init__(self, conf, name):
        super().__init__(conf, name)
        self.inject = None
        self.starts = 0

    def command(self):
        self.starts += 1
        self.trace_path = os.path.join(self.dir, "strace-%d.out" % self.starts)
        cmd = [fsync_test.STRACE, "-f", "-tt", "-yy", "-e", "trace=" + SYNC_CALLS]
        if self.inject:
            path, when = self.inject
            cmd += ["-P", path,
                    "-e", "inject=%s:error=EIO:when=%s" % (SYNC_CALLS, when)]
        return cmd + ["-o", self.trace_path, harness.BIN, "serve",
                      "--config", self.conf_path]

    def syncs(self, path):
        """[(call, "ok" | "EIO injected" | other error)] on path, in trace
        order (call after stop(): strace has written everything)."""
        with open(self.trace_path, "r", encoding="utf-8", errors="replace") as f:
            calls = fsync_test.parse_trace(f.read())
        out = []
        for c in calls:
            if c.name not in SYNC_CALLS.split(",") or c.desc != path:
                continue
            if c.ret == "0":
                out.append((c, "ok"))
            elif c.err and c.err.startswith("EIO") and "INJECTED" in c.err:
                out.append((c, "EIO injected"))
            else:
                out.append((c, "ret %s %s" % (c.ret, c.err)))
        return out


class SmtpCommitEioTest(unittest.TestCase):
    """One data_dir for the class; each test restarts gentd on it with the
    injection it needs. self.acked: every message that got 250, in any
    test."""
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        why = eio_injection_usable()
        if why:
            raise unittest.SkipTest(why)
        cls.env = MailEnv(make_srv=EioGentd, conf={}, inboxes=("bot",),
                          name="SmtpCommitEioTest")
        cls.addClassCleanup(cls.env.cleanup)
        cls.srv = cls.env.srv
        cls.acked = {}
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["bot"], "scopes": LABELS_RW,
            "label": "eio labels"}, token=cls.env.acct.session)
        if st != 201:
            raise AssertionError("labels token: %d %r" % (st, tok))
        cls.labels_token = tok["raw_token"]
        # The tenant database exists once a message is stored.
        subject = harness.uniq("eio-first-")
        data = make_message(subject, "before any fault\r\n")
        r = send_mail(cls.srv.smtp_port, "eio@client.gentd.test",
                      [cls.env.addr()], data, timeout=REPLY_TIMEOUT)
        if r.code != 250:
            raise AssertionError("first message: %r" % r)
        cls.acked[subject] = data
        tdir = os.path.join(cls.srv.data_dir, "tenants", cls.env.acct.tenant_id)
        # strace names files by their real path.
        cls.wal = os.path.join(os.path.realpath(tdir), "tenant.db-wal")
        cls.tenant_db = os.path.join(tdir, "tenant.db")

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else None
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n===== log tail of gentd (%s) =====\n%s\n"
                             "===== end of log =====\n"
                             % (self.srv.dir, self.srv.log_tail(100)))
        return out

    # -- helpers --

    def restart(self, when):
        """Stop (exit 0) and start on the same data_dir, failing the
        syncs of the tenant's WAL at `when` (None: no injection)."""
        if self.srv.running():
            self.assertEqual(self.srv.stop(timeout=STOP_TIMEOUT), 0)
        self.srv.inject = (self.wal, when) if when else None
        self.srv.start(timeout=START_TIMEOUT)

    def deliver(self, tag, log):
        """One message on its own session; appends (subject, code, text)
        to log and returns the code (None: connection lost)."""
        subject = "%s-%02d" % (tag, len(log))
        self.sent[subject] = make_message(subject, "".join(
            "line %d of %s\r\n" % (i, subject) for i in range(40)))
        try:
            r = send_mail(self.srv.smtp_port, "eio@client.gentd.test",
                          [self.env.addr()], self.sent[subject],
                          timeout=REPLY_TIMEOUT)
            log.append((subject, r.code, r.last))
        except (Closed, OSError) as e:
            log.append((subject, None, repr(e)))
        if log[-1][1] == 250:
            self.acked[subject] = self.sent[subject]
        return log[-1][1]

    def until(self, tag, log, code):
        """deliver() until a reply with code (bounded); True when seen."""
        for _ in range(EIO_MAX_MESSAGES):
            if self.deliver(tag, log) == code:
                return True
        return False

    def listed(self):
        by_subject = {}
        for m in self.env.messages():
            by_subject.setdefault(m.get("subject"), []).append(m)
        return by_subject

    def check_acked(self, what):
        """Every message that got 250 is listed once and its raw is the
        whole message."""
        by_subject = self.listed()
        bad = []
        for subject, data in sorted(self.acked.items()):
            got = by_subject.get(subject, [])
            if len(got) != 1:
                bad.append("%s: listed %d times" % (subject, len(got)))
                continue
            try:
                split_stored(self.env.raw(got[0]["id"]), data)
            except AssertionError as e:
                bad.append("%s: %s" % (subject, str(e)[:300]))
        self.assertEqual(bad, [], "%s: messages that got 250 are missing or "
                         "not whole" % what)
        return by_subject

    def new_label(self, name):
        st, _, body = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.env.inboxes["bot"], "name": name},
            token=self.labels_token, timeout=HTTP_TIMEOUT)
        return st, body

    def label_names(self):
        st, _, lst = self.srv.request("GET", "/v1/labels/", token=self.labels_token,
                                      timeout=HTTP_TIMEOUT)
        self.assertEqual(st, 200, lst)
        return [x.get("name") for x in lst["data"]]

    def integrity(self, path):
        """PRAGMA integrity_check on a read-only connection."""
        conn = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30)
        try:
            return [r[0] for r in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()

    def check_trace(self, log):
        """Each 250 had a sync of the WAL that succeeded, each 451 one
        that failed by injection; nothing else failed them."""
        syncs = self.srv.syncs(self.wal)
        kinds = [k for _, k in syncs]
        other = [c for c, k in syncs if k not in ("ok", "EIO injected")]
        self.assertEqual(other, [], "WAL syncs that failed on their own")
        n250 = sum(1 for x in log if x[1] == 250)
        n451 = sum(1 for x in log if x[1] == 451)
        self.assertGreaterEqual(kinds.count("ok"), n250, "more 250s than "
                                "successful syncs of the WAL: %r" % kinds)
        self.assertGreaterEqual(kinds.count("EIO injected"), n451,
                                "451s without a failed sync: %r" % kinds)
        return kinds

    def setUp(self):
        self.sent = {}

    def until_first_451(self, when, prefix):
        """Restart gentd with WAL syncs failing from `when` on and send
        until a 451; asserts that came after some 250s. (tag, log, summary)."""
        self.restart(when)
        tag = harness.uniq(prefix)
        log = []
        failed = self.until(tag, log, 451)
        summary = lambda: "\n".join("  %s: %s %s" % x for x in log)
        self.assertTrue(failed, "no 451 while the WAL syncs fail (250s without "
                        "a durable commit?):\n" + summary())
        self.assertTrue(any(x[1] == 250 for x in log),
                        "the first messages did not get 250:\n" + summary())
        return tag, log, summary

    # -- the tests --

    def test_1_transient_eio(self):
        """Syncs 3..5 of the WAL fail: the messages committed then get 451
        and are not stored; the same process then answers 250 again and
        creates a label (no sticky error, no restart needed); after a
        restart the 451'd messages are still absent."""
        tag, log, summary = self.until_first_451("3..5", "eio-t-")
        recovered = self.until(tag, log, 250)
        for _ in range(2):
            self.deliver(tag, log)
        sys.stderr.write("\ntransient EIO:\n%s\n" % summary())
        self.assertTrue(recovered, "still no 250 after the injected failures "
                        "ended (a sticky error?):\n" + summary())
        i451 = [i for i, x in enumerate(log) if x[1] == 451]
        self.assertEqual([x for x in log if x[1] not in (250, 451)], [],
                         "replies other than 250/451:\n" + summary())
        self.assertTrue(all(x[1] == 250 for x in log[i451[-1] + 1:]),
                        "250 and 451 mixed after the failures:\n" + summary())
        refused = [x[0] for x in log if x[1] == 451]

        by_subject = self.check_acked("after the transient failures")
        shown = [s for s in refused if s in by_subject]
        self.assertEqual(shown, [], "messages that got 451 are listed")
        st, lab = self.new_label(harness.uniq("eio-t-label-"))
        self.assertEqual(st, 201, "label create after the failures: %r" % (lab,))

        self.assertEqual(self.srv.stop(timeout=STOP_TIMEOUT), 0)
        kinds = self.check_trace(log)
        sys.stderr.write("  WAL syncs: %r\n" % kinds)
        self.restart(None)
        by_subject = self.check_acked("after a restart")
        shown = [s for s in refused if s in by_subject]
        self.assertEqual(shown, [], "messages that got 451 are there after "
                         "a restart (later commits should have overwritten them)")
        self.assertIn(lab["name"], self.label_names())

    def test_2_persistent_eio_then_restart(self):
        """From the 3rd sync of the WAL on every one fails: every message
        from the first 451 on gets 451, never 250; reads answer, a label
        create is refused; SIGTERM exits 0; the files pass integrity_check
        read-only; a new gentd without injection has every message that
        got 250; of the 451'd ones only the last may be there (the failed
        commit is whole in the WAL), whole and once."""
        tag, log, summary = self.until_first_451("3+", "eio-p-")
        first_fail = len(log) - 1
        for _ in range(3):
            self.deliver(tag, log)

        # Reads answer; a write is refused, not acknowledged.
        st, _, _ = self.srv.request("GET", "/healthz", timeout=HTTP_TIMEOUT)
        self.assertEqual(st, 200, "healthz while the syncs fail")
        by_subject = self.check_acked("while the syncs fail")
        self.assertEqual([x[0] for x in log if x[1] != 250 and x[0] in by_subject],
                         [], "messages that got 451 are listed")
        label = harness.uniq("eio-p-label-")
        st, body = self.new_label(label)
        self.assertGreaterEqual(st, 500, "label create while the WAL cannot "
                                "be synced: %d %r" % (st, body))
        # More messages, so the last failed commit is a message's.
        for _ in range(2):
            self.deliver(tag, log)
        sys.stderr.write("\npersistent EIO:\n%s\n" % summary())
        refused = [x[0] for x in log[first_fail:]]
        self.assertEqual([x for x in log[first_fail:] if x[1] != 451], [],
                         "a reply other than 451 while every sync of the WAL "
                         "fails (250 = acknowledged without a durable commit):\n"
                         + summary())

        lines = self.srv.log_text().splitlines()
        starts = [i for i, l in enumerate(lines) if l.startswith("--- ")]
        logged = [l for l in lines[starts[-1]:] if "level=error" in l and
                  "component=store" in l and "COMMIT" in l and "I/O error" in l]
        self.assertGreaterEqual(len(logged), len(refused), "each failed "
                                "commit is logged at level=error")

        self.assertEqual(self.srv.stop(timeout=STOP_TIMEOUT), 0)
        hits = [m for m in CRASH_MARKERS if m in self.srv.log_text()]
        self.assertEqual(hits, [], "crash/sanitizer markers in the log")
        kinds = self.check_trace(log)
        sys.stderr.write("  WAL syncs: %r\n" % kinds)
        self.assertEqual(kinds[kinds.index("EIO injected"):].count("ok"), 0)
        for path in (self.tenant_db, os.path.join(self.srv.data_dir, "control.db")):
            self.assertEqual(self.integrity(path), ["ok"], path)

        self.restart(None)
        by_subject = self.check_acked("after a restart without injection")
        back = [s for s in refused if s in by_subject]
        sys.stderr.write("  451'd and there after the restart: %r\n" % back)
        self.assertTrue(set(back) <= {refused[-1]}, "451'd messages other than "
                        "the last failed commit came back: %r" % back)
        for s in back:
            self.assertEqual(len(by_subject[s]), 1, s)
            split_stored(self.env.raw(by_subject[s][0]["id"]), self.sent[s])
        self.assertNotIn(label, self.label_names(), "the refused label is there")
        log = []
        self.assertEqual(self.deliver(tag + "-after", log), 250, log)
        self.check_acked("a new message after the restart")


if __name__ == "__main__":
    unittest.main(verbosity=2)
