"""
test_smtp_tls.py - STARTTLS on the inbound SMTP server: delivery over TLS,
the EHLO keywords before and after, the state reset, plaintext injection
(RELIABILITY.md row 4, CVE-2011-0411), smuggling inside TLS (row 2), the
TLS 1.2 minimum (row 24: a TLS 1.0/1.1-only client is refused and the
server stays usable), certificate reload on SIGHUP (row 24: new sessions
get the new certificate, open ones keep working, a broken reload keeps
the old one), and a server without a certificate.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_tls.py
"""

import hashlib
import os
import re
import select
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
import warnings

import harness
from smtp_fixture import (SmtpTestCase, SmtpConn, Closed, make_message,
                          dot_stuff, send_mail, has_lone_cr_lf, insecure_context,
                          our_received, self_signed_cert,
                          HOST, HOSTNAME)
from test_smtp_abuse import FAKE_EODS

LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"      # lets 1.0/1.1 suites be offered
# What a refused old-version handshake says (either side's alert).
VERSION_REFUSED = re.compile(r"(?i)protocol[ _.]version|unsupported[ _.]protocol|"
                             r"wrong[ _.]version")


def legacy_context(lo, hi):
    """A client offering only TLS versions lo..hi (below 1.2); None when
    this Python/OpenSSL cannot build one."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = insecure_context()
            ctx.set_ciphers(LEGACY_CIPHERS)
            ctx.minimum_version = lo
            ctx.maximum_version = hi
    except (ValueError, ssl.SSLError, AttributeError):
        return None
    return ctx


def legacy_server_context(cert, key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers(LEGACY_CIPHERS)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.load_cert_chain(cert, key)
    return ctx


class SmtpTlsTest(SmtpTestCase):
    tls = True
    inboxes = ("bot",)

    def only(self, subject):
        got = self.env.by_subject(subject)
        self.assertEqual(len(got), 1, got)
        return got[0]

    def no_plaintext_after_220(self, c, wait=0.3):
        """Nothing but the 220 arrives before our ClientHello. Returns False
        when the server closed meanwhile."""
        self.assertEqual(c.buf, b"", "bytes after the 220: %r" % c.buf)
        r, _, _ = select.select([c.sock], [], [], wait)
        if not r:
            return True
        try:
            data = c.sock.recv(4096)
        except (ConnectionResetError, ConnectionAbortedError):
            return False
        if data:
            self.fail("plaintext after the 220 to STARTTLS: %r" % data)
        return False

    def test_smtplib_starttls_delivery(self):
        subject = harness.uniq("tls-")
        msg = make_message(subject)
        with smtplib.SMTP(HOST, self.port, local_hostname="tls.gentd.test",
                          timeout=10) as s:
            s.ehlo()
            self.assertTrue(s.has_extn("starttls"))
            code, _ = s.starttls(context=insecure_context())
            self.assertEqual(code, 220)
            s.ehlo()
            self.assertFalse(s.has_extn("starttls"))
            self.assertTrue(s.has_extn("pipelining"))
            self.assertEqual(s.sendmail("tls@client.gentd.test", [self.env.addr()],
                                        msg), {})
        m = self.only(subject)
        self.assertEqual(m["smtp"], {"client_ip": "127.0.0.1",
                                     "helo": "tls.gentd.test", "tls": True})
        raw = self.env.raw(m["id"])
        self.assertRegex(our_received(raw, msg),
                         rb"^Received: from tls\.gentd\.test \(\[127\.0\.0\.1\]\)\r\n"
                         rb"\tby mx\.gentd\.test \(gentd\) with ESMTPS id q_")
        self.assertFalse(has_lone_cr_lf(raw))

    def test_certificate_is_ours(self):
        c = self.conn()
        c.ehlo()
        c.starttls()
        cert = c.sock.getpeercert(binary_form=True)
        self.assertTrue(cert)
        with open(self.cert, "rb") as f:
            pem = f.read().decode()
        self.assertEqual(ssl.PEM_cert_to_DER_cert(pem), cert)
        self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))

    def test_ehlo_keywords_before_and_after_tls(self):
        c = self.conn()
        before = c.ehlo().texts
        self.assertIn("STARTTLS", before)
        c.starttls()
        after = c.ehlo("after.gentd.test").texts
        self.assertNotIn("STARTTLS", after)
        self.assertEqual([k for k in before if k != "STARTTLS"], after)

    def test_starttls_resets_the_session(self):
        c = self.conn()
        c.ehlo("before.gentd.test")
        self.assertReply(c.cmd("MAIL FROM:<before@client.gentd.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        c.starttls()
        # Greeted state again: no MAIL without a new EHLO, no old envelope.
        self.assertReply(c.cmd("MAIL FROM:<a@client.gentd.test>"), 503, "5.5.1")
        c.ehlo("after.gentd.test")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 503, "5.5.1")
        subject = harness.uniq("reset-")
        r = send_mail(self.port, "after@client.gentd.test", [self.env.addr()],
                      make_message(subject), conn=c)
        self.assertReply(r, 250)
        m = self.only(subject)
        self.assertEqual(m["smtp"]["helo"], "after.gentd.test")
        self.assertEqual(m["mail_from"], "after@client.gentd.test")
        self.assertTrue(m["smtp"]["tls"])

    def test_starttls_twice(self):
        c = self.conn()
        c.ehlo()
        c.starttls()
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1")
        self.assertReply(c.cmd("NOOP"), 250)      # still inside TLS, fine

    def test_starttls_before_ehlo_and_with_argument(self):
        c = self.conn()
        self.assertReply(c.cmd("STARTTLS"), 503, "5.5.1")
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS now"), 501, "5.5.4")
        c.starttls()
        self.assertReply(c.ehlo(), 250)

    def test_injection_noop(self):
        """STARTTLS\\r\\nNOOP\\r\\n in one segment: the NOOP is dropped."""
        c = self.conn()
        c.ehlo()
        c.send(b"STARTTLS\r\nNOOP\r\n")
        self.assertReply(c.reply(), 220, "2.0.0")
        self.no_plaintext_after_220(c)
        c.handshake()
        c.send(b"EHLO inside.gentd.test\r\n")
        r = c.reply()
        # The first reply inside TLS answers our EHLO, not the NOOP.
        self.assertEqual(r.code, 250, r)
        self.assertEqual(r.texts[0], HOSTNAME, r)
        self.assertGreater(len(r.lines), 1, "a one-line 250 (the NOOP's?): %r" % r)
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertEqual(c.buf, b"")

    def test_injection_mail(self):
        """STARTTLS\\r\\nMAIL FROM:...\\r\\n: the MAIL never takes effect."""
        c = self.conn()
        c.ehlo()
        c.send(b"STARTTLS\r\nMAIL FROM:<a@b.test>\r\n")
        self.assertReply(c.reply(), 220)
        self.no_plaintext_after_220(c)
        c.handshake()
        r = c.cmd("EHLO inside.gentd.test")
        self.assertEqual(r.code, 250)
        self.assertEqual(r.texts[0], HOSTNAME, r)
        # No MAIL in effect: RCPT is out of sequence; a MAIL of ours works.
        self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<mine@client.gentd.test>"), 250)
        self.assertEqual(c.buf, b"")

    def test_injection_whole_transaction(self):
        """A whole injected transaction after STARTTLS stores nothing."""
        subject = harness.uniq("injected-")
        c = self.conn()
        c.ehlo()
        c.send(b"STARTTLS\r\nEHLO evil.test\r\nMAIL FROM:<evil@client.gentd.test>\r\n"
               b"RCPT TO:<" + self.env.addr().encode() + b">\r\nDATA\r\n" +
               dot_stuff(make_message(subject)))
        self.assertReply(c.reply(), 220)
        self.no_plaintext_after_220(c)
        c.handshake()
        r = c.cmd("EHLO inside.gentd.test")
        self.assertEqual(r.texts[0], HOSTNAME, r)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(self.env.by_subject(subject), [])

    def test_injection_split_segment(self):
        """STARTTLS and a NOOP in two quick writes: the NOOP is either
        dropped with the plaintext or breaks the handshake; it is never
        answered inside TLS."""
        c = self.conn()
        c.ehlo()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(b"STARTTLS\r\n")
        c.send(b"NOOP\r\n")
        self.assertReply(c.reply(), 220)
        try:
            if not self.no_plaintext_after_220(c, wait=0.1):
                raise Closed("closed before the handshake")
            c.handshake()
            r = c.cmd("EHLO inside.gentd.test")
        except (ssl.SSLError, OSError, Closed):
            # The server took the NOOP as a broken ClientHello and hung up:
            # fine, and it still serves others.
            c.close()
            c2 = self.conn()
            self.assertReply(c2.cmd("NOOP"), 250)
            return
        self.assertEqual(r.code, 250)
        self.assertEqual(r.texts[0], HOSTNAME, r)

    def test_garbage_instead_of_handshake(self):
        c = self.conn()
        c.ehlo()
        self.assertReply(c.cmd("STARTTLS"), 220)
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        self.assertTrue(c.wait_closed(5), "not closed after a bad handshake")
        c2 = self.conn()
        c2.ehlo()
        c2.starttls()
        self.assertReply(c2.cmd("NOOP"), 250)

    def test_smuggling_inside_tls(self):
        for i, eod in enumerate(FAKE_EODS):
            outer, inner = harness.uniq("tls-outer%d-" % i), harness.uniq("tls-smug%d-" % i)
            c = self.conn()
            c.ehlo()
            c.starttls()
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<attacker@client.gentd.test>"), 250)
            self.assertReply(c.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(make_message(outer, body="") + b"outer" + eod +
                   b"MAIL FROM:<admin@client.gentd.test>\r\nRCPT TO:<" +
                   self.env.addr().encode() + b">\r\nDATA\r\n" +
                   make_message(inner, body="smuggled\r\n") + b".\r\nQUIT\r\n")
            rs, closed = c.replies_until_close(timeout=5)
            with self.subTest(eod=eod):
                self.assertEqual([r.code for r in rs], [554, 221], rs)
                self.assertTrue(closed)
                self.assertEqual(self.env.by_subject(outer), [])
                self.assertEqual(self.env.by_subject(inner), [])

    # -- TLS 1.2 minimum (row 24; src/core/tls.c sets TLS1_2_VERSION) --

    def control_version(self, client_ctx):
        """The version client_ctx negotiates with a local server that
        accepts TLS 1.0 and up (None if none): shows the client really
        offers the old versions, so a refusal by gentd is gentd's doing."""
        server_ctx = legacy_server_context(self.cert, self.key)
        lsock = socket.socket()
        self.addCleanup(lsock.close)
        lsock.bind((HOST, 0))
        lsock.listen(1)
        lsock.settimeout(10)

        def serve():
            try:
                a, _ = lsock.accept()
                a.settimeout(10)
                with server_ctx.wrap_socket(a, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            with socket.create_connection(lsock.getsockname(), timeout=10) as raw:
                with client_ctx.wrap_socket(raw) as s:
                    return s.version()
        except (OSError, ssl.SSLError):
            return None
        finally:
            t.join(10)

    def assertServerStillServesTls12(self):
        """Right after: TLS 1.2 exactly (the minimum) and the default
        (1.3 here) both work, and a message goes through."""
        for label, hi in (("1.2 only", ssl.TLSVersion.TLSv1_2), ("default", None)):
            ctx = insecure_context()
            if hi is not None:
                ctx.maximum_version = hi
            c = self.conn()
            c.ehlo()
            c.starttls(ctx)
            version = c.sock.version()
            with self.subTest(client=label):
                self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
                if hi is not None:
                    self.assertEqual(version, "TLSv1.2")
            c.ehlo("modern.gentd.test")
            subject = harness.uniq("tls12-")
            r = send_mail(self.port, "modern@client.gentd.test", [self.env.addr()],
                          make_message(subject), conn=c)
            self.assertReply(r, 250)
            self.assertTrue(self.only(subject)["smtp"]["tls"])
            c.close()

    def test_tls_1_0_and_1_1_refused(self):
        """A client offering only TLS 1.0 and 1.1 (and each alone): the
        STARTTLS handshake fails with a protocol-version alert."""
        V = ssl.TLSVersion
        cases = [("1.0 and 1.1", V.TLSv1, V.TLSv1_1), ("1.0", V.TLSv1, V.TLSv1),
                 ("1.1", V.TLSv1_1, V.TLSv1_1)]
        ctx = legacy_context(V.TLSv1, V.TLSv1_1)
        if ctx is None or self.control_version(ctx) is None:
            self.skipTest("this OpenSSL cannot build a TLS 1.0/1.1 client; "
                          "test_tls_1_1_refused_s_client covers it")
        for label, lo, hi in cases:
            ctx = legacy_context(lo, hi)
            with self.subTest(offers=label):
                self.assertIn(self.control_version(ctx), ("TLSv1", "TLSv1.1"))
                c = self.conn()
                c.ehlo()
                with self.assertRaises((ssl.SSLError, ConnectionError)) as cm:
                    c.starttls(ctx)
                self.assertRegex(str(cm.exception), VERSION_REFUSED)
                c.close()
        self.assertServerStillServesTls12()

    def test_tls_1_1_refused_s_client(self):
        """The same with another client: openssl s_client -tls1_1."""
        openssl = shutil.which("openssl")
        if not openssl:
            self.skipTest("no openssl command")
        p = subprocess.run(
            [openssl, "s_client", "-connect", "%s:%d" % (HOST, self.port),
             "-starttls", "smtp", "-name", "s-client.gentd.test", "-tls1_1",
             "-cipher", LEGACY_CIPHERS, "-servername", HOSTNAME],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        out = p.stdout + p.stderr
        if "no protocols available" in out:
            self.skipTest("this openssl cannot offer TLS 1.1 at all")
        self.assertNotEqual(p.returncode, 0, out[-2000:])
        self.assertRegex(out, VERSION_REFUSED)
        # A session would print "New, TLSv1.1, Cipher is ..."; a refused
        # one "New, (NONE), Cipher is (NONE)".
        self.assertNotRegex(out, r"New, TLSv1(\.1)?, Cipher is")
        self.assertServerStillServesTls12()

    def test_plain_delivery_still_works_with_tls_offered(self):
        subject = harness.uniq("plain-")
        r = send_mail(self.port, "plain@client.gentd.test", [self.env.addr()],
                      make_message(subject))
        self.assertReply(r, 250)
        m = self.only(subject)
        self.assertFalse(m["smtp"]["tls"])
        self.assertIn(b"with ESMTP id", self.env.raw(m["id"]))
        self.assertNotIn(b"with ESMTPS", self.env.raw(m["id"]))


RELOADED = "TLS certificate reloaded"
NOT_RELOADED = "TLS certificate not reloaded"


def pem_fingerprint(pem):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode())).hexdigest()


