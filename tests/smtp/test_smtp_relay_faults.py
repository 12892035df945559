"""The relay against peers that misbehave on purpose (RELIABILITY.md rows 3,
10, 12 and 24). Every peer is WireSink, a small SMTP server on 127.0.0.1
that keeps the exact bytes of every DATA phase and answers each step from
a plan the test sets: a 421 greeting, a 421 or 550 to RCPT, a 451 at the
end of data, an answer held back for seconds, no STARTTLS or a 454 to it.
Destinations are found through MX and A records in dnsmasq, as in
test_smtp_send.py; signatures are checked with dkimpy against the key
published in the zone.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_relay_faults.py
"""

import asyncio
import contextlib
import email
import email.policy
import hashlib
import hmac
import os
import re
import secrets
import sqlite3
import threading
import time

import dkim                 # python3-dkim

import harness
import dns_fixture
from smtp_fixture import SmtpTestCase, has_lone_cr_lf
from test_smtp_webhooks import Receiver

DEST = "faults.test"
MX = "mx.faults.test"
WAIT = 30.0                 # bound on every wait for a delivery or a state
IO_TIMEOUT = 30.0           # the sink gives up on a silent client after this
EHLO_NAME = "sink.faults.test"
FINAL = ("sent", "bounced", "failed", "suppressed")


# --------------------------------------------------------------------------
# WireSink: an SMTP peer that keeps the wire bytes
# --------------------------------------------------------------------------

class _Wire:
    """Line and DATA reads over one asyncio connection, each bounded in
    time and size. Bytes after a line (pipelined commands) stay in buf."""

    LIMIT = 4 << 20

    def __init__(self, reader, writer):
        self.reader, self.writer, self.buf = reader, writer, b""

    async def _more(self):
        chunk = await asyncio.wait_for(self.reader.read(65536), IO_TIMEOUT)
        if not chunk:
            raise ConnectionError("client closed")
        self.buf += chunk
        if len(self.buf) > self.LIMIT:
            raise ConnectionError("client sent too much")

    async def line(self):
        while b"\r\n" not in self.buf:
            await self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    async def data(self):
        """Everything up to and including the first CRLF.CRLF (or a lone
        .CRLF at the start): exactly what a strict server reads as the
        message. Whatever else a lenient server might take for the end is
        left in it, for the test to find."""
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
                break
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                end = i + 5
                break
            await self._more()
        data, self.buf = self.buf[:end], self.buf[end:]
        return data

    async def send(self, text):
        self.writer.write(text.encode() + b"\r\n")
        await asyncio.wait_for(self.writer.drain(), IO_TIMEOUT)


