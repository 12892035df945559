"""Every mutating route writes an audit entry.

The routes come from the running server (GET /v1/openapi.json): each POST,
PUT, PATCH and DELETE must be called here at least once with valid input
and answer 2xx, and the X-Request-Id of every such call must show up in an
audit row (GET /v1/audit/ as the tenant's owner, both databases merged).
A route added later fails this test until it is exercised here. Mail
arrives over SMTP (MailEnv), sends and forwards reach an aiosmtpd sink on
loopback, webhooks a loopback HTTP receiver.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_audit_coverage.py
"""

import base64
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
import dns_fixture
from smtp_fixture import SmtpTestCase, send_mail, make_message
from aiosmtpd.controller import Controller

MUTATING = ("post", "put", "patch", "delete")
DEST = "dest.test"
MX = "mx.dest.test"
WAIT = 15.0             # bound on every wait for mail or a webhook

# Routes that cannot write an audit entry, with the reason. Keep it empty
# unless a route truly has nothing to record.
EXEMPT = {}

# Audit rows that belong to no tenant are not in any tenant's GET
# /v1/audit/; these routes are checked in control.db instead.
TENANTLESS = {
    ("POST", "/v1/waitlist/"): "an access request comes before any tenant exists",
}


class Sink:
    """An SMTP peer on loopback that accepts and keeps every message."""

    def __init__(self, port):
        self.port = port
        self.lock = threading.Lock()
        self.received = []          # (mail_from, [rcpts], bytes)
        self.controller = None

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
            return [m for m in self.received
                    if rcpt.lower() in [r.lower() for r in m[1]]]