class SmtpTlsReloadTest(SmtpTestCase):
    """SIGHUP loads tls_cert/tls_key again (RELIABILITY.md row 24). Each
    test installs its own pairs over the configured files, so the order
    of the tests does not matter; the server is this class's own."""
    tls = True
    inboxes = ("bot",)

    def new_pair(self, cn):
        """(cert PEM, key PEM) of a new self-signed pair for cn."""
        d = tempfile.mkdtemp(prefix="gentd-reload-", dir=self.cert_dir)
        cert, key = self_signed_cert(d, cn=cn)
        with open(cert, "rb") as f, open(key, "rb") as g:
            return f.read(), g.read()

    def write_files(self, cert=None, key=None):
        """Overwrite the configured files in place (as a renewal does)."""
        for path, data in ((self.cert, cert), (self.key, key)):
            if data is not None:
                with open(path, "wb") as f:
                    f.write(data)

    def install(self, cn):
        """A new pair in the configured files; its fingerprint."""
        cert, key = self.new_pair(cn)
        self.write_files(cert, key)
        return pem_fingerprint(cert)

    def peer_fingerprint(self, c=None):
        """The certificate a new STARTTLS session (or c's) is given."""
        if c is None:
            c = SmtpConn(self.port)
            try:
                c.ehlo()
                c.starttls()
                return self.peer_fingerprint(c)
            finally:
                c.close()
        return hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest()

    def log_lines(self, needle):
        return [l for l in self.srv.log_text().splitlines() if needle in l]

    def sighup_until_served(self, fp, what):
        """SIGHUP, then (bounded) wait until new sessions get fp."""
        self.srv.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: self.peer_fingerprint() == fp, timeout=10,
                           interval=0.1, what=what)
        self.assertTrue(self.srv.running())

    def test_reload_serves_new_certificate(self):
        a = self.install("reload-a.gentd.test")
        self.sighup_until_served(a, "certificate A after SIGHUP")
        b = self.install("reload-b.gentd.test")
        # New files alone change nothing: only the signal loads them.
        self.assertEqual(self.peer_fingerprint(), a)
        self.sighup_until_served(b, "certificate B after SIGHUP")
        lines = harness.wait_until(
            lambda: [l for l in self.log_lines(RELOADED)
                     if "CN=reload-b.gentd.test" in l],
            what="the reload line for B")
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("level=info", lines[0])
        self.assertRegex(lines[0], r"not_after=20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ")
        self.assertIn("other config changes need a restart", lines[0])
        # A message over the new certificate.
        c = self.conn()
        c.ehlo()
        c.starttls()
        self.assertEqual(self.peer_fingerprint(c), b)
        c.ehlo()
        subject = harness.uniq("reloaded-")
        r = send_mail(self.port, "new@client.gentd.test", [self.env.addr()],
                      make_message(subject), conn=c)
        self.assertReply(r, 250)
        self.assertTrue(self.env.by_subject(subject)[0]["smtp"]["tls"])

    def test_session_opened_before_reload_keeps_working(self):
        a = self.install("before-a.gentd.test")
        self.sighup_until_served(a, "certificate A after SIGHUP")
        old = self.conn()
        old.ehlo()
        old.starttls()
        self.assertEqual(self.peer_fingerprint(old), a)
        old.ehlo("old.gentd.test")
        # A transaction spanning the reload.
        self.assertReply(old.cmd("MAIL FROM:<old@client.gentd.test>"), 250)
        self.assertReply(old.cmd("RCPT TO:<%s>" % self.env.addr()), 250)
        b = self.install("before-b.gentd.test")
        self.sighup_until_served(b, "certificate B after SIGHUP")
        subject = harness.uniq("kept-")
        self.assertReply(old.cmd("DATA"), 354)
        old.send(dot_stuff(make_message(subject)))
        self.assertReply(old.reply(), 250)
        # And a whole second one on the same session.
        subject2 = harness.uniq("kept2-")
        r = send_mail(self.port, "old@client.gentd.test", [self.env.addr()],
                      make_message(subject2), conn=old)
        self.assertReply(r, 250)
        self.assertReply(old.cmd("QUIT"), 221)
        for s in (subject, subject2):
            m = self.env.by_subject(s)
            self.assertEqual(len(m), 1, (s, m))
            self.assertEqual(m[0]["smtp"]["helo"], "old.gentd.test")
            self.assertTrue(m[0]["smtp"]["tls"])
        self.assertEqual(self.peer_fingerprint(), b)

    def test_broken_reload_keeps_serving(self):
        b = self.install("broken-b.gentd.test")
        self.sighup_until_served(b, "certificate B after SIGHUP")
        cert_b, key_b = open(self.cert, "rb").read(), open(self.key, "rb").read()
        other_cert, _ = self.new_pair("broken-other.gentd.test")
        cases = [
            ("garbage certificate", b"this is not a PEM certificate\n", key_b,
             "cannot load the certificate"),
            ("key of another certificate", other_cert, key_b,
             "does not match the certificate"),
            ("garbage key", cert_b, b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
             b"-----END PRIVATE KEY-----\n", "cannot load the key"),
            ("missing key file", cert_b, None, "cannot load the key"),
        ]
        for what, cert, key, reason in cases:
            with self.subTest(what):
                self.write_files(cert, key)
                if key is None:
                    os.unlink(self.key)
                before = len(self.log_lines(NOT_RELOADED))
                self.srv.send_signal(signal.SIGHUP)
                lines = harness.wait_until(
                    lambda: self.log_lines(NOT_RELOADED)[before:],
                    timeout=10, what="the reload error in the log")
                self.assertEqual(len(lines), 1, lines)
                self.assertIn("level=error", lines[0])
                self.assertIn("still serving the previous one", lines[0])
                self.assertIn(reason, lines[0])
                self.assertTrue(self.srv.running())
                self.assertEqual(self.peer_fingerprint(), b)
                subject = harness.uniq("after-broken-")
                c = self.conn()
                c.ehlo()
                c.starttls()
                c.ehlo()
                self.assertReply(send_mail(self.port, "b@client.gentd.test",
                                           [self.env.addr()],
                                           make_message(subject), conn=c), 250)
                c.close()
                self.write_files(cert_b, key_b)
        # Good files again: the next SIGHUP takes them.
        c = self.install("broken-c.gentd.test")
        self.sighup_until_served(c, "certificate C after the broken reloads")

    def test_sighup_during_a_load(self):
        """The files are read off the loop, and a SIGHUP that comes while a
        load runs is not lost. The certificate path is made a FIFO, so the
        load blocks until the test writes into it."""
        a = self.install("slow-a.gentd.test")
        self.sighup_until_served(a, "certificate A after SIGHUP")
        c_cert, c_key = self.new_pair("slow-c.gentd.test")
        b_cert, _ = self.new_pair("slow-b.gentd.test")
        fifo = os.path.join(tempfile.mkdtemp(dir=self.cert_dir), "fifo")
        os.mkfifo(fifo)
        os.unlink(self.cert)
        os.link(fifo, self.cert)
        writer = []

        def open_writer():
            try:
                writer.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                return True
            except OSError:        # ENXIO: no reader yet
                return False

        def release():
            for fd in writer:
                os.close(fd)
            writer.clear()
        self.addCleanup(release)
        self.addCleanup(lambda: open_writer() and release())
        self.srv.send_signal(signal.SIGHUP)
        harness.wait_until(open_writer, timeout=10,
                           what="the reload reading the certificate")
        # The load now waits for our bytes; the loop must not.
        self.assertEqual(self.peer_fingerprint(), a)
        # A second SIGHUP during the load, then new files: they must win.
        self.srv.send_signal(signal.SIGHUP)
        self.assertEqual(self.peer_fingerprint(), a)
        self.write_files(key=c_key)
        tmp = self.cert + ".new"
        with open(tmp, "wb") as f:
            f.write(c_cert)
        os.replace(tmp, self.cert)
        os.write(writer[0], b_cert)     # the first load: B's cert, C's key
        release()
        c = pem_fingerprint(c_cert)
        harness.wait_until(lambda: self.peer_fingerprint() == c, timeout=10,
                           interval=0.1, what="the files of the last SIGHUP")
        self.assertTrue(self.srv.running())


