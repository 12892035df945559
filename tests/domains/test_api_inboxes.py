"""Inboxes on verified domains (DNS through dnsmasq): create, validation,
list/get, tenant isolation, suspend/close/purge life cycle, the set-up
next_step, and per-inbox config, webhook and quota.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration \
        /usr/bin/python3 tests/domains/test_api_inboxes.py
"""

import datetime
import secrets

import harness
from dns_fixture import (DnsGentdTestCase, create_domain, publish_domain,
                         rand_domain, verified_domain)

RETENTION_DEFAULT_S = 30 * 24 * 3600


def parse_time(s):
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in s else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(s, fmt)


def probe(srv, raw_token):
    """Status of a call any token with workflows:read may make."""
    return srv.request("GET", "/v1/sender-rules/", token=raw_token)[0]


class InboxesTest(DnsGentdTestCase):

    def tenant_with_domain(self, srv=None):
        """(account without inbox, its verified domain name)."""
        srv = srv or self.srv
        a = srv.new_account(inbox=False)
        d = verified_domain(srv, self.dns, a.session)
        return a, d["domain"]

    def create_inbox(self, acct, address, srv=None, **extra):
        srv = srv or self.srv
        body = dict(extra, address=address)
        st, _, ib = srv.request("POST", "/v1/inboxes/", body, token=acct.session)
        self.assertEqual(st, 201, ib)
        return ib

    def inbox_path(self, inbox_id, tail=""):
        return "/v1/inboxes/%s/%s" % (inbox_id, tail)

    def get_inbox(self, acct, inbox_id, srv=None):
        srv = srv or self.srv
        st, _, ib = srv.request("GET", self.inbox_path(inbox_id), token=acct.session)
        self.assertEqual(st, 200, ib)
        return ib

    # -- create --

    def test_create_needs_a_verified_domain_of_the_tenant(self):
        a = self.srv.new_account(inbox=False)
        pending = create_domain(self.srv, a.session)["domain"]
        self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                          {"address": "bot@" + pending},
                                          token=a.session),
                         409, code="domain_not_verified")
        b, theirs = self.tenant_with_domain()
        for addr in ("bot@" + theirs, "bot@" + rand_domain("nowhere")):
            self.assertError(self.srv.request("POST", "/v1/inboxes/", {"address": addr},
                                              token=a.session), 400, field="address")
        st, _, lst = self.srv.request("GET", "/v1/inboxes/", token=a.session)
        self.assertEqual((st, lst["data"]), (200, []))

    def test_create_on_a_verified_domain(self):
        a, dom = self.tenant_with_domain()
        st, _, ib = self.srv.request("POST", "/v1/inboxes/",
                                     {"address": "Bot@" + dom.upper(),
                                      "display_name": "Support Bot"},
                                     token=a.session)
        self.assertEqual(st, 201, ib)
        self.assertRegex(ib["inbox_id"], r"^inb_[a-z0-9]+$")
        self.assertEqual(ib["id"], ib["inbox_id"])
        self.assertEqual(ib["address"], "bot@" + dom)
        self.assertEqual(ib["domain"], dom)
        self.assertEqual(ib["display_name"], "Support Bot")
        self.assertEqual(ib["status"], "active")
        self.assertIsNone(ib["closing_at"])
        self.assertIsNone(ib["purge_after"])
        self.assertIsNone(ib["purged_at"])
        self.assertEqual(self.get_inbox(a, ib["inbox_id"]), ib)
        # Case-insensitive duplicates, and other spellings of the domain.
        for addr in ("bot@" + dom, "BOT@" + dom, "bOt@" + dom.upper() + "."):
            with self.subTest(address=addr):
                self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                                  {"address": addr}, token=a.session),
                                 409)
        # display_name: at most 200 characters; null and "" mean none.
        self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                          {"address": "long@" + dom,
                                           "display_name": "x" * 201},
                                          token=a.session), 400, field="display_name")
        ib2 = self.create_inbox(a, "long@" + dom, display_name="y" * 200)
        self.assertEqual(ib2["display_name"], "y" * 200)
        ib3 = self.create_inbox(a, "nameless@" + dom, display_name=None)
        self.assertIsNone(ib3["display_name"])
        # Special characters allowed in a dot-atom local part.
        ib4 = self.create_inbox(a, "o'neil+tag_1.x-y@" + dom)
        self.assertEqual(ib4["address"], "o'neil+tag_1.x-y@" + dom)

    def test_display_name_limit_counts_characters(self):
        # "at most 200 characters": 200 non-ASCII characters are fine.
        a, dom = self.tenant_with_domain()
        ib = self.create_inbox(a, "intl@" + dom, display_name="é" * 150)
        self.assertEqual(ib["display_name"], "é" * 150)
        ib = self.create_inbox(a, "intl2@" + dom, display_name="名" * 200)
        self.assertEqual(ib["display_name"], "名" * 200)
        self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                          {"address": "intl3@" + dom,
                                           "display_name": "é" * 201},
                                          token=a.session), 400, field="display_name")
        st, _, got = self.srv.request("PATCH", self.inbox_path(ib["inbox_id"]),
                                      {"display_name": "ü" * 180}, token=a.session)
        self.assertEqual((st, got.get("display_name")), (200, "ü" * 180), got)

    def test_idn_domain_address(self):
        a = self.srv.new_account(inbox=False)
        label = "bücher-%s" % secrets.token_hex(4)
        d = verified_domain(self.srv, self.dns, a.session, label + ".test")
        ace = "xn--%s.test" % label.encode("punycode").decode()
        self.assertEqual(d["domain"], ace)
        ib = self.create_inbox(a, "Info@" + label.capitalize() + ".test")
        self.assertEqual((ib["address"], ib["domain"]), ("info@" + ace, ace))
        self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                          {"address": "INFO@" + ace}, token=a.session), 409)

    def test_bad_addresses(self):
        a, dom = self.tenant_with_domain()
        bad = ["", "bot", "@" + dom, "bot@", "bot@@" + dom, "a b@" + dom,
               ".bot@" + dom, "bot.@" + dom, "a..b@" + dom, "x" * 65 + "@" + dom,
               'b"ot@' + dom, "bot(x)@" + dom, "bot,x@" + dom, "b\u00f6t@" + dom,
               "bot@-" + dom, "bot@" + dom + "..", "bot@nodot", "<bot@%s>" % dom]
        for addr in bad:
            with self.subTest(address=addr):
                self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                                  {"address": addr}, token=a.session),
                                 400, field="address")
        for body, field in [({}, "address"), ({"address": 7}, "address"),
                            ({"address": "ok@" + dom, "quota": 1}, "quota"),
                            ({"address": "ok@" + dom, "display_name": 5}, "display_name")]:
            self.assertError(self.srv.request("POST", "/v1/inboxes/", body,
                                              token=a.session), 400, field=field)
        st, _, lst = self.srv.request("GET", "/v1/inboxes/", token=a.session)
        self.assertEqual((st, lst["data"]), (200, []))
        # 64 characters is the limit of a local part.
        self.create_inbox(a, "x" * 64 + "@" + dom)

    # -- list, get, isolation --

    def test_list_and_get(self):
        a, dom = self.tenant_with_domain()
        ids = [self.create_inbox(a, "box%d@%s" % (i, dom))["inbox_id"] for i in range(3)]
        st, _, lst = self.srv.request("GET", "/v1/inboxes/", token=a.session)
        self.assertEqual(st, 200, lst)
        self.assertEqual(sorted(lst), ["data", "next_cursor"])
        self.assertEqual([i["inbox_id"] for i in lst["data"]], ids[::-1])
        self.assertIsNone(lst["next_cursor"])
        seen, cursor = [], None
        for _ in range(5):
            q = "/v1/inboxes/?limit=2" + ("&cursor=" + cursor if cursor else "")
            st, _, page = self.srv.request("GET", q, token=a.session)
            self.assertEqual(st, 200, page)
            seen += [i["inbox_id"] for i in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, ids[::-1])
        st, _, _ = self.srv.request("DELETE", self.inbox_path(ids[0]), token=a.session)
        self.assertEqual(st, 200)
        st, _, act = self.srv.request("GET", "/v1/inboxes/?status=active", token=a.session)
        self.assertEqual(sorted(i["inbox_id"] for i in act["data"]), sorted(ids[1:]))
        st, _, clo = self.srv.request("GET", "/v1/inboxes/?status=closing", token=a.session)
        self.assertEqual([i["inbox_id"] for i in clo["data"]], [ids[0]])
        self.assertError(self.srv.request("GET", "/v1/inboxes/?status=open",
                                          token=a.session), 400, field="status")
        self.assertError(self.srv.request("GET", "/v1/inboxes/inb_doesnotexist/",
                                          token=a.session), 404)

    def test_other_tenant_and_agent_tokens(self):
        a, dom = self.tenant_with_domain()
        ib = self.create_inbox(a, "iso@" + dom)
        a.inbox_id = ib["inbox_id"]
        tok = self.srv.create_token(a, ["full"])["raw_token"]
        b = self.srv.new_account()
        iid = ib["inbox_id"]
        routes = [("GET", self.inbox_path(iid), None),
                  ("PATCH", self.inbox_path(iid), {"status": "suspended"}),
                  ("DELETE", self.inbox_path(iid), None),
                  ("GET", self.inbox_path(iid, "config/"), None),
                  ("PATCH", self.inbox_path(iid, "config/"), {"signature": "pwned"}),
                  ("GET", self.inbox_path(iid, "webhook/"), None),
                  ("PUT", self.inbox_path(iid, "webhook/"),
                   {"url": "https://hooks.example.com/x"}),
                  ("DELETE", self.inbox_path(iid, "webhook/"), None),
                  ("GET", self.inbox_path(iid, "quota/"), None)]
        for method, path, body in routes:
            with self.subTest(method=method, path=path, who="other tenant"):
                self.assertError(self.srv.request(method, path, body, token=b.session),
                                 404, code="not_found")
        st, _, lst = self.srv.request("GET", "/v1/inboxes/", token=b.session)
        self.assertNotIn(iid, [i["inbox_id"] for i in lst["data"]])
        routes += [("GET", "/v1/inboxes/", None),
                   ("POST", "/v1/inboxes/", {"address": "tok@" + dom})]
        for method, path, body in routes:
            with self.subTest(method=method, path=path, who="agent token"):
                self.assertError(self.srv.request(method, path, body, token=tok),
                                 403, code="forbidden")
                self.assertError(self.srv.request(method, path, body), 401)
        # Untouched.
        got = self.get_inbox(a, iid)
        self.assertEqual(got["status"], "active")
        st, _, cfg = self.srv.request("GET", self.inbox_path(iid, "config/"),
                                      token=a.session)
        self.assertEqual((st, cfg["signature"], cfg["webhook"]), (200, None, None))
        st, _, lst = self.srv.request("GET", "/v1/inboxes/", token=a.session)
        self.assertEqual([i["address"] for i in lst["data"]], ["iso@" + dom])

    # -- life cycle --

    def test_suspend_and_close(self):
        a, dom = self.tenant_with_domain()
        ib = self.create_inbox(a, "cycle@" + dom)
        iid = a.inbox_id = ib["inbox_id"]
        tok = self.srv.create_token(a, ["workflows:read"])["raw_token"]
        self.assertEqual(probe(self.srv, tok), 200)

        st, _, s = self.srv.request("PATCH", self.inbox_path(iid), {"status": "suspended"},
                                    token=a.session)
        self.assertEqual((st, s["status"]), (200, "suspended"), s)
        self.assertEqual(probe(self.srv, tok), 200, "suspended: inbound (and the "
                         "inbox's tokens) keep working")
        st, _, s = self.srv.request("PATCH", self.inbox_path(iid), {"status": "active"},
                                    token=a.session)
        self.assertEqual((st, s["status"]), (200, "active"), s)
        for status in ("closing", "purged", "deleted", ""):
            self.assertError(self.srv.request("PATCH", self.inbox_path(iid),
                                              {"status": status}, token=a.session),
                             400, field="status")
        self.assertError(self.srv.request("PATCH", self.inbox_path(iid),
                                          {"display_name": "z" * 201}, token=a.session),
                         400, field="display_name")
        st, _, s = self.srv.request("PATCH", self.inbox_path(iid),
                                    {"display_name": "Cycle", "status": "suspended"},
                                    token=a.session)
        self.assertEqual((st, s["display_name"], s["status"]), (200, "Cycle", "suspended"))
        st, _, s = self.srv.request("PATCH", self.inbox_path(iid), {"display_name": None},
                                    token=a.session)
        self.assertEqual((st, s["display_name"]), (200, None))
        self.assertEqual(self.get_inbox(a, iid)["status"], "suspended")

        # Close (from suspended).
        st, _, c = self.srv.request("DELETE", self.inbox_path(iid), token=a.session)
        self.assertEqual(st, 200, c)
        self.assertEqual(c["status"], "closing")
        self.assertEqual(c["address"], "cycle@" + dom)
        self.assertIsNotNone(c["closing_at"])
        self.assertIsNone(c["purged_at"])
        delta = parse_time(c["purge_after"]) - parse_time(c["closing_at"])
        self.assertEqual(delta, datetime.timedelta(seconds=RETENTION_DEFAULT_S))
        self.assertEqual(probe(self.srv, tok), 401, "a closing inbox's tokens stop")
        self.assertEqual(self.get_inbox(a, iid)["status"], "closing")
        self.assertError(self.srv.request("DELETE", self.inbox_path(iid),
                                          token=a.session), 409)
        for body in ({"status": "active"}, {"status": "suspended"},
                     {"display_name": "again"}):
            self.assertError(self.srv.request("PATCH", self.inbox_path(iid), body,
                                              token=a.session), 409)
        self.assertEqual(self.get_inbox(a, iid)["status"], "closing")
        # The address stays taken while closing.
        self.assertError(self.srv.request("POST", "/v1/inboxes/",
                                          {"address": "cycle@" + dom}, token=a.session),
                         409)

    def test_purge_releases_the_address(self):
        srv = self.new_dns_server({"inbox_retention": "2s"})
        a, dom = self.tenant_with_domain(srv)
        ib = self.create_inbox(a, "gone@" + dom, srv=srv)
        iid = a.inbox_id = ib["inbox_id"]
        toks = [srv.create_token(a, ["workflows:read"], label="t%d" % i) for i in range(2)]
        self.assertEqual(probe(srv, toks[0]["raw_token"]), 200)
        st, _, c = srv.request("DELETE", self.inbox_path(iid), token=a.session)
        self.assertEqual((st, c["status"]), (200, "closing"), c)
        self.assertEqual(parse_time(c["purge_after"]) - parse_time(c["closing_at"]),
                         datetime.timedelta(seconds=2))

        def purged():
            got = self.get_inbox(a, iid, srv=srv)
            return got if got["status"] == "purged" else None

        got = harness.wait_until(purged, timeout=10.0, interval=0.2,
                                 what="the closing inbox to be purged")
        self.assertIsNotNone(got["purged_at"])
        self.assertGreaterEqual(parse_time(got["purged_at"]), parse_time(c["purge_after"]))
        self.assertEqual(got["address"], "gone@" + dom)
        st, _, tl = srv.request("GET", "/v1/tokens/?inbox_id=%s" % iid, token=a.session)
        self.assertEqual(st, 200, tl)
        self.assertEqual(sorted(t["id"] for t in tl["data"]),
                         sorted(t["token_id"] for t in toks))
        for t in tl["data"]:
            self.assertEqual(t["status"], "revoked", t)
            self.assertIsNotNone(t["revoked_at"], t)
        for t in toks:
            self.assertEqual(probe(srv, t["raw_token"]), 401)
        st, _, lst = srv.request("GET", "/v1/inboxes/?status=purged", token=a.session)
        self.assertEqual([i["inbox_id"] for i in lst["data"]], [iid])
        # Terminal.
        self.assertError(srv.request("DELETE", self.inbox_path(iid), token=a.session), 409)
        self.assertError(srv.request("PATCH", self.inbox_path(iid), {"status": "active"},
                                     token=a.session), 409)
        # The address is free again.
        again = self.create_inbox(a, "GONE@" + dom, srv=srv)
        self.assertNotEqual(again["inbox_id"], iid)
        self.assertEqual((again["address"], again["status"]), ("gone@" + dom, "active"))
        self.assertEqual(self.get_inbox(a, iid, srv=srv)["status"], "purged")
        self.assertIn("purged 1 closing inboxes", srv.log_text())

    # -- set-up progress --

    def test_next_step(self):
        a = self.srv.new_account(inbox=False)

        def step():
            st, _, me = self.srv.request("GET", "/v1/users/me/", token=a.session)
            self.assertEqual(st, 200, me)
            return me["next_step"]

        s = step()
        self.assertEqual(s["action"], "verify_domain")
        self.assertEqual((s["method"], s["path"]), ("POST", "/v1/domains/"))
        d = create_domain(self.srv, a.session)
        self.assertEqual(step()["action"], "verify_domain",
                         "a pending domain is not enough for an inbox")
        publish_domain(self.dns, d)
        st, _, v = self.srv.request("POST", "/v1/domains/%s/verify/" % d["domain"],
                                    token=a.session)
        self.assertEqual((st, v["status"]), (200, "verified"), v)
        s = step()
        self.assertEqual((s["action"], s["path"]), ("create_inbox", "/v1/inboxes/"))
        ib = self.create_inbox(a, "first@" + d["domain"])
        s = step()
        self.assertEqual((s["action"], s["path"]), ("create_token", "/v1/tokens/"))
        a.inbox_id = ib["inbox_id"]
        self.srv.create_token(a, ["email:read"])
        self.assertNotIn(step()["action"], ("verify_domain", "create_inbox",
                                            "create_token"))

    # -- config --

    def config(self, acct, body=None):
        if body is None:
            return self.srv.request("GET", self.inbox_path(acct.inbox_id, "config/"),
                                    token=acct.session)
        return self.srv.request("PATCH", self.inbox_path(acct.inbox_id, "config/"),
                                body, token=acct.session)

    def test_config_defaults_and_updates(self):
        a = self.srv.new_account()
        st, _, cfg = self.config(a)
        self.assertEqual(st, 200, cfg)
        self.assertEqual(cfg["inbox_id"], a.inbox_id)
        self.assertEqual(cfg["default_timezone"], "UTC")
        self.assertEqual(cfg["label_inference_threshold"], 0.65)
        self.assertIsNone(cfg["webhook"])
        self.assertIsNone(cfg["signature"])
        self.assertIsNone(cfg["missed_reply_threshold_days"])

        st, _, cfg = self.config(a, {"default_timezone": "America/New_York"})
        self.assertEqual((st, cfg["default_timezone"]), (200, "America/New_York"), cfg)
        for tz in ("Mars/Base", "America", "", "../../etc/passwd", "/etc/localtime",
                   "UTC+5", 5):
            with self.subTest(tz=tz):
                self.assertError(self.config(a, {"default_timezone": tz}), 400,
                                 field="default_timezone")
        self.assertEqual(self.config(a)[2]["default_timezone"], "America/New_York")
        st, _, cfg = self.config(a, {"default_timezone": None})
        self.assertEqual((st, cfg["default_timezone"]), (200, "UTC"))

        for v in (1.5, -0.1, "0.5", True):
            with self.subTest(threshold=v):
                self.assertError(self.config(a, {"label_inference_threshold": v}), 400,
                                 field="label_inference_threshold")
        st, _, cfg = self.config(a, {"label_inference_threshold": 0.8})
        self.assertEqual((st, cfg["label_inference_threshold"]), (200, 0.8))
        st, _, cfg = self.config(a, {"label_inference_threshold": 1})
        self.assertEqual((st, cfg["label_inference_threshold"]), (200, 1))
        st, _, cfg = self.config(a, {"label_inference_threshold": None})
        self.assertEqual((st, cfg["label_inference_threshold"]), (200, 0.65))

        st, _, cfg = self.config(a, {"signature": "-- \nThe Bot"})
        self.assertEqual((st, cfg["signature"]), (200, "-- \nThe Bot"))
        st, _, cfg = self.config(a, {"signature": ""})
        self.assertEqual((st, cfg["signature"]), (200, None))
        self.config(a, {"signature": "<b>Bot</b>"})
        st, _, cfg = self.config(a, {"signature": None})
        self.assertEqual((st, cfg["signature"]), (200, None))

        st, _, cfg = self.config(a, {"missed_reply_threshold_days": 3})
        self.assertEqual((st, cfg["missed_reply_threshold_days"]), (200, 3))
        st, _, cfg = self.config(a, {"missed_reply_threshold_days": None})
        self.assertEqual((st, cfg["missed_reply_threshold_days"]), (200, None))

        self.assertError(self.config(a, {"theme": "dark"}), 400, field="theme")
        # A refused PATCH changes nothing, not even its valid members.
        self.assertError(self.config(a, {"signature": "half", "label_inference_threshold": 7}),
                         400, field="label_inference_threshold")
        st, _, cfg = self.config(a)
        self.assertEqual((cfg["signature"], cfg["label_inference_threshold"]), (None, 0.65))

    # -- webhook --

    def test_webhook_secret_is_write_only(self):
        a = self.srv.new_account()
        secret = "whsec-" + secrets.token_hex(16)
        bodies = []

        def call(method, tail, body=None):
            resp = self.srv.request(method, self.inbox_path(a.inbox_id, tail), body,
                                    token=a.session)
            bodies.append(self.srv.last_body)
            return resp

        self.assertError(call("GET", "webhook/"), 404)
        st, _, cfg = call("PATCH", "config/", {"webhook": {
            "url": "https://hooks.example.com/gent", "secret": secret,
            "events": ["message.received", "message.sent"]}})
        self.assertEqual(st, 200, cfg)
        self.assertEqual(cfg["webhook"], {"url": "https://hooks.example.com/gent",
                                          "events": ["message.received", "message.sent"],
                                          "has_secret": True})
        st, _, wh = call("GET", "webhook/")
        self.assertEqual((st, wh["has_secret"]), (200, True), wh)
        self.assertNotIn("secret", wh)
        st, _, cfg = call("GET", "config/")
        self.assertIs(cfg["webhook"]["has_secret"], True)
        # PUT without a secret keeps it; events default to message.received.
        st, _, wh = call("PUT", "webhook/", {"url": "https://hooks.example.com/v2"})
        self.assertEqual(st, 200, wh)
        self.assertEqual(wh, {"url": "https://hooks.example.com/v2",
                              "events": ["message.received"], "has_secret": True})
        # So does a webhook PATCH through config without a secret.
        st, _, cfg = call("PATCH", "config/", {"webhook": {
            "url": "https://hooks.example.com/v2", "events": ["message.received"]}})
        self.assertEqual((st, cfg["webhook"]["has_secret"]), (200, True), cfg)
        # PATCH of another setting keeps it too.
        st, _, cfg = call("PATCH", "config/", {"signature": "s"})
        self.assertIs(cfg["webhook"]["has_secret"], True)
        # "" clears it.
        st, _, wh = call("PUT", "webhook/", {"url": "https://hooks.example.com/v3",
                                             "secret": ""})
        self.assertEqual((st, wh["has_secret"]), (200, False), wh)
        st, _, wh = call("PUT", "webhook/", {"url": "https://hooks.example.com/v4",
                                             "secret": secret + "2",
                                             "events": ["contact.birthday"]})
        self.assertEqual((st, wh["has_secret"], wh["events"]),
                         (200, True, ["contact.birthday"]), wh)
        st, _, wh = call("GET", "webhook/")
        self.assertEqual(wh["url"], "https://hooks.example.com/v4")
        self.assertError(call("PUT", "webhook/", {"url": "https://hooks.example.com/",
                                                  "secret": "s" * 257}), 400)
        # Delete.
        st, _, _ = call("DELETE", "webhook/")
        self.assertEqual(st, 204)
        self.assertError(call("GET", "webhook/"), 404)
        self.assertError(call("DELETE", "webhook/"), 404)
        self.assertIsNone(call("GET", "config/")[2]["webhook"])
        # And via config: set, then null removes.
        call("PATCH", "config/", {"webhook": {"url": "https://hooks.example.com/c",
                                              "secret": secret}})
        st, _, cfg = call("PATCH", "config/", {"webhook": None})
        self.assertEqual((st, cfg["webhook"]), (200, None))
        self.assertError(call("GET", "webhook/"), 404)
        for raw in bodies:
            self.assertNotIn(secret.encode(), raw)

    def test_webhook_url_and_events(self):
        a = self.srv.new_account()
        put = "/v1/inboxes/%s/webhook/" % a.inbox_id
        refused = ["http://hooks.example.com/x", "ftp://hooks.example.com/x",
                   "https://127.0.0.1/", "https://127.0.0.1:8443/hook",
                   "https://localhost/x", "https://LOCALHOST/x",
                   "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://10.1.2.3/",
                   "https://192.168.1.1/", "https://172.16.0.1/", "https://169.254.169.254/",
                   "https://0.0.0.0/", "https://2130706433/",
                   "https://user:pw@hooks.example.com/", "not a url", "hooks.example.com",
                   "https://" + "a" * 2050 + ".example.com/"]
        for url in refused:
            with self.subTest(url=url):
                self.assertError(self.srv.request("PUT", put, {"url": url},
                                                  token=a.session), 400, field="url")
                self.assertError(self.config(a, {"webhook": {"url": url}}), 400,
                                 field="webhook")
        err = self.assertError(self.srv.request("PUT", put,
                                                {"url": "http://hooks.example.com/"},
                                                token=a.session), 400)
        self.assertIn("HTTPS", err["message"])
        for events in (["bogus.event"], ["message.received", "nope"], ["contact."]):
            with self.subTest(events=events):
                self.assertError(self.srv.request("PUT", put,
                                                  {"url": "https://hooks.example.com/",
                                                   "events": events},
                                                  token=a.session), 400)
        self.assertError(self.srv.request("PUT", put, {"url": "https://hooks.example.com/",
                                                       "events": "message.received"},
                                          token=a.session), 400, field="events")
        self.assertError(self.srv.request("PUT", put, {}, token=a.session), 400,
                         field="url")
        self.assertError(self.srv.request("PUT", put, {"url": "https://hooks.example.com/",
                                                       "retries": 3},
                                          token=a.session), 400, field="retries")
        self.assertError(self.srv.request("GET", put, token=a.session), 404,
                         msg="refused PUTs must store nothing")
        st, _, wh = self.srv.request("PUT", put, {"url": "https://hooks.example.com/ok",
                                                  "events": ["cap.reached", "label.applied"]},
                                     token=a.session)
        self.assertEqual((st, wh["events"]), (200, ["cap.reached", "label.applied"]), wh)

    def test_webhook_refuses_localhost_with_trailing_dot(self):
        # "localhost." is the same host as "localhost" (the root label is
        # implied); the loopback check must not be side-stepped by the dot.
        a = self.srv.new_account()
        put = "/v1/inboxes/%s/webhook/" % a.inbox_id
        for url in ("https://localhost./x", "https://LocalHost./x"):
            with self.subTest(url=url):
                self.assertError(self.srv.request("PUT", put, {"url": url},
                                                  token=a.session), 400, field="url")
        self.assertError(self.srv.request("GET", put, token=a.session), 404)

    def test_webhook_private_targets_when_allowed(self):
        srv = self.new_server({"webhook_allow_private": "true"})
        a = srv.new_account()
        put = "/v1/inboxes/%s/webhook/" % a.inbox_id
        for url in ("http://127.0.0.1:9/x", "https://127.0.0.1/", "http://localhost:8080/h"):
            with self.subTest(url=url):
                st, _, wh = srv.request("PUT", put, {"url": url}, token=a.session)
                self.assertEqual((st, wh.get("url")), (200, url), wh)
        for url in ("ftp://127.0.0.1/", "https://user:pw@127.0.0.1/"):
            with self.subTest(url=url):
                self.assertError(srv.request("PUT", put, {"url": url}, token=a.session),
                                 400, field="url")

    # -- quota --

    def test_quota(self):
        a = self.srv.new_account()
        st, _, q = self.srv.request("GET", self.inbox_path(a.inbox_id, "quota/"),
                                    token=a.session)
        self.assertEqual(st, 200, q)
        self.assertEqual(q["inbox_id"], a.inbox_id)
        self.assertEqual(q["used_bytes"], 0)
        self.assertIsNone(q["limit_bytes"])
        self.assertEqual(q["used_pct"], 0.0)
        self.assertIsInstance(q["used_pct"], float)
        self.assertError(self.srv.request("GET", self.inbox_path("inb_nope", "quota/"),
                                          token=a.session), 404)


if __name__ == "__main__":
    harness.main()
