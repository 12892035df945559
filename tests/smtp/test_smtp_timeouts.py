"""
test_smtp_timeouts.py - slow clients and connection caps (RELIABILITY.md
rows 7-8): the command and data deadlines (deadlines, not idle timers: a
trickling client is cut as well), the session cap (smtp_session_max),
smtp_max_per_ip and smtp_max_connections.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_timeouts.py
"""

import socket
import time
import unittest

import harness
from smtp_fixture import (SmtpTestCase, SmtpConn, Closed, make_message,
                          dot_stuff, send_mail, HOSTNAME)

COMMAND_TIMEOUT = 1.0
DATA_TIMEOUT = 2.0
SLACK = 1.5         # scheduling slack on a loaded 2-core machine
SESSION_MAX = 2.0   # smtp_session_max of the session cap tests


class SmtpDeadlineTest(SmtpTestCase):
    smtp_conf = {"smtp_command_timeout": "1s", "smtp_data_timeout": "2s"}
    inboxes = ("bot",)

    def expect_timeout(self, c, started, deadline_s, what):
        """The 421 4.4.2 arrives within deadline_s(+slack) of started, then
        the server closes; returns the elapsed time."""
        r = c.reply(timeout=deadline_s + SLACK + 1)
        elapsed = time.monotonic() - started
        self.assertReply(r, 421, "4.4.2", "%s: %r" % (what, r))
        self.assertIn("mx.gentd.test", r.last)
        self.assertLessEqual(elapsed, deadline_s + SLACK, what)
        self.assertTrue(c.wait_closed(2), "%s: not closed after the 421" % what)
        return elapsed

    def trickle(self, c, data, interval=0.3, max_time=10.0):
        """Send data one byte every interval until the server answers or
        closes (bounded by max_time and len(data)). Returns bytes sent."""
        end = time.monotonic() + max_time
        for i, b in enumerate(data):
            if time.monotonic() > end:
                break
            if not c.try_send(bytes([b])):
                return i
            try:
                c._fill(time.monotonic() + interval)
                return i + 1            # the server said something
            except socket.timeout:
                pass
        return len(data)

    def test_idle_after_greeting(self):
        started = time.monotonic()
        c = self.conn()
        elapsed = self.expect_timeout(c, started, COMMAND_TIMEOUT, "idle after 220")
        self.assertGreaterEqual(elapsed, COMMAND_TIMEOUT * 0.8)

    def test_idle_after_a_command(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<idle@client.gentd.test>"), 250)
        started = time.monotonic()
        elapsed = self.expect_timeout(c, started, COMMAND_TIMEOUT, "idle after MAIL")
        self.assertGreaterEqual(elapsed, COMMAND_TIMEOUT * 0.8)

    def test_each_command_gets_a_fresh_deadline(self):
        """A client that is slow but keeps sending whole commands stays."""
        c = self.conn()
        c.ehlo()
        for _ in range(4):              # 4 x 0.6 s > the 1 s deadline
            time.sleep(COMMAND_TIMEOUT * 0.6)
            self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_trickled_command_is_cut_at_the_deadline(self):
        c = self.conn()
        started = time.monotonic()
        sent = self.trickle(c, b"EHLO " + b"t" * 60 + b"\r\n", interval=0.3)
        self.assertLess(sent, 40, "the trickle was never cut")
        elapsed = self.expect_timeout(c, started, COMMAND_TIMEOUT, "trickled command")
        self.assertGreaterEqual(elapsed, COMMAND_TIMEOUT * 0.8)

    def test_trickled_command_after_ehlo_is_cut(self):
        c = self.conn()
        c.ehlo()
        started = time.monotonic()
        sent = self.trickle(c, b"MAIL FROM:<" + b"s" * 60 + b"@client.gentd.test>\r\n")
        self.assertLess(sent, 40, "the trickle was never cut")
        self.expect_timeout(c, started, COMMAND_TIMEOUT, "trickled MAIL")

    def test_trickled_data_is_cut_and_nothing_stored(self):
        subject = harness.uniq("trickle-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<slow@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        started = time.monotonic()
        body = dot_stuff(make_message(subject, body="slow " * 20 + "\r\n"))
        sent = self.trickle(c, body, interval=0.3)
        self.assertLess(sent, len(body), "the body went through")
        elapsed = self.expect_timeout(c, started, DATA_TIMEOUT, "trickled DATA")
        # The data deadline, not the 1 s command one, applies to the body.
        self.assertGreaterEqual(elapsed, DATA_TIMEOUT * 0.8)
        self.assertEqual(self.env.by_subject(subject), [])

    def test_idle_in_data(self):
        subject = harness.uniq("idle-data-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<slow@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        started = time.monotonic()
        c.send(make_message(subject))               # no end of data
        elapsed = self.expect_timeout(c, started, DATA_TIMEOUT, "idle in DATA")
        self.assertGreaterEqual(elapsed, DATA_TIMEOUT * 0.8)
        self.assertEqual(self.env.by_subject(subject), [])

    def test_fast_message_after_slow_clients(self):
        """Timed-out sessions leave the server serving."""
        r = send_mail(self.port, "fast@client.gentd.test", [self.env.addr()],
                      make_message(harness.uniq("fast-")))
        self.assertReply(r, 250, "2.0.0")


class SmtpConnectionCapTest(harness.GentdTestCase):
    start_server = False

    def open_ok(self, port, n):
        conns = []
        for i in range(n):
            c = SmtpConn(port, timeout=5)
            self.addCleanup(c.close)
            self.assertEqual(c.greeting.code, 220, "connection %d: %r"
                             % (i + 1, c.greeting))
            conns.append(c)
        return conns

    def assertRefused(self, port, what):
        c = SmtpConn(port, timeout=5, greet=False)
        self.addCleanup(c.close)
        rs, closed = c.replies_until_close(timeout=5)
        self.assertEqual([r.code for r in rs], [421], "%s: %r" % (what, rs))
        self.assertTrue(rs[0].last.startswith("4.7.0"), rs)
        self.assertTrue(closed, "%s: not closed after 421" % what)

    def wait_accepting(self, port, timeout=5.0):
        return wait_accepting(self, port, timeout)

    def check_cap(self, srv, cap, what):
        port = srv.smtp_port
        conns = self.open_ok(port, cap)
        self.assertRefused(port, what)
        self.assertRefused(port, what + " (again)")
        # The sessions that were let in are unaffected.
        for c in conns:
            self.assertReply(c.cmd("NOOP"), 250)
        # A slot frees when one leaves.
        self.assertReply(conns[0].cmd("QUIT"), 221)
        self.assertTrue(conns[0].wait_closed(2))
        c = self.wait_accepting(port)
        self.assertReply(c.cmd("EHLO cap.gentd.test"), 250)
        self.assertRefused(port, what + " (full again)")

    def assertReply(self, reply, code):
        self.assertEqual(reply.code, code, reply)

    def test_max_per_ip(self):
        srv = self.new_server({"smtp_max_per_ip": "3"})
        self.check_cap(srv, 3, "4th from one IP")

    def test_max_connections(self):
        srv = self.new_server({"smtp_max_connections": "2", "smtp_max_per_ip": "100"})
        self.check_cap(srv, 2, "3rd connection")

    def test_client_that_never_reads_is_cut(self):
        """A client that pipelines commands and never reads the replies must
        not keep its slot past the command deadline: the 421 cannot be
        delivered, so the connection has to be closed without it."""
        srv = self.new_server({"smtp_max_per_ip": "1", "smtp_command_timeout": "1s"})
        a = socket.create_connection((harness.HOST, srv.smtp_port), timeout=5)
        self.addCleanup(a.close)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        a.settimeout(0.5)
        sent, t0 = 0, time.monotonic()
        try:
            while sent < 64 * 1024 * 1024 and time.monotonic() - t0 < 3:
                sent += a.send(b"NOOP\r\n" * 1000)
        except socket.timeout:
            pass                                    # both directions full
        except OSError:
            pass                                    # already cut: fine
        # The slot must be free again after the deadline; the wait is
        # generous because a sanitizer build on a loaded CI machine works
        # through the pipelined commands it already read slowly.
        self.wait_accepting(srv.smtp_port, timeout=COMMAND_TIMEOUT + SLACK + 10)

    def test_timed_out_sessions_free_their_slots(self):
        srv = self.new_server({"smtp_max_per_ip": "2", "smtp_command_timeout": "1s"})
        conns = self.open_ok(srv.smtp_port, 2)
        self.assertRefused(srv.smtp_port, "3rd")
        for c in conns:
            r = c.reply(timeout=COMMAND_TIMEOUT + SLACK + 1)
            self.assertEqual(r.code, 421, r)
            self.assertTrue(c.wait_closed(2))
        self.wait_accepting(srv.smtp_port)


def wait_accepting(case, port, timeout=5.0):
    """Until a new connection gets 220 again (bounded); the connection."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        c = SmtpConn(port, timeout=2, greet=False)
        try:
            r = c.reply()
            last = r
            if r.code == 220:
                case.addCleanup(c.close)
                return c
        except (Closed, socket.timeout) as e:
            last = e
        c.close()
        time.sleep(0.05)
    raise AssertionError("no 220 within %.0fs (last %r)" % (timeout, last))


class SmtpSessionCapTest(harness.GentdTestCase):
    """smtp_session_max (RELIABILITY row 7, Stalwart's duration): a client
    that keeps every deadline still leaves at the cap, and its slot frees."""
    start_server = False

    def cap_server(self):
        # One session per IP: a new connection is let in only once the
        # capped session has really gone.
        return self.new_server({"smtp_session_max": "%ds" % SESSION_MAX,
                                "smtp_max_per_ip": "1"})

    def assertCapReply(self, r, hostname):
        self.assertEqual(r.code, 421, r)
        self.assertEqual(r.last, "4.4.2 %s Error: session too long" % hostname)

    def test_busy_client_is_cut_at_the_cap(self):
        srv = self.cap_server()
        started = time.monotonic()
        c = SmtpConn(srv.smtp_port, timeout=5)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220, c.greeting)
        self.assertEqual(c.cmd("EHLO busy.gentd.test").code, 250)
        # The slot is held: a second session from 127.0.0.1 is refused.
        other = SmtpConn(srv.smtp_port, timeout=5)
        self.addCleanup(other.close)
        self.assertEqual(other.greeting.code, 421, other.greeting)
        ok, r = 0, None
        while time.monotonic() - started < SESSION_MAX + SLACK + 2:
            time.sleep(0.3)
            c.try_send(b"NOOP\r\n")      # the 421 may already be waiting
            try:
                r = c.reply(timeout=2)
            except Closed:
                self.fail("closed without a reply after %d NOOPs" % ok)
            if r.code != 250:
                break
            ok += 1
        elapsed = time.monotonic() - started
        self.assertCapReply(r, "gentd.test")
        self.assertGreaterEqual(ok, 4, "cut before the cap")
        self.assertGreaterEqual(elapsed, SESSION_MAX * 0.8)
        self.assertLessEqual(elapsed, SESSION_MAX + SLACK)
        self.assertTrue(c.wait_closed(2), "not closed after the 421")
        c2 = wait_accepting(self, srv.smtp_port)
        self.assertEqual(c2.cmd("NOOP").code, 250)

    def test_idle_session_is_told_at_once(self):
        """Idle within the (5 min) command deadline: the 421 comes at the
        cap, without waiting for a command."""
        srv = self.cap_server()
        started = time.monotonic()
        c = SmtpConn(srv.smtp_port, timeout=5)
        self.addCleanup(c.close)
        self.assertEqual(c.cmd("EHLO idle.gentd.test").code, 250)
        r = c.reply(timeout=SESSION_MAX + SLACK + 1)
        elapsed = time.monotonic() - started
        self.assertCapReply(r, "gentd.test")
        self.assertGreaterEqual(elapsed, SESSION_MAX * 0.8)
        self.assertLessEqual(elapsed, SESSION_MAX + SLACK)
        self.assertTrue(c.wait_closed(2), "not closed after the 421")
        wait_accepting(self, srv.smtp_port)


class SmtpSessionCapDataTest(SmtpTestCase):
    """A message in DATA when the cap passes is finished, not cut: its
    250 comes first, then the 421."""
    smtp_conf = {"smtp_session_max": "%ds" % SESSION_MAX,
                 "smtp_data_timeout": "20s"}
    inboxes = ("bot",)

    def test_message_in_data_is_finished_then_421(self):
        subject = harness.uniq("capped-")
        started = time.monotonic()
        c = self.conn(timeout=5)
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<long@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(make_message(subject, body=""))
        lines = 0
        while time.monotonic() - started < SESSION_MAX + 1.5:
            c.send(b"line %d\r\n" % lines)  # past the cap, still in DATA
            lines += 1
            time.sleep(0.3)
        self.assertEqual(c.buf, b"")
        c.send(b".\r\n")
        r = c.reply(timeout=10)
        self.assertReply(r, 250, "2.0.0")
        r = c.reply(timeout=5)
        self.assertReply(r, 421, "4.4.2")
        self.assertEqual(r.last, "4.4.2 %s Error: session too long" % HOSTNAME)
        self.assertTrue(c.wait_closed(2), "not closed after the 421")
        got = self.env.by_subject(subject)
        self.assertEqual(len(got), 1, got)
        raw = self.env.raw(got[0]["id"])
        self.assertTrue(raw.endswith(b"line %d\r\n" % (lines - 1)), raw[-100:])

    def test_pipelined_commands_after_the_cap_are_not_run(self):
        """Commands queued behind the message when the cap passes: the
        250 for the message, then 421; the MAIL after it never runs."""
        subject = harness.uniq("capped-pipe-")
        started = time.monotonic()
        c = self.conn(timeout=5)
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<pipe@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(make_message(subject, body=""))
        while time.monotonic() - started < SESSION_MAX + 1:
            c.send(b"more\r\n")
            time.sleep(0.3)
        c.send(b".\r\nNOOP\r\nMAIL FROM:<after@client.gentd.test>\r\n")
        rs, closed = c.replies_until_close(timeout=10)
        self.assertEqual([r.code for r in rs], [250, 421], rs)
        self.assertTrue(closed)
        self.assertEqual(len(self.env.by_subject(subject)), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