class SmtpNoTlsTest(harness.GentdTestCase):
    server_conf = {"hostname": HOSTNAME}

    def test_starttls_without_certificate(self):
        c = SmtpConn(self.srv.smtp_port)
        self.addCleanup(c.close)
        self.assertEqual(c.greeting.code, 220)
        self.assertNotIn("STARTTLS", c.ehlo().texts)
        r = c.cmd("STARTTLS")
        self.assertEqual(r.code, 502, r)
        self.assertTrue(r.last.startswith("5.5.1"), r)
        r = c.cmd("NOOP")
        self.assertEqual(r.code, 250, r)

    def test_sighup_without_certificate(self):
        """Nothing to reload: one warning, and the server keeps serving."""
        self.srv.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: "no tls_cert configured" in self.srv.log_text(),
                           what="the SIGHUP warning")
        self.assertTrue(self.srv.running())
        c = SmtpConn(self.srv.smtp_port)
        self.addCleanup(c.close)
        self.assertEqual(c.cmd("NOOP").code, 250)

    def test_smtp_start_failure_exits(self):
        """A bad TLS setup (or a taken smtp_listen port) must make `gentd
        serve` exit non-zero, not hang after logging the error."""
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind((HOST, 0))
        busy.listen(1)
        cases = [
            ("tls_cert without tls_key", {"tls_cert": "/nonexistent/cert.pem"},
             "tls_cert and tls_key go together"),
            ("unreadable cert", {"tls_cert": "/nonexistent/cert.pem",
                                 "tls_key": "/nonexistent/key.pem"}, "TLS:"),
            ("smtp_listen in use", {"smtp_listen": "%s:%d" % busy.getsockname()},
             "address already in use"),
        ]
        for what, conf, logged in cases:
            with self.subTest(what):
                g = self.new_server(conf, start=False)
                g.start(wait=False)
                try:
                    harness.wait_until(lambda: logged in g.log_text(), timeout=10,
                                       what="the error in the log")
                    rc = g.wait_exit(timeout=3)
                except AssertionError as e:
                    self.fail("%s: gentd logged the error but did not exit: %s"
                              % (what, str(e).splitlines()[0]))
                self.assertNotEqual(rc, 0, what)

if __name__ == "__main__":
    unittest.main(verbosity=2)
