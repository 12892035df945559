"""A read-only agent token changes nothing, on every mutating route.

The routes come from the running server (GET /v1/openapi.json): every
POST, PUT, PATCH and DELETE that takes a credential is called with two
read-only agent tokens (scope "read", and every ":read" scope named one by
one, admin-only ones included), with real ids of real objects in the path
and a body that the owner's session would have had accepted. Each call
must be refused with 403 (insufficient_scope for scoped routes, forbidden
for user-only ones), and afterwards every row of control.db and tenant.db
must be as it was: no change, no audit entry, no event, no delivery. A
route added later is covered without touching this file.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_read_only.py
"""

import re
import secrets
import urllib.parse

import harness
from smtp_fixture import SmtpTestCase, send_mail, make_message

MUTATING = ("post", "put", "patch", "delete")

# Columns that a refused request may legitimately touch. Keep it empty
# unless a read of the credential itself must write (it does not today).
VOLATILE = {}

# Bodies the owner's session would have had accepted, so a refusal cannot
# be a validation error in disguise. Routes not listed get {}.
BODIES = {
    ("POST", "/v1/alerts/"): lambda ids: {
        "events": ["message.received"], "url": "http://127.0.0.1:9/hook"},
    ("POST", "/v1/alerts/test/"): lambda ids: {"alert_id": ids["alert_id"]},
    ("PATCH", "/v1/alerts/{alert_id}/"): lambda ids: {"attempts": 5},
    ("POST", "/v1/auto-label-rules/"): lambda ids: {
        "label_id": ids["label_id"],
        "conditions": [{"type": "subject_pattern", "value": "*"}]},
    ("POST", "/v1/auto-label-rules/reorder/"): lambda ids: {
        "rule_ids": [ids["rule_id"]]},
    ("PATCH", "/v1/auto-label-rules/{rule_id}/"): lambda ids: {"match": "any"},
    ("PUT", "/v1/billing/caps/mailbox/"): lambda ids: {
        "inbox_id": ids["inbox_id"], "limit_gb": 1, "mode": "enforce"},
    ("PUT", "/v1/billing/caps/send/"): lambda ids: {
        "inbox_id": ids["inbox_id"], "limit": 10, "period": "daily",
        "mode": "enforce"},
    ("POST", "/v1/domains/"): lambda ids: {"domain": "other.gentd.test"},
    ("PUT", "/v1/forwarding/"): lambda ids: {
        "default_address": "copy@elsewhere.test"},
    ("POST", "/v1/forwarding/rules/"): lambda ids: {
        "destination": "copy@elsewhere.test", "condition_type": "all"},
    ("PATCH", "/v1/forwarding/rules/{rule_id}/"): lambda ids: {"enabled": False},
    ("POST", "/v1/inboxes/"): lambda ids: {"address": ids["new_address"]},
    ("PATCH", "/v1/inboxes/{inbox_id}/"): lambda ids: {"display_name": "X"},
    ("PATCH", "/v1/inboxes/{inbox_id}/config/"): lambda ids: {"signature": "X"},
    ("PUT", "/v1/inboxes/{inbox_id}/webhook/"): lambda ids: {
        "url": "http://127.0.0.1:9/inbox"},
    ("POST", "/v1/invites/"): lambda ids: {"role": "member"},
    ("POST", "/v1/labels/"): lambda ids: {
        "inbox_id": ids["inbox_id"], "name": "new-" + secrets.token_hex(3)},
    ("PATCH", "/v1/labels/{label_id}/"): lambda ids: {"name": "renamed"},
    ("POST", "/v1/messages/"): lambda ids: {
        "to": ["someone@elsewhere.test"], "subject": "hi", "text": "hi"},
    ("PATCH", "/v1/messages/{message_id}/"): lambda ids: {
        "read": True, "starred": True},
    ("POST", "/v1/messages/{message_id}/labels/"): lambda ids: {
        "label_id": ids["label_id"]},
    ("PUT", "/v1/sender-rules/"): lambda ids: {
        "inbound_mode": "blocklist", "inbound_patterns": ["@spam.test"]},
    ("PATCH", "/v1/tenants/"): lambda ids: {"name": "renamed"},
    ("POST", "/v1/tokens/"): lambda ids: {
        "inbox_id": ids["inbox_id"], "scopes": ["write"], "label": "x"},
    ("PATCH", "/v1/tokens/{token_id}/"): lambda ids: {"action": "pause"},
    ("POST", "/v1/uploads/"): lambda ids: {
        "filename": "a.txt", "content": "aGVsbG8="},
}


