"""Scope enforcement and inbox binding, on the sender rules endpoints."""

import threading

import harness
from harness import GentdTestCase

RULES = "/v1/sender-rules/"


class ScopesTest(GentdTestCase):

    def setUp(self):
        self.a = self.srv.new_account()

    def token(self, scopes, acct=None):
        return self.srv.create_token(acct or self.a, scopes)["raw_token"]

    def test_read_needs_workflows_read(self):
        send_only = self.token(["email:send"])
        for path in (RULES, RULES + "modes/", RULES + "reference/"):
            err = self.assertError(self.srv.request("GET", path, token=send_only),
                                   403, "insufficient_scope", msg=path)
            self.assertIn("workflows:read", err["message"])
        reader = self.token(["read"])
        st, _, body = self.srv.request("GET", RULES, token=reader)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["inbox_id"], self.a.inbox_id)
        self.assertEqual(body["inbound_mode"], "open")
        self.assertEqual(body["outbound_mode"], "open")
        self.assertEqual(body["inbound_patterns"], [])
        self.assertEqual(body["outbound_patterns"], [])
        st, _, modes = self.srv.request("GET", RULES + "modes/", token=reader)
        self.assertEqual(st, 200, modes)
        self.assertEqual([m["mode"] for m in modes["data"]],
                         ["open", "allowlist", "blocklist"])
        st, _, ref = self.srv.request("GET", RULES + "reference/", token=reader)
        self.assertEqual(st, 200, ref)
        self.assertEqual(ref["resource"], "sender_rules")
        # The atomic scope alone is enough; workflows:write does not imply read.
        self.assertEqual(self.srv.request("GET", RULES,
                                          token=self.token(["workflows:read"]))[0], 200)
        self.assertError(self.srv.request("GET", RULES,
                                          token=self.token(["workflows:write"])),
                         403, "insufficient_scope")

    def test_write_needs_workflows_write(self):
        reader = self.token(["read"])
        body = {"inbound_mode": "allowlist", "inbound_patterns": ["@example.com"]}
        err = self.assertError(self.srv.request("PUT", RULES, body, token=reader),
                               403, "insufficient_scope")
        self.assertIn("workflows:write", err["message"])
        self.assertError(self.srv.request("DELETE", RULES, token=reader),
                         403, "insufficient_scope")
        writer = self.token(["workflows:write"])
        st, _, got = self.srv.request("PUT", RULES, body, token=writer)
        self.assertEqual(st, 200, got)
        self.assertEqual(got["inbound_mode"], "allowlist")
        self.assertEqual(got["inbound_patterns"], ["@example.com"])
        self.assertEqual(got["inbox_id"], self.a.inbox_id)
        self.assertIsNotNone(got["updated_at"])
        # The reader sees the change; nothing was changed by the refused PUT.
        self.assertEqual(self.srv.request("GET", RULES, token=reader)[2]["inbound_mode"],
                         "allowlist")
        # "write" and "full" aliases include workflows:write.
        for alias in ("write", "full"):
            self.assertEqual(self.srv.request("PUT", RULES, {"outbound_mode": "open"},
                                              token=self.token([alias]))[0], 200, alias)

    def test_agent_token_is_bound_to_its_inbox(self):
        other_inbox = self.srv.create_inbox(self.a.tenant_id,
                                            harness.unique_email("second"))["inbox_id"]
        tok = self.token(["workflows:read", "workflows:write"])
        self.assertError(self.srv.request("GET", RULES + "?inbox_id=" + other_inbox,
                                          token=tok), 403, "forbidden")
        self.assertError(self.srv.request("PUT", RULES,
                                          {"inbox_id": other_inbox, "inbound_mode": "blocklist"},
                                          token=tok), 403, "forbidden")
        self.assertError(self.srv.request("DELETE", RULES + "?inbox_id=" + other_inbox,
                                          token=tok), 403, "forbidden")
        # Naming its own inbox is allowed.
        self.assertEqual(self.srv.request("GET", RULES + "?inbox_id=" + self.a.inbox_id,
                                          token=tok)[0], 200)
        st, _, got = self.srv.request("PUT", RULES, {"inbox_id": self.a.inbox_id,
                                                     "inbound_mode": "blocklist"}, token=tok)
        self.assertEqual(st, 200, got)
        # The other inbox was not touched.
        st, _, o = self.srv.request("GET", RULES + "?inbox_id=" + other_inbox,
                                    token=self.a.session)
        self.assertEqual(st, 200, o)
        self.assertEqual(o["inbound_mode"], "open")

    def test_session_access(self):
        b = self.srv.new_account()
        q = RULES + "?inbox_id=" + self.a.inbox_id
        st, _, body = self.srv.request("GET", q, token=self.a.session)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["inbox_id"], self.a.inbox_id)
        self.assertError(self.srv.request("GET", RULES, token=self.a.session),
                         400, "invalid_field", "inbox_id")
        # Another tenant's inbox is not found, whatever the method.
        self.assertError(self.srv.request("GET", RULES + "?inbox_id=" + b.inbox_id,
                                          token=self.a.session), 404, "not_found")
        self.assertError(self.srv.request("PUT", RULES, {"inbox_id": b.inbox_id,
                                                         "inbound_mode": "blocklist"},
                                          token=self.a.session), 404, "not_found")
        self.assertError(self.srv.request("DELETE", RULES + "?inbox_id=" + b.inbox_id,
                                          token=self.a.session), 404, "not_found")
        self.assertError(self.srv.request("GET", RULES + "?inbox_id=inb_nope",
                                          token=self.a.session), 404, "not_found")
        st, _, body = self.srv.request("PUT", RULES, {"inbox_id": self.a.inbox_id,
                                                      "outbound_mode": "allowlist",
                                                      "outbound_patterns": ["boss@corp.example"]},
                                       token=self.a.session)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["outbound_patterns"], ["boss@corp.example"])
        self.assertEqual(self.srv.request("GET", RULES + "?inbox_id=" + b.inbox_id,
                                          token=b.session)[2]["outbound_mode"], "open")

    def test_validation(self):
        w = self.token(["workflows:read", "workflows:write"])
        self.assertError(self.srv.request("PUT", RULES, {"inbound_mode": "closed"},
                                          token=w), 400, "invalid_field", "inbound_mode")
        self.assertError(self.srv.request("PUT", RULES, {"outbound_mode": "OPEN"},
                                          token=w), 400, "invalid_field", "outbound_mode")
        for bad in ["not-an-address", "@", "user@", "@@example.com", ""]:
            self.assertError(self.srv.request("PUT", RULES, {"inbound_patterns": [bad]},
                                              token=w), 400, "invalid_field",
                             "inbound_patterns", msg=bad)
        self.assertError(self.srv.request("PUT", RULES, {"outbound_patterns": ["nope"]},
                                          token=w), 400, "invalid_field", "outbound_patterns")
        self.assertError(self.srv.request("PUT", RULES, {"inbound_patterns": "@x.com"},
                                          token=w), 400, "invalid_field", "inbound_patterns")
        self.assertError(self.srv.request("PUT", RULES, {"inbound_mode": "open", "x": 1},
                                          token=w), 400, "invalid_field", "x")
        # None of the refused PUTs changed anything.
        self.assertEqual(self.srv.request("GET", RULES, token=w)[2]["inbound_patterns"], [])

        st, _, got = self.srv.request("PUT", RULES, {
            "inbound_mode": "blocklist",
            "inbound_patterns": ["@Spam.EXAMPLE", "@spam.example", "Bob@Example.COM",
                                 "bob@example.com", "alice@example.com"]}, token=w)
        self.assertEqual(st, 200, got)
        self.assertEqual(got["inbound_patterns"],
                         ["@spam.example", "bob@example.com", "alice@example.com"])
        # A PUT without patterns keeps the stored ones.
        st, _, got = self.srv.request("PUT", RULES, {"outbound_mode": "blocklist"}, token=w)
        self.assertEqual(st, 200, got)
        self.assertEqual(got["inbound_mode"], "blocklist")
        self.assertEqual(len(got["inbound_patterns"]), 3)
        self.assertEqual(self.srv.request("GET", RULES, token=w)[2], got)

    def test_delete_resets_to_open(self):
        w = self.token(["workflows:read", "workflows:write"])
        st, _, _ = self.srv.request("PUT", RULES, {"inbound_mode": "allowlist",
                                                   "inbound_patterns": ["@a.example"],
                                                   "outbound_mode": "blocklist",
                                                   "outbound_patterns": ["x@b.example"]},
                                    token=w)
        self.assertEqual(st, 200)
        st, _, body = self.srv.request("DELETE", RULES, token=w)
        self.assertEqual(st, 204)
        self.assertIsNone(body)
        st, _, got = self.srv.request("GET", RULES, token=w)
        self.assertEqual(st, 200, got)
        self.assertEqual((got["inbound_mode"], got["outbound_mode"]), ("open", "open"))
        self.assertEqual((got["inbound_patterns"], got["outbound_patterns"]), ([], []))
        # Deleting again is harmless.
        self.assertEqual(self.srv.request("DELETE", RULES, token=w)[0], 204)
        # A session deletes with ?inbox_id= (or in the body).
        self.assertEqual(self.srv.request("PUT", RULES, {"inbound_mode": "blocklist"},
                                          token=w)[0], 200)
        st, _, _ = self.srv.request("DELETE", RULES, {"inbox_id": self.a.inbox_id},
                                    token=self.a.session)
        self.assertEqual(st, 204)
        self.assertEqual(self.srv.request("GET", RULES, token=w)[2]["inbound_mode"], "open")

    def test_concurrent_puts_of_different_fields_all_stick(self):
        # A PUT leaves the fields it omits as they are, so four acknowledged
        # PUTs of four different fields must all be in effect afterwards.
        for rnd in range(5):
            a = self.srv.new_account()
            bodies = [{"inbound_mode": "blocklist"}, {"outbound_mode": "allowlist"},
                      {"inbound_patterns": ["@spam.example"]},
                      {"outbound_patterns": ["boss@corp.example"]}]
            statuses = []

            def put(b):
                statuses.append(self.srv.request(
                    "PUT", RULES, dict(b, inbox_id=a.inbox_id), token=a.session)[0])
            threads = [threading.Thread(target=put, args=(b,)) for b in bodies]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            self.assertEqual(statuses, [200] * 4)
            got = self.srv.request("GET", RULES + "?inbox_id=" + a.inbox_id,
                                   token=a.session)[2]
            got = {k: got[k] for k in ("inbound_mode", "outbound_mode",
                                       "inbound_patterns", "outbound_patterns")}
            want = {k: v for b in bodies for k, v in b.items()}
            self.assertEqual(got, want, "round %d: acknowledged updates were lost" % rnd)

    def test_revoked_or_paused_token_gets_401_not_403(self):
        tok = self.srv.create_token(self.a, ["email:send"])
        path = "/v1/tokens/%s/?inbox_id=%s" % (tok["token_id"], self.a.inbox_id)
        self.assertEqual(self.srv.request("PATCH", path, {"action": "pause"},
                                          token=self.a.session)[0], 200)
        self.assertError(self.srv.request("GET", RULES, token=tok["raw_token"]),
                         401, "unauthorized")


if __name__ == "__main__":
    harness.main()
