"""
test_smtp_fsync.py - "250 means on disk" seen from the system calls
(RELIABILITY.md row 9): gentd runs under strace; one message is delivered;
in the trace, the tenant database's WAL (tenants/<id>/tenant.db-wal) is
written while the message is stored and an fsync/fdatasync of that WAL,
issued after the last of those writes, has returned before gentd starts
writing "250 2.0.0" on the client's socket.

strace prints file descriptors with their paths and socket endpoints (-yy),
so the trace is matched by path and by the client's port, not by fd
numbers. The order used is the order of the trace file: with -f, strace
prints a call whole only when nothing else happened between its entry and
its exit, and splits it into "<unfinished ...>" / "<... resumed>"
otherwise, so a completion printed before an entry happened before it.

Skipped when strace is missing or cannot trace here.
    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_fsync.py
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

import harness
import dns_fixture
from smtp_fixture import (MailEnv, SmtpConn, Closed, make_message, dot_stuff,
                          verified_domain, split_stored)

STRACE = shutil.which("strace")
SYSCALLS = ["fsync", "fdatasync", "sync_file_range", "write", "writev",
            "pwrite64", "pwritev", "pwritev2", "sendto", "sendmsg"]
SYNCS = {"fsync", "fdatasync", "sync_file_range"}
WRITES = {"write", "writev", "pwrite64", "pwritev", "pwritev2", "sendto", "sendmsg"}
START_TIMEOUT = 60.0        # gentd under strace (and maybe ASan) starts slowly
REPLY_TIMEOUT = 60.0


def strace_usable():
    """None when `strace -f` works here, else the reason it does not."""
    if not STRACE:
        return "strace is not installed"
    try:
        p = subprocess.run([STRACE, "-f", "-o", os.devnull, "true"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "strace does not run: %r" % e
    if p.returncode != 0:
        return "strace cannot trace here: %s" % p.stderr.strip()[:300]
    return None


# --------------------------------------------------------------------------
# gentd under strace
# --------------------------------------------------------------------------

class StracedGentd(harness.Gentd):
    """A harness.Gentd whose `gentd serve` runs under strace -f. self.proc
    is strace; signals go to gentd (strace's child), whose exit status
    strace passes on."""

    def __init__(self, conf, name):
        # LeakSanitizer cannot work under ptrace (it would fail the exit of
        # a sanitizer build); the corpus test covers leaks. Harmless for
        # builds without sanitizers.
        opts = os.environ.get("ASAN_OPTIONS", "")
        super().__init__(conf, name=name, env={
            "ASAN_OPTIONS": (opts + ":" if opts else "") + "detect_leaks=0"})
        self.trace_path = os.path.join(self.dir, "strace.out")
        self.gentd_pid = None

    def command(self):
        return [STRACE, "-f", "-tt", "-yy", "-s", "64",
                "-e", "trace=" + ",".join(SYSCALLS),
                "-o", self.trace_path,
                harness.BIN, "serve", "--config", self.conf_path]

    def start(self, wait=True, timeout=START_TIMEOUT):
        assert not self.running(), "already running"
        for attempt in range(3):
            with open(self.log_path, "ab") as logf:
                logf.write(("--- %s start under strace (port %d) ---\n"
                            % (self.name, self.port)).encode())
                logf.flush()
                self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=logf, env=self._env())
            self.gentd_pid = harness.wait_until(self._child, timeout=timeout,
                                                what="gentd under strace")
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

    def _child(self):
        if self.proc.poll() is not None:
            raise AssertionError("strace exited with %s; log:\n%s"
                                 % (self.proc.returncode, self.log_tail()))
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        # strace may fork short-lived probe children of its own first: the
        # tracee is the child that became gentd.
        for kid in kids:
            try:
                with open("/proc/%s/comm" % kid) as f:
                    if f.read().strip() == "gentd":
                        return int(kid)
            except OSError:
                continue
        return None

    def _signal_gentd(self, sig):
        try:
            os.kill(self.gentd_pid, sig)
        except (ProcessLookupError, TypeError):
            pass

    def send_signal(self, sig):
        assert self.running(), "not running"
        self._signal_gentd(sig)

    def stop(self, sig=signal.SIGTERM, timeout=60.0, expect_code=0):
        if not self.running():
            return super().stop(sig, timeout, expect_code)
        self._signal_gentd(sig)
        rc = self.wait_exit(timeout)
        if expect_code is not None and rc != expect_code:
            raise AssertionError("gentd (under strace) exited with %s (expected "
                                 "%s); log:\n%s" % (rc, expect_code, self.log_tail()))
        return rc

    def kill(self):
        if self.running():
            self._signal_gentd(signal.SIGKILL)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# --------------------------------------------------------------------------
# The trace
# --------------------------------------------------------------------------

LINE = re.compile(r"^(?P<pid>\d+)\s+(?P<ts>\d\d:\d\d:\d\d\.\d+)\s+(?P<rest>.*)$")
CALL = re.compile(r"^(?P<name>\w+)\((?P<args>.*)$")
RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>(?P<args>.*)$")
FD = re.compile(r"^(?P<fd>-?\d+)<(?P<desc>TCP:\[[^\]]*\]|TCPv6:\[[^\]]*\]|[^>]*)>")
RET = re.compile(r"\)\s+=\s+(?P<ret>-?\d+|\?)(?P<err>\s+E[A-Z]+.*)?$")


class Call:
    def __init__(self, pid, name, ts, entry):
        self.pid, self.name, self.ts, self.entry = pid, name, ts, entry
        self.exit = None            # line index of the completion
        self.exit_ts = None
        self.fd = self.desc = None
        self.args = ""
        self.ret = None
        self.err = None

    def finish(self, text, idx, ts):
        self.args += text
        self.exit, self.exit_ts = idx, ts
        m = RET.search(self.args)
        if m:
            self.ret = m.group("ret")
            self.err = (m.group("err") or "").strip() or None

    def __repr__(self):
        return "<%s pid %s %s %s..%s ret=%s %s>" % (
            self.name, self.pid, self.desc, self.entry, self.exit, self.ret,
            self.args[:80])


def parse_trace(text):
    """Every traced call, in the order of the trace: Call objects with
    entry/exit line indexes, fd path (desc) and return value."""
    calls, pending = [], {}
    for idx, line in enumerate(text.splitlines()):
        m = LINE.match(line)
        if not m:
            continue
        pid, ts, rest = m.group("pid"), m.group("ts"), m.group("rest")
        r = RESUMED.match(rest)
        if r:
            c = pending.pop(pid, None)
            if c is not None and c.name == r.group("name"):
                c.finish(r.group("args"), idx, ts)
            continue
        cm = CALL.match(rest)
        if not cm:
            continue                        # +++ exited, --- SIG, etc.
        c = Call(pid, cm.group("name"), ts, idx)
        args = cm.group("args")
        fm = FD.match(args)
        if fm:
            c.fd, c.desc = int(fm.group("fd")), fm.group("desc")
        if args.endswith("<unfinished ...>"):
            c.args = args[:-len("<unfinished ...>")]
            pending[pid] = c
        else:
            c.finish(args, idx, ts)
        calls.append(c)
    return calls


# --------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------

class SmtpFsyncTest(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        why = strace_usable()
        if why:
            raise unittest.SkipTest(why)
        cls.env = MailEnv(make_srv=StracedGentd, conf={}, inboxes=("bot",),
                                name="SmtpFsyncTest")
        cls.addClassCleanup(cls.env.cleanup)
        cls.srv = cls.env.srv

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else None
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n===== log tail of gentd (%s) =====\n%s\n"
                             "===== end of log =====\n"
                             % (self.srv.dir, self.srv.log_tail()))
        return out

    def deliver(self, subject):
        """One message on a raw connection; returns (client port, reply,
        the bytes sent)."""
        data = make_message(subject, "".join("line %d of the fsync probe\r\n" % i
                                             for i in range(50)))
        with SmtpConn(self.srv.smtp_port, timeout=REPLY_TIMEOUT) as c:
            self.assertEqual(c.greeting.code, 220, c.greeting)
            cport = c.sock.getsockname()[1]
            c.ehlo("fsync.gentd.test")
            self.assertEqual(c.cmd("MAIL FROM:<fsync@client.gentd.test>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<%s>" % self.env.addr()).code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(dot_stuff(data))
            r = c.reply(REPLY_TIMEOUT)
            try:
                c.cmd("QUIT", timeout=REPLY_TIMEOUT)
            except (Closed, OSError):
                pass
        return cport, r, data

    def test_wal_synced_before_250(self):
        subject = harness.uniq("fsync-")
        cport, reply, data = self.deliver(subject)
        self.assertEqual(reply.code, 250, reply)

        # The message is there (and complete) through the API.
        msgs = self.env.by_subject(subject)
        self.assertEqual(len(msgs), 1, msgs)
        split_stored(self.env.raw(msgs[0]["id"]), data)

        # Stop gentd so strace has written every line, then read the trace.
        self.assertEqual(self.srv.stop(timeout=60), 0)
        with open(self.srv.trace_path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()
        calls = parse_trace(text)
        self.assertTrue(calls, "empty strace output")

        peer = "->127.0.0.1:%d]" % cport
        on_sock = [c for c in calls if c.name in WRITES and c.desc and
                   c.desc.startswith("TCP:") and c.desc.endswith(peer)]
        self.assertTrue(on_sock, "no write on the client's socket (port %d) "
                        "in the trace" % cport)
        ok250 = [c for c in on_sock if "250 2.0.0" in c.args]
        self.assertEqual(len(ok250), 1, "want one '250 2.0.0' write on the "
                         "socket, got %r" % ok250)
        w250 = ok250[0]
        go = [c for c in on_sock if "354 " in c.args and c.entry < w250.entry]
        self.assertTrue(go, "no 354 written before the 250: %r" % on_sock)
        d354 = go[-1]

        wal_suffix = "/tenants/%s/tenant.db-wal" % self.env.acct.tenant_id
        on_wal = [c for c in calls if c.desc and c.desc.endswith(wal_suffix)]
        wal_writes = [c for c in on_wal if c.name in WRITES and c.exit is not None
                      and d354.entry < c.exit < w250.entry]
        paths = sorted({c.desc for c in calls if c.desc and "tenant" in c.desc})
        self.assertTrue(wal_writes, "no write to %s between the 354 and the 250; "
                        "tenant files seen: %r" % (wal_suffix, paths))
        bad = [c for c in wal_writes if c.ret in (None, "?") or int(c.ret) < 0]
        self.assertEqual(bad, [], "failed WAL writes")
        last_write = max(wal_writes, key=lambda c: c.exit)

        syncs = [c for c in on_wal if c.name in SYNCS and c.exit is not None
                 and c.exit < w250.entry]
        self.assertTrue(syncs, "no fsync/fdatasync of %s before the 250 at all"
                        % wal_suffix)
        last_sync = max(syncs, key=lambda c: c.exit)
        self.assertEqual(last_sync.ret, "0", "the WAL sync failed: %r" % last_sync)
        self.assertGreater(
            last_sync.entry, last_write.exit,
            "250 written (line %d, %s) with the WAL not synced since its last "
            "write (line %d, %s); the last sync was line %d (%s)"
            % (w250.entry, w250.ts, last_write.exit, last_write.exit_ts,
               last_sync.entry, last_sync.ts))
        self.assertLess(last_sync.exit, w250.entry)

        sys.stderr.write(
            "\nfsync: %d traced calls; %d WAL writes while storing, the last "
            "done at %s; %s of the WAL %s..%s; '250 2.0.0' written at %s\n"
            % (len(calls), len(wal_writes), last_write.exit_ts, last_sync.name,
               last_sync.ts, last_sync.exit_ts, w250.ts))


if __name__ == "__main__":
    unittest.main(verbosity=2)
