"""The activity feed (GET /v1/activity/), the usage summary
(GET /v1/billing/usage/) and the handoff context
(GET /v1/inboxes/{id}/handoff/) over mail delivered by SMTP and sent
through the API: what each returns is checked against what the test did.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_activity.py
"""

import email.message
import email.policy
import secrets
import socket
import time
import unittest

import harness
from smtp_fixture import SmtpTestCase, send_mail, make_message

PDF = b"%PDF-1.4 not really\n" * 50


def dead_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def with_pdf(subject, sender, to):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = "<%s@client.gentd.test>" % secrets.token_hex(8)
    m.set_content("see attached")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="a.pdf")
    return m.as_bytes()


class ActivityTest(SmtpTestCase):
    inboxes = ("bot", "bot2")
    # Sends stay queued: the relay points at a closed loopback port.
    smtp_conf = {"relay_host": "127.0.0.1:%d" % dead_port(),
                 "relay_retry_schedule": "1h"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.session = env.acct.session
        st, _, t = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": env.inboxes["bot"], "label": "agent",
            "scopes": ["email:read", "email:send", "labels:read", "labels:write",
                       "context:read", "billing:read"]}, token=cls.session)
        assert st == 201, t
        cls.agent, cls.agent_id = t["raw_token"], t["token_id"]
        cls.subjects = {}
        cls.deliver("alice1", "Alice <alice@client.gentd.test>", "alice@client.gentd.test")
        cls.deliver("bob", "Bob <bob@client.gentd.test>", "bob@client.gentd.test",
                    pdf=True)
        cls.deliver("alice2", "Alice <alice@client.gentd.test>", "alice@client.gentd.test")
        cls.deliver("other", "Dan <dan@client.gentd.test>", "dan@client.gentd.test",
                    local="bot2")
        cls.msgs = {k: env.by_subject(v[0], v[1])[0] for k, v in cls.subjects.items()}
        st, _, lab = cls.srv.request("POST", "/v1/labels/", {
            "inbox_id": env.inboxes["bot"], "name": "todo-" +
                                     secrets.token_hex(2)}, token=cls.agent)
        assert st == 201, lab
        cls.label = lab
        st, _, b = cls.srv.request("POST", "/v1/messages/%s/labels/" % cls.msgs["bob"]["id"],
                                   {"label_id": lab["id"]}, token=cls.agent)
        assert st == 204, b
        time.sleep(0.01)
        st, _, sent = cls.srv.request("POST", "/v1/messages/", {
            "to": ["carol@example.net"], "subject": "hello carol",
            "text_body": "hi"}, token=cls.agent)
        assert st in (200, 201, 202), sent
        cls.sent = sent

    @classmethod
    def deliver(cls, key, header_from, envelope_from, pdf=False, local="bot"):
        subject = "%s %s" % (key, secrets.token_hex(3))
        to = cls.env.addr(local)
        raw = (with_pdf(subject, header_from, to) if pdf else
               make_message(subject, mail_from=header_from, to=to))
        r = send_mail(cls.port, envelope_from, [to], raw)
        assert r.code == 250, r
        cls.subjects[key] = (subject, local)
        time.sleep(0.005)       # distinct arrival times

    def get(self, path, token=None, status=200):
        st, _, body = self.srv.request("GET", path, token=token or self.agent)
        self.assertEqual(st, status, body)
        return body

    def narrow_token(self):
        st, _, t = self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": self.env.inboxes["bot"], "label": "narrow",
            "scopes": ["email:read"]}, token=self.session)
        self.assertEqual(st, 201, t)
        return t["raw_token"]

    # -- activity --

    def test_feed_newest_first_scoped_with_summaries(self):
        feed = self.get("/v1/activity/?limit=50")["data"]
        kinds = [(e["type"], e["message_id"]) for e in feed]
        want = [("label.applied", self.msgs["bob"]["id"]),
                ("message.received", self.msgs["alice2"]["id"]),
                ("message.received", self.msgs["bob"]["id"]),
                ("message.received", self.msgs["alice1"]["id"])]
        self.assertEqual(kinds[-4:], want, kinds)
        self.assertNotIn(self.msgs["other"]["id"], [e["message_id"] for e in feed])
        rx = [e for e in feed if e["message_id"] == self.msgs["alice1"]["id"]][0]
        self.assertIn("alice@client.gentd.test", rx["summary"])
        self.assertIn(self.subjects["alice1"][0], rx["summary"])
        lab = [e for e in feed if e["type"] == "label.applied"][0]
        self.assertIn(self.label["name"], lab["summary"])
        self.assertEqual(lab["subject"], self.subjects["bob"][0])
        # Filter by type, and page one at a time without repeats.
        only = self.get("/v1/activity/?type=label.applied")["data"]
        self.assertEqual({e["type"] for e in only}, {"label.applied"})
        seen, cursor = [], None
        for _ in range(20):
            q = "/v1/activity/?limit=1" + ("&cursor=" + cursor if cursor else "")
            page = self.get(q)
            seen += [e["id"] for e in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [e["id"] for e in feed])
        # A session sees the tenant's, or one inbox's.
        all_feed = self.get("/v1/activity/?limit=200", token=self.session)["data"]
        self.assertIn(self.msgs["other"]["id"], [e["message_id"] for e in all_feed])
        theirs = self.get("/v1/activity/?inbox_id=" + self.env.inboxes["bot2"],
                          token=self.session)["data"]
        self.assertEqual({e["inbox_id"] for e in theirs}, {self.env.inboxes["bot2"]})
        self.get("/v1/activity/?bogus=1", status=400)
        self.get("/v1/activity/?inbox_id=" + self.env.inboxes["bot2"], status=403)
        self.get("/v1/activity/", token=self.narrow_token(), status=403)

    # -- usage --

    def test_usage_counts_what_happened(self):
        u = self.get("/v1/billing/usage/")
        self.assertEqual(u["inbox_id"], self.env.inboxes["bot"])
        self.assertEqual(u["emails_received"], 3)
        self.assertEqual(u["emails_sent"], 1)
        self.assertEqual(u["contacts_touched"], 3)      # alice, bob, carol
        self.assertEqual(u["active_threads"], 4)        # three received, one sent
        st = u["storage"]
        self.assertEqual(st["messages"], 4)
        self.assertEqual(st["attachments"], 1)
        self.assertEqual(st["total_bytes"], st["message_bytes"] + st["attachment_bytes"])
        self.assertEqual(st["attachments_by_content_type"],
                         [{"content_type": "application/pdf", "bytes": len(PDF),
                           "count": 1}])
        sizes = sum(m["size"] for k, m in self.msgs.items() if k != "other")
        self.assertGreater(st["message_bytes"], sizes)   # + the sent one
        other = self.get("/v1/billing/usage/?inbox_id=" + self.env.inboxes["bot2"],
                         token=self.session)
        self.assertEqual((other["emails_received"], other["emails_sent"],
                          other["contacts_touched"]), (1, 0, 1))
        self.get("/v1/billing/usage/?days=0", status=400)
        self.get("/v1/billing/usage/?days=366", status=400)
        self.get("/v1/billing/usage/?days=x", status=400)
        self.get("/v1/billing/usage/?inbox_id=" + self.env.inboxes["bot2"], status=403)
        self.get("/v1/billing/usage/", token=self.session, status=400)  # which inbox?
        self.get("/v1/billing/usage/", token=self.narrow_token(), status=403)

    # -- handoff --

    def test_handoff_snapshot(self):
        inbox = self.env.inboxes["bot"]
        st, _, t = self.srv.request("PATCH", "/v1/tenants/",
                                    {"governance_tier": "token_controls"},
                                    token=self.session)
        self.assertEqual(st, 200, t)
        st, _, t = self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": inbox, "label": "to pause", "scopes": ["email:read"]},
            token=self.session)
        self.assertEqual(st, 201, t)
        st, _, p = self.srv.request("PATCH", "/v1/tokens/%s/?inbox_id=%s" % (
            t["token_id"], inbox), {"action": "pause"}, token=self.session)
        self.assertEqual(st, 200, p)
        h = self.get("/v1/inboxes/%s/handoff/" % inbox, token=self.session)
        self.assertEqual(h["inbox_id"], inbox)
        self.assertEqual([x["token_id"] for x in h["paused_tokens"]], [t["token_id"]])
        self.assertEqual(h["paused_tokens"][0]["label"], "to pause")
        self.assertGreaterEqual(h["active_tokens"], 2)
        threads = [x["thread_id"] for x in h["active_threads"]]
        for k in ("alice1", "alice2", "bob"):
            self.assertIn(self.msgs[k]["thread_id"], threads)
        self.assertNotIn(self.msgs["other"]["thread_id"], threads)
        # The agent's actions: its label, its label apply, its send.
        acts = h["recent_activity"]
        self.assertTrue(all(a["actor_id"] == self.agent_id for a in acts), acts)
        actions = [a["action"] for a in acts]
        for want in ("label.created", "label.applied"):
            self.assertIn(want, actions)
        self.assertTrue(any(a.startswith("message.") for a in actions), actions)
        self.assertLessEqual(len(acts), 30)
        people = h["active_relationships"]
        self.assertEqual([p["address"] for p in people],
                         ["carol@example.net", "alice@client.gentd.test",
                          "bob@client.gentd.test"])
        self.assertEqual((people[0]["sent"], people[0]["received"]), (1, 0))
        self.assertEqual((people[1]["sent"], people[1]["received"]), (0, 2))
        # Read-only, for sessions; another tenant's inbox is not found.
        again = self.get("/v1/inboxes/%s/handoff/" % inbox, token=self.session)
        self.assertEqual(again["recent_activity"], acts)
        self.get("/v1/inboxes/%s/handoff/" % inbox, status=403)
        stranger = self.srv.new_account()
        self.get("/v1/inboxes/%s/handoff/" % inbox, token=stranger.session, status=404)


