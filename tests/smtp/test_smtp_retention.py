"""Retention: the inbox's periods for messages and attachments, and a
label's retention policy overriding them (longer and shorter), applied
by the expiry sweep (expiry_interval = 1s here). Messages arrive over
SMTP; their received_at is then moved into the past in tenant.db, the
only way to age mail without waiting months.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_retention.py
"""

import email.message
import email.policy
import json
import secrets
import time

import harness
from smtp_fixture import SmtpTestCase, send_mail, make_message

DAY_MS = 24 * 3600 * 1000


def with_attachment(subject, to):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = "sender@client.gentd.test"
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = "<%s@client.gentd.test>" % secrets.token_hex(8)
    m.set_content("see attached")
    m.add_attachment(b"attachment bytes", maintype="application",
                     subtype="octet-stream", filename="a.bin")
    return m.as_bytes()


class RetentionTest(SmtpTestCase):
    smtp_conf = {"expiry_interval": "1s"}
    inboxes = ("short", "forever")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["short"], "scopes": ["full"],
            "label": "retention"}, token=cls.env.acct.session)
        assert st == 201, tok
        cls.full = tok["raw_token"]
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes["forever"], "scopes": ["full"],
            "label": "retention 2"}, token=cls.env.acct.session)
        assert st == 201, tok
        cls.full2 = tok["raw_token"]

    def config(self, local, body=None):
        path = "/v1/inboxes/%s/config/" % self.env.inboxes[local]
        return self.srv.request("PATCH" if body is not None else "GET", path, body,
                                token=self.env.acct.session)

    def deliver(self, local, raw=None):
        subject = "ret " + secrets.token_hex(5)
        to = self.env.addr(local)
        data = raw(subject, to) if raw else make_message(subject, to=to)
        r = send_mail(self.port, "sender@client.gentd.test", [to], data)
        self.assertEqual(r.code, 250, r)
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1)
        return got[0]["id"]

    def age(self, msg_id, days):
        conn = self.srv.db("tenants/%s/tenant.db" % self.env.acct.tenant_id)
        try:
            conn.execute("UPDATE messages SET received_at = received_at - ? WHERE id = ?",
                         (days * DAY_MS, msg_id))
            conn.commit()
        finally:
            conn.close()

    def get(self, msg_id, token):
        return self.srv.request("GET", "/v1/messages/%s/" % msg_id, token=token)

    def test_config_validation(self):
        st, _, cfg = self.config("forever")
        self.assertEqual((st, cfg["retention"]), (200, {"messages": "indefinite",
                                                        "attachments": "indefinite"}))
        for bad in ({"messages": "2y"}, {"bodies": "30d"}, {"messages": 30}, "30d"):
            with self.subTest(retention=bad):
                self.assertError(self.config("forever", {"retention": bad}), 400,
                                 field="retention")
        self.assertEqual(self.config("forever")[2]["retention"]["messages"], "indefinite")

    def test_expiry_with_label_overrides(self):
        st, cfg = self.config("short", {"retention": {"messages": "90d",
                                                      "attachments": "30d"}})[:2]
        self.assertEqual(st, 200)
        keep = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.env.inboxes["short"], "name": "legal-hold",
            "policies": {"retention": "1y"}}, token=self.full)[2]
        brief = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.env.inboxes["forever"], "name": "ephemeral",
            "policies": {"retention": "30d"}}, token=self.full2)[2]
        old = self.deliver("short")                      # 100 days: gone
        att = self.deliver("short", with_attachment)     # 40 days: loses attachment
        held = self.deliver("short")                     # 100 days, 1y label: kept
        fresh = self.deliver("short")                    # today: kept
        eph = self.deliver("forever")                    # 40 days, 30d label: gone
        plain = self.deliver("forever")                  # 400 days, no policy: kept
        for mid, lab, tok in ((held, keep, self.full), (eph, brief, self.full2)):
            st, _, _ = self.srv.request("POST", "/v1/messages/%s/labels/" % mid,
                                        {"label_id": lab["id"]}, token=tok)
            self.assertEqual(st, 204)
        for mid, days in ((old, 100), (att, 40), (held, 100), (eph, 40), (plain, 400)):
            self.age(mid, days)
        harness.wait_until(lambda: self.get(old, self.full)[0] == 404 and
                           self.get(eph, self.full2)[0] == 404, timeout=15,
                           what="expired messages deleted")
        harness.wait_until(lambda: self.get(att, self.full)[2]["attachments"] == [],
                           timeout=15, what="old attachment deleted")
        m = self.get(att, self.full)[2]
        self.assertEqual((m["has_attachments"], m["text_body"].strip()),
                         (False, "see attached"))
        for mid, tok in ((held, self.full), (fresh, self.full), (plain, self.full2)):
            self.assertEqual(self.get(mid, tok)[0], 200, mid)
        # Gone from lists and search too; the audit rows remain.
        st, _, lst = self.srv.request("GET", "/v1/messages/?limit=200", token=self.full)
        self.assertEqual(sorted(x["id"] for x in lst["data"]),
                         sorted([att, held, fresh]))
        conn = self.srv.db("tenants/%s/tenant.db" % self.env.acct.tenant_id)
        try:
            rows = conn.execute("SELECT target_id, detail FROM audit WHERE action = "
                                "'retention.expired'").fetchall()
            received = conn.execute("SELECT count(*) FROM audit WHERE action = "
                                    "'message.received' AND target_id IN (?, ?)",
                                    (old, eph)).fetchone()[0]
        finally:
            conn.close()
        by_inbox = {}
        for target, detail in rows:
            d = json.loads(detail)
            acc = by_inbox.setdefault(target, [0, 0])
            acc[0] += d["messages"]
            acc[1] += d["attachments"]
        self.assertEqual(by_inbox, {self.env.inboxes["short"]: [1, 1],
                                    self.env.inboxes["forever"]: [1, 0]})
        self.assertEqual(received, 2)
        # Sweeps keep running and find nothing more to do.
        time.sleep(1.5)
        self.assertEqual(self.get(held, self.full)[0], 200)


if __name__ == "__main__":
    harness.main()
