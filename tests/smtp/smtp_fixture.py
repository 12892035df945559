"""
smtp_fixture.py - helpers for the SMTP integration tests.

    SmtpConn     a raw SMTP client over 127.0.0.1 (exact bytes, pipelining,
                 STARTTLS); every read has a deadline.
    MailEnv      a dnsmasq + gentd pair with a verified domain, inboxes that
                 receive mail and a read token per inbox; message helpers.
    SmtpTestCase one MailEnv per test class (smtp_conf, tls, inboxes).

    class T(SmtpTestCase):
        smtp_conf = {"smtp_max_message": "100K"}

        def test_x(self):
            r = send_mail(self.env.srv.smtp_port, "a@b.test",
                          [self.env.addr()], make_message("hi"))
            self.assertEqual(r.code, 250)
            self.assertEqual(len(self.env.by_subject("hi")), 1)

Run one file by hand:
    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_basic.py
"""

import os
import re
import secrets
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import harness
import dns_fixture

HOST = harness.HOST
HOSTNAME = dns_fixture.GENTD_HOSTNAME        # mx.gentd.test


# --------------------------------------------------------------------------
# A raw SMTP client
# --------------------------------------------------------------------------

class Closed(Exception):
    """The server closed (or reset) the connection before a full reply."""


class Reply:
    def __init__(self, lines):
        self.lines = lines                  # ["250-a", "250 b"] as received
        self.code = int(lines[-1][:3])
        self.texts = [l[4:] for l in lines]

    @property
    def text(self):
        return "\n".join(self.texts)

    @property
    def last(self):
        return self.texts[-1]

    def startswith(self, prefix):
        """Does the final line (without the code) start with prefix?"""
        return self.last.startswith(prefix)

    def __repr__(self):
        return "<Reply %r>" % ("\\n".join(self.lines),)


REPLY_LINE = re.compile(r"^[2-5][0-9][0-9]([ -]|$)")


class SmtpConn:
    """One SMTP connection. Reads never wait past their deadline."""

    def __init__(self, port, timeout=5.0, greet=True):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.eof = False
        self.tls = False
        self.greeting = self.reply() if greet else None

    # -- bytes --

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def try_send(self, data):
        """send; False when the server already closed or reset."""
        try:
            self.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                ssl.SSLError):
            return False
        except OSError:
            return False

    def _fill(self, deadline):
        """Read more into buf; False on EOF/reset. socket.timeout past the
        deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no data before the deadline")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            self.eof = True
            return False
        except ssl.SSLError:
            self.eof = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_line(self, deadline):
        while b"\r\n" not in self.buf:
            if not self._fill(deadline):
                raise Closed("closed before a full line (%r buffered)"
                             % self.buf[:200])
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self, timeout=None):
        """One (possibly multi-line) reply."""
        deadline = time.monotonic() + (timeout or self.timeout)
        lines = []
        for _ in range(1000):
            line = self.read_line(deadline)
            if not REPLY_LINE.match(line):
                raise AssertionError("not an SMTP reply line: %r" % line)
            lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return Reply(lines)
        raise AssertionError("reply with over 1000 lines")

    def replies(self, n, timeout=None):
        """n replies, with one deadline for all of them."""
        deadline = time.monotonic() + (timeout or self.timeout)
        return [self.reply(max(0.01, deadline - time.monotonic()))
                for _ in range(n)]

    def replies_until_close(self, timeout=5.0, limit=100000):
        """Every reply until the server closes (or the deadline passes, or
        limit replies were read). Returns (replies, closed)."""
        deadline = time.monotonic() + timeout
        out = []
        try:
            while len(out) < limit:
                out.append(self.reply(max(0.01, deadline - time.monotonic())))
        except Closed:
            return out, True
        except socket.timeout:
            return out, False
        return out, False

    def cmd(self, line, timeout=None):
        """Send one command line (CRLF added) and read its reply."""
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply(timeout)

    def ehlo(self, name="client.gentd.test"):
        r = self.cmd("EHLO " + name)
        if r.code != 250:
            raise AssertionError("EHLO: %r" % r)
        return r

    def wait_closed(self, timeout=3.0):
        """True when the server closes within timeout; bytes received
        meanwhile stay in buf."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
            return True
        except socket.timeout:
            return False

    def starttls(self, context=None, expect_plain_empty=True):
        """STARTTLS and the handshake. Returns the 220 reply."""
        r = self.cmd("STARTTLS")
        if r.code != 220:
            raise AssertionError("STARTTLS: %r" % r)
        self.handshake(context, expect_plain_empty)
        return r

    def handshake(self, context=None, expect_plain_empty=True):
        if expect_plain_empty and self.buf:
            raise AssertionError("plaintext after the 220 to STARTTLS: %r"
                                 % self.buf)
        self.buf = b""
        self.sock.settimeout(self.timeout)
        self.sock = (context or insecure_context()).wrap_socket(
            self.sock, server_hostname=HOSTNAME)
        self.tls = True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def insecure_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

