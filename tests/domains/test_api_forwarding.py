"""Forwarding configuration and conditional forwarding rules (scopes
workflows:read / workflows:write), and the sender rules round trip.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration \
        python3 tests/domains/test_api_forwarding.py
"""

import harness
from harness import GentdTestCase

READ = ["workflows:read"]
WRITE = ["workflows:read", "workflows:write"]


class ForwardingTest(GentdTestCase):

    def setUp(self):
        self.a = self.srv.new_account()
        self.tok = self.srv.create_token(self.a, WRITE)["raw_token"]

    def fwd(self, method, body=None, token=None, query=""):
        return self.srv.request(method, "/v1/forwarding/" + query, body,
                                token=token or self.a.session)

    def rule(self, body, token=None):
        return self.srv.request("POST", "/v1/forwarding/rules/", body,
                                token=token or self.tok)

    def rules(self, token=None, query=""):
        st, _, lst = self.srv.request("GET", "/v1/forwarding/rules/" + query,
                                      token=token or self.tok)
        self.assertEqual(st, 200, lst)
        return lst["data"]

    # -- default address --

    def test_default_address_with_session_and_token(self):
        a = self.a
        st, _, f = self.fwd("GET", query="?inbox_id=" + a.inbox_id)
        self.assertEqual(st, 200, f)
        # Forwarding is on until DELETE turns it off: rules forward even
        # without a default address (the receive path agrees).
        self.assertEqual(f, {"inbox_id": a.inbox_id, "default_address": None,
                             "enabled": True})
        st, _, f = self.fwd("PUT", {"inbox_id": a.inbox_id,
                                    "default_address": "ops@example.org"})
        self.assertEqual(st, 200, f)
        self.assertEqual(f, {"inbox_id": a.inbox_id, "default_address": "ops@example.org",
                             "enabled": True})
        # The agent token needs no inbox_id; it sees the same config.
        st, _, f = self.fwd("GET", token=self.tok)
        self.assertEqual((st, f["default_address"]), (200, "ops@example.org"), f)
        st, _, f = self.fwd("PUT", {"default_address": "archive@example.net"},
                            token=self.tok)
        self.assertEqual(st, 200, f)
        self.assertEqual((f["inbox_id"], f["default_address"], f["enabled"]),
                         (a.inbox_id, "archive@example.net", True))
        st, _, f = self.fwd("GET", query="?inbox_id=" + a.inbox_id)
        self.assertEqual(f["default_address"], "archive@example.net")
        # Session: inbox_id is required and must be the tenant's.
        self.assertError(self.fwd("PUT", {"default_address": "x@example.org"}), 400,
                         field="inbox_id")
        self.assertError(self.fwd("GET"), 400, field="inbox_id")
        other = self.srv.new_account()
        self.assertError(self.fwd("PUT", {"inbox_id": other.inbox_id,
                                          "default_address": "x@example.org"}), 404)
        self.assertError(self.fwd("GET", token=other.session,
                                  query="?inbox_id=" + a.inbox_id), 404)
        # A token cannot name another inbox.
        self.assertError(self.fwd("PUT", {"inbox_id": other.inbox_id,
                                          "default_address": "x@example.org"},
                                  token=self.tok), 403)
        # Bad addresses and forwarding loops.
        for addr in ("not-an-address", "a@b", "x@@example.org", "", "a b@example.org",
                     a.inbox_address, a.inbox_address.upper()):
            with self.subTest(address=addr):
                self.assertError(self.fwd("PUT", {"default_address": addr},
                                          token=self.tok), 400, field="default_address")
        self.assertError(self.fwd("PUT", {"default_address": 5}, token=self.tok), 400,
                         field="default_address")
        self.assertError(self.fwd("PUT", {"default_address": "x@example.org",
                                          "forward_to": "y@example.org"},
                                  token=self.tok), 400, field="forward_to")
        st, _, f = self.fwd("GET", token=self.tok)
        self.assertEqual(f["default_address"], "archive@example.net",
                         "refused PUTs change nothing")
        # Disable.
        st, _, body = self.fwd("DELETE", {"inbox_id": a.inbox_id})
        self.assertEqual(st, 204, body)
        self.assertEqual(self.srv.last_body, b"")
        st, _, f = self.fwd("GET", token=self.tok)
        self.assertEqual(f, {"inbox_id": a.inbox_id, "default_address": None,
                             "enabled": False})
        st, _, _ = self.fwd("PUT", {"default_address": "back@example.org"}, token=self.tok)
        self.assertEqual(st, 200)
        st, _, _ = self.fwd("DELETE", token=self.tok)
        self.assertEqual(st, 204)
        self.assertEqual(self.fwd("GET", token=self.tok)[2]["enabled"], False)

    # -- rules --

    def test_rule_for_each_condition_type(self):
        cases = [("all", None, None), ("sender", "boss@corp.example", "boss@corp.example"),
                 ("domain", "corp.example", "corp.example"),
                 ("subject_keyword", "invoice", "invoice")]
        for ctype, value, stored in cases:
            with self.subTest(condition_type=ctype):
                body = {"destination": "copy@example.org", "condition_type": ctype}
                if value is not None:
                    body["condition_value"] = value
                st, _, r = self.rule(body)
                self.assertEqual(st, 201, r)
                self.assertRegex(r["id"], r"^fwr_[a-z0-9]+$")
                self.assertEqual(r["inbox_id"], self.a.inbox_id)
                self.assertEqual(r["destination"], "copy@example.org")
                self.assertEqual(r["condition_type"], ctype)
                self.assertEqual(r["condition_value"], stored)
                self.assertIs(r["enabled"], True)
                self.assertIsInstance(r["priority"], int)
                self.assertIsNotNone(r["created_at"])
        # condition_value is ignored for "all".
        st, _, r = self.rule({"destination": "copy@example.org", "condition_type": "all",
                              "condition_value": "ignored"})
        self.assertEqual((st, r["condition_value"]), (201, None), r)
        # ... and required for the others.
        for ctype in ("sender", "domain", "subject_keyword"):
            for extra in ({}, {"condition_value": ""}, {"condition_value": None},
                          {"condition_value": "x" * 321}):
                with self.subTest(condition_type=ctype, extra=extra):
                    body = dict(extra, destination="copy@example.org", condition_type=ctype)
                    self.assertError(self.rule(body), 400, field="condition_value")
        for ctype in ("any", "ALL", "", "recipient"):
            with self.subTest(condition_type=ctype):
                self.assertError(self.rule({"destination": "copy@example.org",
                                            "condition_type": ctype}), 400,
                                 field="condition_type")
        self.assertError(self.rule({"destination": "copy@example.org"}), 400,
                         field="condition_type")
        for dest in (None, "nope", self.a.inbox_address):
            with self.subTest(destination=dest):
                body = {"condition_type": "all"}
                if dest is not None:
                    body["destination"] = dest
                self.assertError(self.rule(body), 400, field="destination")
        for prio in (-1, 1.5, "1"):
            with self.subTest(priority=prio):
                self.assertError(self.rule({"destination": "copy@example.org",
                                            "condition_type": "all", "priority": prio}),
                                 400, field="priority")
        self.assertEqual(len(self.rules()), 5, "refused rules are not stored")
        # With a session, inbox_id names the inbox.
        st, _, r = self.rule({"inbox_id": self.a.inbox_id, "destination": "s@example.org",
                              "condition_type": "all"}, token=self.a.session)
        self.assertEqual((st, r["inbox_id"]), (201, self.a.inbox_id), r)
        self.assertError(self.rule({"destination": "s@example.org", "condition_type": "all"},
                                   token=self.a.session), 400, field="inbox_id")

    def test_condition_value_limit_counts_characters(self):
        # "1-320 characters": a 300-character keyword in another script fits.
        st, _, r = self.rule({"destination": "copy@example.org",
                              "condition_type": "subject_keyword",
                              "condition_value": "счёт" * 75})
        self.assertEqual(st, 201, r)
        self.assertEqual(r["condition_value"], "счёт" * 75)
        self.assertError(self.rule({"destination": "copy@example.org",
                                    "condition_type": "subject_keyword",
                                    "condition_value": "ж" * 321}), 400,
                         field="condition_value")

    def test_list_order_patch_and_delete(self):
        ids = {}
        for prio in (50, 10, 30):
            st, _, r = self.rule({"destination": "p%d@example.org" % prio,
                                  "condition_type": "subject_keyword",
                                  "condition_value": "k%d" % prio, "priority": prio})
            self.assertEqual(st, 201, r)
            ids[prio] = r["id"]
        lst = self.rules()
        self.assertEqual([r["priority"] for r in lst], [10, 30, 50])
        self.assertEqual([r["id"] for r in lst], [ids[10], ids[30], ids[50]])
        st, _, full = self.srv.request("GET", "/v1/forwarding/rules/?inbox_id=" +
                                       self.a.inbox_id, token=self.a.session)
        self.assertEqual((st, full["data"]), (200, lst))
        self.assertIn("next_cursor", full)

        path = "/v1/forwarding/rules/%s/" % ids[50]
        st, _, r = self.srv.request("PATCH", path, {"enabled": False}, token=self.tok)
        self.assertEqual(st, 200, r)
        self.assertIs(r["enabled"], False)
        self.assertEqual((r["priority"], r["condition_value"]), (50, "k50"))
        st, _, r = self.srv.request("PATCH", path, {"priority": 1}, token=self.tok)
        self.assertEqual((st, r["priority"], r["enabled"]), (200, 1, False), r)
        self.assertEqual([r["id"] for r in self.rules()], [ids[50], ids[10], ids[30]])
        st, _, r = self.srv.request("PATCH", path, {"condition_type": "domain",
                                                    "condition_value": "corp.example",
                                                    "destination": "new@example.org"},
                                    token=self.tok)
        self.assertEqual(st, 200, r)
        self.assertEqual((r["condition_type"], r["condition_value"], r["destination"]),
                         ("domain", "corp.example", "new@example.org"))
        st, _, r = self.srv.request("PATCH", path, {"condition_type": "all"}, token=self.tok)
        self.assertEqual((st, r["condition_value"]), (200, None), r)
        # Invalid patches change nothing.
        for body, field in [({"condition_type": "sender"}, "condition_value"),
                            ({"condition_type": "bogus"}, "condition_type"),
                            ({"destination": "bad"}, "destination"),
                            ({"destination": self.a.inbox_address}, "destination"),
                            ({"priority": -5}, "priority"),
                            ({"enabled": "no"}, "enabled"),
                            ({"inbox_id": self.a.inbox_id}, "inbox_id")]:
            with self.subTest(body=body):
                self.assertError(self.srv.request("PATCH", path, body, token=self.tok),
                                 400, field=field)
        now = [r for r in self.rules() if r["id"] == ids[50]][0]
        self.assertEqual((now["condition_type"], now["destination"], now["priority"],
                          now["enabled"]), ("all", "new@example.org", 1, False))
        # Delete.
        st, _, _ = self.srv.request("DELETE", path, token=self.tok)
        self.assertEqual(st, 204)
        self.assertEqual(self.srv.last_body, b"")
        self.assertError(self.srv.request("DELETE", path, token=self.tok), 404)
        self.assertError(self.srv.request("PATCH", path, {"enabled": True},
                                          token=self.tok), 404)
        self.assertEqual([r["id"] for r in self.rules()], [ids[10], ids[30]])

    def test_rules_are_private_to_their_inbox(self):
        st, _, r = self.rule({"destination": "copy@example.org", "condition_type": "all"})
        self.assertEqual(st, 201, r)
        path = "/v1/forwarding/rules/%s/" % r["id"]
        # A second inbox of the same tenant, with its own token.
        ib2 = self.srv.create_inbox(self.a.tenant_id,
                                    harness.unique_email("second", "agents.example.com"))
        a2 = harness.Account(**dict(self.a.__dict__, inbox_id=ib2["inbox_id"],
                                    inbox_address=ib2["address"]))
        tok2 = self.srv.create_token(a2, WRITE)["raw_token"]
        # Another tenant altogether.
        b = self.srv.new_account()
        tok_b = self.srv.create_token(b, WRITE)["raw_token"]
        for who, token in (("same tenant, other inbox", tok2),
                           ("other tenant token", tok_b),
                           ("other tenant session", b.session)):
            with self.subTest(who=who):
                self.assertError(self.srv.request("PATCH", path, {"enabled": False},
                                                  token=token), 404)
                self.assertError(self.srv.request("DELETE", path, token=token), 404)
        self.assertEqual(self.rules(token=tok2), [])
        self.assertEqual(self.rules(token=tok_b), [])
        self.assertError(self.srv.request("GET", "/v1/forwarding/rules/?inbox_id=" +
                                          self.a.inbox_id, token=tok2), 403)
        self.assertError(self.srv.request("GET", "/v1/forwarding/rules/?inbox_id=" +
                                          self.a.inbox_id, token=b.session), 404)
        # Still there, unchanged.
        lst = self.rules()
        self.assertEqual([(x["id"], x["enabled"]) for x in lst], [(r["id"], True)])

    def test_scopes(self):
        st, _, r = self.rule({"destination": "copy@example.org", "condition_type": "all"})
        self.assertEqual(st, 201, r)
        path = "/v1/forwarding/rules/%s/" % r["id"]
        ro = self.srv.create_token(self.a, READ)["raw_token"]
        none = self.srv.create_token(self.a, ["email:read"])["raw_token"]
        writes = [("PUT", "/v1/forwarding/", {"default_address": "x@example.org"}),
                  ("DELETE", "/v1/forwarding/", None),
                  ("POST", "/v1/forwarding/rules/", {"destination": "x@example.org",
                                                     "condition_type": "all"}),
                  ("PATCH", path, {"enabled": False}),
                  ("DELETE", path, None)]
        reads = [("GET", "/v1/forwarding/", None),
                 ("GET", "/v1/forwarding/rules/", None),
                 ("GET", "/v1/forwarding/reference/", None),
                 ("GET", "/v1/forwarding/condition-types/", None)]
        for method, p, body in writes:
            with self.subTest(method=method, path=p, token="read-only"):
                err = self.assertError(self.srv.request(method, p, body, token=ro), 403,
                                       code="insufficient_scope")
                self.assertIn("workflows:write", err["message"])
        for method, p, body in reads + writes:
            with self.subTest(method=method, path=p, token="no workflows scope"):
                self.assertError(self.srv.request(method, p, body, token=none), 403,
                                 code="insufficient_scope")
            with self.subTest(method=method, path=p, token="none"):
                self.assertError(self.srv.request(method, p, body), 401)
        for method, p, body in reads:
            with self.subTest(method=method, path=p, token="read-only"):
                self.assertEqual(self.srv.request(method, p, body, token=ro)[0], 200)
        # Nothing changed.
        self.assertEqual([(x["id"], x["enabled"]) for x in self.rules()], [(r["id"], True)])
        self.assertIsNone(self.fwd("GET", token=ro)[2]["default_address"])

    def test_reference_and_condition_types(self):
        for token in (self.a.session, self.tok):
            st, _, ref = self.srv.request("GET", "/v1/forwarding/reference/", token=token)
            self.assertEqual(st, 200, ref)
            self.assertEqual(ref["condition_types"],
                             ["all", "sender", "domain", "subject_keyword"])
            st, _, ct = self.srv.request("GET", "/v1/forwarding/condition-types/",
                                         token=token)
            self.assertEqual(st, 200, ct)
            self.assertEqual({c["condition_type"]: c["needs_value"] for c in ct["data"]},
                             {"all": False, "sender": True, "domain": True,
                              "subject_keyword": True})

    # -- sender rules --

    def test_sender_rules_round_trip(self):
        st, _, sr = self.srv.request("GET", "/v1/sender-rules/", token=self.tok)
        self.assertEqual(st, 200, sr)
        self.assertEqual((sr["inbox_id"], sr["inbound_mode"], sr["outbound_mode"],
                          sr["inbound_patterns"], sr["outbound_patterns"]),
                         (self.a.inbox_id, "open", "open", [], []))
        body = {"inbound_mode": "allowlist",
                "inbound_patterns": ["@Example.COM", "Boss@Corp.example", "@example.com"],
                "outbound_mode": "blocklist", "outbound_patterns": ["spam@junk.example"]}
        st, _, sr = self.srv.request("PUT", "/v1/sender-rules/", body, token=self.tok)
        self.assertEqual(st, 200, sr)
        want = {"inbox_id": self.a.inbox_id, "inbound_mode": "allowlist",
                "outbound_mode": "blocklist",
                "inbound_patterns": ["@example.com", "boss@corp.example"],
                "outbound_patterns": ["spam@junk.example"]}
        self.assertEqual({k: sr[k] for k in want}, want)
        st, _, got = self.srv.request("GET", "/v1/sender-rules/", token=self.tok)
        self.assertEqual({k: got[k] for k in want}, want)
        st, _, got = self.srv.request("GET", "/v1/sender-rules/?inbox_id=" + self.a.inbox_id,
                                      token=self.a.session)
        self.assertEqual({k: got[k] for k in want}, want)
        # Partial PUT keeps what it does not name.
        st, _, sr = self.srv.request("PUT", "/v1/sender-rules/", {"outbound_mode": "open"},
                                     token=self.tok)
        self.assertEqual((st, sr["outbound_mode"], sr["inbound_patterns"]),
                         (200, "open", want["inbound_patterns"]), sr)
        for body, field in [({"inbound_mode": "closed"}, "inbound_mode"),
                            ({"outbound_mode": "ALLOWLIST"}, "outbound_mode"),
                            ({"inbound_patterns": ["not a pattern"]}, "inbound_patterns"),
                            ({"outbound_patterns": ["@"]}, "outbound_patterns"),
                            ({"inbound_patterns": "@example.com"}, "inbound_patterns")]:
            with self.subTest(body=body):
                self.assertError(self.srv.request("PUT", "/v1/sender-rules/", body,
                                                  token=self.tok), 400, field=field)
        ro = self.srv.create_token(self.a, READ)["raw_token"]
        self.assertError(self.srv.request("PUT", "/v1/sender-rules/", {"inbound_mode": "open"},
                                          token=ro), 403, code="insufficient_scope")
        st, _, _ = self.srv.request("DELETE", "/v1/sender-rules/", token=self.tok)
        self.assertEqual(st, 204)
        st, _, sr = self.srv.request("GET", "/v1/sender-rules/", token=ro)
        self.assertEqual((sr["inbound_mode"], sr["outbound_mode"], sr["inbound_patterns"],
                          sr["outbound_patterns"]), ("open", "open", [], []))


if __name__ == "__main__":
    harness.main()