class ReadOnlyTokensTest(SmtpTestCase):
    inboxes = ("bot",)
    smtp_conf = {"webhook_allow_private": "true"}

    def session_call(self, method, path, body=None, status=None):
        st, _, out = self.srv.request(method, path, body,
                                      token=self.env.acct.session)
        if status is not None:
            self.assertEqual(st, status, "%s %s: %r" % (method, path, out))
        return out

    def make_objects(self):
        """One real object of each kind the routes name, made by the owner."""
        s = self.session_call
        inbox = self.env.inboxes["bot"]
        subject = "read-only probe " + secrets.token_hex(4)
        r = send_mail(self.port, "ann@client.gentd.test", [self.env.addr()],
                      make_message(subject, to=self.env.addr()))
        self.assertEqual(r.code, 250, r)
        msg = self.env.by_subject(subject)[0]
        label = s("POST", "/v1/labels/", {"inbox_id": inbox, "name": "kept"}, 201)
        s("POST", "/v1/messages/%s/labels/" % msg["id"],
          {"label_id": label["id"]}, 204)
        rule = s("POST", "/v1/auto-label-rules/", {
            "inbox_id": inbox, "label_id": label["id"],
            "conditions": [{"type": "sender_domain", "value": "x.test"}]}, 201)
        alert = s("POST", "/v1/alerts/", {
            "inbox_id": inbox, "events": ["label.applied"],
            "url": "http://127.0.0.1:9/hook"}, 201)
        fwd = s("POST", "/v1/forwarding/rules/", {
            "inbox_id": inbox, "destination": "copy@elsewhere.test",
            "condition_type": "all"}, 201)
        other = s("POST", "/v1/tokens/", {
            "inbox_id": inbox, "scopes": ["email:read"], "label": "other"}, 201)
        return {
            "inbox_id": inbox, "message_id": msg["id"], "label_id": label["id"],
            "alert_id": alert["id"], "token_id": other["id"],
            "domain_name": self.env.domain, "new_address": self.env.addr("nobody"),
            "rule_id": rule["id"], "forwarding_rule_id": fwd["id"],
            "approval_id": "apr_" + secrets.token_hex(8),
            "delivery_id": "whd_" + secrets.token_hex(8),
            "token": secrets.token_urlsafe(16),
        }

    def path_for(self, route, ids):
        def fill(m):
            name = m.group(1)
            if name == "name":
                value = ids["domain_name"]
            elif name == "rule_id" and route.startswith("/v1/forwarding/"):
                value = ids["forwarding_rule_id"]
            else:
                self.assertIn(name, ids, "no id for {%s} of %s" % (name, route))
                value = ids[name]
            return urllib.parse.quote(value, safe="")
        return re.sub(r"\{([^}]+)\}", fill, route)

    def snapshot(self):
        """Every row of both databases, by table."""
        out = {}
        for name in ("control.db", "tenants/%s/tenant.db" % self.env.acct.tenant_id):
            conn = self.srv.db(name)
            try:
                tables = [r[0] for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
                for t in tables:
                    cols = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % t)]
                    keep = [i for i, c in enumerate(cols)
                            if c not in VOLATILE.get(t, ())]
                    rows = conn.execute('SELECT * FROM "%s"' % t).fetchall()
                    out[(name, t)] = sorted(
                        (tuple(row[i] for i in keep) for row in rows), key=repr)
            finally:
                conn.close()
        return out

    def read_only_tokens(self, inbox):
        st, _, ref = self.srv.request("GET", "/v1/tokens/reference/")
        self.assertEqual(st, 200, ref)
        scopes = [s["scope"] if isinstance(s, dict) else s for s in ref["scopes"]]
        reads = [s for s in scopes if s.endswith(":read")]
        self.assertIn("email:read", reads)
        every_read = self.session_call("POST", "/v1/tokens/", {
            "inbox_id": inbox, "scopes": reads, "label": "every read scope"}, 201)
        return [self.env.tokens["bot"], every_read["raw_token"]]   # "read", each :read

    def test_every_mutating_route_refuses_read_tokens(self):
        st, _, doc = self.srv.request("GET", "/v1/openapi.json")
        self.assertEqual(st, 200, doc)
        routes = [(m.upper(), path, op) for path, item in sorted(doc["paths"].items())
                  for m, op in item.items() if m in MUTATING]
        self.assertGreater(len(routes), 40)
        # By construction first: no change is guarded by a read scope.
        for method, path, op in routes:
            self.assertFalse(op.get("x-scope", "").endswith(":read"),
                             "%s %s needs only %s" % (method, path, op.get("x-scope")))
        ids = self.make_objects()
        tokens = self.read_only_tokens(ids["inbox_id"])
        before = self.snapshot()
        called = 0
        for method, route, op in routes:
            if op["x-auth"] == "none":
                continue        # public (login, sign-up, unsubscribe): no token to refuse
            path = self.path_for(route, ids)
            body = BODIES.get((method, route), lambda ids: {})(ids)
            want = "insufficient_scope" if op["x-auth"] == "scope" else "forbidden"
            for tok in tokens:
                st, _, out = self.srv.request(method, path, body or None, token=tok)
                self.assertEqual(st, 403, "%s %s: %r" % (method, path, out))
                self.assertEqual(out["error"]["code"], want, (method, path, out))
                called += 1
        self.assertGreater(called, 80)
        after = self.snapshot()
        for key in sorted(before):
            self.assertEqual(before[key], after.get(key),
                             "%s table %s changed" % key)
        self.assertEqual(sorted(before), sorted(after))


if __name__ == "__main__":
    harness.main()