def make_message(subject, body="Hello from the test suite.\r\n", mail_from=None,
                 to=None, headers=None):
    """A CRLF message (not dot-stuffed) as bytes."""
    hdrs = [("From", mail_from or "Sender <sender@client.gentd.test>"),
            ("To", to or "bot@example.test"),
            ("Subject", subject),
            ("Date", "Mon, 23 Nov 2026 12:00:00 +0000"),
            ("Message-ID", "<%s@client.gentd.test>" % secrets.token_hex(8)),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8")]
    hdrs += list(headers or [])
    text = "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n" + body
    if not text.endswith("\r\n"):
        text += "\r\n"
    return text.encode()


def dot_stuff(data):
    """RFC 5321 4.5.2 transparency, plus the end of data."""
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def send_mail(port, mail_from, rcpts, data, helo="client.gentd.test", conn=None,
              ehlo=True, timeout=10.0):
    """One transaction with a raw client; returns the reply after DATA (or
    the first failing reply). data is the unstuffed message."""
    own = conn is None
    c = conn or SmtpConn(port, timeout=timeout)
    try:
        if own:
            r = c.cmd(("EHLO " if ehlo else "HELO ") + helo)
            if r.code != 250:
                return r
        r = c.cmd("MAIL FROM:<%s>" % mail_from)
        if r.code != 250:
            return r
        ok = 0
        for rc in rcpts:
            r = c.cmd("RCPT TO:<%s>" % rc)
            ok += r.code == 250
        if not ok:
            c.cmd("RSET")
            return r
        r = c.cmd("DATA")
        if r.code != 354:
            return r
        c.send(dot_stuff(data))
        return c.reply(timeout)
    finally:
        if own:
            try:
                c.cmd("QUIT", timeout=2)
            except (Closed, OSError):
                pass
            c.close()


def header_fields(block):
    """[(lower-case name, whole field bytes incl. folding and CRLF)] of a
    block of header fields (bytes)."""
    out = []
    for line in block.split(b"\r\n")[:-1] if block.endswith(b"\r\n") else [block]:
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + line + b"\r\n")
        else:
            out.append((line.split(b":", 1)[0].strip().lower().decode("latin-1"),
                        line + b"\r\n"))
    return out


def split_stored(raw, sent):
    """A stored message is gentd's trace fields (Received, possibly
    Authentication-Results ...) followed by exactly the bytes the client
    sent. Returns the trace fields as for header_fields(); raises
    AssertionError otherwise."""
    if not raw.endswith(sent):
        raise AssertionError("stored bytes do not end with what was sent:\n"
                             "stored %r\nsent   %r" % (raw[-300:], sent[-300:]))
    prefix = raw[:len(raw) - len(sent)]
    fields = header_fields(prefix)
    if not prefix.endswith(b"\r\n") or any(not n or b":" not in f
                                            for n, f in fields):
        raise AssertionError("not header fields before the message: %r" % prefix)
    return fields


def our_received(raw, sent):
    """The one Received field gentd prepended (bytes)."""
    got = [f for n, f in split_stored(raw, sent) if n == "received"]
    if len(got) != 1:
        raise AssertionError("want exactly one Received field of ours, got %r" % got)
    return got[0]


LONE_CR_LF = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def has_lone_cr_lf(data):
    return LONE_CR_LF.search(data) is not None


# --------------------------------------------------------------------------
# A server that receives mail
# --------------------------------------------------------------------------

def verified_domain(srv, dns, session, tries=20):
    """A new domain of the session's tenant, published and verified (the
    verify call is retried, bounded, until it says "verified")."""
    d = dns_fixture.create_domain(srv, session)
    dns_fixture.publish_domain(dns, d)
    last = None
    for _ in range(tries):
        st, _, body = dns_fixture.verify(srv, session, d["domain"])
        last = (st, body)
        if st == 200 and body.get("status") == "verified":
            return body
        time.sleep(0.25)
    raise AssertionError("domain %s not verified: %r" % (d["domain"], last))


