"""Waitlist and sign-up, invites, tenant settings, and the audit trail."""

import sqlite3
import threading
import time
import urllib.parse

import harness
from harness import GentdTestCase


class WaitlistTest(GentdTestCase):

    def validate(self, email, token):
        q = urllib.parse.urlencode({"email": email, "signup_token": token})
        return self.srv.request("GET", "/v1/waitlist/validate/?" + q)

    def waitlist_rows(self, email):
        conn = self.srv.db()
        try:
            return conn.execute("SELECT email, status FROM waitlist WHERE email = ?",
                                (email,)).fetchall()
        finally:
            conn.close()

    def approve(self, email):
        out = self.srv.admin("approve-waitlist", "--email", email)
        self.assertEqual(out["email"], email)
        return out["signup_token"]

    def test_waitlist_is_idempotent(self):
        email = harness.unique_email("applicant")
        for attempt in range(2):
            st, _, body = self.srv.request("POST", "/v1/waitlist/", {"email": email})
            self.assertEqual(st, 202, body)
            self.assertEqual(body, {"email": email, "status": "pending"})
        # Case does not make a second request either.
        st, _, body = self.srv.request("POST", "/v1/waitlist/", {"email": email.upper()})
        self.assertEqual(st, 202, body)
        self.assertEqual(len(self.waitlist_rows(email)), 1)
        self.assertEqual(self.waitlist_rows(email)[0][1], "pending")

    def test_waitlist_rejects_bad_email(self):
        for bad in ["", "no-at-sign", "@example.com", "user@", "a b@example.com",
                    "user@@example.com", "x" * 300 + "@example.com"]:
            self.assertError(self.srv.request("POST", "/v1/waitlist/", {"email": bad}),
                             400, "invalid_field", "email", msg=bad)

    def test_validate_and_signup(self):
        email = harness.unique_email("founder")
        self.assertError(self.validate(email, "gsup_bogus"), 400, "invalid_token")
        self.assertEqual(self.srv.request("POST", "/v1/waitlist/", {"email": email})[0], 202)
        self.assertError(self.validate(email, "gsup_bogus"), 400, "invalid_token")
        token = self.approve(email)
        self.assertTrue(token.startswith("gsup_"))
        st, _, body = self.validate(email, token)
        self.assertEqual(st, 200, body)
        self.assertIs(body["valid"], True)
        # The token is bound to its email.
        self.assertError(self.validate(harness.unique_email("other"), token), 400)
        self.assertError(self.srv.request("GET", "/v1/waitlist/validate/?email=" + email),
                         400, "invalid_field", "signup_token")
        self.assertError(self.srv.request("GET", "/v1/waitlist/validate/?signup_token=x"),
                         400, "invalid_field", "email")
        # Only the digest is stored.
        self.assertEqual(self.srv.data_files_contain(token), [])

        tenant_name = harness.uniq("Founders ")
        signup = {"email": email, "signup_token": token,
                  "password": "founder-password", "tenant_name": tenant_name}
        # Checks before the token is spent.
        self.assertError(self.srv.request("POST", "/v1/auth/signup/",
                                          dict(signup, password="short")),
                         400, "invalid_field", "password")
        self.assertError(self.srv.request("POST", "/v1/auth/signup/",
                                          dict(signup, email=harness.unique_email())),
                         400, "invalid_token")
        self.assertError(self.srv.request("POST", "/v1/auth/signup/",
                                          dict(signup, plan="gold")),
                         400, "invalid_field", "plan")
        st, _, body = self.srv.request("POST", "/v1/auth/signup/", signup)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["email"], email)
        self.assertEqual(body["role"], "owner")
        self.assertRegex(body["tenant_id"], r"^ten_")
        self.assertRegex(body["user_id"], r"^usr_")
        session = self.srv.login(email, "founder-password")
        st, _, me = self.srv.request("GET", "/v1/users/me/", token=session)
        self.assertEqual((me["id"], me["tenant_id"], me["role"]),
                         (body["user_id"], body["tenant_id"], "owner"))
        st, _, t = self.srv.request("GET", "/v1/tenants/", token=session)
        self.assertEqual(t["name"], tenant_name)
        # Single use.
        self.assertError(self.srv.request("POST", "/v1/auth/signup/", signup),
                         400, "invalid_token")
        self.assertError(self.validate(email, token), 400, "invalid_token")
        self.assertEqual(self.waitlist_rows(email)[0][1], "redeemed")
        # A redeemed entry cannot be approved again.
        p = self.srv.admin_raw("approve-waitlist", "--email", email)
        self.assertNotEqual(p.returncode, 0)

    def test_signup_with_existing_account_email(self):
        u = self.srv.new_account(inbox=False)
        self.assertEqual(self.srv.request("POST", "/v1/waitlist/", {"email": u.email})[0], 202)
        token = self.approve(u.email)
        signup = {"email": u.email, "signup_token": token, "password": "another-pass",
                  "tenant_name": harness.uniq("Second ")}
        self.assertError(self.srv.request("POST", "/v1/auth/signup/", signup), 409, "conflict")
        # Nothing was half done: the token is still valid, the old password works.
        self.assertEqual(self.validate(u.email, token)[0], 200)
        self.assertTrue(self.srv.login(u.email, u.password))

    def test_signup_cannot_join_an_existing_tenant(self):
        # A sign-up creates a new tenant; naming an existing tenant must not
        # make the newcomer an owner of it.
        victim = self.srv.new_account()
        email = harness.unique_email("intruder")
        self.assertEqual(self.srv.request("POST", "/v1/waitlist/", {"email": email})[0], 202)
        token = self.approve(email)
        st, _, body = self.srv.request("POST", "/v1/auth/signup/", {
            "email": email, "signup_token": token, "password": "intruder-pass",
            "tenant_name": victim.tenant_name})
        self.assertNotEqual((body or {}).get("tenant_id"), victim.tenant_id,
                            "sign-up joined the existing tenant %r as owner"
                            % victim.tenant_name)
        self.assertError((st, _, body), 409, "conflict")

    def test_signup_tenant_defaults_to_email(self):
        email = harness.unique_email("solo")
        self.srv.request("POST", "/v1/waitlist/", {"email": email})
        token = self.approve(email)
        st, _, body = self.srv.request("POST", "/v1/auth/signup/", {
            "email": email, "signup_token": token, "password": "solo-password"})
        self.assertEqual(st, 201, body)
        session = self.srv.login(email, "solo-password")
        self.assertEqual(self.srv.request("GET", "/v1/tenants/", token=session)[2]["name"],
                         email)


