"""Sending: POST /v1/messages/ through the relay to a real SMTP peer on
loopback (aiosmtpd recording every transaction), found through MX and A
records in dnsmasq. Every delivered message's DKIM signature is checked
with dkimpy against the key published in the zone.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_send.py
"""

import base64
import email
import email.policy
import json
import secrets
import threading
import time

import harness
import dns_fixture
from smtp_fixture import SmtpTestCase, send_mail, make_message

try:
    import dkim
except ImportError:         # python3-dkim
    dkim = None
from aiosmtpd.controller import Controller

DEST = "dest.test"
MX = "mx.dest.test"


class Sink:
    """An SMTP peer that records what it accepts. replies[rcpt] is a list
    of RCPT answers used in turn (None = accept); the last one repeats."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.received = []          # (mail_from, [rcpts], bytes)
        self.replies = {}
        self.rcpt_seen = {}
        self.sessions = []          # one per connection that sent RCPT
        self.session_of = {}        # rcpt -> index in sessions
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, options):
        with self.lock:
            n = self.rcpt_seen.get(address.lower(), 0)
            self.rcpt_seen[address.lower()] = n + 1
            plan = self.replies.get(address.lower())
            if not any(x is session for x in self.sessions):
                self.sessions.append(session)
            self.session_of[address.lower()] = next(
                i for i, x in enumerate(self.sessions) if x is session)
            answer = plan[min(n, len(plan) - 1)] if plan else None
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
        return "250 2.0.0 queued"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     decode_data=False)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def to(self, rcpt):
        with self.lock:
            return [m for m in self.received if rcpt.lower() in
                    [r.lower() for r in m[1]]]


class SendTest(SmtpTestCase):
    inboxes = ("bot", "other")
    smtp_port = harness.free_ports(1)[0]
    smtp_conf = {"relay_port": str(smtp_port), "relay_retry_schedule": "1s,1s,2s",
                 "queue_lifetime": "1h"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = Sink(cls.smtp_port)
        cls.sink.start()
        cls.addClassCleanup(cls.sink.stop)
        cls.dns.publish(DEST, mx=[(MX, 10)], a={MX: "127.0.0.1"})
        cls.tok = cls.token("bot", ["email:read", "email:send", "email:write",
                                    "labels:write", "labels:read"])
        st, _, d = cls.srv.request("GET", "/v1/domains/%s/" % cls.env.domain,
                                   token=cls.env.acct.session)
        assert st == 200, d
        cls.dkim_record = dns_fixture.records_by_key(d)["dkim"]["value"]

    @classmethod
    def token(cls, local, scopes, **extra):
        body = {"inbox_id": cls.env.inboxes[local], "scopes": scopes,
                "label": "send " + secrets.token_hex(3)}
        body.update(extra)
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", body,
                                     token=cls.env.acct.session)
        assert st == 201, tok
        return tok["raw_token"]

    # -- helpers --

    def send(self, body, token=None, status=202):
        st, _, resp = self.srv.request("POST", "/v1/messages/", body,
                                       token=token or self.tok)
        self.assertEqual(st, status, resp)
        return resp

    def rcpt(self, local):
        return "%s-%s@%s" % (local, secrets.token_hex(3), DEST)

    def delivery(self, msg_id, token=None):
        st, _, m = self.srv.request("GET", "/v1/messages/%s/" % msg_id,
                                    token=token or self.tok)
        self.assertEqual(st, 200, m)
        return {d["recipient"]: d for d in m["delivery"]}

    def wait_status(self, msg_id, rcpt, status, timeout=15):
        harness.wait_until(lambda: self.delivery(msg_id).get(rcpt, {}).get("status")
                           == status, timeout=timeout,
                           what="%s to %s: %s" % (msg_id, rcpt, status))

    def dkim_ok(self, raw):
        record = self.dkim_record.encode()
        return dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)

    # -- tests --

    def test_send_delivers_signed_mail_to_every_recipient(self):
        to, cc, bcc = self.rcpt("to"), self.rcpt("cc"), self.rcpt("bcc")
        r = self.send({"to": [to], "cc": [cc], "bcc": [bcc], "subject": "Hello there",
                       "text_body": "First line.\nSecond line.\n",
                       "headers": {"X-Agent-Run": "r-42"}})
        self.assertTrue(r["id"].startswith("msg_"), r)
        self.assertEqual(r["status"], "queued")
        self.assertEqual(sorted(x["address"] for x in r["recipients"]),
                         sorted([to, cc, bcc]))
        for addr in (to, cc, bcc):
            self.wait_status(r["id"], addr, "sent")
        for addr in (to, cc, bcc):
            got = self.sink.to(addr)
            self.assertEqual(len(got), 1, (addr, got))
            mail_from, rcpts, raw = got[0]
            self.assertEqual((mail_from, rcpts), (self.env.addr("bot"), [addr]))
            self.assertTrue(self.dkim_ok(raw), raw[:600])
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            self.assertEqual(msg["Subject"], "Hello there")
            self.assertEqual(msg["To"], to)
            self.assertEqual(msg["Cc"], cc)
            self.assertIsNone(msg["Bcc"])
            self.assertNotIn(bcc.encode(), raw)
            self.assertEqual(msg["X-Agent-Run"], "r-42")
            self.assertIn("d=%s" % self.env.domain, msg["DKIM-Signature"])
            self.assertIn("Second line.", msg.get_content())
        d = self.delivery(r["id"])
        self.assertEqual(d[to]["attempts"], 1)
        self.assertIsNotNone(d[to]["delivered_at"])

    def test_signature_and_html(self):
        st, _, _ = self.srv.request("PATCH", "/v1/inboxes/%s/config/" % self.env.inboxes["bot"],
                                    {"signature": "Bot\nExample Corp"},
                                    token=self.env.acct.session)
        self.assertEqual(st, 200)
        try:
            to = self.rcpt("sig")
            r = self.send({"to": [to], "subject": "sig", "text_body": "Hi.",
                           "html_body": "<p>Hi.</p>"})
            self.wait_status(r["id"], to, "sent")
            msg = email.message_from_bytes(self.sink.to(to)[0][2],
                                           policy=email.policy.default)
            text = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            self.assertIn("Hi.\n\n-- \nBot\nExample Corp", text.replace("\r\n", "\n"))
            self.assertIn("Bot<br>", html)
        finally:
            self.srv.request("PATCH", "/v1/inboxes/%s/config/" % self.env.inboxes["bot"],
                             {"signature": None}, token=self.env.acct.session)

    def test_attachments(self):
        to = self.rcpt("att")
        data = bytes(range(256)) * 4
        r = self.send({"to": [to], "subject": "file", "text_body": "see",
                       "attachments": [{"filename": "blob.bin",
                                        "content_type": "application/octet-stream",
                                        "content": base64.b64encode(data).decode()}]})
        self.wait_status(r["id"], to, "sent")
        msg = email.message_from_bytes(self.sink.to(to)[0][2], policy=email.policy.default)
        parts = list(msg.iter_attachments())
        self.assertEqual([(p.get_filename(), p.get_content()) for p in parts],
                         [("blob.bin", data)])
        # By upload id: uploaded first, referenced in the send.
        st, _, up = self.srv.request("POST", "/v1/uploads/", {
            "filename": "report.pdf", "content_type": "application/pdf",
            "content": base64.b64encode(b"%PDF-1.4 fake").decode()}, token=self.tok)
        self.assertEqual(st, 201, up)
        self.assertEqual((up["size"], up["filename"]), (13, "report.pdf"))
        to2 = self.rcpt("upl")
        r2 = self.send({"to": [to2], "subject": "uploaded", "text_body": "see",
                        "attachments": [{"upload_id": up["upload_id"]}]})
        self.wait_status(r2["id"], to2, "sent")
        msg = email.message_from_bytes(self.sink.to(to2)[0][2], policy=email.policy.default)
        self.assertEqual([(p.get_filename(), p.get_content_type(), p.get_content())
                          for p in msg.iter_attachments()],
                         [("report.pdf", "application/pdf", b"%PDF-1.4 fake")])
        # Another inbox cannot use it; bad uploads are refused.
        other = self.token("other", ["email:send"])
        self.assertError(self.srv.request("POST", "/v1/messages/", {
            "to": [to2], "subject": "x", "attachments": [{"upload_id": up["upload_id"]}]},
            token=other), 400, field="attachments")
        for body, field in (({"filename": "a/b", "content": "eA=="}, "filename"),
                            ({"filename": "a", "content": "!!"}, "content"),
                            ({"filename": "a", "content_type": "pdf", "content": "eA=="},
                             "content_type"), ({"content": "eA=="}, "filename")):
            self.assertError(self.srv.request("POST", "/v1/uploads/", body, token=self.tok),
                             400, field=field)
        for bad in ([{"filename": "x"}], [{"filename": "x", "content": "!!!"}],
                    [{"upload_id": "upl_x"}], ["x"]):
            with self.subTest(attachments=bad):
                self.assertError(self.srv.request("POST", "/v1/messages/", {
                    "to": [to], "subject": "x", "attachments": bad}, token=self.tok),
                    400, field="attachments")

    def test_reply_threads_and_defaults_to_the_sender(self):
        subject = "question " + secrets.token_hex(3)
        sender = "asker@%s" % DEST
        r = send_mail(self.port, sender, [self.env.addr("bot")],
                      make_message(subject, mail_from=sender, to=self.env.addr("bot")))
        self.assertEqual(r.code, 250)
        orig = self.env.by_subject(subject)[0]
        full = self.env.message(orig["id"])
        rep = self.send({"reply_to_message_id": orig["id"], "subject": "Re: " + subject,
                         "text_body": "Answer."})
        self.assertEqual(rep["thread_id"], orig["thread_id"])
        self.assertEqual([x["address"] for x in rep["recipients"]], [sender])
        self.wait_status(rep["id"], sender, "sent")
        msg = email.message_from_bytes(self.sink.to(sender)[-1][2],
                                       policy=email.policy.default)
        self.assertEqual(msg["In-Reply-To"], "<%s>" % full["message_id_header"])
        self.assertIn("<%s>" % full["message_id_header"], msg["References"])
        # The reply is in the thread.
        st, _, t = self.srv.request("GET", "/v1/threads/%s/" % orig["thread_id"],
                                    token=self.tok)
        self.assertEqual([m["id"] for m in t["messages"]], [orig["id"], rep["id"]])

    def test_block_reply_label_refuses_replies(self):
        subject = "legal " + secrets.token_hex(3)
        r = send_mail(self.port, "lawyer@%s" % DEST, [self.env.addr("bot")],
                      make_message(subject, to=self.env.addr("bot")))
        self.assertEqual(r.code, 250)
        orig = self.env.by_subject(subject)[0]
        st, _, lab = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.env.inboxes["bot"], "name": "hold-" + secrets.token_hex(2),
            "policies": {"block_reply": True}}, token=self.tok)
        self.assertEqual(st, 201, lab)
        self.assertEqual(self.srv.request("POST", "/v1/messages/%s/labels/" % orig["id"],
                                          {"label_id": lab["id"]}, token=self.tok)[0], 204)
        self.assertError(self.srv.request("POST", "/v1/messages/", {
            "reply_to_message_id": orig["id"], "text_body": "no"}, token=self.tok),
            403, code="reply_blocked")

    def test_bounce_report_and_suppression(self):
        to = self.rcpt("gone")
        self.sink.replies[to.lower()] = ["550 5.1.1 no such user"]
        r = self.send({"to": [to], "subject": "will bounce", "text_body": "x"})
        self.wait_status(r["id"], to, "bounced")
        d = self.delivery(r["id"])[to]
        self.assertEqual(d["last_code"], 550)
        self.assertIn("no such user", d["last_error"])
        # The report arrives in the inbox, in the thread of what bounced.
        harness.wait_until(lambda: [m for m in self.env.messages("bot")
                                    if (m.get("subject") or "").startswith(
                                        "Undelivered Mail") and
                                    m["thread_id"] == r["thread_id"]],
                           timeout=10, what="bounce report")
        # message.bounced is in the event log (what alert rules deliver).
        st, _, feed = self.srv.request("GET", "/v1/events/?type=message.bounced&"
                                       "limit=200&inbox_id=" + self.env.inboxes["bot"],
                                       token=self.env.acct.session)
        self.assertEqual(st, 200, feed)
        mine = [e for e in feed["data"] if e["message_id"] == r["id"]]
        self.assertEqual(len(mine), 1, feed)
        self.assertEqual(mine[0]["payload"]["recipient"], to)
        self.assertEqual((mine[0]["payload"]["code"], mine[0]["payload"]["status"]),
                         (550, "bounced"))
        # The next send to that address is not attempted.
        r2 = self.send({"to": [to], "subject": "again", "text_body": "x"})
        self.assertEqual(r2["recipients"][0]["status"], "suppressed")
        time.sleep(1.5)
        self.assertEqual(self.sink.rcpt_seen.get(to.lower()), 1)

    def test_temporary_failure_is_retried(self):
        to = self.rcpt("later")
        self.sink.replies[to.lower()] = ["451 4.3.0 try later", None]
        r = self.send({"to": [to], "subject": "retry", "text_body": "x"})
        self.wait_status(r["id"], to, "sent", timeout=20)
        self.assertEqual(self.delivery(r["id"])[to]["attempts"], 2)
        self.assertEqual(len(self.sink.to(to)), 1)

    def test_connection_kept_for_the_next_send(self):
        """A second send soon after the first goes over the same connection;
        after the peer restarts (the kept connection is dead) the next one
        still goes out at its first attempt, on a new connection."""
        first, second, third = self.rcpt("keep1"), self.rcpt("keep2"), self.rcpt("keep3")
        r1 = self.send({"to": [first], "subject": "one", "text_body": "x"})
        self.wait_status(r1["id"], first, "sent")
        r2 = self.send({"to": [second], "subject": "two", "text_body": "x"})
        self.wait_status(r2["id"], second, "sent")
        with self.sink.lock:
            same = self.sink.session_of[first] == self.sink.session_of[second]
        self.assertTrue(same, "the second send opened a new connection")
        self.sink.stop()
        self.sink.start()
        r3 = self.send({"to": [third], "subject": "three", "text_body": "x"})
        self.wait_status(r3["id"], third, "sent")
        self.assertEqual(self.delivery(r3["id"])[third]["attempts"], 1)
        with self.sink.lock:
            self.assertNotEqual(self.sink.session_of[third],
                                self.sink.session_of[first])
        self.assertEqual([len(self.sink.to(x)) for x in (first, second, third)],
                         [1, 1, 1])

    def test_peer_down_then_up(self):
        to = self.rcpt("down")
        self.sink.stop()
        try:
            r = self.send({"to": [to], "subject": "while down", "text_body": "x"})
            harness.wait_until(lambda: self.delivery(r["id"])[to]["attempts"] >= 1,
                               timeout=15, what="a failed attempt")
            d = self.delivery(r["id"])[to]
            self.assertEqual(d["status"], "queued", d)
        finally:
            self.sink.start()
        self.wait_status(r["id"], to, "sent", timeout=20)
        self.assertEqual(len(self.sink.to(to)), 1)

    def test_queue_survives_kill_9(self):
        to = self.rcpt("crash")
        self.sink.stop()
        try:
            r = self.send({"to": [to], "subject": "survives", "text_body": "x"})
            self.srv.kill()             # SIGKILL: no shutdown path at all
            self.srv.start()
        finally:
            self.sink.start()
        self.wait_status(r["id"], to, "sent", timeout=30)
        time.sleep(1.5)
        self.assertEqual(len(self.sink.to(to)), 1)

    def test_no_smuggling_sequence_ever_leaves(self):
        to = self.rcpt("smug")
        body = "line one\n.\nMAIL FROM:<evil@x.test>\r\n.\r\nstill body\rbare cr\n"
        r = self.send({"to": [to], "subject": "smuggle", "text_body": body})
        self.wait_status(r["id"], to, "sent")
        got = self.sink.to(to)
        self.assertEqual(len(got), 1, got)
        raw = got[0][2]
        self.assertTrue(self.dkim_ok(raw))
        self.assertIsNone(__import__("re").search(rb"\r(?!\n)|(?<!\r)\n", raw))
        text = email.message_from_bytes(raw, policy=email.policy.default) \
            .get_content().replace("\r\n", "\n")
        self.assertIn("MAIL FROM:<evil@x.test>", text)
        self.assertIn("still body", text)
        self.assertEqual([m for m in self.sink.received if "evil" in str(m[0])], [])

    def test_refusals_queue_nothing(self):
        to = self.rcpt("rules")
        st, _, _ = self.srv.request("PUT", "/v1/sender-rules/", {
            "inbox_id": self.env.inboxes["other"], "outbound_mode": "blocklist",
            "outbound_patterns": ["@" + DEST]}, token=self.env.acct.session)
        self.assertEqual(st, 200)
        other = self.token("other", ["email:send", "email:read"])
        self.assertError(self.srv.request("POST", "/v1/messages/", {
            "to": [to], "subject": "x", "text_body": "x"}, token=other),
            403, code="recipient_blocked")
        for body, field in (({"subject": "x"}, "to"), ({"to": ["nope"], "subject": "x"}, "to"),
                            ({"to": [to], "subject": "a\r\nBcc: x@y.test"}, "subject"),
                            ({"to": [to], "subject": "x", "headers": {"Bcc": "x@y.test"}},
                             "headers"),
                            ({"to": [to], "subject": "x", "headers": {"X-Ok": "a\nb"}},
                             "headers"),
                            ({"to": [to] * 1, "subject": "x", "reply_to_message_id": "msg_x"},
                             "reply_to_message_id"),
                            ({"to": [to], "subject": "x", "priority": 1}, "priority")):
            with self.subTest(body=body):
                self.assertError(self.srv.request("POST", "/v1/messages/", body,
                                                  token=self.tok), 400, field=field)
        # Read tokens and tokens without email:send cannot send.
        for scopes in (["read"], ["email:read", "email:write"]):
            self.assertError(self.srv.request("POST", "/v1/messages/", {
                "to": [to], "subject": "x"}, token=self.token("bot", scopes)), 403)
        # A suspended inbox does not send.
        st, _, _ = self.srv.request("PATCH", "/v1/inboxes/%s/" % self.env.inboxes["other"],
                                    {"status": "suspended"}, token=self.env.acct.session)
        self.assertEqual(st, 200)
        self.assertError(self.srv.request("POST", "/v1/messages/", {
            "to": ["a@b.test"], "subject": "x"}, token=other), 403, code="inbox_suspended")
        time.sleep(1.2)
        self.assertEqual(self.sink.rcpt_seen.get(to.lower()), None)

    def test_approval_queue(self):
        supervised = self.token("bot", ["email:read", "email:send"],
                                requires_approval=["email:send"])
        to_ok, to_no = self.rcpt("approved"), self.rcpt("rejected")
        held = self.send({"to": [to_ok], "subject": "please approve", "text_body": "x"},
                         token=supervised)
        self.assertEqual(held["status"], "pending_approval", held)
        self.assertTrue(held["approval_id"].startswith("apr_"))
        other = self.send({"to": [to_no], "subject": "no way", "text_body": "x"},
                          token=supervised)
        time.sleep(1.2)
        self.assertEqual((self.sink.to(to_ok), self.sink.to(to_no)), ([], []))
        sess = self.env.acct.session
        st, _, lst = self.srv.request("GET", "/v1/approvals/?status=pending", token=sess)
        self.assertEqual(st, 200, lst)
        ids = [a["id"] for a in lst["data"]]
        self.assertIn(held["approval_id"], ids)
        item = [a for a in lst["data"] if a["id"] == held["approval_id"]][0]
        self.assertEqual((item["summary"]["subject"], item["summary"]["to"]),
                         ("please approve", [to_ok]))
        # Agents cannot see or decide approvals, not even their own.
        self.assertError(self.srv.request("GET", "/v1/approvals/", token=supervised), 403)
        self.assertError(self.srv.request("POST", "/v1/approvals/%s/approve/"
                                          % held["approval_id"], token=supervised), 403)
        st, _, ok = self.srv.request("POST", "/v1/approvals/%s/approve/"
                                     % held["approval_id"], {}, token=sess)
        self.assertEqual((st, ok["status"]), (200, "approved"), ok)
        self.assertEqual(ok["result"]["status"], 202, ok)
        sent_id = ok["result"]["body"]["id"]
        self.wait_status(sent_id, to_ok, "sent")
        self.assertEqual(len(self.sink.to(to_ok)), 1)
        self.assertError(self.srv.request("POST", "/v1/approvals/%s/approve/"
                                          % held["approval_id"], {}, token=sess), 409,
                         code="already_decided")
        st, _, no = self.srv.request("POST", "/v1/approvals/%s/reject/"
                                     % other["approval_id"], {"reason": "off-topic"},
                                     token=sess)
        self.assertEqual((st, no["status"]), (200, "rejected"), no)
        self.assertError(self.srv.request("POST", "/v1/approvals/%s/approve/"
                                          % other["approval_id"], {}, token=sess), 409)
        time.sleep(1.2)
        self.assertEqual(self.sink.to(to_no), [])
        self.assertError(self.srv.request("GET", "/v1/approvals/apr_nope/", token=sess), 404)

    def test_idempotent_send_sends_once(self):
        to = self.rcpt("idem")
        body = {"to": [to], "subject": "once only", "text_body": "x"}
        key = {"Idempotency-Key": "send-" + secrets.token_hex(6)}
        st1, _, first = self.srv.request("POST", "/v1/messages/", body, token=self.tok,
                                         headers=key)
        st2, h2, second = self.srv.request("POST", "/v1/messages/", body, token=self.tok,
                                           headers=key)
        self.assertEqual((st1, st2), (202, 202))
        self.assertEqual(first, second)
        self.assertEqual(h2.get("Idempotent-Replayed"), "true")
        self.wait_status(first["id"], to, "sent")
        time.sleep(1.2)
        self.assertEqual(len(self.sink.to(to)), 1)

    def test_send_caps(self):
        inbox = self.env.inboxes["bot"]
        put = lambda body: self.srv.request("PUT", "/v1/billing/caps/send/", dict(
            body, inbox_id=inbox), token=self.env.acct.session)
        st, _, cap = put({"limit": 1, "period": "daily", "mode": "enforce"})
        self.assertEqual(st, 200, cap)
        try:
            # Today's sends so far (other tests) count: raise to what is used + 1.
            st, _, lst = self.srv.request("GET", "/v1/messages/?limit=200", token=self.tok)
            sent = len([m for m in lst["data"] if m["direction"] == "outbound"])
            put({"limit": sent + 1, "period": "daily", "mode": "enforce"})
            self.send({"to": [self.rcpt("cap")], "subject": "last one", "text_body": "x"})
            err = self.send({"to": [self.rcpt("cap")], "subject": "over"}, status=429)
            self.assertEqual(err["error"]["code"], "send_cap_reached")
            self.assertIn("resets at", err["error"]["message"])
            put({"limit": sent + 1, "period": "daily", "mode": "hold"})
            held = self.send({"to": [self.rcpt("cap")], "subject": "held"})
            self.assertEqual((held["status"], held["recipients"][0]["status"]),
                             ("held", "held"))
            put({"limit": sent + 1, "period": "daily", "mode": "allow_and_bill"})
            over = self.send({"to": [self.rcpt("cap")], "subject": "billed"})
            self.assertEqual((over["status"], over["overage"]), ("queued", True))
        finally:
            self.srv.request("DELETE", "/v1/billing/caps/send/?inbox_id=" + inbox,
                             token=self.env.acct.session)



class SmarthostTest(SmtpTestCase):
    """relay_host with AUTH: the sink demands STARTTLS and then AUTH; the
    relay sends the credentials only over TLS."""
    inboxes = ("bot",)
    sink_port = harness.free_ports(1)[0]
    smtp_conf = {"relay_host": "127.0.0.1:%d" % sink_port, "relay_user": "gentd",
                 "relay_password": "s3cret-pw", "relay_retry_schedule": "1s"}

    @classmethod
    def setUpClass(cls):
        import ssl
        import tempfile
        from aiosmtpd.smtp import AuthResult
        from smtp_fixture import self_signed_cert
        super().setUpClass()
        d = tempfile.mkdtemp(prefix="gentd-smarthost-")
        cert, key = self_signed_cert(d, cn="127.0.0.1")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        cls.logins = []

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (auth_data.login, auth_data.password) == (b"gentd", b"s3cret-pw")
            cls.logins.append((mechanism, session.ssl is not None, ok))
            return AuthResult(success=ok)

        cls.sink = Sink(cls.sink_port)
        cls.sink.controller = Controller(cls.sink, hostname="127.0.0.1",
                                         port=cls.sink_port, decode_data=False,
                                         tls_context=ctx, require_starttls=True,
                                         auth_required=True, auth_require_tls=True,
                                         authenticator=authenticator)
        cls.sink.controller.start()
        cls.addClassCleanup(cls.sink.stop)
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["bot"], "scopes": ["email:send", "email:read"],
            "label": "smarthost"}, token=cls.env.acct.session)
        assert st == 201, tok
        cls.tok = tok["raw_token"]

    def test_delivery_through_an_authenticating_smarthost(self):
        to = "someone@far-away.example"
        st, _, r = self.srv.request("POST", "/v1/messages/", {
            "to": [to], "subject": "via smarthost", "text_body": "x"}, token=self.tok)
        self.assertEqual(st, 202, r)
        harness.wait_until(lambda: self.sink.to(to), timeout=20, what="smarthost delivery")
        self.assertEqual(len(self.sink.to(to)), 1)
        self.assertTrue(self.logins, "no AUTH seen")
        self.assertTrue(all(tls and ok for _, tls, ok in self.logins), self.logins)
        st, _, m = self.srv.request("GET", "/v1/messages/%s/" % r["id"], token=self.tok)
        self.assertEqual(m["delivery"][0]["status"], "sent", m["delivery"])
        # The password never reaches the log.
        self.assertNotIn("s3cret-pw", self.srv.log_text())


class QueueLifetimeTest(SmtpTestCase):
    """A destination that only ever defers: the message fails for good when
    queue_lifetime runs out, and the sender gets a report (4.4.7)."""
    inboxes = ("bot",)
    sink_port = harness.free_ports(1)[0]
    smtp_conf = {"relay_port": str(sink_port), "relay_retry_schedule": "1s",
                 "queue_lifetime": "3s"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = Sink(cls.sink_port)
        cls.sink.start()
        cls.addClassCleanup(cls.sink.stop)
        cls.dns.publish(DEST, mx=[(MX, 10)], a={MX: "127.0.0.1"})
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["bot"], "scopes": ["email:send", "email:read"],
            "label": "lifetime"}, token=cls.env.acct.session)
        assert st == 201, tok
        cls.tok = tok["raw_token"]

    def test_expiry_bounces(self):
        to = "never@%s" % DEST
        self.sink.replies[to] = ["451 4.3.0 not today"]
        st, _, r = self.srv.request("POST", "/v1/messages/", {
            "to": [to], "subject": "doomed", "text_body": "x"}, token=self.tok)
        self.assertEqual(st, 202, r)

        def status():
            st, _, m = self.srv.request("GET", "/v1/messages/%s/" % r["id"], token=self.tok)
            return m["delivery"][0]
        harness.wait_until(lambda: status()["status"] == "failed", timeout=20,
                           what="message failed after queue_lifetime")
        self.assertGreaterEqual(status()["attempts"], 2)
        reports = [m for m in self.env.messages("bot")
                   if (m.get("subject") or "").startswith("Undelivered Mail")]
        self.assertEqual(len(reports), 1, reports)
        full = self.env.message(reports[0]["id"])
        self.assertEqual(full["thread_id"], r["thread_id"])
        raw = self.env.raw(reports[0]["id"])
        self.assertIn(b"Status: 4.4.7", raw)
        self.assertIn(b"report-type=delivery-status", raw.replace(b'"', b""))
        self.assertIn(b"Final-Recipient: rfc822; " + to.encode(), raw)


if __name__ == "__main__":
    harness.main()