class Receiver:
    """An HTTP endpoint on 127.0.0.1 answering 200 to every POST."""

    def __init__(self):
        self.paths = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    outer.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class AuditCoverageTest(SmtpTestCase):
    inboxes = ("bot", "spare")
    sink_port = harness.free_ports(1)[0]
    smtp_conf = {"relay_port": str(sink_port), "relay_retry_schedule": "1s,1s,2s",
                 "queue_lifetime": "1h", "webhook_allow_private": "true"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = Sink(cls.sink_port)
        cls.sink.start()
        cls.addClassCleanup(cls.sink.stop)
        cls.rx = Receiver()
        cls.addClassCleanup(cls.rx.close)
        cls.dns.publish(DEST, mx=[(MX, 10)], a={MX: "127.0.0.1"})

    def setUp(self):
        self.calls = []     # (method, route, request_id, tenant_id or "-", status)
        self.tenant = self.env.acct.tenant_id
        self.session = self.env.acct.session
        st, _, doc = self.srv.request("GET", "/v1/openapi.json")
        self.assertEqual(st, 200, doc)
        self.routes = {(m.upper(), path): op for path, item in doc["paths"].items()
                       for m, op in item.items() if m in MUTATING}

    # -- calling routes --

    def call(self, method, route, params=(), body=None, token=None, query="",
             status=None, tenant=None):
        """One request to route (the OpenAPI path, {params} filled in from
        params in order) with token (default: the owner's session; "" for
        none). Asserts the documented success status (or status), and
        records the request id for the audit check."""
        self.assertIn((method, route), self.routes,
                      "%s %s is not in /v1/openapi.json" % (method, route))
        path = route
        for p in params:
            path = re.sub(r"\{[^}]+\}", urllib.parse.quote(p, safe=""), path, count=1)
        self.assertNotIn("{", path, "missing path parameters for " + route)
        want = status or int(next(iter(self.routes[(method, route)]["responses"])))
        if token is None:
            token = self.session
        st, headers, out = self.srv.request(method, path + query, body,
                                            token=token or None)
        self.assertEqual(st, want, "%s %s: %r" % (method, path, out))
        rid = headers.get("X-Request-Id")
        self.assertTrue(rid, "%s %s: no X-Request-Id" % (method, path))
        if tenant is None:
            tenant = "-" if (method, route) in TENANTLESS else self.tenant
        self.calls.append((method, route, rid, tenant, st))
        return out

    def token(self, local, scopes, **extra):
        body = {"inbox_id": self.env.inboxes[local], "scopes": scopes,
                "label": "audit " + secrets.token_hex(3)}
        body.update(extra)
        return self.call("POST", "/v1/tokens/", body=body)

    def deliver(self, subject, local="bot"):
        """One message over SMTP; returns its id."""
        subject = "%s [%s]" % (subject, secrets.token_hex(4))
        data = make_message(subject, to=self.env.addr(local))
        r = send_mail(self.port, "sender@client.gentd.test", [self.env.addr(local)], data)
        self.assertEqual(r.code, 250, r)
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, got)
        return got[0]["id"]

    def wait_mail(self, rcpt):
        return harness.wait_until(lambda: self.sink.to(rcpt), timeout=WAIT,
                                  what="mail to %s at the sink" % rcpt)

    # -- reading the audit log --

    def audit_request_ids(self, session):
        """Every request id in the tenant's audit log (paged, bounded)."""
        ids, cursor = set(), None
        for _ in range(100):
            q = "/v1/audit/?limit=200"
            if cursor:
                q += "&cursor=" + urllib.parse.quote(cursor)
            st, _, page = self.srv.request("GET", q, token=session)
            self.assertEqual(st, 200, page)
            ids |= {r["request_id"] for r in page["data"] if r["request_id"]}
            cursor = page.get("next_cursor")
            if not cursor:
                return ids
        raise AssertionError("more than 100 pages of audit entries")

    def tenantless_request_ids(self):
        conn = self.srv.db()
        try:
            return {r[0] for r in conn.execute(
                "SELECT request_id FROM audit WHERE tenant_id IS NULL "
                "AND request_id IS NOT NULL")}
        finally:
            conn.close()

    # -- the routes, in groups --

    def exercise_auth_and_tenants(self):
        acct = self.env.acct
        s2 = self.call("POST", "/v1/auth/login/", token="",
                       body={"email": acct.email, "password": acct.password})
        self.call("POST", "/v1/auth/logout/", token=s2["session_token"])
        # A wrong password is audited as well (the user is known).
        self.call("POST", "/v1/auth/login/", token="", status=401,
                  body={"email": acct.email, "password": "not-the-password"})
        self.call("PATCH", "/v1/tenants/", body={"governance_tier": "full"})
        # Access request, approval by the operator, sign-up: a new tenant.
        email = harness.unique_email("founder")
        self.call("POST", "/v1/waitlist/", token="", body={"email": email})
        signup_token = self.srv.admin("approve-waitlist", "--email", email)["signup_token"]
        password = "pw-" + secrets.token_hex(8)
        new = self.call("POST", "/v1/auth/signup/", token="", status=201,
                        body={"email": email, "signup_token": signup_token,
                              "password": password,
                              "tenant_name": harness.uniq("signup")})
        self.signup_tenant = new["tenant_id"]
        # Its entry is in the new tenant's log, known only now.
        m, r, rid, _, st = self.calls[-1]
        self.calls[-1] = (m, r, rid, new["tenant_id"], st)
        self.signup_session = self.call(
            "POST", "/v1/auth/login/", token="", tenant=new["tenant_id"],
            body={"email": email, "password": password})["session_token"]
        # Invites.
        inv = self.call("POST", "/v1/invites/", body={"role": "member"})
        self.call("POST", "/v1/invites/accept/", token="", body={
            "invite_token": inv["invite_token"], "email": harness.unique_email("invitee"),
            "password": "pw-" + secrets.token_hex(8)})

    def exercise_tokens(self):
        t = self.token("spare", ["read"])
        spare = self.env.inboxes["spare"]
        for action in ("rotate", "pause", "resume"):
            self.call("PATCH", "/v1/tokens/{token_id}/", [t["id"]],
                      body={"action": action, "inbox_id": spare})
        self.call("DELETE", "/v1/tokens/{token_id}/", [t["id"]],
                  query="?inbox_id=" + spare)

    def exercise_domains(self):
        d = self.call("POST", "/v1/domains/", body={"domain": dns_fixture.rand_domain()})
        name = d["domain"]
        dns_fixture.publish_domain(self.dns, d)
        for _ in range(20):
            v = self.call("POST", "/v1/domains/{name}/verify/", [name])
            if v.get("status") == "verified":
                break
            time.sleep(0.25)
        self.assertEqual(v.get("status"), "verified", v)
        rot = self.call("POST", "/v1/domains/{name}/dkim/rotate/", [name])
        pending = [k for k in rot["keys"] if k["status"] == "pending"][0]
        mx, txt = dns_fixture.record_set(d)
        txt[pending["name"]] = [pending["value"]]
        self.dns.publish(name, mx=mx, txt=txt)
        self.call("POST", "/v1/domains/{name}/dkim/activate/", [name])
        self.call("DELETE", "/v1/domains/{name}/", [name])

    def exercise_inboxes(self):
        ib = self.call("POST", "/v1/inboxes/", body={
            "address": self.env.addr(harness.uniq("tmp"))})
        iid = ib["inbox_id"]
        for body in ({"display_name": "Temp"}, {"status": "suspended"},
                     {"status": "active"}):
            self.call("PATCH", "/v1/inboxes/{inbox_id}/", [iid], body=body)
        self.call("PATCH", "/v1/inboxes/{inbox_id}/config/", [iid],
                  body={"signature": "Temp inbox"})
        self.call("PUT", "/v1/inboxes/{inbox_id}/webhook/", [iid], body={
            "url": self.rx.url("/inbox"), "secret": "inbox-secret-0123456789"})
        self.call("DELETE", "/v1/inboxes/{inbox_id}/webhook/", [iid])
        self.call("DELETE", "/v1/inboxes/{inbox_id}/", [iid])

    def exercise_inbox_rules_and_caps(self):
        spare = self.env.inboxes["spare"]
        self.call("PUT", "/v1/sender-rules/", body={
            "inbox_id": spare, "inbound_mode": "blocklist",
            "inbound_patterns": ["@spam.test"]})
        self.call("DELETE", "/v1/sender-rules/", body={"inbox_id": spare})
        self.call("PUT", "/v1/billing/caps/mailbox/", body={
            "inbox_id": spare, "limit_gb": 1, "mode": "enforce"})
        self.call("DELETE", "/v1/billing/caps/mailbox/", query="?inbox_id=" + spare)
        self.call("PUT", "/v1/billing/caps/send/", body={
            "inbox_id": spare, "limit": 1000, "period": "daily", "mode": "enforce"})
        self.call("DELETE", "/v1/billing/caps/send/", body={"inbox_id": spare})

    def exercise_mail(self, tok):
        """Forwarding (with the unsubscribe link of a forwarded copy),
        messages, labels and auto-label rules."""
        bot = self.env.inboxes["bot"]
        fwd = "fwd-%s@%s" % (secrets.token_hex(3), DEST)
        self.call("PUT", "/v1/forwarding/", token=tok, body={"default_address": fwd})
        rule = self.call("POST", "/v1/forwarding/rules/", token=tok, body={
            "destination": "rule@" + DEST, "condition_type": "subject_keyword",
            "condition_value": "never-" + secrets.token_hex(4)})
        self.call("PATCH", "/v1/forwarding/rules/{rule_id}/", [rule["id"]], token=tok,
                  body={"priority": 5})
        self.call("DELETE", "/v1/forwarding/rules/{rule_id}/", [rule["id"]], token=tok)
        mid = self.deliver("forwarded")
        raw = self.wait_mail(fwd)[0][2]
        m = re.search(rb"/v1/forwarding/unsubscribe/([^/>\s]+)/", raw)
        self.assertTrue(m, raw[:1500])
        self.call("POST", "/v1/forwarding/unsubscribe/{token}/", [m.group(1).decode()],
                  token="", body={})
        self.call("DELETE", "/v1/forwarding/", token=tok)

        self.call("PATCH", "/v1/messages/{message_id}/", [mid], token=tok,
                  body={"read": True, "starred": True})
        gone = self.deliver("to be deleted")
        self.call("DELETE", "/v1/messages/{message_id}/", [gone], token=tok)

        lab = self.call("POST", "/v1/labels/", token=tok,
                        body={"inbox_id": bot, "name": "l-" + secrets.token_hex(4)})
        self.call("PATCH", "/v1/labels/{label_id}/", [lab["id"]], token=tok,
                  body={"color": "#336699"})
        self.call("POST", "/v1/messages/{message_id}/labels/", [mid], token=tok,
                  body={"label_id": lab["id"]})
        self.call("DELETE", "/v1/messages/{message_id}/labels/{label_id}/",
                  [mid, lab["id"]], token=tok)
        r = self.call("POST", "/v1/auto-label-rules/", token=tok, body={
            "inbox_id": bot, "label_id": lab["id"], "conditions": [{"type": "subject_pattern",
                                                   "value": "never-*"}]})
        self.call("PATCH", "/v1/auto-label-rules/{rule_id}/", [r["id"]], token=tok,
                  body={"name": "renamed"})
        self.call("POST", "/v1/auto-label-rules/{rule_id}/disable/", [r["id"]], token=tok)
        self.call("POST", "/v1/auto-label-rules/{rule_id}/enable/", [r["id"]], token=tok)
        self.call("POST", "/v1/auto-label-rules/reorder/", token=tok,
                  body={"inbox_id": bot, "rule_ids": [r["id"]]})
        self.call("DELETE", "/v1/auto-label-rules/{rule_id}/", [r["id"]], token=tok)
        self.call("DELETE", "/v1/labels/{label_id}/", [lab["id"]], token=tok)

    def exercise_sending(self, tok):
        to = "to-%s@%s" % (secrets.token_hex(3), DEST)
        self.call("POST", "/v1/uploads/", token=tok, body={
            "filename": "note.txt", "content_type": "text/plain",
            "content": base64.b64encode(b"hello").decode()})
        self.call("POST", "/v1/messages/", token=tok, body={
            "to": [to], "subject": "audited send", "text_body": "x"})
        supervised = self.token("bot", ["email:send"],
                                requires_approval=["email:send"])["raw_token"]
        held = [self.call("POST", "/v1/messages/", token=supervised, body={
            "to": [to], "subject": "held %d" % i, "text_body": "x"})
            for i in range(2)]
        self.assertTrue(all(h["status"] == "pending_approval" for h in held), held)
        ok = self.call("POST", "/v1/approvals/{approval_id}/approve/",
                       [held[0]["approval_id"]], body={})
        self.assertEqual(ok["result"]["status"], 202, ok)
        self.call("POST", "/v1/approvals/{approval_id}/reject/",
                  [held[1]["approval_id"]], body={"reason": "not now"})
        # Both accepted sends are delivered before the server stops.
        harness.wait_until(lambda: len(self.sink.to(to)) >= 2, timeout=WAIT,
                           what="two sends at the sink")

    def exercise_webhooks(self, tok):
        alert = self.call("POST", "/v1/alerts/", token=tok, body={
            "events": ["message.received"], "url": self.rx.url("/alert"),
            "secret": "alert-secret-0123456789"})
        aid = alert["id"]
        self.call("PATCH", "/v1/alerts/{alert_id}/", [aid], token=tok,
                  body={"attempts": 2})
        self.call("POST", "/v1/alerts/{alert_id}/disable/", [aid], token=tok)
        self.call("POST", "/v1/alerts/{alert_id}/enable/", [aid], token=tok)
        out = self.call("POST", "/v1/alerts/test/", token=tok, body={"alert_id": aid})

        def status():
            st, _, d = self.srv.request("GET", "/v1/webhook-deliveries/%s/"
                                        % out["delivery_id"], token=tok)
            return st == 200 and d["status"] in ("delivered", "undelivered")
        harness.wait_until(status, timeout=WAIT, what="the test delivery")
        self.call("POST", "/v1/webhook-deliveries/{delivery_id}/replay/",
                  [out["delivery_id"]], token=tok, body={})
        harness.wait_until(status, timeout=WAIT, what="the replayed delivery")
        self.call("POST", "/v1/webhook-deliveries/replay/", token=tok, body={})
        self.call("DELETE", "/v1/alerts/{alert_id}/", [aid], token=tok)

    # -- the test --

    def test_every_mutating_route_is_audited(self):
        self.exercise_auth_and_tenants()
        self.exercise_tokens()
        self.exercise_domains()
        self.exercise_inboxes()
        self.exercise_inbox_rules_and_caps()
        tok = self.token("bot", ["email:read", "email:write", "email:send",
                                 "labels:read", "labels:write", "workflows:read",
                                 "workflows:write", "alerts:read", "alerts:write"])["raw_token"]
        self.exercise_mail(tok)
        self.exercise_sending(tok)
        self.exercise_webhooks(tok)

        # Every mutating route of the server was called here.
        called = {(m, r) for m, r, _, _, st in self.calls if 200 <= st < 300}
        missing = sorted(set(self.routes) - called - set(EXEMPT))
        if missing:
            self.fail("mutating routes this test does not exercise (add a call, "
                      "or an EXEMPT entry with its reason):\n  " +
                      "\n  ".join("%s %s" % k for k in missing))
        self.assertEqual(sorted(set(EXEMPT) - set(self.routes)), [],
                         "EXEMPT lists routes the server does not have")

        # Every call left an audit row with its request id.
        seen = {self.tenant: self.audit_request_ids(self.session),
                self.signup_tenant: self.audit_request_ids(self.signup_session),
                "-": self.tenantless_request_ids()}
        unaudited = {}
        for method, route, rid, tenant, st in self.calls:
            if rid not in seen[tenant]:
                unaudited.setdefault("%s %s" % (method, route), []).append(
                    "%s (%d)" % (rid, st))
        if unaudited:
            self.fail("routes whose successful calls left no audit entry:\n  " +
                      "\n  ".join("%s (request ids %s)" % (k, ", ".join(v))
                                   for k, v in sorted(unaudited.items())))
        # And the chains still check.
        st, _, v = self.srv.request("GET", "/v1/audit/verify/", token=self.session)
        self.assertEqual(st, 200, v)
        self.assertTrue(v["ok"], v)


if __name__ == "__main__":
    harness.main()