class InvitesTest(GentdTestCase):

    def setUp(self):
        self.owner = self.srv.new_account()
        self.member = self.srv.new_account(role="member", tenant=self.owner.tenant_name,
                                           inbox=False)
        self.admin_user = self.srv.new_account(role="admin", tenant=self.owner.tenant_name,
                                               inbox=False)

    def invite(self, session=None, **body):
        st, _, resp = self.srv.request("POST", "/v1/invites/", body,
                                       token=session or self.owner.session)
        self.assertEqual(st, 201, resp)
        return resp

    def accept(self, token, email, password="invitee-password"):
        return self.srv.request("POST", "/v1/invites/accept/",
                                {"invite_token": token, "email": email,
                                 "password": password})

    def test_needs_owner_or_admin_session(self):
        agent = self.srv.create_token(self.owner, ["full"])["raw_token"]
        for who, expect in [(self.member.session, 403), (agent, 403)]:
            self.assertError(self.srv.request("GET", "/v1/invites/", token=who),
                             expect, "forbidden")
            self.assertError(self.srv.request("POST", "/v1/invites/", {}, token=who),
                             expect, "forbidden")
        self.assertError(self.srv.request("GET", "/v1/invites/"), 401)
        self.assertEqual(self.srv.request("GET", "/v1/invites/",
                                          token=self.admin_user.session)[0], 200)
        # An admin may invite members and admins, not owners.
        self.invite(self.admin_user.session, role="admin")
        self.assertError(self.srv.request("POST", "/v1/invites/", {"role": "owner"},
                                          token=self.admin_user.session), 403, "forbidden")
        self.invite(role="owner")

    def test_invite_and_accept(self):
        inv = self.invite(role="admin")
        self.assertTrue(inv["invite_token"].startswith("ginv_"))
        self.assertRegex(inv["id"], r"^inv_")
        self.assertEqual((inv["role"], inv["status"]), ("admin", "pending"))
        self.assertIsNone(inv["email"])
        self.assertIsNone(inv["expires_at"])
        self.assertEqual(self.srv.data_files_contain(inv["invite_token"]), [])
        email = harness.unique_email("invitee")
        st, _, body = self.accept(inv["invite_token"], email)
        self.assertEqual(st, 201, body)
        self.assertEqual(body["tenant_id"], self.owner.tenant_id)
        self.assertEqual(body["email"], email)
        st, _, login = self.srv.request("POST", "/v1/auth/login/",
                                        {"email": email, "password": "invitee-password"})
        self.assertEqual(st, 201, login)
        self.assertEqual((login["tenant_id"], login["role"]), (self.owner.tenant_id, "admin"))
        # An admin reaches the admin endpoints.
        self.assertEqual(self.srv.request("GET", "/v1/invites/",
                                          token=login["session_token"])[0], 200)
        # Single use.
        self.assertError(self.accept(inv["invite_token"], harness.unique_email()),
                         409, "conflict")
        self.assertError(self.accept(inv["invite_token"], email), 409, "conflict")

    def test_default_role_is_member(self):
        inv = self.invite()
        self.assertEqual(inv["role"], "member")
        email = harness.unique_email("m")
        self.assertEqual(self.accept(inv["invite_token"], email)[0], 201)
        session = self.srv.login(email, "invitee-password")
        self.assertEqual(self.srv.request("GET", "/v1/users/me/", token=session)[2]["role"],
                         "member")
        self.assertError(self.srv.request("GET", "/v1/invites/", token=session), 403)

    def test_email_restricted_invite(self):
        target = harness.unique_email("target")
        inv = self.invite(email=target)
        self.assertEqual(inv["email"], target)
        self.assertError(self.accept(inv["invite_token"], harness.unique_email("else")),
                         400, "invalid_token")
        # Still usable by the right person (case-insensitive).
        st, _, body = self.accept(inv["invite_token"], target.upper())
        self.assertEqual(st, 201, body)

    def test_create_validation(self):
        self.assertError(self.srv.request("POST", "/v1/invites/",
                                          {"expires_at": harness.iso_in(-10)},
                                          token=self.owner.session),
                         400, "invalid_field", "expires_at")
        self.assertError(self.srv.request("POST", "/v1/invites/", {"expires_at": "soon"},
                                          token=self.owner.session),
                         400, "invalid_field", "expires_at")
        self.assertError(self.srv.request("POST", "/v1/invites/", {"role": "king"},
                                          token=self.owner.session),
                         400, "invalid_field", "role")
        self.assertError(self.srv.request("POST", "/v1/invites/", {"email": "nope"},
                                          token=self.owner.session),
                         400, "invalid_field", "email")
        self.assertError(self.srv.request("POST", "/v1/invites/", {"extra": 1},
                                          token=self.owner.session),
                         400, "invalid_field", "extra")
        inv = self.invite(email=None, expires_at=harness.iso_in(3600))
        self.assertIsNotNone(inv["expires_at"])

    def test_accept_validation(self):
        inv = self.invite()
        self.assertError(self.accept("ginv_" + "A" * 43, harness.unique_email()),
                         400, "invalid_token")
        self.assertError(self.accept(inv["invite_token"], "not-an-email"),
                         400, "invalid_field", "email")
        self.assertError(self.accept(inv["invite_token"], harness.unique_email(), "short"),
                         400, "invalid_field", "password")
        # An email that already has an account cannot take the invite.
        self.assertError(self.accept(inv["invite_token"], self.member.email), 409, "conflict")
        # Nothing above consumed it.
        self.assertEqual(self.accept(inv["invite_token"], harness.unique_email())[0], 201)

    def test_expiry(self):
        inv = self.invite(expires_at=harness.iso_in(1.0))
        time.sleep(1.3)
        self.assertError(self.accept(inv["invite_token"], harness.unique_email()),
                         400, "invalid_token")
        st, _, page = self.srv.request("GET", "/v1/invites/?status=expired",
                                       token=self.owner.session)
        self.assertEqual(st, 200, page)
        self.assertIn(inv["id"], [i["id"] for i in page["data"]])

    def test_list_by_status(self):
        pending = self.invite()
        used = self.invite()
        self.assertEqual(self.accept(used["invite_token"], harness.unique_email())[0], 201)
        st, _, page = self.srv.request("GET", "/v1/invites/?status=pending",
                                       token=self.owner.session)
        self.assertEqual(st, 200, page)
        ids = [i["id"] for i in page["data"]]
        self.assertIn(pending["id"], ids)
        self.assertNotIn(used["id"], ids)
        self.assertTrue(all(i["status"] == "pending" for i in page["data"]))
        for i in page["data"]:
            self.assertNotIn("invite_token", i)
        st, _, page = self.srv.request("GET", "/v1/invites/?status=accepted",
                                       token=self.owner.session)
        ids = [i["id"] for i in page["data"]]
        self.assertEqual(ids, [used["id"]])
        self.assertIsNotNone(page["data"][0]["accepted_at"])
        st, _, page = self.srv.request("GET", "/v1/invites/", token=self.owner.session)
        self.assertEqual({pending["id"], used["id"]} - {i["id"] for i in page["data"]}, set())
        self.assertError(self.srv.request("GET", "/v1/invites/?status=bogus",
                                          token=self.owner.session),
                         400, "invalid_field", "status")
        # Pagination.
        st, _, p1 = self.srv.request("GET", "/v1/invites/?limit=1",
                                     token=self.owner.session)
        self.assertEqual(len(p1["data"]), 1)
        self.assertIsNotNone(p1["next_cursor"])
        st, _, p2 = self.srv.request("GET", "/v1/invites/?limit=1&cursor=" + p1["next_cursor"],
                                     token=self.owner.session)
        self.assertEqual(st, 200, p2)
        self.assertNotEqual(p1["data"][0]["id"], p2["data"][0]["id"])
        # Another tenant sees none of these.
        other = self.srv.new_account(inbox=False)
        st, _, page = self.srv.request("GET", "/v1/invites/", token=other.session)
        self.assertEqual(page["data"], [])


