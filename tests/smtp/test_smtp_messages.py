"""The messages API over mail that really arrived by SMTP: list filters,
full-text search (ranking, snippets, prefix, phrases, exclusion),
pagination while mail keeps arriving, the inbox time zone, the full
message view, read/starred/archived, delete (audited), threads, and the
scopes that guard every change.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_messages.py
"""

import datetime
import email.message
import email.policy
import secrets
import time
import urllib.parse

import harness
from smtp_fixture import SmtpTestCase, send_mail, make_message

READ = ["email:read", "labels:read"]
WRITE = ["email:read", "email:write"]


def multipart(subject, sender, to, text, attachment=b"\x00\x01binary\xff"):
    m = email.message.EmailMessage(policy=email.policy.SMTP)
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = "<%s@client.gentd.test>" % secrets.token_hex(8)
    m.set_content(text)
    m.add_attachment(attachment, maintype="application", subtype="octet-stream",
                     filename="data.bin")
    return m.as_bytes()


class MessagesTest(SmtpTestCase):
    inboxes = ("bot", "bot2", "filters", "search", "paging", "tz")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.write = {}
        for local in cls.inboxes:
            st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
                "inbox_id": cls.env.inboxes[local], "scopes": WRITE,
                "label": "w " + local}, token=cls.env.acct.session)
            assert st == 201, tok
            cls.write[local] = tok["raw_token"]

    # -- helpers --

    def deliver(self, local, subject, sender="sender@client.gentd.test",
                body="Hello.\r\n", headers=None, raw=None):
        to = self.env.addr(local)
        data = raw or make_message(subject, body, mail_from=sender, to=to,
                                   headers=headers)
        r = send_mail(self.port, sender, [to], data)
        self.assertEqual(r.code, 250, r)
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, (subject, got))
        return got[0]

    def list(self, local, query="", token=None, status=200):
        st, _, body = self.srv.request("GET", "/v1/messages/?" + query,
                                       token=token or self.write[local])
        self.assertEqual(st, status, body)
        return body

    def ids(self, local, query=""):
        return [m["id"] for m in self.list(local, query)["data"]]

    def req(self, local, method, path, body=None, token=None):
        return self.srv.request(method, path, body, token=token or self.write[local])

    # -- filters --

    def test_filters(self):
        loc = "filters"
        m1 = self.deliver(loc, "alpha report", sender="alice@a.test",
                          body="quarterly numbers\r\n")
        time.sleep(1.05)        # times have second precision: after/before below
        m2 = self.deliver(loc, "beta", sender="bob@b.test", raw=multipart(
            "beta", "Bob <bob@b.test>", self.env.addr(loc), "see attached"))
        time.sleep(1.05)
        hdr = self.env.message(m1["id"], "filters")["message_id_header"]
        m3 = self.deliver(loc, "Re: alpha report", sender="alice@a.test",
                          headers=[("In-Reply-To", "<%s>" % hdr)])
        a, b, c = m1["id"], m2["id"], m3["id"]
        self.assertEqual(self.ids(loc), [c, b, a])              # newest first
        self.assertEqual(self.ids(loc, "from=ALICE@a.test"), [c, a])
        self.assertEqual(self.ids(loc, "from=bob"), [b])
        self.assertEqual(self.ids(loc, "to=" + urllib.parse.quote(self.env.addr(loc))),
                         [c, b, a])
        self.assertEqual(self.ids(loc, "to=nobody"), [])
        self.assertEqual(self.ids(loc, "has_attachment=true"), [b])
        self.assertEqual(self.ids(loc, "has_attachment=false"), [c, a])
        self.assertEqual(m3["thread_id"], m1["thread_id"])
        self.assertEqual(self.ids(loc, "thread_id=" + m1["thread_id"]), [c, a])
        self.assertEqual(self.ids(loc, "unread=true"), [c, b, a])
        st, _, upd = self.req(loc, "PATCH", "/v1/messages/%s/" % a, {"read": True})
        self.assertEqual((st, upd["read"]), (200, True), upd)
        self.assertEqual(self.ids(loc, "unread=true"), [c, b])
        self.assertEqual(self.ids(loc, "unread=false"), [a])
        self.req(loc, "PATCH", "/v1/messages/%s/" % b, {"starred": True, "archived": True})
        self.assertEqual(self.ids(loc, "starred=true"), [b])
        self.assertEqual(self.ids(loc, "archived=false"), [c, a])
        self.assertEqual(self.ids(loc, "archived=true&starred=true&has_attachment=1"), [b])
        # after / before with explicit zones.
        t_b = self.list(loc, "from=bob")["data"][0]["received_at"]
        q = urllib.parse.quote
        self.assertEqual(self.ids(loc, "after=" + q(t_b)), [c, b])
        self.assertEqual(self.ids(loc, "before=" + q(t_b)), [a])
        # Bad input: a clear 400 naming the parameter.
        for query, field in (("unread=maybe", "unread"), ("after=yesterday", "after"),
                             ("before=2026-13-01", "before"), ("limit=0", "limit"),
                             ("sort=oldest", "sort"), ("sort=relevance", "sort"),
                             ("cursor=%%%", None), ("colour=red", None),
                             ("from=%ZZ", None)):
            with self.subTest(query=query):
                body = self.list(loc, query, status=400)
                if field:
                    self.assertEqual(body["error"].get("field"), field, body)

    # -- search --

    def test_search_ranking_snippets_and_syntax(self):
        loc = "search"
        strong = self.deliver(loc, "Budget meeting", body="The budget for the "
                              "budget review is due.\r\n")
        weak = self.deliver(loc, "Lunch", body="Bring the budget slides to lunch.\r\n")
        cafe = self.deliver(loc, "Café plans", body="Meet at the café near the "
                            "station.\r\n")
        html = self.deliver(loc, "Newsletter", raw=(
            "From: news@client.gentd.test\r\nTo: %s\r\nSubject: Newsletter\r\n"
            "Message-ID: <%s@x>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n"
            "<html><head><style>.zebra{}</style></head><body><div>Spring "
            "&amp; summer collection</div></body></html>\r\n"
            % (self.env.addr(loc), secrets.token_hex(6))).encode())
        q = lambda s: "q=" + urllib.parse.quote(s)
        got = self.list(loc, q("budget"))["data"]
        self.assertEqual({m["id"] for m in got}, {strong["id"], weak["id"]})
        for m in got:
            self.assertIn("<mark>", m["snippet"], m)
            self.assertIn("budget", m["snippet"].lower(), m)
        # Best match first with sort=relevance (subject + body beat body).
        ranked = self.list(loc, q("budget") + "&sort=relevance")["data"]
        self.assertEqual([m["id"] for m in ranked], [strong["id"], weak["id"]])
        # Paging a ranked search: every match once.
        seen, cursor = [], None
        for _ in range(5):
            page = self.list(loc, q("budget") + "&sort=relevance&limit=1" +
                             ("&cursor=" + cursor if cursor else ""))
            seen += [m["id"] for m in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [strong["id"], weak["id"]])
        # Mail that arrives between pages does not shift a ranked search:
        # its pages rank what had arrived at the first page.
        page = self.list(loc, q("budget") + "&sort=relevance&limit=1")
        self.assertEqual([m["id"] for m in page["data"]], [strong["id"]])
        best = self.deliver(loc, "Budget budget", body="budget budget budget\r\n")
        rest = self.list(loc, q("budget") + "&sort=relevance&limit=5&cursor=" +
                         urllib.parse.quote(page["next_cursor"]))
        self.assertEqual(([m["id"] for m in rest["data"]], rest["next_cursor"]),
                         ([weak["id"]], None))
        ranked = self.list(loc, q("budget") + "&sort=relevance")["data"]
        self.assertEqual([m["id"] for m in ranked][0], best["id"])   # a new search
        self.assertEqual(self.srv.request("DELETE", "/v1/messages/%s/" % best["id"],
                                          token=self.write[loc])[0], 204)
        self.assertEqual(self.ids(loc, q("budg*")), [weak["id"], strong["id"]])
        self.assertEqual(self.ids(loc, q('"budget review"')), [strong["id"]])
        self.assertEqual(self.ids(loc, q('"review budget"')), [])
        self.assertEqual(self.ids(loc, q("budget -lunch")), [strong["id"]])
        self.assertEqual(self.ids(loc, q("cafe")), [cafe["id"]])      # diacritics
        self.assertEqual(self.ids(loc, q("CAFÉ station")), [cafe["id"]])
        self.assertEqual(self.ids(loc, q("summer")), [html["id"]])   # HTML text
        self.assertEqual(self.ids(loc, q("div")), [])                # not tags
        self.assertEqual(self.ids(loc, q("zebra")), [])              # not styles
        self.assertEqual(self.ids(loc, q("news@client.gentd.test")), [html["id"]])
        # Search composes with the other filters.
        self.assertEqual(self.ids(loc, q("budget") + "&from=nobody"), [])
        # FTS5 syntax in q is just text: never a 500.
        for text in ('"', "NEAR(a b)", "a AND", "subject:budget", "^x", "(((", "*"):
            with self.subTest(q=text):
                st, _, _ = self.srv.request("GET", "/v1/messages/?" + q(text),
                                            token=self.write[loc])
                self.assertIn(st, (200, 400))
        body = self.list(loc, q("-budget"), status=400)
        self.assertEqual(body["error"]["field"], "q")
        self.list(loc, q("x" * 501), status=400)

    # -- pagination --

    def test_pagination_is_stable_while_mail_arrives(self):
        loc = "paging"
        first = [self.deliver(loc, "page %d" % i)["id"] for i in range(7)]
        page = self.list(loc, "limit=3")
        got = [m["id"] for m in page["data"]]
        self.assertEqual(got, first[::-1][:3])
        late = [self.deliver(loc, "late %d" % i)["id"] for i in range(3)]
        cursor = page["next_cursor"]
        for _ in range(10):
            if not cursor:
                break
            page = self.list(loc, "limit=3&cursor=" + urllib.parse.quote(cursor))
            got += [m["id"] for m in page["data"]]
            cursor = page["next_cursor"]
        self.assertEqual(got, first[::-1])      # each once, none of the late ones
        self.assertEqual(self.ids(loc, "limit=3"), late[::-1])

    # -- time zone --

    def test_times_in_the_inbox_time_zone(self):
        loc = "tz"
        st, _, cfg = self.srv.request("PATCH", "/v1/inboxes/%s/config/"
                                      % self.env.inboxes[loc],
                                      {"default_timezone": "Asia/Kolkata"},
                                      token=self.env.acct.session)
        self.assertEqual(st, 200, cfg)
        m = self.deliver(loc, "tz probe")
        shown = m["received_at"]
        self.assertTrue(shown.endswith("+05:30"), shown)
        local = datetime.datetime.fromisoformat(shown)
        full = self.env.message(m["id"], loc)
        self.assertEqual(full["received_at"], shown)
        # A naive after= is Kolkata time: a minute after the message's local
        # time excludes it (read as UTC it would be 5.5 h earlier: included).
        naive = lambda d: urllib.parse.quote(d.strftime("%Y-%m-%dT%H:%M:%S"))
        self.assertEqual(self.ids(loc, "after=" + naive(local + datetime.timedelta(minutes=1))), [])
        self.assertEqual(self.ids(loc, "after=" + naive(local - datetime.timedelta(minutes=1))),
                         [m["id"]])
        self.assertEqual(self.ids(loc, "before=" + naive(local + datetime.timedelta(minutes=1))),
                         [m["id"]])
        utc = local.astimezone(datetime.timezone.utc)
        zoned = urllib.parse.quote((utc + datetime.timedelta(minutes=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual(self.ids(loc, "after=" + zoned), [])
        # Threads show the same times in the same zone.
        st, _, thr = self.req(loc, "GET", "/v1/threads/%s/" % m["thread_id"])
        self.assertEqual(st, 200, thr)
        self.assertEqual((thr["first_message_at"], thr["last_message_at"],
                          thr["messages"][0]["received_at"]), (shown, shown, shown))
        st, _, lst = self.req(loc, "GET", "/v1/threads/?limit=1")
        self.assertEqual((st, lst["data"][0]["last_message_at"]), (200, shown))
        # Another inbox stays in UTC.
        other = self.deliver("bot2", "utc probe")
        self.assertTrue(other["received_at"].endswith("Z"), other["received_at"])

    # -- one message, changes, delete --

    def test_full_message_view(self):
        sent = multipart("Menu du café", "Chef <chef@client.gentd.test>",
                         self.env.addr("bot"), "Soup of the day.\n")
        m = self.deliver("bot", "Menu du café", sender="chef@client.gentd.test",
                         raw=sent)
        full = self.env.message(m["id"])
        names = [h["name"].lower() for h in full["headers"]]
        self.assertIn("received", names)
        self.assertIn("authentication-results", names)
        # Every field, in order: the Content-* ones too.
        self.assertIn("content-type", names)
        self.assertLess(names.index("subject"), names.index("content-type"))
        ctype = full["headers"][names.index("content-type")]["value"]
        self.assertTrue(ctype.startswith("multipart/mixed"), ctype)
        subj = [h["value"] for h in full["headers"] if h["name"].lower() == "subject"]
        self.assertEqual(subj, ["Menu du café"])
        self.assertEqual(full["text_body"].strip(), "Soup of the day.")
        self.assertEqual([(a["filename"], a["size"]) for a in full["attachments"]],
                         [("data.bin", 9)])
        self.assertEqual((full["read"], full["starred"], full["archived"],
                          full["labels"]), (False, False, False, []))
        for key in ("thread_id", "auth_results", "trace", "html_body"):
            self.assertIn(key, full)

    def test_patch_and_delete(self):
        loc = "bot"
        m = self.deliver(loc, "to delete", raw=multipart(
            "to delete", "x@client.gentd.test", self.env.addr(loc), "bye"))
        path = "/v1/messages/%s/" % m["id"]
        st, _, upd = self.req(loc, "PATCH", path, {"read": True, "starred": True})
        self.assertEqual((st, upd["read"], upd["starred"], upd["archived"]),
                         (200, True, True, False), upd)
        st, _, upd = self.req(loc, "PATCH", path, {"unread": True})
        self.assertEqual((st, upd["read"], upd["starred"]), (200, False, True))
        self.assertError(self.req(loc, "PATCH", path, {"read": True, "unread": True}),
                         400, field="unread")
        self.assertError(self.req(loc, "PATCH", path, {"flagged": True}), 400,
                         field="flagged")
        self.assertError(self.req(loc, "PATCH", path, {"read": "yes"}), 400, field="read")
        self.assertError(self.req(loc, "PATCH", "/v1/messages/msg_nope/", {"read": True}),
                         404)
        self.assertError(self.req("bot2", "PATCH", path, {"read": True}), 404)
        att = self.env.message(m["id"])["attachments"][0]["id"]
        st, _, _ = self.req(loc, "DELETE", path)
        self.assertEqual(st, 204)
        for sub in ("", "raw/", "attachments/%s/" % att):
            with self.subTest(path=path + sub):
                self.assertError(self.srv.request("GET", path + sub,
                                                  token=self.write[loc]), 404)
        self.assertNotIn(m["id"], self.ids(loc, "q=delete"))
        self.assertError(self.req(loc, "DELETE", path), 404)
        # The audit row stays, without the content.
        conn = self.srv.db("tenants/%s/tenant.db" % self.env.acct.tenant_id)
        try:
            rows = conn.execute("SELECT action, actor_type, detail FROM audit WHERE "
                                "target_id = ? ORDER BY seq", (m["id"],)).fetchall()
            left = conn.execute("SELECT count(*) FROM messages WHERE id = ?",
                                (m["id"],)).fetchone()[0]
            atts = conn.execute("SELECT count(*) FROM attachments WHERE message_id = ?",
                                (m["id"],)).fetchone()[0]
        finally:
            conn.close()
        self.assertEqual([r[0] for r in rows][-1], "message.deleted")
        self.assertEqual(rows[-1][1], "token")
        self.assertNotIn("to delete", rows[-1][2])
        self.assertEqual((left, atts), (0, 0))

    def test_read_only_tokens_change_nothing(self):
        loc = "bot"
        m = self.deliver(loc, "guarded")
        path = "/v1/messages/%s/" % m["id"]
        reader = self.env.tokens[loc]                 # scope "read"
        st, _, only_read = self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": self.env.inboxes[loc], "scopes": READ, "label": "r"},
            token=self.env.acct.session)
        self.assertEqual(st, 201)
        for tok in (reader, only_read["raw_token"]):
            self.assertError(self.req(loc, "PATCH", path, {"read": True}, token=tok), 403)
            self.assertError(self.req(loc, "DELETE", path, token=tok), 403)
        full = self.env.message(m["id"])
        self.assertFalse(full["read"])

    # -- threads --

    def test_threads(self):
        loc = "bot2"
        root = self.deliver(loc, "thread root", sender="ann@client.gentd.test")
        hdr = self.env.message(root["id"], loc)["message_id_header"]
        reply = self.deliver(loc, "Re: thread root", sender="ben@client.gentd.test",
                             headers=[("In-Reply-To", "<%s>" % hdr),
                                      ("References", "<%s>" % hdr)])
        alone = self.deliver(loc, "unrelated")
        tok = self.write[loc]
        st, _, lst = self.srv.request("GET", "/v1/threads/?limit=200", token=tok)
        self.assertEqual(st, 200, lst)
        by_id = {t["id"]: t for t in lst["data"]}
        t = by_id[root["thread_id"]]
        self.assertEqual((t["subject"], t["message_count"], t["unread_count"]),
                         ("thread root", 2, 2))
        self.assertEqual(len(t["participants"]), 2, t)
        self.assertIn(alone["thread_id"], by_id)
        # Most recently active first.
        order = [x["id"] for x in lst["data"]]
        self.assertLess(order.index(alone["thread_id"]), order.index(root["thread_id"]))
        st, _, one = self.srv.request("GET", "/v1/threads/%s/" % root["thread_id"],
                                      token=tok)
        self.assertEqual(st, 200, one)
        self.assertEqual([m["id"] for m in one["messages"]], [root["id"], reply["id"]])
        self.req(loc, "PATCH", "/v1/messages/%s/" % root["id"], {"read": True})
        st, _, one = self.srv.request("GET", "/v1/threads/%s/" % root["thread_id"],
                                      token=tok)
        self.assertEqual(one["unread_count"], 1)
        # Deleting a message shrinks its thread; the last one removes it.
        self.assertEqual(self.req(loc, "DELETE", "/v1/messages/%s/" % reply["id"])[0], 204)
        st, _, one = self.srv.request("GET", "/v1/threads/%s/" % root["thread_id"],
                                      token=tok)
        self.assertEqual((one["message_count"], [m["id"] for m in one["messages"]]),
                         (1, [root["id"]]))
        self.assertEqual(self.req(loc, "DELETE", "/v1/messages/%s/" % alone["id"])[0], 204)
        self.assertError(self.srv.request("GET", "/v1/threads/%s/" % alone["thread_id"],
                                          token=tok), 404)
        # Other inboxes' tokens do not see it; paging works.
        self.deliver(loc, "another thread")
        self.assertError(self.srv.request("GET", "/v1/threads/%s/" % root["thread_id"],
                                          token=self.write["bot"]), 404)
        st, _, page = self.srv.request("GET", "/v1/threads/?limit=1", token=tok)
        self.assertEqual((st, len(page["data"])), (200, 1))
        self.assertIsNotNone(page["next_cursor"])
        self.assertError(self.srv.request("GET", "/v1/threads/?bogus=1", token=tok), 400)


if __name__ == "__main__":
    harness.main()
