"""
test_smtp_limits.py - inbound message limits over real SMTP (RELIABILITY.md
row 6): mail loops (smtp_max_hops Received: fields, RFC 5321 6.3), a
header section of 100 KiB (one folded field, many fields, one line), MIME
nested 100 deep (MIME_MAX_DEPTH in include/gent/mime.h), and the address
limits of RFC 5321 4.5.3.1 at their boundaries (local part 64, path 256).

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_limits.py
"""

import time
import unittest

import harness
from smtp_fixture import (SmtpTestCase, make_message, dot_stuff, send_mail,
                          split_stored, header_fields)

MAX_HOPS = 50               # the smtp_max_hops default (Postfix hopcount_limit)
MIME_MAX_DEPTH = 32         # include/gent/mime.h
MIME_MAX_HEADERS = 500      # include/gent/mime.h: fields the API lists
DATA_LINE_MAX = 64 * 1024   # include/gent/smtp_parse.h SMTP_DATA_LINE_MAX
RSS_GROWTH_MAX_KIB = 64 * 1024
API_REPLY_SECONDS = 10.0
LONG_LOCAL = "l" * 64       # an inbox with the longest local part


def received(i, name="Received"):
    """One realistic Received: field, folded over three lines (bytes)."""
    return ("%s: from relay%d.client.gentd.test ([192.0.2.%d])\r\n"
            "\tby relay%d.client.gentd.test with ESMTP id q%06d;\r\n"
            "\tMon, 23 Nov 2026 12:00:%02d +0000\r\n"
            % (name, i + 1, i % 250 + 1, i, i, i % 60)).encode()


def with_hops(n, subject, body="Hello from the test suite.\r\n", name=None):
    """A message with n Received: fields on top, as relays add them."""
    names = name or (lambda i: "Received")
    return b"".join(received(i, names(i)) for i in range(n)) + \
        make_message(subject, body)