class TenantsTest(GentdTestCase):

    def setUp(self):
        self.owner = self.srv.new_account()
        self.member = self.srv.new_account(role="member", tenant=self.owner.tenant_name,
                                           inbox=False)

    def patch(self, body, session=None):
        return self.srv.request("PATCH", "/v1/tenants/", body,
                                token=session or self.owner.session)

    def test_get_defaults(self):
        for who in (self.owner, self.member):
            st, _, t = self.srv.request("GET", "/v1/tenants/", token=who.session)
            self.assertEqual(st, 200, t)
            self.assertEqual(t["id"], self.owner.tenant_id)
            self.assertEqual(t["name"], self.owner.tenant_name)
            s = t["settings"]
            self.assertEqual(s["governance_tier"], "full")
            self.assertIs(s["collaboration_enabled"], False)
            self.assertEqual(s["audit_retention_days"], 90)
            self.assertEqual(s["default_timezone"], "UTC")
            self.assertEqual(s["workflow_review_defaults"]["risky"], "hold")

    def test_patch(self):
        self.assertError(self.patch({"governance_tier": "standard"}, self.member.session),
                         403, "forbidden")
        st, _, t = self.patch({"governance_tier": "token_controls",
                               "default_timezone": "Europe/London",
                               "audit_retention_days": 30,
                               "workflow_review_defaults": {"risky": "fail"}})
        self.assertEqual(st, 200, t)
        s = t["settings"]
        self.assertEqual(s["governance_tier"], "token_controls")
        self.assertEqual(s["default_timezone"], "Europe/London")
        self.assertEqual(s["audit_retention_days"], 30)
        self.assertEqual(s["workflow_review_defaults"]["risky"], "fail")
        self.assertIs(s["collaboration_enabled"], False)
        # Persisted, and visible to the member.
        t2 = self.srv.request("GET", "/v1/tenants/", token=self.member.session)[2]
        self.assertEqual(t2["settings"], s)
        # Renaming.
        new_name = harness.uniq("Renamed ")
        st, _, t = self.patch({"name": new_name})
        self.assertEqual((st, t["name"]), (200, new_name))
        other = self.srv.new_account(inbox=False)
        self.assertError(self.patch({"name": other.tenant_name}), 409, "conflict")
        # An agent token may not configure the tenant.
        agent = self.srv.create_token(self.owner, ["full"])["raw_token"]
        self.assertError(self.patch({"governance_tier": "full"}, agent), 403, "forbidden")

    def test_patch_validation(self):
        cases = [
            ({"governance_tier": "platinum"}, "governance_tier"),
            ({"governance_tier": 3}, "governance_tier"),
            ({"favourite_colour": "blue"}, "favourite_colour"),
            ({"default_timezone": "Not/AZone"}, "default_timezone"),
            ({"default_timezone": "../../etc/passwd"}, "default_timezone"),
            ({"default_timezone": "/etc/passwd"}, "default_timezone"),
            ({"default_timezone": ""}, "default_timezone"),
            ({"audit_retention_days": 0}, "audit_retention_days"),
            ({"audit_retention_days": 3651}, "audit_retention_days"),
            ({"audit_retention_days": "90"}, "audit_retention_days"),
            ({"collaboration_enabled": "yes"}, "collaboration_enabled"),
            ({"workflow_review_defaults": {"risky": "ignore"}}, "workflow_review_defaults"),
            ({"workflow_review_defaults": {"weird": "hold"}}, "workflow_review_defaults"),
            ({"name": ""}, "name"),
        ]
        for body, field in cases:
            self.assertError(self.patch(body), 400, "invalid_field", field, msg=body)
        # Nothing was changed by the refused requests.
        s = self.srv.request("GET", "/v1/tenants/", token=self.owner.session)[2]["settings"]
        self.assertEqual((s["governance_tier"], s["default_timezone"],
                          s["audit_retention_days"]), ("full", "UTC", 90))
        for tz in ("UTC", "America/New_York", "Asia/Tokyo"):
            st, _, t = self.patch({"default_timezone": tz})
            self.assertEqual(st, 200, (tz, t))

    def test_timezone_must_be_a_zone_not_a_directory_or_data_file(self):
        # Files under /usr/share/zoneinfo that are not IANA zones.
        for tz in ("Europe", "America", "zone.tab", "iso3166.tab"):
            self.assertError(self.patch({"default_timezone": tz}),
                             400, "invalid_field", "default_timezone", msg=tz)

    def test_concurrent_patches_of_different_settings_all_stick(self):
        # Each PATCH changes only the settings it names; four acknowledged
        # PATCHes of four different settings must all be in effect.
        for rnd in range(5):
            a = self.srv.new_account(inbox=False)
            bodies = [{"audit_retention_days": 31 + rnd},
                      {"default_timezone": "Asia/Tokyo"},
                      {"collaboration_enabled": True},
                      {"governance_tier": "standard"}]
            statuses = []
            threads = [threading.Thread(target=lambda b=b: statuses.append(
                self.patch(b, a.session)[0])) for b in bodies]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            self.assertEqual(statuses, [200] * 4)
            s = self.srv.request("GET", "/v1/tenants/", token=a.session)[2]["settings"]
            got = {"audit_retention_days": s["audit_retention_days"],
                   "default_timezone": s["default_timezone"],
                   "collaboration_enabled": s["collaboration_enabled"],
                   "governance_tier": s["governance_tier"]}
            want = {k: v for b in bodies for k, v in b.items()}
            self.assertEqual(got, want, "round %d: acknowledged updates were lost" % rnd)

    def test_reference_endpoints(self):
        for path in ("/v1/tenants/reference/", "/v1/tenants/cap-resources/",
                     "/v1/tenants/cap-modes/"):
            st, _, body = self.srv.request("GET", path, token=self.owner.session)
            self.assertEqual(st, 200, (path, body))
            self.assertError(self.srv.request("GET", path, token=self.member.session),
                             403, "forbidden", msg=path)
            self.assertError(self.srv.request("GET", path), 401, msg=path)
        ref = self.srv.request("GET", "/v1/tenants/reference/", token=self.owner.session)[2]
        tier = [f for f in ref["fields"] if f["name"] == "governance_tier"][0]
        self.assertEqual(tier["values"], ["standard", "token_controls", "full"])
        self.assertEqual(ref["defaults"]["governance_tier"], "full")
        modes = self.srv.request("GET", "/v1/tenants/cap-modes/", token=self.owner.session)[2]
        self.assertEqual([m["mode"] for m in modes["data"]],
                         ["enforce", "hold", "allow_and_bill"])
        res = self.srv.request("GET", "/v1/tenants/cap-resources/",
                               token=self.owner.session)[2]
        self.assertEqual([r["resource"] for r in res["data"]], ["send", "mailbox", "files"])


