"""
test_smtp_abuse.py - hostile clients against the inbound SMTP server
(RELIABILITY.md rows 1-2 and 5-8): SMTP smuggling live, open relay
attempts (and nmap's smtp-open-relay when nmap is installed), size and
line limits, recipient limits, error limits, foreign protocols, floods,
the junk-command limit (Postfix smtpd_junk_command_limit).

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_abuse.py
"""

import shutil
import subprocess
import threading
import time
import unittest

import harness
from smtp_fixture import (SmtpTestCase, SmtpConn, make_message,
                          dot_stuff, send_mail, has_lone_cr_lf, HOST, HOSTNAME)

MAX_MESSAGE = 100 * 1024
MAX_ERRORS = 20
JUNK_LIMIT = 100            # smtp_junk_command_limit: the default, not set

# The fake ends of data of the smuggling table (RELIABILITY row 1/2).
FAKE_EODS = [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n",
             b"\r.\r", b"\r\n.\r", b"\n.\r", b"\r.\n"]
# NUL next to the dot: still no end of data, but the text is clean CRLF, so
# the outer message (with the would-be smuggled lines as its text) is kept.
NUL_EODS = [b"\r\n\x00.\r\n", b"\r\n.\x00\r\n"]


class SmtpAbuseTest(SmtpTestCase):
    smtp_conf = {"smtp_max_message": "100K", "smtp_max_recipients": "100",
                 "smtp_max_errors": str(MAX_ERRORS)}
    inboxes = ("bot", "x" * 64)

    def begin_data(self, c, rcpt=None, mail_from="probe@client.gentd.test"):
        """EHLO done by the caller; MAIL, RCPT, DATA -> 354."""
        self.assertReply(c.cmd("MAIL FROM:<%s>" % mail_from), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % (rcpt or self.env.addr())), 250)
        self.assertReply(c.cmd("DATA"), 354)

    def assertSessionWorks(self, c, subject=None):
        """RSET, NOOP and a full message on the same connection."""
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("NOOP"), 250)
        subject = subject or harness.uniq("after-")
        r = send_mail(self.port, "after@client.gentd.test", [self.env.addr()],
                      make_message(subject), conn=c)
        self.assertReply(r, 250, "2.0.0")
        self.assertEqual(len(self.env.by_subject(subject)), 1)

    # -- SMTP smuggling (rows 1-2) --

    def smuggle(self, eod, outer, inner):
        """Outer message, a fake end of data, a smuggled transaction and a
        real end of data, all in one write; then QUIT. Returns the replies
        after the 354 and whether the server closed."""
        c = self.conn()
        c.ehlo("smuggler.gentd.test")
        self.begin_data(c, mail_from="attacker@client.gentd.test")
        head = make_message(outer, body="")
        payload = (head + b"outer body" + eod +
                   b"MAIL FROM:<admin@client.gentd.test>\r\n"
                   b"RCPT TO:<" + self.env.addr().encode() + b">\r\n"
                   b"DATA\r\n" +
                   make_message(inner, body="smuggled body\r\n") +
                   b".\r\n")
        c.send(payload + b"QUIT\r\n")
        return c.replies_until_close(timeout=5)

    def test_smuggling_table(self):
        results = {}
        for i, eod in enumerate(FAKE_EODS + NUL_EODS):
            outer = harness.uniq("outer%d-" % i)
            inner = harness.uniq("smuggled%d-" % i)
            replies, closed = self.smuggle(eod, outer, inner)
            queued = [r for r in replies if r.code == 250 and "queued" in r.last]
            results[eod] = (outer, inner, replies, closed)
            with self.subTest(eod=eod):
                self.assertLessEqual(len(queued), 1, replies)
                self.assertEqual(self.env.by_subject(inner), [],
                                 "smuggled message stored for %r" % eod)
                self.assertTrue(closed, "no close after QUIT: %r" % replies)
                self.assertEqual(replies[-1].code, 221, replies)
                stored = self.env.by_subject(outer)
                if eod in FAKE_EODS:
                    # Bare CR/LF: the whole message is refused.
                    self.assertEqual([r.code for r in replies], [554, 221], replies)
                    self.assertTrue(replies[0].last.startswith("5.6.0"), replies)
                    self.assertEqual(stored, [])
                else:
                    self.assertEqual([r.code for r in replies], [250, 221], replies)
                    self.assertEqual(len(stored), 1)
                    raw = self.env.raw(stored[0]["id"])
                    # The would-be commands are text of the one message.
                    self.assertIn(b"\r\nMAIL FROM:<admin@client.gentd.test>\r\n", raw)
        # Nothing stored anywhere holds a lone CR or LF.
        for m in self.env.messages():
            raw = self.env.raw(m["id"])
            self.assertFalse(has_lone_cr_lf(raw), "lone CR/LF in %s: %r"
                             % (m["id"], raw[:300]))
            self.assertNotRegex(m["subject"] or "", r"^smuggled")

    def test_smuggling_control_real_pipelining(self):
        """A real CRLF.CRLF between them: two messages, both 250 (shows the
        probe would see a smuggled message if the server accepted one)."""
        outer, inner = harness.uniq("ctl-outer-"), harness.uniq("ctl-inner-")
        replies, closed = self.smuggle(b"\r\n.\r\n", outer, inner)
        self.assertEqual([r.code for r in replies], [250, 250, 250, 354, 250, 221],
                         replies)
        self.assertEqual(len(self.env.by_subject(outer)), 1)
        self.assertEqual(len(self.env.by_subject(inner)), 1)

    def test_bare_cr_and_lf_in_body_refused(self):
        for i, bad in enumerate([b"a\nb", b"a\rb", b"end\r", b"\n", b"x\r\r\n"]):
            with self.subTest(bad=bad):
                subject = harness.uniq("bare%d-" % i)
                c = self.conn()
                c.ehlo()
                self.begin_data(c)
                c.send(make_message(subject, body="") + bad + b"\r\n.\r\n")
                self.assertReply(c.reply(), 554, "5.6.0")
                self.assertSessionWorks(c)
                self.assertEqual(self.env.by_subject(subject), [])

    # -- open relay (row 5) --

    def test_no_relay_to_foreign_addresses(self):
        dom = self.env.domain
        attempts = [
            "user@other.test",
            '"a@b"@%s' % dom,
            "@%s:a@other.test" % dom,
            "@%s,@mx.other.test:a@other.test" % dom,
            "a%%other.test@%s" % dom,
            "other.test!a",
            "postmaster",
            "a@other.test@%s" % dom,
            '"a@other.test"',
            "user@[127.0.0.1]",
            "user@[IPv6:::1]",
            "bot@%s.other.test" % dom,
            "bot@other.test",
            "%s@other.test" % self.env.addr(),
        ]
        for sender in ("someone@client.gentd.test", self.env.addr(), ""):
            c = self.conn()
            c.ehlo()
            for rcpt in attempts:
                self.assertReply(c.cmd("RSET"), 250)
                self.assertReply(c.cmd("MAIL FROM:<%s>" % sender), 250)
                r = c.cmd("RCPT TO:<%s>" % rcpt)
                with self.subTest(sender=sender, rcpt=rcpt):
                    self.assertEqual(r.code // 100, 5, r)
            # The connection is still healthy (RSETs keep it out of trouble).
            self.assertReply(c.cmd("QUIT"), 221)

    def test_source_route_to_our_mailbox_is_local(self):
        """A source route is ignored (RFC 5321 C): @foreign:bot@us is bot@us."""
        subject = harness.uniq("route-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<@relay.other.test:%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250)
        m = self.env.by_subject(subject)
        self.assertEqual(len(m), 1)
        self.assertEqual(m[0]["rcpt_to"], self.env.addr())

    def test_nmap_smtp_open_relay(self):
        nmap = shutil.which("nmap")
        if not nmap:
            self.skipTest("nmap is not installed (apt-get install -y nmap); "
                          "the 16 smtp-open-relay combinations were not run")
        for domain in (self.env.domain, "other.test"):
            p = subprocess.run(
                [nmap, "-n", "-Pn", "-p", str(self.port), "--script",
                 "+smtp-open-relay", "--script-args",
                 "smtp-open-relay.domain=%s,smtp-open-relay.ip=127.0.0.1" % domain,
                 "-d", HOST],
                capture_output=True, text=True, timeout=120,
                stdin=subprocess.DEVNULL)
            with self.subTest(domain=domain):
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertNotIn("is an open relay", p.stdout)
                self.assertIn("Server doesn't seem to be an open relay, all "
                              "tests failed", p.stdout, p.stdout[-3000:])

    # -- limits (row 6) --

    def test_command_line_length(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("NOOP " + "x" * (2048 - 5)), 250)    # 2048: fine
        self.assertReply(c.cmd("NOOP " + "x" * (2049 - 5)), 500, "5.5.2")
        self.assertReply(c.cmd("MAIL FROM:<" + "a" * 2100 + "@client.gentd.test>"),
                         500, "5.5.2")
        # The reader is back in step: the next command works.
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertSessionWorks(c)

    def test_huge_command_line_is_refused_in_bounded_memory(self):
        c = self.conn(timeout=15)
        c.ehlo()
        c.send(b"NOOP " + b"y" * (4 * 1024 * 1024) + b"\r\nNOOP\r\n")
        rs = c.replies(2, timeout=15)
        self.assertEqual([r.code for r in rs], [500, 250], rs)

    def test_address_part_lengths(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<%s@client.gentd.test>" % ("l" * 64)), 250)
        # A 64-octet local part is fine (and is an inbox here).
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr("x" * 64)), 250)
        r = c.cmd("RCPT TO:<%s@%s>" % ("x" * 300, self.env.domain))
        self.assertEqual(r.code, 501, r)
        long_domain = ".".join(["d" * 63] * 4) + ".test"                  # > 255
        r = c.cmd("RCPT TO:<a@%s>" % long_domain)
        self.assertEqual(r.code, 501, r)
        subject = harness.uniq("long-local-")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250)
        self.assertEqual(len(self.env.by_subject(subject, "x" * 64)), 1)

    def test_1000_byte_data_line_accepted(self):
        subject = harness.uniq("line1000-")
        line = ("0123456789" * 100)[:998]           # 998 + CRLF = the RFC line
        long_line = "z" * 1000
        r = send_mail(self.port, "a@client.gentd.test", [self.env.addr()],
                      make_message(subject, body=line + "\r\n" + long_line + "\r\n"))
        self.assertReply(r, 250, "2.0.0")
        m = self.env.by_subject(subject)
        self.assertEqual(len(m), 1)
        raw = self.env.raw(m[0]["id"])
        self.assertIn(("\r\n" + line + "\r\n" + long_line + "\r\n").encode(), raw)

    def test_70k_data_line_refused(self):
        subject = harness.uniq("line70k-")
        c = self.conn()
        c.ehlo()
        self.begin_data(c)
        c.send(dot_stuff(make_message(subject, body="w" * (70 * 1024) + "\r\n")))
        self.assertReply(c.reply(), 554, "5.6.0")
        self.assertEqual(self.env.by_subject(subject), [])
        self.assertSessionWorks(c)

    def test_recipient_limit(self):
        c = self.conn(timeout=20)
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<many@client.gentd.test>"), 250)
        c.send("".join("RCPT TO:<%s>\r\n" % self.env.addr() for _ in range(101)))
        rs = c.replies(101, timeout=20)
        self.assertEqual([r.code for r in rs[:100]], [250] * 100)
        self.assertReply(rs[100], 452, "4.5.3")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 452, "4.5.3")
        # 452 is not an error that ends the session; RSET starts afresh.
        self.assertSessionWorks(c)

    def test_mail_size_parameter(self):
        c = self.conn()
        size = int([k for k in c.ehlo().texts if k.startswith("SIZE ")][0][5:])
        self.assertEqual(size, MAX_MESSAGE)
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test> SIZE=%d" % (size + 1)),
                         552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test> SIZE=99999999999999999999999"),
                         552, "5.3.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test> SIZE=%d" % size), 250)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertSessionWorks(c)

    def message_of_size(self, subject, n):
        """An unstuffed message of exactly n bytes."""
        head = make_message(subject, body="")
        filler = n - len(head)
        lines, out = [], 0
        while filler - out > 0:
            k = min(78, filler - out - 2)
            if k < 0:
                raise ValueError("cannot hit the size exactly")
            lines.append(b"f" * k + b"\r\n")
            out += k + 2
        data = head + b"".join(lines)
        assert len(data) == n, (len(data), n)
        return data

    def test_data_size_limit_and_session_stays_sane(self):
        c = self.conn(timeout=15)
        c.ehlo()
        at_limit = harness.uniq("at-limit-")
        self.begin_data(c)
        c.send(dot_stuff(self.message_of_size(at_limit, MAX_MESSAGE)))
        self.assertReply(c.reply(), 250, "2.0.0")
        over = harness.uniq("over-limit-")
        self.begin_data(c)
        c.send(dot_stuff(self.message_of_size(over, MAX_MESSAGE + 1)))
        self.assertReply(c.reply(), 552, "5.3.4")
        way_over = harness.uniq("way-over-")
        self.begin_data(c)
        c.send(dot_stuff(self.message_of_size(way_over, 3 * MAX_MESSAGE)))
        self.assertReply(c.reply(), 552, "5.3.4")
        self.assertSessionWorks(c)
        self.assertEqual(len(self.env.by_subject(at_limit)), 1)
        self.assertEqual(self.env.by_subject(over), [])
        self.assertEqual(self.env.by_subject(way_over), [])

    # -- bad commands (row 8) --

    def test_bare_lf_in_command(self):
        c = self.conn()
        c.send(b"EHLO lf.gentd.test\n")
        self.assertReply(c.reply(), 500, "5.5.2")
        c.send(b"EHLO crlf.gentd.test\r\n")
        self.assertReply(c.reply(), 250)
        c.send(b"MAIL FROM:<a@client.gentd.test>\n")
        self.assertReply(c.reply(), 500, "5.5.2")
        # The MAIL with the bare LF did not count.
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 503, "5.5.1")
        # A bare CR is not a line end either: one (unknown) command up to
        # the CRLF, one reply, not a NOOP and an RSET.
        c.send(b"NOOP\rRSET\r\nNOOP\r\n")
        rs = c.replies(2)
        self.assertEqual([r.code for r in rs], [500, 250], rs)
        self.assertEqual(c.buf, b"")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)

    def test_nul_in_command_refused(self):
        """A NUL byte may not cut a command short: what the server acts on
        must be what was sent (no "RCPT TO:<us>\\0@evil" accepted as us)."""
        c = self.conn()
        c.ehlo()
        r = c.cmd(b"MAIL FROM:<a@client.gentd.test>\x00 SIZE=99999999999")
        self.assertEqual(r.code // 100, 5, "MAIL with a NUL: %r" % r)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)
        r = c.cmd(b"RCPT TO:<" + self.env.addr().encode() + b">\x00@other.test")
        self.assertEqual(r.code // 100, 5, "RCPT with a NUL: %r" % r)
        r = c.cmd(b"NOOP\x00")
        self.assertEqual(r.code // 100, 5, "NOOP with a NUL: %r" % r)

    def test_client_vanishes_while_hooks_run(self):
        """Pipelined recipients, a body, and a close before any reply:
        the server copes, and nothing partial is stored."""
        subjects = []
        for k in range(5):
            subject = harness.uniq("vanish-")
            subjects.append(subject)
            c = SmtpConn(self.port)
            c.ehlo()
            c.send(("MAIL FROM:<v@client.gentd.test>\r\n" +
                    "RCPT TO:<%s>\r\n" % self.env.addr() * 50 +
                    "DATA\r\n").encode() + dot_stuff(make_message(subject)))
            c.close()
        time.sleep(0.3)
        c = self.conn()
        c.ehlo()
        self.assertSessionWorks(c)
        for subject in subjects:
            for m in self.env.by_subject(subject):
                # If stored at all (the server may have read it all before
                # the close), then whole.
                raw = self.env.raw(m["id"])
                self.assertTrue(raw.endswith(b"Hello from the test suite.\r\n"))

    def test_error_limit_closes_with_421(self):
        c = self.conn()
        c.ehlo()
        for i in range(MAX_ERRORS - 1):
            self.assertReply(c.cmd("BOGUS%d" % i), 500, "5.5.2")
        c.send("BOGUS-last\r\n")
        rs, closed = c.replies_until_close(timeout=5)
        self.assertEqual([r.code for r in rs], [500, 421], rs)
        self.assertTrue(rs[1].last.startswith("4.7.0"), rs)
        self.assertTrue(closed, "not closed after 421")

    def test_error_limit_counts_mixed_errors(self):
        bad = ["BOGUS", "MAIL FROM:<>", "HELO", "MAIL FROM:bad", "DATA",
               "STARTTLS", "RCPT TO:<x@y>"]
        c = self.conn()
        c.send("".join(bad[i % len(bad)] + "\r\n" for i in range(MAX_ERRORS + 5)))
        rs, closed = c.replies_until_close(timeout=5)
        self.assertTrue(closed)
        self.assertEqual(len(rs), MAX_ERRORS + 1, rs)
        self.assertTrue(all(r.code // 100 == 5 for r in rs[:-1]), rs)
        self.assertReply(rs[-1], 421, "4.7.0")

    def test_http_request_is_answered_once_and_closed(self):
        for first in ["GET / HTTP/1.1", "POST /v1/messages/ HTTP/1.1",
                      "CONNECT mx.other.test:25 HTTP/1.1"]:
            with self.subTest(first=first):
                c = self.conn()
                c.send(first + "\r\nHost: mx.gentd.test\r\nUser-Agent: probe\r\n\r\n")
                rs, closed = c.replies_until_close(timeout=5)
                self.assertEqual([r.code for r in rs], [500], rs)
                self.assertTrue(rs[0].last.startswith("5.5.2"), rs)
                self.assertTrue(closed)
        # Also after EHLO.
        c = self.conn()
        c.ehlo()
        c.send("GET / HTTP/1.0\r\n\r\n")
        rs, closed = c.replies_until_close(timeout=5)
        self.assertEqual([r.code for r in rs], [500], rs)
        self.assertTrue(closed)

    # -- floods and junk commands (rows 7-8) --

    def assertJunkClose(self, rs, closed, n_ok):
        """n_ok replies in order, then 421 4.7.0 and a close."""
        self.assertEqual(len(rs), n_ok + 1, rs[-3:])
        self.assertReply(rs[-1], 421, "4.7.0")
        self.assertEqual(rs[-1].last, "4.7.0 %s Error: too many junk commands"
                         % HOSTNAME)
        self.assertTrue(closed, "not closed after the 421")

    def test_pipelined_noop_flood(self):
        """1000 NOOPs in one write: the first JUNK_LIMIT are answered in
        order, the next gets 421, the rest are never executed and the
        connection closes; the server goes on serving."""
        n = 1000
        c = self.conn(timeout=20)
        c.send(b"NOOP\r\n" * n)
        rs, closed = c.replies_until_close(timeout=20, limit=n)
        self.assertJunkClose(rs, closed, JUNK_LIMIT)
        self.assertEqual({r.code for r in rs[:-1]}, {250})
        c.close()
        c2 = self.conn()
        self.assertReply(c2.cmd("NOOP"), 250)
        c2.ehlo()
        self.assertSessionWorks(c2)

    def test_mixed_pipeline_keeps_order(self):
        """NOOP, HELP, VRFY and RSET all count: 25 of each are answered
        in order and the 101st junk command gets the 421."""
        cmds = ["NOOP", "HELP", "VRFY x", "RSET"] * (JUNK_LIMIT // 4)
        want = [250, 214, 252, 250] * (JUNK_LIMIT // 4)
        c = self.conn(timeout=20)
        c.ehlo()
        c.send("".join(x + "\r\n" for x in cmds + ["HELP", "QUIT"]))
        rs, closed = c.replies_until_close(timeout=20)
        self.assertEqual([r.code for r in rs[:-1]], want)
        self.assertJunkClose(rs, closed, JUNK_LIMIT)

    def test_junk_count_resets_after_each_message(self):
        """A normal client with some NOOPs and RSETs around several
        messages on one connection is never cut: 3 x 60 junk commands is
        over the limit, but each accepted message starts the count again."""
        c = self.conn(timeout=20)
        c.ehlo()
        subjects = []
        for k in range(3):
            junk = ["NOOP", "RSET", "VRFY bot", "HELP"] * 15
            c.send("".join(x + "\r\n" for x in junk))
            rs = c.replies(len(junk), timeout=20)
            self.assertEqual({r.code for r in rs}, {250, 252, 214}, rs[-3:])
            subjects.append(harness.uniq("junk-reset%d-" % k))
            r = send_mail(self.port, "busy@client.gentd.test", [self.env.addr()],
                          make_message(subjects[-1]), conn=c)
            self.assertReply(r, 250, "2.0.0")
        # Still in good standing: 99 more are fine, the 101st is not.
        c.send("NOOP\r\n" * (JUNK_LIMIT + 1))
        rs, closed = c.replies_until_close(timeout=20)
        self.assertJunkClose(rs, closed, JUNK_LIMIT)
        for subject in subjects:
            self.assertEqual(len(self.env.by_subject(subject)), 1, subject)

    def test_refused_message_does_not_reset_junk_count(self):
        """Only an accepted message resets the count (as in Postfix): a
        body refused for bare LFs does not."""
        c = self.conn(timeout=20)
        c.ehlo()
        c.send("NOOP\r\n" * (JUNK_LIMIT - 1))
        self.assertEqual({r.code for r in c.replies(JUNK_LIMIT - 1)}, {250})
        self.begin_data(c)
        c.send(b"Subject: x\r\n\r\nbare\nLF\r\n.\r\n")
        self.assertReply(c.reply(), 554, "5.6.0")
        self.assertReply(c.cmd("NOOP"), 250)          # the 100th
        c.send("NOOP\r\n")
        rs, closed = c.replies_until_close(timeout=5)
        self.assertJunkClose(rs, closed, 0)


class SmtpFloodTest(harness.GentdTestCase):
    """Floods that must be answered in full: a junk limit high enough not
    to interfere, so the input and output caps are what is tested."""
    server_conf = {"smtp_junk_command_limit": "1000000"}

    def conn(self, timeout=5.0):
        c = SmtpConn(self.srv.smtp_port, timeout=timeout)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220, c.greeting)
        return c

    def test_pipelined_noop_flood_under_a_high_limit(self):
        n = 5000
        c = self.conn(timeout=20)
        c.send(b"NOOP\r\n" * n)
        rs = c.replies(n, timeout=20)
        self.assertEqual({r.code for r in rs}, {250})
        self.assertEqual(c.cmd("QUIT").code, 221)

    def test_big_flood_while_not_reading(self):
        """4 MB of NOOPs sent while the client reads nothing for a while:
        the server stops reading (bounded buffers) and catches up later."""
        n = 4 * 1024 * 1024 // 6
        c = self.conn(timeout=30)
        sent = {"ok": None}

        def sender():
            sent["ok"] = c.try_send(b"NOOP\r\n" * n)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        time.sleep(1.0)                     # the client does not read
        rs, closed = c.replies_until_close(timeout=60, limit=n)
        t.join(10)
        codes = [r.code for r in rs]
        if len(codes) < n:
            self.assertTrue(closed, "stalled after %d replies" % len(codes))
            body = codes[:-1] if codes and codes[-1] == 421 else codes
            self.assertEqual(set(body), {250})
        else:
            self.assertEqual(set(codes), {250})
        c.close()
        c2 = self.conn()
        self.assertEqual(c2.cmd("NOOP").code, 250)


if __name__ == "__main__":
    unittest.main(verbosity=2)