class MailEnv:
    """dnsmasq + gentd + one tenant with a verified domain and inboxes.

    inboxes: local parts; each gets an inbox local@domain and a read token
    (self.tokens[local]). srv is made by make_srv(conf, name), a
    harness.Gentd unless a test needs another (strace, tmpfs); dns a
    DnsServer (shared when given)."""

    def __init__(self, conf=None, inboxes=("bot", "bot2"), name="smtp",
                 dns=None, make_srv=None):
        self.own_dns = dns is None
        self.dns = dns or dns_fixture.DnsServer()
        self.srv = None
        try:
            if self.own_dns:
                self.dns.start()
            c = self.dns.gentd_conf()
            c.update(conf or {})
            self.srv = (make_srv or (lambda cf, nm: harness.Gentd(cf, name=nm)))(c, name)
            self.srv.start()
            self.acct = self.srv.new_account(inbox=False)
            self.domain = verified_domain(self.srv, self.dns,
                                          self.acct.session)["domain"]
            self.inboxes, self.tokens = {}, {}
            for local in inboxes:
                self.add_inbox(local)
        except Exception:
            self.cleanup()
            raise

    @property
    def port(self):
        return self.srv.smtp_port

    def addr(self, local="bot"):
        return "%s@%s" % (local, self.domain)

    def add_inbox(self, local):
        st, _, ib = self.srv.request("POST", "/v1/inboxes/",
                                     {"address": self.addr(local)},
                                     token=self.acct.session)
        if st != 201:
            raise AssertionError("inbox %s: %d %r" % (local, st, ib))
        self.inboxes[local] = ib["inbox_id"]
        st, _, tok = self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": ib["inbox_id"], "scopes": ["read"],
            "label": "smtp tests " + local}, token=self.acct.session)
        if st != 201:
            raise AssertionError("token %s: %d %r" % (local, st, tok))
        self.tokens[local] = tok["raw_token"]
        return ib

    # -- reading messages back --

    def messages(self, local="bot", max_pages=50):
        """Every message of the inbox, newest first (bounded paging)."""
        out, cursor = [], None
        for _ in range(max_pages):
            q = "/v1/messages/?limit=200"
            if cursor:
                q += "&cursor=" + urllib.parse.quote(cursor)
            st, _, body = self.srv.request("GET", q, token=self.tokens[local])
            if st != 200:
                raise AssertionError("list messages: %d %r" % (st, body))
            out += body["data"]
            cursor = body.get("next_cursor")
            if not cursor:
                return out
        raise AssertionError("more than %d pages of messages" % max_pages)

    def message(self, msg_id, local="bot"):
        st, _, body = self.srv.request("GET", "/v1/messages/%s/" % msg_id,
                                       token=self.tokens[local])
        if st != 200:
            raise AssertionError("get message: %d %r" % (st, body))
        return body

    def raw(self, msg_id, local="bot"):
        st, _, _ = self.srv.request("GET", "/v1/messages/%s/raw/" % msg_id,
                                    token=self.tokens[local])
        if st != 200:
            raise AssertionError("raw message: %d %r" % (st, self.srv.last_body[:300]))
        return self.srv.last_body

    def by_subject(self, subject, local="bot"):
        return [m for m in self.messages(local) if m.get("subject") == subject]

    def send(self, subject, rcpts=None, mail_from="sender@client.gentd.test",
             body="Hello from the test suite.\r\n", **kw):
        """Deliver a simple message; returns the final reply."""
        rcpts = rcpts or [self.addr()]
        return send_mail(self.port, mail_from, rcpts,
                         make_message(subject, body, to=", ".join(rcpts)), **kw)

    def cleanup(self):
        if self.srv is not None:
            self.srv.cleanup()
        if self.own_dns:
            self.dns.cleanup()


def self_signed_cert(directory, cn=HOSTNAME):
    """(cert_path, key_path) of a new self-signed pair in directory."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=" + cn, "-days", "2",
                        "-keyout", key, "-out", cert],
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % p.stderr)
    return cert, key


# --------------------------------------------------------------------------
# Test case base
# --------------------------------------------------------------------------

class SmtpTestCase(harness.GentdTestCase):
    """One MailEnv per class: smtp_conf is added to gentd's config
    (hostname mx.gentd.test, dns_servers set); with tls = True a
    self-signed pair is configured. self.env, self.srv, self.port."""

    start_server = False
    smtp_conf = {}
    tls = False
    inboxes = ("bot", "bot2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        conf = dict(cls.smtp_conf)
        if cls.tls:
            cls.cert_dir = tempfile.mkdtemp(prefix="gentd-smtp-tls-")
            cls.addClassCleanup(_rmtree, cls.cert_dir)
            cls.cert, cls.key = self_signed_cert(cls.cert_dir)
            conf.update(tls_cert=cls.cert, tls_key=cls.key)
        cls.env = MailEnv(conf, inboxes=cls.inboxes, name=cls.__name__)
        cls.addClassCleanup(cls.env.cleanup)
        cls.srv = cls.env.srv
        cls.port = cls.env.port
        cls.dns = cls.env.dns

    def conn(self, timeout=5.0, greet=True):
        """A connection closed after the test."""
        c = SmtpConn(self.port, timeout=timeout, greet=greet)
        self.addCleanup(c.close)
        if greet:
            self.assertEqual(c.greeting.code, 220, c.greeting)
        return c

    def assertReply(self, reply, code, enhanced=None, msg=None):
        self.assertEqual(reply.code, code, msg or reply)
        if enhanced is not None:
            self.assertTrue(reply.last.startswith(enhanced + " ") or
                            reply.last == enhanced, msg or reply)
        return reply


def _rmtree(path):
    if not os.environ.get("GENTD_KEEP_TMP"):
        import shutil
        shutil.rmtree(path, ignore_errors=True)


def main():
    unittest.main(verbosity=2)
