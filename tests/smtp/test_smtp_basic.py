"""
test_smtp_basic.py - delivery through gentd's inbound SMTP server: smtplib,
swaks and a raw client; what the messages API gives back; the command set
and its sequencing.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_basic.py
"""

import re
import shutil
import smtplib
import subprocess
import unittest

import harness
from smtp_fixture import (SmtpTestCase, make_message, dot_stuff, send_mail,
                          has_lone_cr_lf, our_received, HOST, HOSTNAME)

QUEUED = re.compile(r"^2\.0\.0 Ok: queued as (q_[a-z0-9]+)$")
RECEIVED = re.compile(
    rb"^Received: from (?P<helo>\S+) \(\[(?P<ip>[0-9.]+)\]\)\r\n"
    rb"\tby (?P<by>\S+) \(gentd\) with (?P<with>ESMTPS?) id (?P<id>q_[a-z0-9]+);\r\n"
    rb"\t(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
    rb"[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\r\n$")


class SmtpBasicTest(SmtpTestCase):

    def only(self, subject, local="bot"):
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, "want exactly one message %r in %s, got %r"
                         % (subject, local, got))
        return got[0]

    # -- the greeting and EHLO --

    def test_greeting_and_ehlo_keywords(self):
        c = self.conn()
        self.assertRegex(c.greeting.lines[0], r"^220 mx\.gentd\.test ")
        r = c.ehlo("client.gentd.test")
        self.assertEqual(r.texts[0], HOSTNAME)
        kw = r.texts[1:]
        for want in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"):
            self.assertIn(want, kw)
        self.assertIn("SIZE 26214400", kw)          # the 25M default
        self.assertNotIn("STARTTLS", kw)            # no certificate here
        self.assertTrue(all(l.startswith("250-") for l in r.lines[:-1]), r)
        self.assertTrue(r.lines[-1].startswith("250 "), r)

    def test_helo_needs_a_name(self):
        c = self.conn()
        self.assertReply(c.cmd("HELO"), 501, "5.5.4")
        self.assertReply(c.cmd("EHLO"), 501, "5.5.4")
        self.assertReply(c.cmd("HELO helo.gentd.test"), 250)

    # -- delivery --

    def test_smtplib_ehlo_delivery(self):
        subject = harness.uniq("smtplib-ehlo-")
        msg = make_message(subject, to=self.env.addr())
        with smtplib.SMTP(HOST, self.port, local_hostname="smtplib.gentd.test",
                          timeout=10) as s:
            code, _ = s.ehlo()
            self.assertEqual(code, 250)
            self.assertTrue(s.has_extn("pipelining"))
            self.assertEqual(s.sendmail("alice@client.gentd.test",
                                        [self.env.addr()], msg), {})
        m = self.only(subject)
        self.assertEqual(m["from"], "Sender <sender@client.gentd.test>")
        self.assertEqual(m["mail_from"], "alice@client.gentd.test")
        self.assertEqual(m["rcpt_to"], self.env.addr())
        self.assertEqual(m["smtp"], {"client_ip": "127.0.0.1",
                                     "helo": "smtplib.gentd.test", "tls": False})
        self.assertEqual(m["direction"], "inbound")
        self.assertEqual(m["inbox_id"], self.env.inboxes["bot"])

    def test_smtplib_helo_delivery(self):
        subject = harness.uniq("smtplib-helo-")
        with smtplib.SMTP(HOST, self.port, local_hostname="helo.gentd.test",
                          timeout=10) as s:
            code, _ = s.helo()
            self.assertEqual(code, 250)
            self.assertEqual(s.sendmail("bob@client.gentd.test", [self.env.addr()],
                                        make_message(subject)), {})
        m = self.only(subject)
        self.assertEqual(m["smtp"]["helo"], "helo.gentd.test")
        self.assertEqual(m["mail_from"], "bob@client.gentd.test")

    def test_swaks_delivery(self):
        swaks = shutil.which("swaks")
        if not swaks:
            self.skipTest("swaks is not installed (apt-get install -y swaks)")
        subject = harness.uniq("swaks-")
        p = subprocess.run([swaks, "--server", "%s:%d" % (HOST, self.port),
                            "--helo", "swaks.gentd.test",
                            "--from", "swaks@client.gentd.test",
                            "--to", self.env.addr(),
                            "--header", "Subject: " + subject,
                            "--body", "sent by swaks",
                            "--timeout", "10"],
                           capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"<-  250 2\.0\.0 Ok: queued as q_")
        m = self.only(subject)
        self.assertEqual(m["smtp"]["helo"], "swaks.gentd.test")
        self.assertEqual(m["mail_from"], "swaks@client.gentd.test")
        raw = self.env.raw(m["id"])
        self.assertIn(b"\r\n\r\nsent by swaks\r\n", raw)
        self.assertFalse(has_lone_cr_lf(raw), raw)

    def test_encoded_subject_comes_back_decoded(self):
        encoded = "=?UTF-8?B?w6l0w6kg4pyTIHRlc3Q=?="     # "été ✓ test"
        marker = harness.uniq("enc")
        msg = make_message(encoded + " " + marker)
        r = send_mail(self.port, "enc@client.gentd.test", [self.env.addr()], msg)
        self.assertReply(r, 250, "2.0.0")
        got = [m for m in self.env.messages() if marker in (m["subject"] or "")]
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["subject"], "été ✓ test " + marker)

    def test_raw_is_exact_bytes_after_our_received_header(self):
        subject = harness.uniq("raw-")
        body = ("first line\r\n.a line that starts with a dot\r\n..two dots\r\n"
                "\r\n.\tdot tab\r\nlast line, no trailing space\r\n")
        msg = make_message(subject, body)
        c = self.conn()
        c.ehlo("raw.gentd.test")
        self.assertReply(c.cmd("MAIL FROM:<raw@client.gentd.test>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(msg))
        r = self.assertReply(c.reply(), 250, "2.0.0")
        qid = QUEUED.match(r.last).group(1)
        m = self.only(subject)
        raw = self.env.raw(m["id"])
        # Our trace fields, then the client's bytes unstuffed, byte for byte.
        hdr = RECEIVED.match(our_received(raw, msg))
        self.assertIsNotNone(hdr, raw[:600])
        self.assertEqual(hdr.group("helo"), b"raw.gentd.test")
        self.assertEqual(hdr.group("ip"), b"127.0.0.1")
        self.assertEqual(hdr.group("by"), HOSTNAME.encode())
        self.assertEqual(hdr.group("with"), b"ESMTP")
        self.assertEqual(hdr.group("id").decode(), qid)
        self.assertEqual(m["size"], len(raw))
        full = self.env.message(m["id"])
        self.assertEqual(full["id"], m["id"])
        self.assertEqual(full["subject"], subject)
        # The session goes on: a second message on the same connection.
        subject2 = harness.uniq("raw2-")
        r = send_mail(self.port, "raw@client.gentd.test", [self.env.addr()],
                      make_message(subject2), conn=c)
        self.assertReply(r, 250, "2.0.0")
        self.assertNotEqual(QUEUED.match(r.last).group(1), qid)
        self.only(subject2)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_two_recipients_two_inboxes(self):
        subject = harness.uniq("two-")
        r = send_mail(self.port, "two@client.gentd.test",
                      [self.env.addr("bot"), self.env.addr("bot2")],
                      make_message(subject))
        self.assertReply(r, 250, "2.0.0")
        a, b = self.only(subject, "bot"), self.only(subject, "bot2")
        self.assertNotEqual(a["id"], b["id"])
        self.assertEqual(a["rcpt_to"], self.env.addr("bot"))
        self.assertEqual(b["rcpt_to"], self.env.addr("bot2"))
        self.assertEqual(b["inbox_id"], self.env.inboxes["bot2"])
        # Each copy holds the same bytes.
        self.assertEqual(self.env.raw(a["id"], "bot"), self.env.raw(b["id"], "bot2"))
        # A token of one inbox does not see the other's copy.
        st, _, _ = self.srv.request("GET", "/v1/messages/%s/" % b["id"],
                                    token=self.env.tokens["bot"])
        self.assertIn(st, (403, 404))

    def test_unknown_recipient_refused_valid_one_delivered(self):
        subject = harness.uniq("mixed-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<mixed@client.gentd.test>"), 250, "2.1.0")
        unknown = "nobody-%s@%s" % (harness.uniq(), self.env.domain)
        r = self.assertReply(c.cmd("RCPT TO:<%s>" % unknown), 550, "5.1.1")
        self.assertIn(unknown, r.last)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250, "2.1.5")
        self.assertReply(c.cmd("RCPT TO:<someone@unknown-domain.test>"), 550, "5.1.1")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250, "2.0.0")
        m = self.only(subject)
        self.assertEqual(m["rcpt_to"], self.env.addr())
        self.assertEqual(self.env.by_subject(subject, "bot2"), [])

    def test_only_unknown_recipients_then_data(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<x@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@%s>" % self.env.domain), 550, "5.1.1")
        r = c.cmd("DATA")
        self.assertIn(r.code, (503, 554), r)
        self.assertReply(c.cmd("NOOP"), 250)

    def test_null_sender(self):
        subject = harness.uniq("bounce-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<>"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject, mail_from="MAILER-DAEMON@client.gentd.test")))
        self.assertReply(c.reply(), 250, "2.0.0")
        m = self.only(subject)
        self.assertEqual(m["mail_from"], "")

    def test_postmaster_reaches_the_domain(self):
        """RFC 5321 4.5.1: postmaster@<our domain> is always accepted; with
        no postmaster inbox it goes to the domain's oldest inbox (bot)."""
        subject = harness.uniq("pm-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<someone@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<PostMaster@%s>" % self.env.domain), 250, "2.1.5")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250, "2.0.0")
        m = self.only(subject)
        self.assertEqual(m["rcpt_to"].lower(), "postmaster@%s" % self.env.domain)

    def test_null_recipient_refused(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<>"), 250)
        self.assertReply(c.cmd("RCPT TO:<>"), 501, "5.5.4")

    def test_mail_params(self):
        subject = harness.uniq("params-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<jöe@client.gentd.test> SIZE=1000 "
                               "BODY=8BITMIME SMTPUTF8"), 250, "2.1.0")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject, body="Grüße, ünïcödé ✓\r\n")))
        self.assertReply(c.reply(), 250, "2.0.0")
        m = self.only(subject)
        self.assertEqual(m["mail_from"], "jöe@client.gentd.test")
        self.assertIn("Grüße, ünïcödé ✓\r\n".encode(), self.env.raw(m["id"]))
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test> SIZE=abc"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test> BODY=BINARYMIME"), 501)
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test> FOO=BAR"), 555)
        self.assertReply(c.cmd("MAIL FROM:a@client.gentd.test"), 501, "5.5.4")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s> NOTIFY=NEVER" % self.env.addr()), 555)

    def test_pipelined_transaction(self):
        subject = harness.uniq("pipe-")
        c = self.conn()
        c.ehlo()
        c.send("MAIL FROM:<pipe@client.gentd.test>\r\n"
               "RCPT TO:<nobody@%s>\r\n"
               "RCPT TO:<%s>\r\n"
               "DATA\r\n" % (self.env.domain, self.env.addr()))
        codes = [r.code for r in c.replies(4)]
        self.assertEqual(codes, [250, 550, 250, 354])
        c.send(dot_stuff(make_message(subject)) + b"NOOP\r\nQUIT\r\n")
        rs, closed = c.replies_until_close(5)
        self.assertEqual([r.code for r in rs], [250, 250, 221], rs)
        self.assertTrue(closed)
        self.only(subject)

    # -- transaction state --

    def test_rset_clears_the_transaction(self):
        subject = harness.uniq("rset-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<rset@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("RSET"), 250, "2.0.0")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 503, "5.5.1")
        # A new transaction after RSET delivers to its own recipients only.
        self.assertReply(c.cmd("MAIL FROM:<rset2@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr("bot2")), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250)
        self.assertEqual(self.env.by_subject(subject, "bot"), [])
        m = self.only(subject, "bot2")
        self.assertEqual(m["mail_from"], "rset2@client.gentd.test")
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("RSET"), 250)

    def test_ehlo_resets_the_transaction(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        c.ehlo("again.gentd.test")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)

    def test_commands_out_of_order(self):
        c = self.conn()
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        c.ehlo()
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 250)
        self.assertReply(c.cmd("MAIL FROM:<b@client.gentd.test>"), 503, "5.5.1")
        r = c.cmd("DATA")                           # MAIL but no RCPT
        self.assertIn(r.code, (503, 554), r)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b".\r\n")                             # an empty message
        self.assertReply(c.reply(), 250, "2.0.0")

    def test_vrfy_help_noop_quit(self):
        c = self.conn()
        self.assertReply(c.cmd("VRFY bot"), 252)
        self.assertReply(c.cmd("VRFY " + self.env.addr()), 252)
        self.assertReply(c.cmd("HELP"), 214)
        self.assertReply(c.cmd("HELP MAIL"), 214)
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
        self.assertReply(c.cmd("noop with an argument"), 250)
        self.assertReply(c.cmd("EXPN staff"), 500, "5.5.2")
        self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
        self.assertTrue(c.wait_closed(3), "not closed after QUIT")
        self.assertEqual(c.buf, b"")

    def test_commands_are_case_insensitive(self):
        subject = harness.uniq("case-")
        c = self.conn()
        self.assertReply(c.cmd("ehlo lower.gentd.test"), 250)
        self.assertReply(c.cmd("mail from:<case@client.gentd.test>"), 250)
        self.assertReply(c.cmd("rcpt to:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("data"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250)
        self.only(subject)
        self.assertReply(c.cmd("quit"), 221)

    def test_quit_mid_transaction_stores_nothing(self):
        subject = harness.uniq("quitmid-")
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<q@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(make_message(subject))               # no end of data
        c.close()
        c2 = self.conn()                             # server still fine
        self.assertReply(c2.cmd("NOOP"), 250)
        self.assertEqual(self.env.by_subject(subject), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
