"""The event feed, GET /v1/events/?after=<cursor>: mail that arrives over
SMTP and labels applied over HTTP show up once each, in order, scoped to
the token's inbox, and polling with next_cursor never skips or repeats.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_events.py
"""

import secrets

import harness
from smtp_fixture import SmtpTestCase, send_mail, make_message


class EventsTest(SmtpTestCase):
    inboxes = ("bot", "bot2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tok = {}
        for local in cls.inboxes:
            st, _, t = cls.srv.request("POST", "/v1/tokens/", {
                "inbox_id": cls.env.inboxes[local], "label": "events " + local,
                "scopes": ["alerts:read", "email:read", "labels:read", "labels:write"]},
                token=cls.env.acct.session)
            assert st == 201, t
            cls.tok[local] = t["raw_token"]

    def feed(self, local, query="", status=200):
        st, _, body = self.srv.request("GET", "/v1/events/?" + query,
                                       token=self.tok[local])
        self.assertEqual(st, status, body)
        return body

    def deliver(self, local):
        subject = "evt " + secrets.token_hex(4)
        r = send_mail(self.port, "s@client.gentd.test", [self.env.addr(local)],
                      make_message(subject, to=self.env.addr(local)))
        self.assertEqual(r.code, 250)
        return self.env.by_subject(subject, local)[0]

    def test_feed_in_order_scoped_and_resumable(self):
        start = self.feed("bot")["next_cursor"]
        while True:                     # skip what other tests left (bounded)
            page = self.feed("bot", "limit=200&after=" + start)
            if not page["data"]:
                break
            start = page["next_cursor"]
        m1 = self.deliver("bot")
        other = self.deliver("bot2")
        st, _, lab = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.env.inboxes["bot"], "name": "e-" + secrets.token_hex(3)},
            token=self.tok["bot"])
        self.assertEqual(st, 201)
        self.srv.request("POST", "/v1/messages/%s/labels/" % m1["id"],
                         {"label_id": lab["id"]}, token=self.tok["bot"])
        m2 = self.deliver("bot")
        page = self.feed("bot", "after=" + start)
        got = [(e["type"], e["message_id"]) for e in page["data"]]
        self.assertEqual(got, [("message.received", m1["id"]),
                               ("label.applied", m1["id"]),
                               ("message.received", m2["id"])])
        self.assertEqual(page["data"][1]["payload"]["label_id"], lab["id"])
        self.assertEqual(page["data"][0]["thread_id"], m1["thread_id"])
        self.assertNotIn(other["id"], [e["message_id"] for e in page["data"]])
        # One at a time with the cursor: the same events, none twice.
        seen, cur = [], start
        for _ in range(10):
            p = self.feed("bot", "limit=1&after=" + cur)
            if not p["data"]:
                self.assertEqual(p["next_cursor"], cur)
                break
            seen += [e["id"] for e in p["data"]]
            cur = p["next_cursor"]
        self.assertEqual(seen, [e["id"] for e in page["data"]])
        # Filter by type; the other inbox sees only its own.
        only = self.feed("bot", "type=label.applied&after=" + start)["data"]
        self.assertEqual([e["type"] for e in only], ["label.applied"])
        theirs = self.feed("bot2", "after=" + start)["data"]
        self.assertIn(other["id"], [e["message_id"] for e in theirs])
        self.assertNotIn(m1["id"], [e["message_id"] for e in theirs])

    def test_bad_requests(self):
        for q in ("after=abc", "after=-1", "limit=0", "cursor=x", "colour=red"):
            with self.subTest(q=q):
                self.feed("bot", q, status=400)
        st, _, _ = self.srv.request("GET", "/v1/events/", token=self.env.tokens["bot"])
        self.assertEqual(st, 200)       # "read" includes alerts:read
        st, _, t = self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": self.env.inboxes["bot"], "scopes": ["email:read"], "label": "no"},
            token=self.env.acct.session)
        self.assertError(self.srv.request("GET", "/v1/events/", token=t["raw_token"]), 403)


if __name__ == "__main__":
    harness.main()