class WireSink:
    """An SMTP server on 127.0.0.1:port, in its own thread. Set the plan
    after reset():
      greet     greetings of the 1st, 2nd, ... connection; "220" after
      starttls  None: not offered; else the reply to STARTTLS (this sink
                speaks no TLS, so never 220)
      rcpt      {address: [reply, ...]} used in turn, None = accept; the
                last one repeats
      dot       [(seconds, reply), ...] for the 1st, 2nd, ... end of data:
                wait, then answer; (0, "250 ...") after the list
    A reply starting with 421 closes the connection after it is sent.
    Records: conns [{at, lines}], txs [{conn, mail, rcpts, data, answer,
    answered}]; dot_seen is set when an end of data has been read."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.loop = self.thread = self.server = None
        self.tasks = set()
        self._clear()

    def _clear(self):
        self.greet, self.starttls, self.rcpt, self.dot = [], None, {}, []
        self.conns, self.txs, self.rcpt_seen = [], [], {}
        self.dot_seen = threading.Event()

    # -- control (test thread) --

    def start(self):
        ready = threading.Event()
        self.loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(asyncio.start_server(
                self._serve, "127.0.0.1", self.port))
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True, name="wiresink")
        self.thread.start()
        if not ready.wait(10):
            raise AssertionError("sink did not start on port %d" % self.port)

    def _call(self, coro):
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _drop_all(self):
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)

    def reset(self):
        """Close every open connection (the relay keeps idle ones) and
        forget plans and records."""
        self._call(self._drop_all())
        with self.lock:
            self._clear()

    def stop(self):
        if not self.loop:
            return

        async def shut():
            self.server.close()
            await self._drop_all()
            await self.server.wait_closed()

        self._call(shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.loop = None

    # -- reading the records --

    def to(self, rcpt):
        with self.lock:
            return [t for t in self.txs if rcpt.lower() in
                    [r.lower() for r in t["rcpts"]]]

    def all_lines(self):
        with self.lock:
            return [l for c in self.conns for l in c["lines"]]

    def verbs(self, verb):
        return [l for l in self.all_lines() if l[:len(verb)].upper() == verb]

    # -- the server (sink thread) --

    async def _serve(self, reader, writer):
        self.tasks.add(asyncio.current_task())
        wire = _Wire(reader, writer)
        try:
            await self._session(wire)
        except (ConnectionError, asyncio.TimeoutError, asyncio.CancelledError,
                OSError):
            pass
        finally:
            self.tasks.discard(asyncio.current_task())
            writer.close()

    async def _session(self, wire):
        with self.lock:
            n = len(self.conns)
            conn = {"at": time.monotonic(), "lines": []}
            self.conns.append(conn)
            greet = self.greet[n] if n < len(self.greet) else \
                "220 %s ESMTP wire sink" % EHLO_NAME
        await wire.send(greet)
        if not greet.startswith("220"):
            return
        tx = None
        while True:
            line = await wire.line()
            with self.lock:
                conn["lines"].append(line)
            verb = line[:8].upper().split(b" ")[0].split(b":")[0]
            if verb == b"EHLO":
                ext = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"]
                if self.starttls is not None:
                    ext.append("STARTTLS")
                lines = [EHLO_NAME] + ext
                await wire.send("\r\n".join("250%s%s" % (
                    " " if i == len(lines) - 1 else "-", l)
                    for i, l in enumerate(lines)))
            elif verb == b"HELO":
                await wire.send("250 " + EHLO_NAME)
            elif verb == b"STARTTLS":
                await wire.send(self.starttls or "502 5.5.1 not offered")
            elif verb == b"MAIL":
                tx = {"conn": n, "mail": _addr(line), "rcpts": [], "data": None,
                      "answer": None, "answered": False}
                await wire.send("250 2.1.0 ok")
            elif verb == b"RCPT":
                rc = _addr(line)
                with self.lock:
                    k = self.rcpt_seen.get(rc.lower(), 0)
                    self.rcpt_seen[rc.lower()] = k + 1
                    plan = self.rcpt.get(rc.lower())
                    answer = plan[min(k, len(plan) - 1)] if plan else None
                if tx is None:
                    answer = "503 5.5.1 MAIL first"
                elif answer is None:
                    tx["rcpts"].append(rc)
                    answer = "250 2.1.5 ok"
                await wire.send(answer)
                if answer.startswith("421"):
                    return
            elif verb == b"DATA":
                if tx is None or not tx["rcpts"]:
                    await wire.send("554 5.5.1 no valid recipients")
                    continue
                await wire.send("354 go ahead")
                tx["data"] = await wire.data()
                with self.lock:
                    k = len(self.txs)
                    self.txs.append(tx)
                    delay, answer = self.dot[k] if k < len(self.dot) else \
                        (0, "250 2.0.0 queued")
                    tx["answer"] = answer
                self.dot_seen.set()
                if delay:
                    await asyncio.sleep(delay)
                await wire.send(answer)
                tx["answered"] = True
                tx = None
                if answer.startswith("421"):
                    return
            elif verb == b"RSET":
                tx = None
                await wire.send("250 2.0.0 ok")
            elif verb == b"NOOP":
                await wire.send("250 2.0.0 ok")
            elif verb == b"QUIT":
                await wire.send("221 2.0.0 bye")
                return
            else:               # AUTH included: this sink takes no credentials
                await wire.send("502 5.5.2 not here")


def _addr(line):
    m = re.search(rb"<([^>]*)>", line)
    return m.group(1).decode("utf-8", "replace") if m else ""


# --------------------------------------------------------------------------
# Wire checks
# --------------------------------------------------------------------------

def canonical(raw):
    """raw with every line end as the relay must send it: CRLF, a bare CR
    and a bare LF each become CRLF, and a last line without one gets it."""
    out = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def unstuff(data):
    """The message in a DATA phase (terminator included): every line that
    starts with "." must be stuffed (RFC 5321 4.5.2); returns the text."""
    assert data.endswith(b".\r\n"), data[-40:]
    body = data[:-3]
    lines = body.split(b"\r\n")
    assert lines[-1] == b"", "the message does not end with CRLF: %r" % body[-40:]
    out = []
    for l in lines[:-1]:
        if l.startswith(b"."):
            assert l.startswith(b".."), "a lone dot line inside DATA: %r" % l
            l = l[1:]
        out.append(l)
    return b"\r\n".join(out) + b"\r\n"


# --------------------------------------------------------------------------
# Test cases
# --------------------------------------------------------------------------

class RelayFaultCase(SmtpTestCase):
    """gentd relaying to a WireSink on relay_port; DEST's MX is 127.0.0.1.
    extra_conf is added to gentd's config ("%d" in a value: the sink's
    port). The sink is reset before every test."""
    inboxes = ("bot",)
    extra_conf = {}
    mx_routing = True          # False: relay_host is set in extra_conf

    @classmethod
    def setUpClass(cls):
        cls.sink_port = harness.free_ports(1)[0]
        cls.smtp_conf = {"relay_port": str(cls.sink_port), "queue_lifetime": "1h",
                         "relay_retry_schedule": "1s"}
        cls.smtp_conf.update({k: (v % cls.sink_port if "%d" in v else v)
                              for k, v in cls.extra_conf.items()})
        super().setUpClass()
        cls.sink = WireSink(cls.sink_port)
        cls.sink.start()
        cls.addClassCleanup(cls.sink.stop)
        if cls.mx_routing:
            cls.dns.publish(DEST, mx=[(MX, 10)], a={MX: "127.0.0.1"})
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["bot"], "label": "faults",
            "scopes": ["email:read", "email:send"]}, token=cls.env.acct.session)
        assert st == 201, tok
        cls.tok = tok["raw_token"]
        st, _, d = cls.srv.request("GET", "/v1/domains/%s/" % cls.env.domain,
                                   token=cls.env.acct.session)
        assert st == 200, d
        cls.dkim_record = dns_fixture.records_by_key(d)["dkim"]["value"].encode()

    def setUp(self):
        self.sink.reset()

    # -- helpers --

    def rcpt(self, local, domain=DEST):
        return "%s-%s@%s" % (local, secrets.token_hex(3), domain)

    def send(self, to, subject="fault test", text="x\n"):
        st, _, r = self.srv.request("POST", "/v1/messages/", {
            "to": [to], "subject": subject, "text_body": text}, token=self.tok)
        self.assertEqual(st, 202, r)
        return r

    def delivery(self, msg_id, rcpt):
        st, _, m = self.srv.request("GET", "/v1/messages/%s/" % msg_id, token=self.tok)
        self.assertEqual(st, 200, m)
        return {d["recipient"]: d for d in m["delivery"]}[rcpt]

    def wait_final(self, msg_id, rcpt, want="sent"):
        """Wait until the recipient's delivery is over; assert its status."""
        d = self.wait_delivery(msg_id, rcpt, lambda d: d["status"] in FINAL,
                               "a final status (want %s)" % want)
        self.assertEqual(d["status"], want, d)
        return d

    def wait_delivery(self, msg_id, rcpt, pred, what, timeout=WAIT):
        harness.wait_until(lambda: pred(self.delivery(msg_id, rcpt)),
                           timeout=timeout, what=what)
        return self.delivery(msg_id, rcpt)

    def tenant_db(self):
        """The path of the tenant's database."""
        path = os.path.join(self.srv.data_dir, "tenants", self.env.acct.tenant_id,
                            "tenant.db")
        self.assertTrue(os.path.exists(path), path)
        return path

    @staticmethod
    def ro(path):
        return contextlib.closing(sqlite3.connect("file:%s?mode=ro" % path, uri=True,
                                        timeout=10))

    def outbound(self, row_id):
        with self.ro(self.tenant_db()) as c:
            c.row_factory = sqlite3.Row
            r = c.execute("SELECT * FROM outbound WHERE id = ?", (row_id,)).fetchone()
        self.assertIsNotNone(r, row_id)
        return dict(r)

    def outbound_of(self, msg_id):
        with self.ro(self.tenant_db()) as c:
            c.row_factory = sqlite3.Row
            return [dict(r) for r in c.execute(
                "SELECT * FROM outbound WHERE source_message_id = ?", (msg_id,))]

    def dkim_ok(self, msg):
        return dkim.verify(msg, dnsfunc=lambda name, timeout=5: self.dkim_record)

    def assertCleanWire(self, tx):
        """tx's DATA phase: no lone CR or LF anywhere, every leading dot
        stuffed, the first CRLF.CRLF its only end. Returns the text."""
        data = tx["data"]
        self.assertFalse(has_lone_cr_lf(data), "lone CR/LF on the wire: %r" % data)
        self.assertTrue(data.endswith(b"\r\n.\r\n"), data[-40:])
        return unstuff(data)