def count_received(raw):
    """Received: fields of a stored message's header section."""
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return sum(1 for n, _ in header_fields(head) if n == "received")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sanitized(pid):
    """Under ASan freed memory sits in quarantine: RSS says nothing."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def domain_of(length):
    """A syntactically valid domain of exactly length octets: labels of at
    most 63 octets, each followed by a dot, then "test"."""
    left, labels = length - len("test"), []
    while left > 0:
        n = min(63, left - 1)
        if left - (n + 1) == 1:         # no room for a last "x."
            n -= 1
        labels.append("d" * n)
        left -= n + 1
    d = "".join(l + "." for l in labels) + "test"
    assert len(d) == length, (length, len(d))
    return d


def nested_mime(depth, subject):
    """A message of depth multipart/mixed parts, each inside the one above.
    The multipart at depth k (the top one is 0) holds a leaf at depth k+1
    and the next multipart; the innermost holds only its leaf. The leaf at
    depth 1 is the text body; the others are attachments depth-N.bin."""
    def part(k):
        b = "b%03d" % k
        leaf_depth = k + 1
        if leaf_depth == 1:
            leaf = ("Content-Type: text/plain; charset=utf-8\r\n\r\n"
                    "top text\r\n")
        else:
            leaf = ("Content-Type: application/octet-stream\r\n"
                    "Content-Disposition: attachment; filename=\"depth-%d.bin\"\r\n"
                    "\r\nleaf at depth %d\r\n" % (leaf_depth, leaf_depth))
        out = "--%s\r\n%s" % (b, leaf)
        if k + 1 < depth:
            out += ("--%s\r\nContent-Type: multipart/mixed; boundary=\"b%03d\"\r\n"
                    "\r\n%s" % (b, k + 1, part(k + 1)))
        return out + "--%s--\r\n" % b
    head = make_message(subject).split(b"\r\n\r\n", 1)[0].decode()
    head = head.replace("Content-Type: text/plain; charset=utf-8",
                        "Content-Type: multipart/mixed; boundary=\"b000\"")
    return (head + "\r\n\r\n" + part(0)).encode()


class SmtpLimitsTest(SmtpTestCase):
    inboxes = ("bot", LONG_LOCAL)

    def only(self, subject, local="bot"):
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, "want exactly one %r, got %r"
                         % (subject, got))
        return got[0]

    def assertSessionWorks(self, c, subject=None):
        """RSET, then a whole new transaction on the same connection."""
        self.assertReply(c.cmd("RSET"), 250)
        subject = subject or harness.uniq("after-")
        r = send_mail(self.port, "again@client.gentd.test", [self.env.addr()],
                      make_message(subject), conn=c)
        self.assertReply(r, 250, "2.0.0")
        self.only(subject)

    def begin_data(self, c, rcpt=None):
        self.assertReply(c.cmd("MAIL FROM:<loop@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % (rcpt or self.env.addr())), 250)
        self.assertReply(c.cmd("DATA"), 354)

    def rss_guard(self):
        """A check that gentd's RSS grew by less than RSS_GROWTH_MAX_KIB
        since this call (skipped under ASan)."""
        pid = self.srv.proc.pid
        before = rss_kib(pid)

        def check():
            if sanitized(pid):
                return
            grown = rss_kib(pid) - before
            self.assertLess(grown, RSS_GROWTH_MAX_KIB,
                            "RSS grew by %d KiB" % grown)
        return check

    def get_bounded(self, msg_id, local="bot"):
        """GET /v1/messages/{id}/, timed; the body."""
        t0 = time.monotonic()
        body = self.env.message(msg_id, local)
        self.assertLess(time.monotonic() - t0, API_REPLY_SECONDS)
        self.assertLess(len(self.srv.last_body), 4 * 1024 * 1024)
        return body

    # -- mail loops: Received: fields (RFC 5321 6.3) --

    def test_50_received_fields_accepted(self):
        subject = harness.uniq("hops50-")
        sent = with_hops(MAX_HOPS, subject)
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        raw = self.env.raw(self.only(subject)["id"])
        split_stored(raw, sent)                     # ours on top, then theirs
        self.assertEqual(count_received(raw), MAX_HOPS + 1)

    def test_51_received_fields_refused_and_session_goes_on(self):
        subject = harness.uniq("hops51-")
        c = self.conn(timeout=10)
        c.ehlo()
        self.begin_data(c)
        c.send(dot_stuff(with_hops(MAX_HOPS + 1, subject)))
        r = self.assertReply(c.reply(), 554, "5.4.6")
        self.assertIn("Too many hops", r.last)
        self.assertEqual(self.env.by_subject(subject), [])
        # The transaction is over: DATA needs a new MAIL and RCPT.
        self.assertReply(c.cmd("DATA"), 503)
        self.assertSessionWorks(c)
        # And MAIL again on the same connection takes a 50-hop message.
        ok = harness.uniq("hops51-then50-")
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()],
                      with_hops(MAX_HOPS, ok), conn=c)
        self.assertReply(r, 250, "2.0.0")
        self.only(ok)
        self.assertIn("mail loop", self.srv.log_text())

    def test_1000_received_fields_refused(self):
        subject = harness.uniq("hops1000-")
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()],
                      with_hops(1000, subject))
        self.assertReply(r, 554, "5.4.6")
        self.assertEqual(self.env.by_subject(subject), [])

    def test_received_names_in_any_case_count(self):
        subject = harness.uniq("hops-case-")
        names = lambda i: ("RECEIVED", "received", "Received ", "ReCeIvEd")[i % 4]
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()],
                      with_hops(MAX_HOPS + 1, subject, name=names))
        self.assertReply(r, 554, "5.4.6")
        self.assertEqual(self.env.by_subject(subject), [])

    def test_received_in_body_and_look_alikes_do_not_count(self):
        """50 real hops; the body quotes 100 Received: lines, and X-Received,
        Received-SPF and a folded line reading "Received:" are other fields."""
        subject = harness.uniq("hops-body-")
        body = "".join("Received: from quoted%d.test by body.test\r\n" % i
                       for i in range(100))
        sent = (b"X-Received: by 2002:a05::1 with SMTP id x\r\n"
                b"Received-SPF: pass (client.gentd.test)\r\n"
                b"X-Note: a folded field\r\n Received: not a field\r\n"
                + with_hops(MAX_HOPS, subject, body=body))
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        raw = self.env.raw(self.only(subject)["id"])
        self.assertTrue(raw.endswith(sent))

    # -- a header section of 100 KiB --

    def test_header_100k_one_folded_field_is_stored(self):
        """No cap on the header section but the message size (25M here) and
        the line cap (64 KiB): a 100 KiB field folded into 1600 lines is
        stored whole, and the API gives it back unfolded."""
        check_rss = self.rss_guard()
        subject = harness.uniq("hdr-folded-")
        chunk = "f" * 62
        value = "\r\n ".join(chunk for _ in range(100 * 1024 // 64))
        sent = make_message(subject, headers=[("X-Big", value)])
        self.assertGreater(len(sent), 100 * 1024)
        r = send_mail(self.port, "big@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        m = self.only(subject)
        self.assertTrue(self.env.raw(m["id"]).endswith(sent))
        full = self.get_bounded(m["id"])
        big = [h["value"] for h in full["headers"] if h["name"] == "X-Big"]
        self.assertEqual(len(big), 1)
        self.assertEqual(big[0].replace(" ", ""), chunk * (100 * 1024 // 64))
        self.assertEqual(full["subject"], subject)
        check_rss()

    def test_header_100k_many_fields_is_stored_and_listed_up_to_the_cap(self):
        """2000 fields (100 KiB) are stored; the API lists the first
        MIME_MAX_HEADERS of them, ours first."""
        check_rss = self.rss_guard()
        subject = harness.uniq("hdr-many-")
        fields = [("X-Filler-%04d" % i, "v" * 36) for i in range(2000)]
        sent = make_message(subject, headers=fields)
        self.assertGreater(len(sent), 100 * 1024)
        r = send_mail(self.port, "big@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        m = self.only(subject)
        raw = self.env.raw(m["id"])
        self.assertTrue(raw.endswith(sent))
        full = self.get_bounded(m["id"])
        names = [h["name"] for h in full["headers"]]
        self.assertEqual(len(names), MIME_MAX_HEADERS)
        self.assertEqual(names[:2], ["Authentication-Results", "Received"])
        # In order, cut at the cap (wherever the fillers start).
        first = names.index("X-Filler-0000")
        self.assertEqual(names[first:], ["X-Filler-%04d" % i for i in
                                         range(MIME_MAX_HEADERS - first)])
        self.assertEqual(full["subject"], subject)
        check_rss()

    def test_header_line_over_64k_is_refused(self):
        """One unfolded 100 KiB header line is over the data line cap:
        554 5.6.0, nothing stored, the session goes on."""
        subject = harness.uniq("hdr-line-")
        c = self.conn(timeout=15)
        c.ehlo()
        self.begin_data(c)
        c.send(dot_stuff(make_message(subject,
                                      headers=[("X-Line", "x" * (100 * 1024))])))
        self.assertReply(c.reply(), 554, "5.6.0")
        self.assertEqual(self.env.by_subject(subject), [])
        self.assertSessionWorks(c)

    def test_header_line_at_the_64k_cap_is_stored(self):
        subject = harness.uniq("hdr-line64k-")
        name = "X-Line: "
        sent = make_message(subject, headers=[
            ("X-Line", "x" * (DATA_LINE_MAX - len(name)))])
        r = send_mail(self.port, "big@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        self.assertTrue(self.env.raw(self.only(subject)["id"]).endswith(sent))

    # -- MIME nested 100 deep --

    def test_mime_nested_100_deep(self):
        """Stored (250) and flagged malformed: the parts down to depth
        MIME_MAX_DEPTH are read (the text at depth 1, attachments at 2..32),
        deeper ones are skipped; the raw message is kept whole."""
        check_rss = self.rss_guard()
        subject = harness.uniq("mime100-")
        sent = nested_mime(100, subject)
        r = send_mail(self.port, "deep@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        m = self.only(subject)
        self.assertTrue(self.env.raw(m["id"]).endswith(sent))
        full = self.get_bounded(m["id"])
        self.assertTrue(full["malformed"])
        self.assertEqual(full["trace"]["mime"], {
            "parsed": True, "truncated": True,
            "attachments": MIME_MAX_DEPTH - 1})
        self.assertEqual(full["text_body"].strip(), "top text")
        self.assertEqual([a["filename"] for a in full["attachments"]],
                         ["depth-%d.bin" % d for d in range(2, MIME_MAX_DEPTH + 1)])
        self.assertTrue(full["has_attachments"])
        # The deepest attachment read gives its bytes back.
        a = full["attachments"][-1]
        st, _, _ = self.srv.request(
            "GET", "/v1/messages/%s/attachments/%s/" % (m["id"], a["id"]),
            token=self.env.tokens["bot"])
        self.assertEqual(st, 200)
        self.assertEqual(self.srv.last_body.strip(),
                         b"leaf at depth %d" % MIME_MAX_DEPTH)
        # The list and the API as a whole still answer.
        self.assertEqual(self.env.by_subject(subject)[0]["id"], m["id"])
        st, _, _ = self.srv.request("GET", "/healthz")
        self.assertEqual(st, 200)
        check_rss()

    def test_mime_nested_at_the_depth_limit_is_not_truncated(self):
        subject = harness.uniq("mime32-")
        sent = nested_mime(MIME_MAX_DEPTH, subject)
        r = send_mail(self.port, "deep@client.gentd.test", [self.env.addr()], sent)
        self.assertReply(r, 250, "2.0.0")
        full = self.get_bounded(self.only(subject)["id"])
        self.assertFalse(full["malformed"])
        self.assertEqual(full["trace"]["mime"]["truncated"], False)
        self.assertEqual(len(full["attachments"]), MIME_MAX_DEPTH - 1)

    # -- address limits (RFC 5321 4.5.3.1) --

    def test_local_part_64_accepted_65_refused_at_rcpt(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<%s@client.gentd.test>" % LONG_LOCAL), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr("m" * 65)),
                         501, "5.5.4")
        # Quotes are part of the local part: 64 octets with them is not
        # refused as too long (no such inbox), 65 is.
        self.assertReply(c.cmd('RCPT TO:<"%s"@%s>' % ("q" * 62, self.env.domain)),
                         550, "5.1.1")
        self.assertReply(c.cmd('RCPT TO:<"%s"@%s>' % ("q" * 63, self.env.domain)),
                         501, "5.5.4")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr(LONG_LOCAL)),
                         250, "2.1.5")
        subject = harness.uniq("local64-")
        self.assertReply(c.cmd("DATA"), 354)
        c.send(dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 250, "2.0.0")
        self.only(subject, LONG_LOCAL)

    def test_path_256_passes_257_refused_at_rcpt(self):
        """<mailbox> of 256 octets passes the length checks (and is then
        looked up: no such inbox); 257 is 501 Path too long."""
        local = "p" * 64
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<paths@client.gentd.test>"), 250)
        for path_len, code, enh in ((256, 550, "5.1.1"), (257, 501, "5.5.4")):
            path = "<%s@%s>" % (local, domain_of(path_len - len(local) - 3))
            self.assertEqual(len(path), path_len)
            self.assertReply(c.cmd("RCPT TO:" + path), code, enh,
                             msg="path of %d octets" % path_len)
        # A 256-octet domain is past the parser's own cap.
        self.assertReply(c.cmd("RCPT TO:<a@%s>" % domain_of(256)), 501, "5.5.4")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)

    def test_mail_from_boundaries_that_hold(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<%s@client.gentd.test>" % ("s" * 64)), 250)
        self.assertReply(c.cmd("RSET"), 250)
        path = "<%s@%s>" % ("s" * 64, domain_of(256 - 64 - 3))
        self.assertEqual(len(path), 256)
        self.assertReply(c.cmd("MAIL FROM:" + path), 250)
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@%s>" % domain_of(256)), 501, "5.5.4")

    def test_mail_from_local_part_65_refused(self):
        """The engine's path parser counts the local part (quotes
        included) against 64 octets at MAIL as at RCPT."""
        c = self.conn()
        c.ehlo()
        r = self.assertReply(c.cmd("MAIL FROM:<%s@client.gentd.test>" % ("s" * 65)),
                             501, "5.5.4")
        self.assertIn("local part over 64 octets", r.text)
        self.assertReply(c.cmd('MAIL FROM:<"%s"@client.gentd.test>' % ("s" * 63)), 501)
        self.assertReply(c.cmd('MAIL FROM:<"%s"@client.gentd.test>' % ("s" * 62)), 250)

    def test_mail_from_path_257_refused(self):
        """A reverse-path is added up from "<" to ">": 256 octets pass,
        257 do not."""
        c = self.conn()
        c.ehlo()
        path = "<%s@%s>" % ("s" * 64, domain_of(257 - 64 - 3))
        self.assertEqual(len(path), 257)
        r = self.assertReply(c.cmd("MAIL FROM:" + path), 501, "5.5.4")
        self.assertIn("path over 256 octets", r.text)
        path = "<%s@%s>" % ("s" * 64, domain_of(256 - 64 - 3))
        self.assertReply(c.cmd("MAIL FROM:" + path), 250)


class SmtpHopLimitConfTest(SmtpTestCase):
    """smtp_max_hops is the limit: 3 fields pass, 4 do not."""
    inboxes = ("bot",)
    smtp_conf = {"smtp_max_hops": "3"}

    def test_configured_limit(self):
        ok, over = harness.uniq("hops3-"), harness.uniq("hops4-")
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()],
                      with_hops(3, ok))
        self.assertReply(r, 250, "2.0.0")
        r = send_mail(self.port, "loop@client.gentd.test", [self.env.addr()],
                      with_hops(4, over))
        self.assertReply(r, 554, "5.4.6")
        self.assertIn("over 3 Received", r.last)
        self.assertEqual(len(self.env.by_subject(ok)), 1)
        self.assertEqual(self.env.by_subject(over), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
