"""Tenant isolation of mail (RELIABILITY.md row 23): two tenants on one
gentd, each with its own verified domain and inbox. Tenant A receives mail
over SMTP (one message with an attachment, and a reply in the same
thread), labels it and has an alert rule and a token. Tenant B, with its
owner's session and with a full agent token (scopes ["write"]) of its own
inbox, then tries every read and write of A's objects by id, every list
filtered by one of A's ids, and every create aimed at A's inbox:

  * by-id routes answer 404; routes where A's inbox id is a parameter
    answer 403 or 404; list filters naming A's thread or label within B's
    own inbox answer 404 or an empty page; the audit log filtered by A's
    inbox is an empty page for B (no 403/404 there, see below);
  * no response body carries anything of A: subjects, ids, addresses,
    domain, label name, attachment bytes (an id the request itself named
    may be echoed back, nothing else);
  * afterwards everything of A reads back the same with A's session
    (messages, flags, labels, thread, alert, token, counts), and A's audit
    trail and event feed did not grow.

Path traversal: ids such as "..", "%2e%2e%2f", "msg_..%2F..%2Fcontrol" and
"..%2F..%2Ftenants%2F<A's tenant>%2Ftenant.db" in the same routes, with A's
and B's credentials, answer 400 or 404 and gentd keeps running.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_tenant_isolation.py
"""

import email.message
import email.policy
import json
import secrets
import unittest
import urllib.parse

import harness
from smtp_fixture import SmtpTestCase, send_mail, verified_domain

PDF = b"%PDF-1.4 tenant A's secret attachment " + secrets.token_hex(8).encode() + b"\n"


def mail(subject, sender, to, msg_id, in_reply_to=None, pdf=None):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = msg_id
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
        m["References"] = in_reply_to
    m.set_content("tenant A's body text")
    if pdf:
        m.add_attachment(pdf, maintype="application", subtype="pdf",
                         filename="secret.pdf")
    return m.as_bytes()