class SmugglingTest(RelayFaultCase):
    """Row 3: rows whose raw bytes carry smuggling sequences, queued
    directly (the API would QP-encode such text), leave as one message
    each with CRLF line ends, stuffed dots, one end of data and a DKIM
    signature over exactly what was sent."""

    BODIES = [
        ("lf-dot-crlf", b"alpha\n.\r\nMAIL FROM:<evil1@x.test>\r\nafter one\r\n"),
        ("cr-dot-crlf", b"beta\r.\r\nRCPT TO:<evil2@x.test>\r\nafter two\r\n"),
        ("crlf-dot-lf", b"gamma\r\n.\nDATA\r\nafter three\r\n"),
        ("lf-dot-lf", b"delta\n.\nQUIT\nafter four\r\n"),
        ("cr-dot-cr", b"epsilon\r.\rRSET\rafter five\r\n"),
        ("bare-cr", b"one\rtwo\r\rthree\r\n"),
        ("bare-lf", b"four\nfive\n\nsix\n"),
        ("dot-lines", b".\r\n..\r\n.x\r\n"),
        ("ends-in-dot", b"last line\r\n."),
        ("ends-in-cr", b"last line\r"),
        ("all-at-once", b"a\n.\r\nMAIL FROM:<evil3@x.test>\r\nRCPT TO:<evil4@x.test>"
                        b"\r\nDATA\r\n\r.\r\nb\r\n.\nc\r\rd\n.\n"),
    ]

    def raw_for(self, name, rcpt, body):
        head = ("From: Bot <%s>\r\nTo: %s\r\nSubject: smuggle %s\r\n"
                "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
                "Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                % (self.env.addr("bot"), rcpt, name, secrets.token_hex(8),
                   self.env.domain)).encode()
        return head + b"first body line\r\n" + body

    def queue_raw(self, rows):
        """Insert queued rows [(id, rcpt, raw)] into the tenant's outbound
        table while gentd runs (WAL; the relay's claim reads status
        'queued' rows whose next_attempt_at has come)."""
        now = int(time.time() * 1000)
        conn = sqlite3.connect(self.tenant_db(), timeout=10)
        try:
            with conn:
                conn.executemany(
                    "INSERT INTO outbound (id, inbox_id, kind, source_message_id, "
                    "rule_id, mail_from, rcpt_to, raw, status, next_attempt_at, "
                    "created_at, updated_at) VALUES (?, ?, 'forward', NULL, "
                    "'test:smuggling', ?, ?, ?, 'queued', ?, ?, ?)",
                    [(i, self.env.inboxes["bot"], self.env.addr("bot"), rc, raw,
                      now, now, now) for i, rc, raw in rows])
        finally:
            conn.close()

    def test_raw_smuggling_rows_arrive_once_intact_and_signed(self):
        rows = []
        for name, body in self.BODIES:
            rc = self.rcpt(name)
            rows.append(("out_smug_%s_%s" % (name.replace("-", "_"),
                                             secrets.token_hex(4)),
                         rc, self.raw_for(name, rc, body)))
        self.queue_raw(rows)
        try:
            harness.wait_until(lambda: all(self.outbound(i)["status"] == "sent"
                                           for i, _, _ in rows),
                               timeout=WAIT, what="every smuggling row sent")
        except AssertionError:
            # A strict peer never sees a lenient end of data: the relay
            # then hangs until its own timeout.
            self.fail("not all sent: %r" % [
                (i, self.outbound(i)["status"], self.outbound(i)["last_error"])
                for i, _, _ in rows])
        time.sleep(1.0)         # room for a (wrong) second delivery
        for (row_id, rc, raw), (name, _) in zip(rows, self.BODIES):
            with self.subTest(case=name):
                got = self.sink.to(rc)
                self.assertEqual(len(got), 1, got)
                self.assertEqual((got[0]["mail"], got[0]["rcpts"]),
                                 (self.env.addr("bot"), [rc]))
                text = self.assertCleanWire(got[0])
                want = canonical(raw)
                self.assertTrue(text.endswith(want), "text changed:\nsent %r\n"
                                "want %r" % (text[-300:], want[-300:]))
                sig = text[:-len(want)]
                self.assertTrue(sig.startswith(b"DKIM-Signature:"), sig[:200])
                self.assertEqual(email.message_from_bytes(
                    sig + b"\r\n", policy=email.policy.default).keys(),
                    ["DKIM-Signature"], sig)
                self.assertIn(("d=%s" % self.env.domain).encode(), sig)
                self.assertTrue(self.dkim_ok(text), "DKIM fails at the sink:\n%r"
                                % text[-400:])
                row = self.outbound(row_id)
                self.assertEqual((row["attempts"], row["last_code"]), (1, 250), row)
        # One transaction per row, and no smuggled command ever ran.
        self.assertEqual(len(self.sink.verbs(b"MAIL")), len(rows))
        self.assertEqual(len(self.sink.verbs(b"RCPT")), len(rows))
        self.assertEqual(len(self.sink.verbs(b"DATA")), len(rows))
        self.assertEqual([l for l in self.sink.all_lines() if b"evil" in l], [])


