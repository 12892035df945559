"""Agent tokens: create, scopes and aliases, list/paginate, rotate, pause,
resume, revoke, expiry, reference, and that raw values are never stored."""

import time

import harness
from harness import GentdTestCase

ADMIN_ONLY = {"billing:write", "audit:read"}


class TokensTest(GentdTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The owner's view of the scope table is the reference for aliases.
        cls.owner = cls.srv.new_account()
        st, _, ref = cls.srv.request("GET", "/v1/tokens/reference/",
                                     token=cls.owner.session)
        assert st == 200, ref
        cls.all_scopes = [s["scope"] for s in ref["scopes"]]
        cls.admin_scopes = {s["scope"] for s in ref["scopes"] if s.get("admin")}

    def tok_path(self, acct, token_id, inbox_id=None):
        return "/v1/tokens/%s/?inbox_id=%s" % (token_id, inbox_id or acct.inbox_id)

    def probe(self, raw):
        """Status of a call that any token with workflows:read may make."""
        return self.srv.request("GET", "/v1/sender-rules/", token=raw)[0]

    # -- create --

    def test_create(self):
        a = self.srv.new_account()
        st, h, body = self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": a.inbox_id, "scopes": ["email:read", "email:send"],
            "label": "support agent", "requires_approval": ["email:send"]},
            token=a.session)
        self.assertEqual(st, 201, body)
        self.assertRegex(body["raw_token"], harness.TOKEN_RE)
        self.assertRegex(body["token_id"], r"^tok_[a-z0-9]+$")
        self.assertEqual(body["id"], body["token_id"])
        self.assertEqual(body["inbox_id"], a.inbox_id)
        self.assertEqual(body["label"], "support agent")
        self.assertEqual(sorted(body["scopes"]), ["email:read", "email:send"])
        self.assertEqual(body["requires_approval"], ["email:send"])
        self.assertEqual(body["status"], "active")
        self.assertIsNone(body["expires_at"])
        self.assertIsNone(body["revoked_at"])
        # Two tokens never share a value.
        other = self.srv.create_token(a, ["email:read"])
        self.assertNotEqual(other["raw_token"], body["raw_token"])
        self.assertNotEqual(other["token_id"], body["token_id"])
        # The GET view never shows the raw value.
        st, _, got = self.srv.request("GET", self.tok_path(a, body["token_id"]),
                                      token=a.session)
        self.assertEqual(st, 200, got)
        self.assertNotIn("raw_token", got)
        self.assertNotIn(body["raw_token"], self.srv.last_body.decode())
        self.assertEqual(got["id"], body["token_id"])

    def test_scope_aliases(self):
        a = self.srv.new_account()
        non_admin = sorted(s for s in self.all_scopes if s not in self.admin_scopes)
        reads = sorted(s for s in non_admin if s.endswith(":read"))
        self.assertEqual(self.admin_scopes, ADMIN_ONLY)
        self.assertIn("email:read", reads)
        self.assertIn("workflows:read", reads)
        self.assertNotIn("audit:read", reads)

        got = self.srv.create_token(a, ["read"])["scopes"]
        self.assertEqual(sorted(got), reads)
        for alias in ("write", "full"):
            got = self.srv.create_token(a, [alias])["scopes"]
            self.assertEqual(sorted(got), non_admin, alias)
            self.assertFalse(ADMIN_ONLY & set(got), alias)
        # Aliases mixed with atomic scopes, duplicates collapse.
        got = self.srv.create_token(a, ["read", "email:send", "email:read"])["scopes"]
        self.assertEqual(sorted(got), sorted(set(reads) | {"email:send"}))
        # An owner may grant an admin-only scope explicitly.
        got = self.srv.create_token(a, ["audit:read"])["scopes"]
        self.assertEqual(got, ["audit:read"])

    def test_admin_only_scope_needs_admin(self):
        owner = self.srv.new_account()
        member = self.srv.new_account(role="member", tenant=owner.tenant_name,
                                      inbox=False)
        member.inbox_id = owner.inbox_id
        self.assertError(self.srv.request("POST", "/v1/tokens/", {
            "inbox_id": owner.inbox_id, "scopes": ["billing:write"], "label": "x"},
            token=member.session), 403, "forbidden")
        # Non-admin scopes are fine for a member.
        self.srv.create_token(member, ["email:read"])

    def test_create_validation(self):
        a = self.srv.new_account()
        b = self.srv.new_account()
        base = {"inbox_id": a.inbox_id, "scopes": ["email:read"], "label": "x"}

        def post(**changes):
            body = dict(base)
            for k, v in changes.items():
                if v is ...:
                    body.pop(k, None)
                else:
                    body[k] = v
            return self.srv.request("POST", "/v1/tokens/", body, token=a.session)

        self.assertError(post(scopes=["email:read", "email:teleport"]),
                         400, "invalid_field", "scopes")
        self.assertError(post(scopes=["READ"]), 400, "invalid_field", "scopes")
        self.assertError(post(scopes=[]), 400, "invalid_field", "scopes")
        self.assertError(post(scopes="email:read"), 400, "invalid_field", "scopes")
        self.assertError(post(scopes=[1]), 400, "invalid_field", "scopes")
        self.assertError(post(scopes=...), 400, "invalid_field", "scopes")
        self.assertError(post(label=...), 400, "invalid_field", "label")
        self.assertError(post(label=""), 400, "invalid_field", "label")
        self.assertError(post(label="x" * 201), 400, "invalid_field", "label")
        self.assertError(post(inbox_id=...), 400, "invalid_field", "inbox_id")
        self.assertError(post(colour="red"), 400, "invalid_field", "colour")
        self.assertError(post(expires_at=harness.iso_in(-60)),
                         400, "invalid_field", "expires_at")
        self.assertError(post(expires_at="next tuesday"),
                         400, "invalid_field", "expires_at")
        self.assertError(post(expires_at="2030-02-30T00:00:00Z"),
                         400, "invalid_field", "expires_at")
        self.assertError(post(requires_approval=["email:send"]),
                         400, "invalid_field", "requires_approval")
        self.assertError(post(requires_approval=["nope:nope"]),
                         400, "invalid_field", "requires_approval")
        # Another tenant's inbox, or an unknown one, is not found.
        self.assertError(post(inbox_id=b.inbox_id), 404, "not_found")
        self.assertError(post(inbox_id="inb_doesnotexist0000000000"), 404, "not_found")
        # Valid variants.
        self.assertEqual(post(expires_at=None)[0], 201)
        self.assertEqual(post(expires_at=harness.iso_in(3600))[0], 201)
        self.assertEqual(post(requires_approval=[])[0], 201)

    # -- list --

    def test_list_pagination(self):
        a = self.srv.new_account()
        ids = {self.srv.create_token(a, ["email:read"], label="t%d" % i)["token_id"]
               for i in range(3)}
        seen = []
        path = "/v1/tokens/?inbox_id=%s&limit=2" % a.inbox_id
        st, _, page = self.srv.request("GET", path, token=a.session)
        self.assertEqual(st, 200, page)
        self.assertEqual(set(page), {"data", "next_cursor"})
        self.assertEqual(len(page["data"]), 2)
        self.assertIsInstance(page["next_cursor"], str)
        seen += [t["id"] for t in page["data"]]
        for _ in range(5):                          # bounded walk
            if page["next_cursor"] is None:
                break
            st, _, page = self.srv.request(
                "GET", path + "&cursor=" + page["next_cursor"], token=a.session)
            self.assertEqual(st, 200, page)
            seen += [t["id"] for t in page["data"]]
        self.assertIsNone(page["next_cursor"])
        self.assertEqual(len(seen), len(set(seen)), "duplicates: %s" % seen)
        self.assertEqual(set(seen), ids)
        # Newest first.
        st, _, full = self.srv.request("GET", "/v1/tokens/?inbox_id=%s" % a.inbox_id,
                                       token=a.session)
        self.assertEqual([t["id"] for t in full["data"]], seen)
        self.assertIsNone(full["next_cursor"])
        for t in full["data"]:
            self.assertNotIn("raw_token", t)
        # Exactly one page's worth: no cursor.
        st, _, p3 = self.srv.request("GET", "/v1/tokens/?inbox_id=%s&limit=3"
                                     % a.inbox_id, token=a.session)
        self.assertEqual(len(p3["data"]), 3)
        self.assertIsNone(p3["next_cursor"])

    def test_list_validation(self):
        a = self.srv.new_account()
        b = self.srv.new_account()
        base = "/v1/tokens/?inbox_id=%s" % a.inbox_id
        for q in ["&limit=0", "&limit=201", "&limit=-1", "&limit=abc", "&limit="]:
            self.assertError(self.srv.request("GET", base + q, token=a.session),
                             400, "invalid_field", "limit", msg=q)
        self.assertEqual(self.srv.request("GET", base + "&limit=200",
                                          token=a.session)[0], 200)
        for c in ["garbage!", "AAAA", "bm90LWEtY3Vyc29y", "x" * 300]:
            self.assertError(self.srv.request("GET", base + "&cursor=" + c,
                                              token=a.session),
                             400, "invalid_field", "cursor", msg=c)
        self.assertError(self.srv.request("GET", "/v1/tokens/", token=a.session),
                         400, "invalid_field", "inbox_id")
        self.assertError(self.srv.request("GET", "/v1/tokens/?inbox_id=%s" % b.inbox_id,
                                          token=a.session), 404, "not_found")

    # -- get --

    def test_get_other_tenant_is_404(self):
        a = self.srv.new_account()
        b = self.srv.new_account()
        tok = self.srv.create_token(a, ["email:read"])
        self.assertEqual(self.srv.request("GET", self.tok_path(a, tok["token_id"]),
                                          token=a.session)[0], 200)
        # b asks with its own inbox, and with a's inbox: both 404.
        self.assertError(self.srv.request("GET", self.tok_path(b, tok["token_id"]),
                                          token=b.session), 404, "not_found")
        self.assertError(self.srv.request("GET", self.tok_path(a, tok["token_id"]),
                                          token=b.session), 404, "not_found")
        self.assertError(self.srv.request("GET", self.tok_path(a, "tok_nope"),
                                          token=a.session), 404, "not_found")
        # b cannot change or revoke it either.
        self.assertError(self.srv.request("PATCH", self.tok_path(b, tok["token_id"]),
                                          {"action": "pause"}, token=b.session), 404)
        self.assertError(self.srv.request("DELETE", self.tok_path(b, tok["token_id"]),
                                          token=b.session), 404)
        self.assertEqual(self.probe(tok["raw_token"]), 403)   # still valid, no scope

    # -- rotate, pause, resume, revoke --

    def test_rotate(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"])
        old = tok["raw_token"]
        self.assertEqual(self.probe(old), 200)
        st, _, body = self.srv.request("PATCH", self.tok_path(a, tok["token_id"]),
                                       {"action": "rotate"}, token=a.session)
        self.assertEqual(st, 200, body)
        new = body["raw_token"]
        self.assertRegex(new, harness.TOKEN_RE)
        self.assertNotEqual(new, old)
        self.assertEqual(body["id"], tok["token_id"])
        self.assertIsNotNone(body["rotated_at"])
        self.assertEqual(body["status"], "active")
        self.assertEqual(sorted(body["scopes"]), sorted(tok["scopes"]))
        self.assertEqual(self.probe(old), 401)
        self.assertEqual(self.probe(new), 200)
        # A rotated value is stored as a digest only as well.
        self.assertEqual(self.srv.data_files_contain(new), [])

    def test_pause_resume(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"])
        raw, path = tok["raw_token"], self.tok_path(a, tok["token_id"])
        st, _, body = self.srv.request("PATCH", path, {"action": "pause"},
                                       token=a.session)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "paused")
        self.assertNotIn("raw_token", body)
        r = self.srv.request("GET", "/v1/sender-rules/", token=raw)
        self.assertError(r, 401, "unauthorized")
        self.assertIn("Bearer", r[1]["WWW-Authenticate"])
        self.assertError(self.srv.request("PATCH", path, {"action": "pause"},
                                          token=a.session), 409, "conflict")
        st, _, body = self.srv.request("PATCH", path, {"action": "resume"},
                                       token=a.session)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "active")
        self.assertEqual(self.probe(raw), 200)
        self.assertError(self.srv.request("PATCH", path, {"action": "resume"},
                                          token=a.session), 409, "conflict")
        # inbox_id may come in the body too.
        st, _, body = self.srv.request("PATCH", "/v1/tokens/%s/" % tok["token_id"],
                                       {"action": "pause", "inbox_id": a.inbox_id},
                                       token=a.session)
        self.assertEqual(st, 200, body)

    def test_revoke(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"])
        raw, path = tok["raw_token"], self.tok_path(a, tok["token_id"])
        self.assertEqual(self.probe(raw), 200)
        st, _, body = self.srv.request("DELETE", path, token=a.session)
        self.assertEqual(st, 204)
        self.assertIsNone(body)
        self.assertError(self.srv.request("GET", "/v1/sender-rules/", token=raw),
                         401, "unauthorized")
        st, _, got = self.srv.request("GET", path, token=a.session)
        self.assertEqual(st, 200, got)
        self.assertEqual(got["status"], "revoked")
        self.assertIsNotNone(got["revoked_at"])
        self.assertError(self.srv.request("DELETE", path, token=a.session),
                         409, "conflict")
        for action in ("rotate", "pause", "resume"):
            self.assertError(self.srv.request("PATCH", path, {"action": action},
                                              token=a.session), 409, "conflict",
                             msg=action)
        self.assertEqual(self.probe(raw), 401)

    def test_patch_validation(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"])
        path = self.tok_path(a, tok["token_id"])
        self.assertError(self.srv.request("PATCH", path, {"action": "explode"},
                                          token=a.session), 400, "invalid_field", "action")
        self.assertError(self.srv.request("PATCH", path, {}, token=a.session),
                         400, "invalid_field", "action")
        self.assertError(self.srv.request("PATCH", path, {"action": "pause", "x": 1},
                                          token=a.session), 400, "invalid_field", "x")
        self.assertError(self.srv.request("PATCH", path, {"action": 3},
                                          token=a.session), 400, "invalid_field", "action")
        self.assertError(self.srv.request("PATCH", "/v1/tokens/%s/" % tok["token_id"],
                                          {"action": "pause"}, token=a.session),
                         400, "invalid_field", "inbox_id")
        self.assertEqual(self.probe(tok["raw_token"]), 200)

    def test_pause_needs_governance_tier(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"])
        path = self.tok_path(a, tok["token_id"])
        st, _, t = self.srv.request("PATCH", "/v1/tenants/",
                                    {"governance_tier": "standard"}, token=a.session)
        self.assertEqual(st, 200, t)
        self.assertEqual(t["settings"]["governance_tier"], "standard")
        self.assertError(self.srv.request("PATCH", path, {"action": "pause"},
                                          token=a.session), 403, "forbidden")
        self.assertError(self.srv.request("PATCH", path, {"action": "resume"},
                                          token=a.session), 403, "forbidden")
        self.assertEqual(self.probe(tok["raw_token"]), 200)
        # Rotation and revocation are not governance features.
        st, _, body = self.srv.request("PATCH", path, {"action": "rotate"},
                                       token=a.session)
        self.assertEqual(st, 200, body)
        # token_controls is enough.
        self.assertEqual(self.srv.request("PATCH", "/v1/tenants/",
                                          {"governance_tier": "token_controls"},
                                          token=a.session)[0], 200)
        st, _, body = self.srv.request("PATCH", path, {"action": "pause"},
                                       token=a.session)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["status"], "paused")

    def test_expiry(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"], expires_at=harness.iso_in(2.0))
        self.assertIsNotNone(tok["expires_at"])
        self.assertEqual(self.probe(tok["raw_token"]), 200)
        deadline = time.monotonic() + 6
        status = 200
        while status == 200 and time.monotonic() < deadline:
            time.sleep(0.25)
            status = self.probe(tok["raw_token"])
        r = self.srv.request("GET", "/v1/sender-rules/", token=tok["raw_token"])
        self.assertError(r, 401, "unauthorized")
        self.assertIn("Bearer", r[1]["WWW-Authenticate"])

    # -- reference --

    def test_reference(self):
        st, _, ref = self.srv.request("GET", "/v1/tokens/reference/")
        self.assertEqual(st, 200, ref)
        names = {s["scope"] for s in ref["scopes"]}
        self.assertIn("email:read", names)
        self.assertIn("email:send", names)
        self.assertIn("workflows:write", names)
        self.assertFalse(names & ADMIN_ONLY, names)
        self.assertEqual(ref["format"], "gent_<base64url-43-chars>")
        self.assertEqual(sorted(ref["actions"]), ["pause", "resume", "rotate"])
        self.assertEqual(set(ref["aliases"]), {"read", "write", "full"})
        for s in ref["scopes"]:
            self.assertTrue(s["description"], s)

        owner = self.srv.new_account()
        member = self.srv.new_account(role="member", tenant=owner.tenant_name,
                                      inbox=False)
        admin = self.srv.new_account(role="admin", tenant=owner.tenant_name,
                                     inbox=False)
        agent = self.srv.create_token(owner, ["full"])["raw_token"]
        for who, expect_admin in [(owner.session, True), (admin.session, True),
                                  (member.session, False), (agent, False)]:
            st, _, ref = self.srv.request("GET", "/v1/tokens/reference/", token=who)
            self.assertEqual(st, 200, ref)
            names = {s["scope"] for s in ref["scopes"]}
            if expect_admin:
                self.assertTrue(ADMIN_ONLY <= names, names)
                for s in ref["scopes"]:
                    self.assertEqual(s.get("admin", False), s["scope"] in ADMIN_ONLY)
            else:
                self.assertFalse(names & ADMIN_ONLY, names)
        # A bad credential is refused rather than ignored.
        self.assertError(self.srv.request("GET", "/v1/tokens/reference/",
                                          token="gent_" + "A" * 43), 401)

    # -- secrets at rest and in logs --

    def test_raw_token_never_stored_or_logged(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["read"], label="secret-check")
        raw = tok["raw_token"]
        rotated = self.srv.request("PATCH", self.tok_path(a, tok["token_id"]),
                                   {"action": "rotate"}, token=a.session)[2]["raw_token"]
        self.assertEqual(self.probe(rotated), 200)
        values = self.srv.db_text_values("control.db")
        self.assertTrue(values)
        for t, c, v in values:
            for secret in (raw, rotated, a.session):
                self.assertNotIn(secret, v, "raw secret in control.db %s.%s" % (t, c))
        digests = {v for t, c, v in values if t == "tokens" and c == "digest"}
        self.assertIn(harness.sha256_hex(rotated), digests)
        self.assertNotIn(harness.sha256_hex(raw), digests)   # replaced on rotate
        sessions = {v for t, c, v in values if t == "sessions" and c == "digest"}
        self.assertIn(harness.sha256_hex(a.session), sessions)
        # Nor anywhere in the files (WAL included), nor in the log.
        for secret in (raw, rotated, a.session):
            self.assertEqual(self.srv.data_files_contain(secret), [])
            self.assertNotIn(secret, self.srv.log_text())
        # The password neither.
        self.assertEqual(self.srv.data_files_contain(a.password), [])
        self.assertNotIn(a.password, self.srv.log_text())


if __name__ == "__main__":
    harness.main()