class TenantIsolationTest(SmtpTestCase):
    inboxes = ("bot",)
    smtp_conf = {"webhook_allow_private": "true"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env, srv = cls.env, cls.srv
        cls.a_session = env.acct.session
        cls.a_inbox = env.inboxes["bot"]
        cls.a_addr = env.addr("bot")
        tag = secrets.token_hex(4)
        # -- tenant A: a message with an attachment and a reply to it --
        cls.a_subject = "A secret subject " + tag
        first_id = "<a-first-%s@client.gentd.test>" % tag
        r = send_mail(cls.port, "ann@client.gentd.test", [cls.a_addr],
                      mail(cls.a_subject, "Ann <ann@client.gentd.test>", cls.a_addr,
                           first_id, pdf=PDF))
        assert r.code == 250, r
        cls.a_reply_subject = "Re: " + cls.a_subject
        r = send_mail(cls.port, "ann@client.gentd.test", [cls.a_addr],
                      mail(cls.a_reply_subject, "Ann <ann@client.gentd.test>",
                           cls.a_addr, "<a-reply-%s@client.gentd.test>" % tag,
                           in_reply_to=first_id))
        assert r.code == 250, r
        cls.a_msg = env.by_subject(cls.a_subject)[0]
        cls.a_reply = env.by_subject(cls.a_reply_subject)[0]
        assert cls.a_msg["thread_id"] == cls.a_reply["thread_id"], (cls.a_msg,
                                                                     cls.a_reply)
        cls.a_thread = cls.a_msg["thread_id"]
        full = cls.a_call("GET", "/v1/messages/%s/" % cls.a_msg["id"])
        assert len(full["attachments"]) == 1, full
        cls.a_att = full["attachments"][0]["id"]
        cls.a_label_name = "a-private-" + tag
        cls.a_label = cls.a_call("POST", "/v1/labels/", {
            "inbox_id": cls.a_inbox, "name": cls.a_label_name}, 201)["id"]
        cls.a_call("POST", "/v1/messages/%s/labels/" % cls.a_msg["id"],
                   {"label_id": cls.a_label}, 204)
        cls.a_call("PATCH", "/v1/messages/%s/" % cls.a_reply["id"],
                   {"read": True, "starred": True})
        cls.a_alert = cls.a_call("POST", "/v1/alerts/", {
            "inbox_id": cls.a_inbox, "events": ["message.received"],
            "url": "http://127.0.0.1:9/a-hook"}, 201)["id"]
        cls.a_token = cls.a_call("POST", "/v1/tokens/", {
            "inbox_id": cls.a_inbox, "scopes": ["email:read"],
            "label": "A's token"}, 201)["id"]
        # -- tenant B: its own domain (same dnsmasq), inbox, mail, label --
        cls.b = srv.new_account(inbox=False)
        cls.b_domain = verified_domain(srv, env.dns, cls.b.session)["domain"]
        cls.b_addr = "desk@" + cls.b_domain
        st, _, ib = srv.request("POST", "/v1/inboxes/", {"address": cls.b_addr},
                                token=cls.b.session)
        assert st == 201, (st, ib)
        cls.b_inbox = ib["inbox_id"]
        st, _, tok = srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.b_inbox, "scopes": ["write"], "label": "B agent"},
            token=cls.b.session)
        assert st == 201, (st, tok)
        cls.b_agent = tok["raw_token"]
        b_subject = "B own subject " + tag
        r = send_mail(cls.port, "bea@client.gentd.test", [cls.b_addr],
                      mail(b_subject, "Bea <bea@client.gentd.test>", cls.b_addr,
                           "<b-%s@client.gentd.test>" % tag))
        assert r.code == 250, r
        st, _, page = srv.request("GET", "/v1/messages/", token=cls.b_agent)
        assert st == 200 and [m["subject"] for m in page["data"]] == [b_subject], page
        cls.b_msg = page["data"][0]["id"]
        st, _, lab = srv.request("POST", "/v1/labels/", {"inbox_id": cls.b_inbox, "name": "b-own"},
                                 token=cls.b_agent)
        assert st == 201, (st, lab)
        cls.b_label = lab["id"]
        # Everything of A that must never reach B.
        cls.a_secrets = {
            "A subject": cls.a_subject, "A message id": cls.a_msg["id"],
            "A reply id": cls.a_reply["id"], "A thread id": cls.a_thread,
            "A attachment id": cls.a_att, "A label id": cls.a_label,
            "A label name": cls.a_label_name, "A inbox id": cls.a_inbox,
            "A address": cls.a_addr, "A domain": env.domain,
            "A alert id": cls.a_alert, "A token id": cls.a_token,
            "A tenant id": env.acct.tenant_id, "A sender": "ann@client.gentd.test",
            "A attachment bytes": PDF.decode().strip(),
            "A body": "tenant A's body text"}

    @classmethod
    def a_call(cls, method, path, body=None, status=200):
        st, _, out = cls.srv.request(method, path, body, token=cls.a_session)
        assert st == status, "%s %s: %d %r" % (method, path, st, out)
        return out

    # -- A's state, read with A's credentials --

    def a_state(self):
        a = self.a_call
        msg_ids = (self.a_msg["id"], self.a_reply["id"])
        state = {
            "messages": {m: a("GET", "/v1/messages/%s/" % m) for m in msg_ids},
            "message labels": a("GET", "/v1/messages/%s/labels/" % self.a_msg["id"]),
            "list": a("GET", "/v1/messages/?limit=200&inbox_id=" + self.a_inbox),
            "thread": a("GET", "/v1/threads/%s/" % self.a_thread),
            "threads": a("GET", "/v1/threads/?inbox_id=" + self.a_inbox),
            "label": a("GET", "/v1/labels/%s/" % self.a_label),
            "labels": a("GET", "/v1/labels/?inbox_id=" + self.a_inbox),
            "alert": a("GET", "/v1/alerts/%s/" % self.a_alert),
            "token": a("GET", "/v1/tokens/%s/?inbox_id=%s" % (self.a_token,
                                                               self.a_inbox)),
            "inbox": a("GET", "/v1/inboxes/%s/" % self.a_inbox),
            "audit": a("GET", "/v1/audit/?limit=200"),
            "events": a("GET", "/v1/events/?limit=200"),
        }
        for m in msg_ids:
            self.srv.request("GET", "/v1/messages/%s/raw/" % m, token=self.a_session)
            state["raw " + m] = self.srv.last_body
        st, _, _ = self.srv.request("GET", "/v1/messages/%s/attachments/%s/" % (
            self.a_msg["id"], self.a_att), token=self.a_session)
        self.assertEqual(st, 200)
        state["attachment"] = self.srv.last_body
        return state

    def assertNoLeak(self, method, path, body, who):
        """The last response carries nothing of A that the request itself
        did not name."""
        sent = path + (json.dumps(body) if body is not None else "")
        sent = sent + " " + urllib.parse.unquote(sent)
        got = self.srv.last_body.decode("utf-8", "replace")
        for what, value in self.a_secrets.items():
            if value in sent:
                continue
            self.assertNotIn(value, got, "%s %s as %s leaks %s: %s"
                             % (method, path, who, what, got[:500]))

    # -- the probes --

    def probes(self):
        """(method, path, body, allowed statuses, empty page allowed)."""
        m, r, t = self.a_msg["id"], self.a_reply["id"], self.a_thread
        lab, att, ib, alert = self.a_label, self.a_att, self.a_inbox, self.a_alert
        ID = (404,)             # an object of A by id
        INBOX = (403, 404)      # A's inbox id as a parameter
        NEED = (400,)           # a session that names no inbox
        out = [
            # messages by id
            ("GET", "/v1/messages/%s/" % m, None, ID, False),
            ("GET", "/v1/messages/%s/" % r, None, ID, False),
            ("GET", "/v1/messages/%s/raw/" % m, None, ID, False),
            ("GET", "/v1/messages/%s/attachments/%s/" % (m, att), None, ID, False),
            ("GET", "/v1/messages/%s/labels/" % m, None, ID, False),
            ("PATCH", "/v1/messages/%s/" % m, {"read": True}, ID, False),
            ("PATCH", "/v1/messages/%s/" % r, {"unread": True, "starred": False,
                                               "archived": True}, ID, False),
            ("POST", "/v1/messages/%s/labels/" % m, {"label_id": lab}, ID, False),
            ("POST", "/v1/messages/%s/labels/" % r, {"label_id": self.b_label},
             ID, False),
            ("DELETE", "/v1/messages/%s/labels/%s/" % (m, lab), None, ID, False),
            # A's label on B's own message: the label is not B's
            ("POST", "/v1/messages/%s/labels/" % self.b_msg, {"label_id": lab},
             (400, 404), False),
            ("DELETE", "/v1/messages/%s/labels/%s/" % (self.b_msg, lab), None,
             ID, False),
            # threads, labels, alerts, tokens by id
            ("GET", "/v1/threads/%s/" % t, None, ID, False),
            ("GET", "/v1/labels/%s/" % lab, None, ID, False),
            ("PATCH", "/v1/labels/%s/" % lab, {"name": "stolen"}, ID, False),
            ("GET", "/v1/alerts/%s/" % alert, None, ID, False),
            ("PATCH", "/v1/alerts/%s/" % alert, {"attempts": 5}, ID, False),
            ("POST", "/v1/alerts/%s/disable/" % alert, None, ID, False),
            # (a session must name the inbox: 400 before any lookup)
            ("GET", "/v1/tokens/%s/" % self.a_token, None, NEED + INBOX, False),
            ("GET", "/v1/tokens/%s/?inbox_id=%s" % (self.a_token, ib), None,
             INBOX, False),
            ("PATCH", "/v1/tokens/%s/?inbox_id=%s" % (self.a_token, ib),
             {"action": "pause"}, INBOX, False),
            ("GET", "/v1/domains/%s/" % self.env.domain, None, INBOX, False),
            # lists narrowed to A's objects
            ("GET", "/v1/messages/?thread_id=" + t, None, NEED + ID, True),
            ("GET", "/v1/messages/?label=" + lab, None, NEED + ID, True),
            ("GET", "/v1/messages/?inbox_id=%s&thread_id=%s" % (self.b_inbox, t),
             None, ID, True),
            ("GET", "/v1/messages/?inbox_id=%s&label=%s" % (self.b_inbox, lab),
             None, ID, True),
            ("GET", "/v1/messages/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/messages/?inbox_id=%s&thread_id=%s" % (ib, t), None,
             INBOX, False),
            ("GET", "/v1/threads/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/labels/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/alerts/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/events/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/activity/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/tokens/?inbox_id=" + ib, None, INBOX, False),
            ("GET", "/v1/billing/usage/?inbox_id=" + ib, None, INBOX, False),
            # The audit log's inbox_id is a filter within the caller's
            # tenant: another tenant's inbox matches nothing (agent tokens
            # lack the admin-only audit:read and get 403).
            ("GET", "/v1/audit/?inbox_id=" + ib, None, INBOX, True),
            # A's inbox itself
            ("GET", "/v1/inboxes/%s/" % ib, None, INBOX, False),
            ("GET", "/v1/inboxes/%s/handoff/" % ib, None, INBOX, False),
            ("GET", "/v1/inboxes/%s/config/" % ib, None, INBOX, False),
            ("GET", "/v1/inboxes/%s/quota/" % ib, None, INBOX, False),
            ("PATCH", "/v1/inboxes/%s/" % ib, {"display_name": "stolen"}, INBOX,
             False),
            # creating things in A's inbox
            ("POST", "/v1/labels/", {"inbox_id": ib, "name": "planted"}, INBOX,
             False),
            ("POST", "/v1/alerts/", {"inbox_id": ib, "events": ["message.received"],
                                     "url": "http://127.0.0.1:9/b-hook"},
             INBOX, False),
            ("POST", "/v1/tokens/", {"inbox_id": ib, "scopes": ["email:read"],
                                     "label": "planted"}, INBOX, False),
            ("POST", "/v1/messages/", {"inbox_id": ib, "to": ["x@elsewhere.test"],
                                       "subject": "planted", "text_body": "x"},
             INBOX, False),
            # and the deletes last
            ("DELETE", "/v1/messages/%s/" % r, None, ID, False),
            ("DELETE", "/v1/labels/%s/" % lab, None, ID, False),
            ("DELETE", "/v1/alerts/%s/" % alert, None, ID, False),
            ("DELETE", "/v1/tokens/%s/?inbox_id=%s" % (self.a_token, ib), None,
             INBOX, False),
            ("DELETE", "/v1/inboxes/%s/" % ib, None, INBOX, False),
        ]
        return out

    def test_other_tenant_reaches_nothing_of_a(self):
        before = self.a_state()
        creds = (("B owner session", self.b.session), ("B write token", self.b_agent))
        for who, cred in creds:
            for method, path, body, allowed, empty_ok in self.probes():
                with self.subTest(who=who, method=method, path=path):
                    st, _, out = self.srv.request(method, path, body, token=cred)
                    if empty_ok and st == 200:
                        self.assertIsInstance(out, dict, out)
                        self.assertEqual(out.get("data"), [], out)
                    else:
                        self.assertIn(st, allowed, "%s %s as %s: %d %r"
                                      % (method, path, who, st, out))
                        if st in (400, 403, 404):
                            self.assertIsInstance(out, dict, out)
                            self.assertEqual(out["error"]["status"], st, out)
                    self.assertNoLeak(method, path, body, who)
            # B's own inbox still works with the same credentials.
            st, _, page = self.srv.request(
                "GET", "/v1/messages/?inbox_id=" + self.b_inbox, token=cred)
            self.assertEqual(st, 200, page)
            self.assertEqual([x["id"] for x in page["data"]], [self.b_msg])
        self.assertTrue(self.srv.running(), self.srv.log_tail())
        after = self.a_state()
        for key in before:
            with self.subTest(state=key):
                self.assertEqual(after[key], before[key])
        # The state read back is what A made (so "unchanged" means something).
        msg = after["messages"][self.a_msg["id"]]
        self.assertEqual([l["id"] for l in msg["labels"]], [self.a_label])
        self.assertFalse(msg["read"])
        reply = after["messages"][self.a_reply["id"]]
        self.assertTrue(reply["read"] and reply["starred"] and not reply["archived"],
                        reply)
        self.assertEqual(len(after["list"]["data"]), 2)
        self.assertEqual(after["thread"]["message_count"], 2)
        self.assertEqual(after["label"]["name"], self.a_label_name)
        self.assertEqual(after["token"]["status"], "active")
        self.assertEqual(after["alert"]["enabled"], True)
        self.assertEqual(after["attachment"], PDF)

    # -- path traversal --

    TRAVERSAL = ("..", "%2e%2e", "%2E%2E%2F", "%2e%2e%2f", "..%2f..%2f",
                 "msg_..%2F..%2Fcontrol", "msg_..%2F..%2Fcontrol.db",
                 "..%5c..%5ccontrol.db", "%2e%2e%2f%2e%2e%2fcontrol.db",
                 "%252e%252e%252f", "msg_%00", ".%2e", "%2f", "%2F..%2F..%2F")

    def traversal_paths(self):
        tenant = self.env.acct.tenant_id
        ids = list(self.TRAVERSAL) + [
            "..%2F..%2Ftenants%2F" + tenant + "%2Ftenant.db",
            "..%2F" + tenant, urllib.parse.quote("../../tenants/%s/tenant.db" % tenant,
                                                 safe="")]
        m, ib = self.a_msg["id"], self.a_inbox
        routes = ("/v1/messages/%s/", "/v1/messages/%s/raw/",
                  "/v1/messages/%s/labels/",
                  "/v1/messages/" + m + "/attachments/%s/",
                  "/v1/messages/%s/attachments/" + self.a_att + "/",
                  "/v1/messages/" + m + "/labels/%s/",
                  "/v1/threads/%s/", "/v1/labels/%s/", "/v1/alerts/%s/",
                  "/v1/tokens/%s/", "/v1/inboxes/%s/", "/v1/inboxes/%s/handoff/",
                  "/v1/domains/%s/",
                  "/v1/messages/?inbox_id=%s", "/v1/threads/?inbox_id=%s",
                  "/v1/events/?inbox_id=%s", "/v1/audit/?inbox_id=%s",
                  "/v1/messages/?inbox_id=" + ib + "&thread_id=%s")
        out = [(route % i) for route in routes for i in ids]
        # Unencoded dot segments straight in the path.
        out += ["/v1/messages/../../control.db", "/v1/messages/%s/../../../control.db" % m,
                "/v1/../../tenants/%s/tenant.db" % tenant, "/../control.db",
                "/v1/messages/./%s/" % m]
        return out

    def test_path_traversal_ids(self):
        before = self.a_state()
        creds = (("A owner session", self.a_session), ("A read token",
                                                       self.env.tokens["bot"]),
                 ("B owner session", self.b.session), ("B write token", self.b_agent))
        paths = self.traversal_paths()
        self.assertGreater(len(paths), 300)
        for who, cred in creds:
            for path in paths:
                for method in ("GET", "DELETE"):
                    with self.subTest(who=who, method=method, path=path):
                        st, _, out = self.srv.request(method, path, token=cred)
                        if st == 200 and method == "GET":
                            # a list filter that matches nothing
                            self.assertIn("?", path)
                            self.assertEqual(out.get("data"), [], out)
                        else:
                            self.assertIn(st, (400, 403, 404, 405),
                                          "%s %s as %s: %d %r" % (method, path, who,
                                                                  st, out))
                        if who.startswith("B"):
                            self.assertNoLeak(method, path, None, who)
        self.assertTrue(self.srv.running(), self.srv.log_tail())
        st, _, _ = self.srv.request("GET", "/healthz")
        self.assertEqual(st, 200)
        self.assertEqual(self.a_state(), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