class CrashTest(RelayFaultCase):
    """Row 10: gentd is SIGKILLed while the peer holds back its answer to
    the end of data. After the restart the message is delivered again
    (at least once: the peer may have kept the first copy) and ends sent."""

    def test_sigkill_mid_data_delivers_at_least_once(self):
        to = self.rcpt("crash")
        self.sink.dot = [(3.0, "250 2.0.0 queued late")]
        r = self.send(to, "killed in flight")
        self.assertTrue(self.sink.dot_seen.wait(WAIT), "no end of data reached the sink")
        first = self.sink.to(to)
        self.assertEqual(len(first), 1, first)
        self.assertFalse(first[0]["answered"], "the sink answered before the kill")
        self.srv.kill()
        self.srv.start()
        d = self.wait_delivery(r["id"], to, lambda d: d["status"] == "sent",
                               "sent after the restart")
        time.sleep(2.0)         # room for a third copy, which must not come
        # At least once: the peer kept the first copy but never said 250,
        # so the relay must send it again; a third copy would be a bug.
        got = self.sink.to(to)
        self.assertEqual(len(got), 2, got)
        ids = {email.message_from_bytes(t["data"])["Message-ID"] for t in got}
        self.assertEqual(len(ids), 1, ids)
        for t in got:
            self.assertTrue(self.dkim_ok(self.assertCleanWire(t)))
        self.assertEqual(d["status"], "sent")
        self.assertIsNotNone(d["delivered_at"])
        rows = self.outbound_of(r["id"])
        self.assertEqual([(x["status"], x["last_code"]) for x in rows], [("sent", 250)])