DAY_MS = 86400000


class HandoffLimitsTest(SmtpTestCase):
    """The limits of GET /v1/inboxes/{id}/handoff/ (api_handoff.c): the
    agent's last 30 actions, the 20 most recently active threads of the
    last 7 days, the 10 correspondents most recently in touch over 30
    days; each newest first. Its own server, so the mail and actions here
    leave ActivityTest's counts alone."""

    inboxes = ("desk", "other")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.session = cls.env.acct.session
        cls.inbox = cls.env.inboxes["desk"]
        cls.agent, cls.agent_id = cls.write_token("desk")
        cls.other_agent, _ = cls.write_token("other")

    @classmethod
    def write_token(cls, local):
        st, _, t = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes[local], "label": "agent " + local,
            "scopes": ["write"]}, token=cls.env.acct.session)
        assert st == 201, t
        return t["raw_token"], t["token_id"]

    def deliver(self, sender, subject):
        """One message from sender (envelope and header) to desk; returns
        the stored message."""
        to = self.env.addr("desk")
        r = send_mail(self.port, sender, [to],
                      make_message(subject, mail_from=sender, to=to))
        self.assertEqual(r.code, 250, r)
        got = self.env.by_subject(subject, "desk")
        self.assertEqual(len(got), 1, got)
        time.sleep(0.005)       # distinct arrival times (ms resolution)
        return got[0]

    def call(self, method, path, body=None, token=None, status=200):
        st, _, out = self.srv.request(method, path, body, token=token or self.agent)
        self.assertEqual(st, status, "%s %s: %r" % (method, path, out))
        # Distinct audit times: entries of the same millisecond are ordered
        # by their random ids, not by when they were written.
        time.sleep(0.003)
        return out

    def handoff(self):
        return self.call("GET", "/v1/inboxes/%s/handoff/" % self.inbox,
                         token=self.session)

    def move_back(self, thread_ids, days):
        """The threads, and their messages, days in the past (tenant.db)."""
        when = int(time.time() * 1000) - int(days * DAY_MS)
        conn = self.srv.db("tenants/%s/tenant.db" % self.env.acct.tenant_id)
        try:
            for t in thread_ids:
                n = conn.execute("UPDATE messages SET received_at = ? WHERE "
                                 "thread_id = ?", (when, t)).rowcount
                self.assertEqual(n, 1, t)
                n = conn.execute("UPDATE threads SET first_at = ?, last_at = ? "
                                 "WHERE id = ?", (when, when, t)).rowcount
                self.assertEqual(n, 1, t)
            conn.commit()
        finally:
            conn.close()

    def assertNewestFirst(self, items, key):
        times = [x[key] for x in items]
        self.assertEqual(times, sorted(times, reverse=True), items)

    def test_handoff_caps_order_and_windows(self):
        tag = secrets.token_hex(3)
        # 12 threads from one early sender, then one thread from each of
        # 12 distinct senders: 24 threads, 13 correspondents.
        filler = [self.deliver("filler@client.gentd.test", "filler %d %s" % (i, tag))
                  for i in range(1, 13)]
        senders = ["s%02d-%s@client.gentd.test" % (i, tag) for i in range(1, 13)]
        mail = {a: self.deliver(a, "from %s" % a) for a in senders}
        thread = {a: m["thread_id"] for a, m in mail.items()}
        self.assertEqual(len(set(thread.values()) |
                             {m["thread_id"] for m in filler}), 24)

        # 36 agent actions, alternating message updates and new labels.
        done = []
        for i in range(36):
            if i % 2 == 0:
                m = mail[senders[(i // 2) % 12]]["id"]
                self.call("PATCH", "/v1/messages/%s/" % m, {"read": i % 4 == 0})
                done.append(("message.updated", m))
            else:
                lab = self.call("POST", "/v1/labels/", {
                    "inbox_id": self.inbox, "name": "l%02d-%s" % (i, tag)},
                    status=201)
                done.append(("label.created", lab["id"]))
        # Not the agent's: the owner's own actions, and another inbox's token.
        self.call("PATCH", "/v1/messages/%s/" % filler[0]["id"], {"starred": True},
                  token=self.session)
        self.call("POST", "/v1/labels/", {"inbox_id": self.inbox, "name": "owner's"},
                  token=self.session, status=201)
        self.call("POST", "/v1/labels/", {"inbox_id": self.env.inboxes["other"],
                                          "name": "elsewhere"},
                  token=self.other_agent, status=201)
        want_actions = done[::-1][:30]

        h = self.handoff()
        self.assertEqual(h["paused_tokens"], [])
        acts = h["recent_activity"]
        self.assertEqual([(a["action"], a["target_id"]) for a in acts], want_actions)
        self.assertEqual({a["actor_id"] for a in acts}, {self.agent_id})
        self.assertNewestFirst(acts, "created_at")
        # 20 threads of the 24, the most recently active first.
        newest = [thread[a] for a in reversed(senders)] + \
                 [m["thread_id"] for m in reversed(filler)]
        self.assertEqual([t["thread_id"] for t in h["active_threads"]], newest[:20])
        self.assertNewestFirst(h["active_threads"], "last_message_at")
        self.assertEqual({t["message_count"] for t in h["active_threads"]}, {1})
        # 10 of the 13 correspondents, the most recent first: s12 .. s03.
        people = h["active_relationships"]
        self.assertEqual([p["address"] for p in people], senders[::-1][:10])
        self.assertEqual({(p["received"], p["sent"]) for p in people}, {(1, 0)})
        self.assertNewestFirst(people, "last_contact_at")

        # Move mail back in time: s12 past 30 days, s11 past 7 days, s05 at
        # 6 days, s04 at 29, the filler and s01..s03 at 40. Fewer than the
        # caps are left, so what drops out does so by the windows.
        s = dict(zip(range(1, 13), senders))
        self.move_back([thread[s[12]]], 31)
        self.move_back([thread[s[11]]], 8)
        self.move_back([thread[s[5]]], 6)
        self.move_back([thread[s[4]]], 29)
        self.move_back([m["thread_id"] for m in filler] +
                       [thread[s[i]] for i in (1, 2, 3)], 40)
        h = self.handoff()
        self.assertEqual([t["thread_id"] for t in h["active_threads"]],
                         [thread[s[i]] for i in (10, 9, 8, 7, 6, 5)])
        self.assertEqual([p["address"] for p in h["active_relationships"]],
                         [s[i] for i in (10, 9, 8, 7, 6, 5, 11, 4)])
        self.assertNewestFirst(h["active_relationships"], "last_contact_at")
        self.assertEqual([(a["action"], a["target_id"]) for a in h["recent_activity"]],
                         want_actions)


if __name__ == "__main__":
    unittest.main(verbosity=2)