class AuditTest(GentdTestCase):

    def test_mutations_are_audited_and_audit_is_append_only(self):
        a = self.srv.new_account()
        st, h, tok = self.srv.request("POST", "/v1/tokens/",
                                      {"inbox_id": a.inbox_id, "scopes": ["read"],
                                       "label": "audited"}, token=a.session)
        self.assertEqual(st, 201, tok)
        create_req = h["X-Request-Id"]
        path = "/v1/tokens/%s/?inbox_id=%s" % (tok["token_id"], a.inbox_id)
        for action in ("pause", "resume", "rotate"):
            self.assertEqual(self.srv.request("PATCH", path, {"action": action},
                                              token=a.session)[0], 200)
        self.assertEqual(self.srv.request("DELETE", path, token=a.session)[0], 204)
        st, _, inv = self.srv.request("POST", "/v1/invites/", {}, token=a.session)
        self.assertEqual(st, 201)
        invitee = harness.unique_email("aud")
        self.assertEqual(self.srv.request("POST", "/v1/invites/accept/", {
            "invite_token": inv["invite_token"], "email": invitee,
            "password": "invitee-pass"})[0], 201)
        self.assertEqual(self.srv.request("PATCH", "/v1/tenants/",
                                          {"audit_retention_days": 60},
                                          token=a.session)[0], 200)
        self.srv.request("POST", "/v1/auth/login/", {"email": a.email, "password": "wrong-pw"})
        session2 = self.srv.login(a.email, a.password)
        self.assertEqual(self.srv.request("POST", "/v1/auth/logout/", token=session2)[0], 204)

        conn = self.srv.db()
        try:
            rows = conn.execute("SELECT action, actor_type, actor_id, target_type, "
                                "target_id, request_id, detail FROM audit "
                                "WHERE tenant_id = ? ORDER BY seq", (a.tenant_id,)).fetchall()
            actions = [r[0] for r in rows]
            for want in ("user.created", "inbox.created", "auth.login", "token.created",
                         "token.paused", "token.resumed", "token.rotated", "token.revoked",
                         "invite.created", "invite.accepted", "tenant.updated",
                         "auth.login_failed", "auth.logout"):
                self.assertIn(want, actions)
            by_action = {}
            for r in rows:
                by_action.setdefault(r[0], []).append(r)
            created = by_action["token.created"][0]
            self.assertEqual(created[1:5], ("user", a.user_id, "token", tok["token_id"]))
            self.assertEqual(created[5], create_req)
            for act in ("token.paused", "token.resumed", "token.rotated", "token.revoked"):
                self.assertEqual(by_action[act][0][4], tok["token_id"], act)
            # No secret in the trail.
            for r in rows:
                for v in r:
                    for secret in (tok["raw_token"], a.session, session2,
                                   inv["invite_token"], a.password):
                        self.assertNotIn(secret, str(v))
            # Append-only.
            with self.assertRaises(sqlite3.DatabaseError) as cm:
                conn.execute("UPDATE audit SET action = 'tampered' WHERE tenant_id = ?",
                             (a.tenant_id,))
            self.assertIn("append-only", str(cm.exception))
            conn.rollback()
            with self.assertRaises(sqlite3.DatabaseError):
                conn.execute("DELETE FROM audit WHERE tenant_id = ?", (a.tenant_id,))
            conn.rollback()
            n = conn.execute("SELECT count(*) FROM audit WHERE tenant_id = ?",
                             (a.tenant_id,)).fetchone()[0]
            self.assertEqual(n, len(rows))
        finally:
            conn.close()
        # The server is unaffected by the attempts.
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_refused_requests_write_no_audit(self):
        a = self.srv.new_account()

        def count():
            conn = self.srv.db()
            try:
                return conn.execute("SELECT count(*) FROM audit WHERE tenant_id = ?",
                                    (a.tenant_id,)).fetchone()[0]
            finally:
                conn.close()
        before = count()
        self.srv.request("POST", "/v1/tokens/", {"inbox_id": a.inbox_id, "scopes": ["nope"],
                                                 "label": "x"}, token=a.session)
        self.srv.request("PATCH", "/v1/tenants/", {"governance_tier": "x"}, token=a.session)
        self.srv.request("POST", "/v1/invites/", {"role": "x"}, token=a.session)
        self.assertEqual(count(), before)


if __name__ == "__main__":
    harness.main()