class RetryTest(RelayFaultCase):
    """Row 12: temporary refusals at the greeting, at RCPT and at the end
    of data are retried on relay_retry_schedule and then delivered; a 550
    bounces and fires a signed message.bounced alert."""
    extra_conf = {"relay_retry_schedule": "1s,2s,3s", "webhook_allow_private": "true"}

    def assertOneCopy(self, to):
        time.sleep(1.0)
        got = [t for t in self.sink.to(to) if t["answer"].startswith("250")]
        self.assertEqual(len(got), 1, self.sink.to(to))
        self.assertTrue(self.dkim_ok(self.assertCleanWire(got[0])))

    def test_greeting_421_is_retried_on_schedule(self):
        to = self.rcpt("greet")
        self.sink.greet = ["421 4.3.2 try later"] * 2
        r = self.send(to, "greeting refused")
        d = self.wait_delivery(r["id"], to, lambda d: d["attempts"] >= 1, "a first attempt")
        if d["status"] != "sent":
            self.assertEqual((d["status"], d["last_code"]), ("queued", 421), d)
            self.assertIn("try later", d["last_error"])
        d = self.wait_final(r["id"], to)
        self.assertEqual(d["attempts"], 3, d)
        with self.sink.lock:
            conns = list(self.sink.conns)
        self.assertEqual(len(conns), 3, conns)
        self.assertEqual([c["lines"] for c in conns[:2]], [[], []])    # not even EHLO
        # relay_retry_schedule 1s, 2s: each wait at least its delay (the
        # relay ticks every second, so at most about one tick more).
        gaps = [b["at"] - a["at"] for a, b in zip(conns, conns[1:])]
        self.assertGreaterEqual(gaps[0], 0.9, gaps)
        self.assertGreaterEqual(gaps[1], 1.9, gaps)
        self.assertLess(gaps[0], 4.0, gaps)
        self.assertLess(gaps[1], 5.0, gaps)
        self.assertOneCopy(to)

    def test_rcpt_421_is_retried(self):
        to = self.rcpt("rcpt421")
        self.sink.rcpt[to.lower()] = ["421 4.3.2 try later", None]
        r = self.send(to, "rcpt refused for now")
        d = self.wait_final(r["id"], to)
        self.assertEqual(d["attempts"], 2, d)
        self.assertEqual(self.sink.rcpt_seen[to.lower()], 2)
        self.assertOneCopy(to)
        self.assertEqual(len(self.sink.verbs(b"DATA")), 1)

    def test_data_451_is_retried(self):
        to = self.rcpt("dot451")
        self.sink.dot = [(0, "451 4.3.0 try later")]
        r = self.send(to, "data refused for now")
        d = self.wait_final(r["id"], to)
        self.assertEqual(d["attempts"], 2, d)
        got = self.sink.to(to)
        self.assertEqual([t["answer"][:3] for t in got], ["451", "250"], got)
        # The retry is the same message (same Message-ID and body).
        a, b = (self.assertCleanWire(t) for t in got)
        self.assertEqual(email.message_from_bytes(a)["Message-ID"],
                         email.message_from_bytes(b)["Message-ID"])
        self.assertEqual(a.split(b"\r\n\r\n", 1)[1], b.split(b"\r\n\r\n", 1)[1])
        self.assertOneCopy(to)

    def test_550_bounces_and_fires_a_signed_alert(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        secret = "bounce-" + secrets.token_hex(12)
        st, _, rule = self.srv.request("POST", "/v1/alerts/", {
            "inbox_id": self.env.inboxes["bot"], "events": ["message.bounced"],
            "url": rx.url("/bounced"), "secret": secret}, token=self.env.acct.session)
        self.assertEqual(st, 201, rule)
        to = self.rcpt("gone")
        self.sink.rcpt[to.lower()] = ["550 5.1.1 no such user"]
        r = self.send(to, "will bounce")
        d = self.wait_final(r["id"], to, "bounced")
        self.assertEqual((d["attempts"], d["last_code"]), (1, 550), d)
        self.assertIn("no such user", d["last_error"])
        req = rx.wait("/bounced", 1, timeout=WAIT)[0]
        want = hmac.new(secret.encode(), req["body"], hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(req["headers"].get("X-Gent-Signature", ""),
                                            want), req["headers"])
        ev = req["json"]
        self.assertEqual((ev["type"], ev["message_id"]), ("message.bounced", r["id"]), ev)
        self.assertEqual(req["headers"]["X-Gent-Event"], "message.bounced")
        self.assertIn(to, req["body"].decode())
        self.assertEqual(self.sink.to(to), [])
        time.sleep(1.0)
        self.assertEqual(len(rx.at("/bounced")), 1, rx.at("/bounced"))


class OpportunisticTlsTest(RelayFaultCase):
    """Row 24, default: TLS is opportunistic. A peer that does not offer
    STARTTLS, or refuses it with 454, gets the message in clear."""

    def check_clear(self, to, r):
        d = self.wait_final(r["id"], to)
        self.assertEqual(d["attempts"], 1, d)
        got = self.sink.to(to)
        self.assertEqual(len(got), 1, got)
        self.assertTrue(self.dkim_ok(self.assertCleanWire(got[0])))
        self.assertEqual([x["tls"] for x in self.outbound_of(r["id"])], [0])

    def test_no_starttls_offered_delivers_in_clear(self):
        to = self.rcpt("notls")
        self.sink.starttls = None
        r = self.send(to, "no starttls")
        self.check_clear(to, r)
        self.assertEqual(self.sink.verbs(b"STARTTLS"), [])

    def test_starttls_454_falls_back_to_clear(self):
        to = self.rcpt("tls454")
        self.sink.starttls = "454 4.7.0 TLS not available"
        r = self.send(to, "starttls refused")
        self.check_clear(to, r)
        lines = [l.split(b" ")[0].split(b":")[0].upper() for l in self.sink.all_lines()]
        self.assertEqual(lines[:3], [b"EHLO", b"STARTTLS", b"MAIL"], lines)


class RequiredTlsTest(RelayFaultCase):
    """Row 24, required: gentd has no relay-wide "require TLS" option; TLS
    is required only towards a smarthost given credentials (relay_host +
    relay_user + relay_password: AUTH goes over TLS or not at all). Such a
    peer without STARTTLS, or refusing it, never sees MAIL or AUTH, and the
    message stays queued with an error that names TLS."""
    mx_routing = False
    extra_conf = {"relay_host": "127.0.0.1:%d", "relay_user": "gentd",
                  "relay_password": "pw-never-in-clear"}

    def check_held(self, to, r):
        d = self.wait_delivery(r["id"], to, lambda d: d["attempts"] >= 2 or
                               d["status"] in FINAL, "two refused attempts")
        self.assertEqual(d["status"], "queued", d)
        self.assertIn("TLS", d["last_error"], d)
        self.assertEqual(d["last_code"], 421, d)
        self.assertEqual(self.sink.verbs(b"MAIL"), [])
        self.assertEqual(self.sink.verbs(b"AUTH"), [])
        self.assertEqual(self.sink.txs, [])
        self.assertNotIn(b"pw-never", b"".join(self.sink.all_lines()))

    def test_smarthost_without_starttls_gets_nothing(self):
        to = self.rcpt("req-notls", "far-away.example")
        self.sink.starttls = None
        r = self.send(to, "needs tls")
        self.check_held(to, r)

    def test_smarthost_refusing_starttls_gets_nothing(self):
        to = self.rcpt("req-454", "far-away.example")
        self.sink.starttls = "454 4.7.0 TLS not available"
        r = self.send(to, "needs tls too")
        self.check_held(to, r)
        self.assertTrue(self.sink.verbs(b"STARTTLS"))


if __name__ == "__main__":
    harness.main()
