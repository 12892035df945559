"""Labels, label scopes and policies, and auto-label rules applied at
receive time: mail goes in over SMTP, everything is checked over HTTP
(events through the pull feed GET /v1/events/; the queued forward copies,
which have no API, in tenant.db read-only).

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_labels.py
"""

import json
import secrets
import unittest
import urllib.parse

import harness
from smtp_fixture import SmtpTestCase, send_mail, make_message

LABELS_RW = ["labels:read", "labels:write", "email:read"]


class LabelsTest(SmtpTestCase):
    inboxes = ("bot", "bot2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.session = env.acct.session
        cls.inbox = env.inboxes["bot"]
        cls.inbox2 = env.inboxes["bot2"]
        cls.rw = cls.token_for("bot", LABELS_RW)
        cls.reader = cls.token_for("bot", ["labels:read", "email:read"])
        cls.rw2 = cls.token_for("bot2", LABELS_RW)

    @classmethod
    def token_for(cls, local, scopes):
        st, _, tok = cls.srv.request("POST", "/v1/tokens/", {
            "inbox_id": cls.env.inboxes[local], "scopes": scopes,
            "label": "labels " + secrets.token_hex(3)}, token=cls.env.acct.session)
        assert st == 201, tok
        return tok["raw_token"]

    # -- helpers --

    def req(self, method, path, body=None, token=None):
        return self.srv.request(method, path, body, token=token or self.rw)

    def new_label(self, name=None, token=None, **fields):
        body = {"inbox_id": self.inbox, "name": name or "l-" + secrets.token_hex(4)}
        body.update(fields)
        st, _, lab = self.req("POST", "/v1/labels/", body, token=token)
        self.assertEqual(st, 201, lab)
        return lab

    def deliver(self, subject, mail_from="sender@client.gentd.test", local="bot",
                headers=None, from_header=None):
        """Send one message; returns its id (found by a unique subject)."""
        subject = "%s [%s]" % (subject, secrets.token_hex(4))
        data = make_message(subject, mail_from=from_header or mail_from,
                            to=self.env.addr(local), headers=headers)
        r = send_mail(self.port, mail_from, [self.env.addr(local)], data)
        self.assertEqual(r.code, 250, r)
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, got)
        return got[0]["id"]

    def message(self, mid, token=None):
        st, _, m = self.req("GET", "/v1/messages/%s/" % mid, token=token)
        self.assertEqual(st, 200, m)
        return m

    def label_ids(self, mid):
        return [l["id"] for l in self.message(mid)["labels"]]

    def apply(self, mid, label_id, token=None):
        return self.req("POST", "/v1/messages/%s/labels/" % mid,
                        {"label_id": label_id}, token=token)

    def remove(self, mid, label_id, token=None):
        return self.req("DELETE", "/v1/messages/%s/labels/%s/" % (mid, label_id),
                        token=token)

    def tenant_db(self):
        return self.srv.db("tenants/%s/tenant.db" % self.env.acct.tenant_id)

    def rule(self, label_id, conditions, match="all", token=None, **extra):
        body = {"label_id": label_id, "conditions": conditions, "match": match}
        body.update(extra)
        st, _, r = self.req("POST", "/v1/auto-label-rules/", body, token=token)
        self.assertEqual(st, 201, r)
        return r

    def rules(self, token=None):
        st, _, body = self.req("GET", "/v1/auto-label-rules/", token=token)
        self.assertEqual(st, 200, body)
        return body["data"]

    def clear_rules(self):
        for r in self.rules():
            st, _, _ = self.req("DELETE", "/v1/auto-label-rules/%s/" % r["id"])
            self.assertEqual(st, 204)

    # -- reference --

    def test_references_need_no_auth(self):
        st, _, ref = self.srv.request("GET", "/v1/labels/reference/")
        self.assertEqual(st, 200, ref)
        self.assertEqual(ref["resource"], "labels")
        self.assertEqual(ref["payload"]["apply_message_label"],
                         {"method": "POST", "path": "/v1/messages/{message_id}/labels/"})
        self.assertEqual({s["scope"]: (s["can_apply"], s["can_remove"])
                          for s in ref["label_scopes"]},
                         {"read_only": (False, False), "read_apply": (True, False),
                          "read_write": (True, True)})
        st, _, ref = self.srv.request("GET", "/v1/auto-label-rules/reference/")
        self.assertEqual(st, 200, ref)
        self.assertEqual([c["type"] for c in ref["condition_types"]],
                         ["sender_domain", "subject_pattern", "recipient"])

    # -- labels CRUD --

    def test_label_create_get_list_update_delete(self):
        lab = self.new_label("Priority", color="#e8a045")
        self.assertTrue(lab["id"].startswith("lbl_"), lab)
        self.assertEqual((lab["inbox_id"], lab["name"], lab["label_scope"],
                          lab["color"], lab["label_type"]),
                         (self.inbox, "Priority", "read_write", "#e8a045", "message"))
        self.assertEqual(lab["policies"], {"block_reply": False, "forward_to": None,
                                           "notify": False, "retention": None})
        st, _, got = self.req("GET", "/v1/labels/%s/" % lab["id"])
        self.assertEqual((st, got), (200, lab))
        st, _, lst = self.req("GET", "/v1/labels/", token=self.reader)
        self.assertEqual(st, 200, lst)
        self.assertIn(lab, lst["data"])
        self.assertIsNone(lst["next_cursor"])
        # A session lists by inbox_id.
        st, _, lst = self.srv.request("GET", "/v1/labels/?inbox_id=" + self.inbox,
                                      token=self.session)
        self.assertIn(lab["id"], [l["id"] for l in lst["data"]])
        # Same name in any case: 409; in another inbox: fine.
        self.assertError(self.req("POST", "/v1/labels/", {
            "inbox_id": self.inbox, "name": "PRIORITY"}), 409, code="conflict")
        st, _, other = self.req("POST", "/v1/labels/", {
            "inbox_id": self.inbox2, "name": "Priority"}, token=self.rw2)
        self.assertEqual(st, 201, other)
        # PATCH: omitted fields stay.
        st, _, upd = self.req("PATCH", "/v1/labels/%s/" % lab["id"], {
            "name": "urgent", "label_scope": "read_apply"})
        self.assertEqual(st, 200, upd)
        self.assertEqual((upd["name"], upd["label_scope"], upd["color"]),
                         ("urgent", "read_apply", "#e8a045"))
        # Narrowed, it is out of the agent's reach; a person widens it again.
        self.assertError(self.req("PATCH", "/v1/labels/%s/" % lab["id"], {"color": None}),
                         403, code="label_scope")
        st, _, upd = self.req("PATCH", "/v1/labels/%s/" % lab["id"], {
            "color": None, "label_scope": "read_write"}, token=self.session)
        self.assertEqual((st, upd["color"], upd["name"]), (200, None, "urgent"))
        # Tokens of another inbox do not see it.
        self.assertError(self.req("GET", "/v1/labels/%s/" % lab["id"], token=self.rw2),
                         404)
        self.assertError(self.req("PATCH", "/v1/labels/%s/" % lab["id"], {"name": "x"},
                                  token=self.rw2), 404)
        st, _, _ = self.req("DELETE", "/v1/labels/%s/" % lab["id"])
        self.assertEqual(st, 204)
        self.assertError(self.req("GET", "/v1/labels/%s/" % lab["id"]), 404)
        self.assertError(self.req("DELETE", "/v1/labels/%s/" % lab["id"]), 404)

    def test_label_create_errors_change_nothing(self):
        before = self.req("GET", "/v1/labels/")[2]["data"]
        cases = [
            ({"name": "x"}, 400, "inbox_id"),   # required even with a token
            ({"inbox_id": self.inbox}, 400, "name"),
            ({"inbox_id": self.inbox, "name": ""}, 400, "name"),
            ({"inbox_id": self.inbox, "name": "a" * 101}, 400, "name"),
            ({"inbox_id": self.inbox, "name": "tab\there"}, 400, "name"),
            ({"inbox_id": self.inbox, "name": "x", "label_scope": "admin"}, 400,
             "label_scope"),
            ({"inbox_id": self.inbox, "name": "x", "color": "red"}, 400, "color"),
            ({"inbox_id": self.inbox, "name": "x", "colour": "#fff"}, 400, "colour"),
            ({"inbox_id": self.inbox, "name": "x", "policies": {"archive": True}},
             400, "policies"),
            ({"inbox_id": self.inbox, "name": "x", "policies": {"forward_to": "nope"}},
             400, "policies"),
            ({"inbox_id": self.inbox, "name": "x",
              "policies": {"forward_to": self.env.addr("bot")}}, 400, "policies"),
            ({"inbox_id": self.inbox, "name": "x", "policies": {"retention": "2y"}},
             400, "policies"),
            ({"inbox_id": self.inbox, "name": "x", "policies": {"notify": "yes"}},
             400, "policies"),
            ({"inbox_id": self.inbox, "name": "x", "policies": []}, 400, "policies"),
        ]
        for body, status, field in cases:
            with self.subTest(body=body):
                self.assertError(self.req("POST", "/v1/labels/", body), status,
                                 field=field)
        self.assertError(self.req("POST", "/v1/labels/", {
            "inbox_id": self.inbox2, "name": "x"}), 403)
        self.assertError(self.srv.request("POST", "/v1/labels/", raw_body=b"{nope",
                                          token=self.rw,
                                          headers={"Content-Type": "application/json"}),
                         400)
        self.assertEqual(self.req("GET", "/v1/labels/")[2]["data"], before)

    def test_read_only_tokens_change_nothing(self):
        lab = self.new_label()
        mid = self.deliver("read-only probe")
        read = self.env.tokens["bot"]          # scope "read": every :read scope
        for resp in (
                self.req("POST", "/v1/labels/", {"inbox_id": self.inbox, "name": "n"},
                         token=read),
                self.req("PATCH", "/v1/labels/%s/" % lab["id"], {"name": "n"},
                         token=read),
                self.req("DELETE", "/v1/labels/%s/" % lab["id"], token=read),
                self.apply(mid, lab["id"], token=read),
                self.remove(mid, lab["id"], token=read),
                self.req("POST", "/v1/auto-label-rules/", {
                    "label_id": lab["id"], "conditions": [
                        {"type": "subject_pattern", "value": "*"}]}, token=read),
                self.req("POST", "/v1/auto-label-rules/reorder/", {"rule_ids": []},
                         token=read)):
            self.assertError(resp, 403)
        st, _, got = self.req("GET", "/v1/labels/%s/" % lab["id"], token=read)
        self.assertEqual((st, got["name"]), (200, lab["name"]))
        self.assertEqual(self.label_ids(mid), [])

    # -- apply / remove and label scopes --

    def test_apply_and_remove(self):
        lab = self.new_label()
        mid = self.deliver("apply me")
        st, _, body = self.apply(mid, lab["id"])
        self.assertEqual((st, body), (204, None))
        self.assertEqual(self.label_ids(mid), [lab["id"]])
        self.assertEqual(self.message(mid)["labels"], [{"id": lab["id"],
                                                        "name": lab["name"]}])
        # Applying again changes nothing (and writes no second event).
        self.assertEqual(self.apply(mid, lab["id"])[0], 204)
        st, _, on = self.req("GET", "/v1/messages/%s/labels/" % mid)
        self.assertEqual((st, [l["id"] for l in on["data"]]), (200, [lab["id"]]))
        # The list filter.
        other = self.deliver("not labelled")
        st, _, lst = self.req("GET", "/v1/messages/?label=" + lab["id"])
        self.assertEqual(st, 200, lst)
        self.assertEqual([m["id"] for m in lst["data"]], [mid])
        self.assertNotIn(other, [m["id"] for m in lst["data"]])
        st, _, _ = self.remove(mid, lab["id"])
        self.assertEqual(st, 204)
        self.assertEqual(self.label_ids(mid), [])
        self.assertEqual(self.remove(mid, lab["id"])[0], 204)    # idempotent
        events = self.events(mid)
        self.assertEqual([e[0] for e in events],
                         ["message.received", "label.applied", "label.removed"])
        applied = events[1][1]
        self.assertEqual((applied["label_id"], applied["source"], applied["notify"]),
                         (lab["id"], "api", False))
        self.assertTrue(applied["by"].startswith("token:tok_"), applied)

    def events(self, mid, inbox=None):
        """(type, payload) of the message's events, oldest first, read
        through the pull feed (bounded paging)."""
        out, cursor = [], "0"
        for _ in range(50):
            st, _, page = self.srv.request(
                "GET", "/v1/events/?limit=200&inbox_id=%s&after=%s" % (
                    inbox or self.inbox, cursor), token=self.session)
            self.assertEqual(st, 200, page)
            out += [(e["type"], e["payload"]) for e in page["data"]
                    if e["message_id"] == mid]
            if not page["data"]:
                return out
            cursor = page["next_cursor"]
        raise AssertionError("more than 50 pages of events")

    def test_apply_errors(self):
        lab = self.new_label()
        mid = self.deliver("apply errors")
        self.assertError(self.apply("msg_nope", lab["id"]), 404)
        self.assertError(self.apply(mid, "lbl_nope"), 400, field="label_id")
        self.assertError(self.req("POST", "/v1/messages/%s/labels/" % mid, {}), 400,
                         field="label_id")
        self.assertError(self.req("POST", "/v1/messages/%s/labels/" % mid,
                                  {"label_id": lab["id"], "x": 1}), 400, field="x")
        # A label of another inbox cannot go on this inbox's message.
        st, _, lab2 = self.req("POST", "/v1/labels/", {"inbox_id": self.inbox2,
                                                       "name": "b2"}, token=self.rw2)
        self.assertEqual(st, 201)
        self.assertError(self.apply(mid, lab2["id"], token=self.session), 400,
                         field="label_id")
        # Another inbox's token does not see the message.
        self.assertError(self.apply(mid, lab2["id"], token=self.rw2), 404)
        # labels:read alone cannot apply (route scope first).
        self.assertError(self.apply(mid, lab["id"], token=self.reader), 403)
        self.assertEqual(self.label_ids(mid), [])

    def test_every_label_scope_combination(self):
        mid = self.deliver("scopes")
        want = {  # scope: (token may apply, token may remove)
            "read_only": (False, False),
            "read_apply": (True, False),
            "read_write": (True, True),
        }
        for scope, (can_apply, can_remove) in want.items():
            with self.subTest(scope=scope, change=True):
                # Changing or deleting the label itself: read_write only, or
                # an agent would widen the scope and then remove it.
                lab = self.new_label(label_scope=scope, token=self.session)
                path = "/v1/labels/%s/" % lab["id"]
                for body in ({"label_scope": "read_write"}, {"name": "renamed"}):
                    resp = self.req("PATCH", path, body)
                    if can_remove:
                        self.assertEqual(resp[0], 200, resp)
                    else:
                        self.assertError(resp, 403, code="label_scope")
                resp = self.req("DELETE", path)
                if can_remove:
                    self.assertEqual(resp[0], 204, resp)
                    continue
                self.assertError(resp, 403, code="label_scope")
                st, _, kept = self.req("GET", path)
                self.assertEqual((st, kept["name"], kept["label_scope"]),
                                 (200, lab["name"], scope))
                self.assertEqual(self.req("DELETE", path, token=self.session)[0], 204)
        for scope, (can_apply, can_remove) in want.items():
            with self.subTest(scope=scope):
                lab = self.new_label(label_scope=scope, token=self.session)
                st = self.apply(mid, lab["id"])[0]
                self.assertEqual(st, 204 if can_apply else 403)
                if not can_apply:
                    self.assertError(self.apply(mid, lab["id"]), 403, code="label_scope")
                    self.assertNotIn(lab["id"], self.label_ids(mid))
                    # A session (a person) is not limited by label scope.
                    self.assertEqual(self.apply(mid, lab["id"], token=self.session)[0],
                                     204)
                self.assertIn(lab["id"], self.label_ids(mid))
                st = self.remove(mid, lab["id"])[0]
                self.assertEqual(st, 204 if can_remove else 403)
                if not can_remove:
                    self.assertIn(lab["id"], self.label_ids(mid))
                    self.assertEqual(self.remove(mid, lab["id"], token=self.session)[0],
                                     204)
                self.assertNotIn(lab["id"], self.label_ids(mid))

    def test_delete_label_removes_it_everywhere(self):
        lab = self.new_label()
        r = self.rule(lab["id"], [{"type": "subject_pattern", "value": "*zzz-del*"}])
        mid = self.deliver("zzz-del one")
        self.assertEqual(self.label_ids(mid), [lab["id"]])
        self.assertEqual(self.req("DELETE", "/v1/labels/%s/" % lab["id"])[0], 204)
        self.assertEqual(self.label_ids(mid), [])
        self.assertError(self.req("GET", "/v1/auto-label-rules/%s/" % r["id"]), 404)
        # The message lost the label: label.removed, as a removal by hand.
        events = self.events(mid)
        # (A rule's label.applied is logged with the message, before it.)
        self.assertEqual([t for t, _ in events],
                         ["label.applied", "message.received", "label.removed"])
        removed = events[-1][1]
        self.assertEqual((removed["label_id"], removed["label_name"], removed["source"]),
                         (lab["id"], lab["name"], "label_deleted"))
        self.assertTrue(removed["by"].startswith("token:tok_"), removed)

    # -- auto-label rules: CRUD and order --

    def test_rules_crud_and_order(self):
        self.clear_rules()
        lab = self.new_label()
        conds = [{"type": "subject_pattern", "value": "*a*"}]
        a = self.rule(lab["id"], conds, name="a")
        b = self.rule(lab["id"], conds, name="b")
        c = self.rule(lab["id"], conds, name="c", position=0)
        self.assertTrue(a["id"].startswith("alr_"), a)
        self.assertEqual((a["position"], b["position"], c["position"]), (0, 1, 0))
        self.assertEqual([r["name"] for r in self.rules()], ["c", "a", "b"])
        self.assertEqual([r["position"] for r in self.rules()], [0, 1, 2])
        # Move b to the top.
        st, _, got = self.req("PATCH", "/v1/auto-label-rules/%s/" % b["id"],
                              {"position": 0})
        self.assertEqual((st, got["position"]), (200, 0), got)
        self.assertEqual([r["name"] for r in self.rules()], ["b", "c", "a"])
        # Reorder all at once.
        st, _, lst = self.req("POST", "/v1/auto-label-rules/reorder/",
                              {"rule_ids": [a["id"], b["id"], c["id"]]})
        self.assertEqual(st, 200, lst)
        self.assertEqual([r["name"] for r in lst["data"]], ["a", "b", "c"])
        for bad in ([a["id"], b["id"]], [a["id"], b["id"], c["id"], c["id"]],
                    [a["id"], a["id"], b["id"]], [a["id"], b["id"], "alr_x"]):
            with self.subTest(rule_ids=bad):
                self.assertError(self.req("POST", "/v1/auto-label-rules/reorder/",
                                          {"rule_ids": bad}), 400, field="rule_ids")
        self.assertEqual([r["name"] for r in self.rules()], ["a", "b", "c"])
        # Enable / disable, by route and by PATCH.
        st, _, got = self.req("POST", "/v1/auto-label-rules/%s/disable/" % a["id"])
        self.assertEqual((st, got["enabled"]), (200, False))
        st, _, got = self.req("PATCH", "/v1/auto-label-rules/%s/" % a["id"],
                              {"enabled": True, "match": "any", "name": None})
        self.assertEqual((st, got["enabled"], got["match"], got["name"]),
                         (200, True, "any", None))
        st, _, got = self.req("POST", "/v1/auto-label-rules/%s/enable/" % b["id"])
        self.assertEqual((st, got["enabled"]), (200, True))
        # Delete keeps the ranks dense.
        self.assertEqual(self.req("DELETE", "/v1/auto-label-rules/%s/" % b["id"])[0], 204)
        self.assertEqual([(r["name"], r["position"]) for r in self.rules()],
                         [(None, 0), ("c", 1)])
        self.assertError(self.req("GET", "/v1/auto-label-rules/%s/" % b["id"]), 404)
        # Another inbox's token sees none of them.
        self.assertError(self.req("GET", "/v1/auto-label-rules/%s/" % a["id"],
                                  token=self.rw2), 404)
        self.assertEqual(self.rules(token=self.rw2), [])
        self.clear_rules()

    def test_rule_validation(self):
        lab = self.new_label()
        ro = self.new_label(label_scope="read_only", token=self.session)
        st, _, lab2 = self.req("POST", "/v1/labels/", {"inbox_id": self.inbox2,
                                                       "name": "x2"}, token=self.rw2)
        ok = [{"type": "sender_domain", "value": "example.com"}]
        cases = [
            ({"label_id": lab["id"]}, "conditions"),
            ({"label_id": lab["id"], "conditions": []}, "conditions"),
            ({"label_id": lab["id"], "conditions": [{"type": "body", "value": "x"}]},
             "conditions"),
            ({"label_id": lab["id"], "conditions": [{"type": "recipient",
                                                     "value": "nobody"}]}, "conditions"),
            ({"label_id": lab["id"], "conditions": [{"type": "sender_domain",
                                                     "value": "a@b.test"}]},
             "conditions"),
            ({"label_id": lab["id"], "conditions": [{"type": "subject_pattern",
                                                     "value": ""}]}, "conditions"),
            ({"label_id": lab["id"], "conditions": [{"type": "subject_pattern",
                                                     "value": "x", "extra": 1}]},
             "conditions"),
            ({"label_id": lab["id"], "conditions": ok * 21}, "conditions"),
            ({"label_id": lab["id"], "conditions": ok, "match": "most"}, "match"),
            ({"label_id": lab["id"], "conditions": ok, "position": -1}, "position"),
            ({"label_id": "lbl_nope", "conditions": ok}, "label_id"),
            ({"label_id": lab2["id"], "conditions": ok}, "label_id"),
            ({"conditions": ok}, "label_id"),
        ]
        before = self.rules()
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.req("POST", "/v1/auto-label-rules/", body), 400,
                                 field=field)
        # An agent may not make a rule that applies a label it cannot apply.
        self.assertError(self.req("POST", "/v1/auto-label-rules/", {
            "label_id": ro["id"], "conditions": ok}), 403, code="label_scope")
        st, _, r = self.req("POST", "/v1/auto-label-rules/", {
            "inbox_id": self.inbox, "label_id": ro["id"], "conditions": ok},
            token=self.session)
        self.assertEqual(st, 201, r)
        self.assertError(self.req("PATCH", "/v1/auto-label-rules/%s/" % r["id"],
                                  {"conditions": []}), 400, field="conditions")
        self.assertEqual(self.req("DELETE", "/v1/auto-label-rules/%s/" % r["id"])[0], 204)
        self.assertEqual(self.rules(), before)

    # -- at receive time --

    def test_rules_label_mail_on_arrival(self):
        self.clear_rules()
        urgent, invoices, work, catchall = (self.new_label() for _ in range(4))
        r_urgent = self.rule(urgent["id"], [
            {"type": "subject_pattern", "value": "*urgent*"}])
        r_inv = self.rule(invoices["id"], [
            {"type": "sender_domain", "value": "vip.test"},
            {"type": "subject_pattern", "value": "*invoice #?? *"}])
        r_work = self.rule(work["id"], [
            {"type": "sender_domain", "value": "*.corp.test"},
            {"type": "recipient", "value": "team@elsewhere.test"}], match="any")
        r_all = self.rule(catchall["id"], [{"type": "subject_pattern", "value": "*"}],
                          enabled=False)
        cases = [  # subject, envelope sender, extra headers, label, rule
            ("Your INVOICE #42", "billing@vip.test", None, invoices, r_inv),
            ("Your invoice #4", "billing@vip.test", None, None, None),  # ?? = 2 chars
            ("invoice #42", "billing@other.test", None, None, None),    # all must hold
            ("hello", "a@mail.corp.test", None, work, r_work),
            ("hello", "a@corp.test", None, None, None),                 # not a subdomain
            ("hello", "c@other.test", [("Cc", "Team <TEAM@elsewhere.test>")], work, r_work),
            ("URGENT: invoice #42", "billing@vip.test", None, urgent, r_urgent),
        ]
        for subject, sender, headers, label, rule in cases:
            with self.subTest(subject=subject, sender=sender):
                mid = self.deliver(subject, mail_from=sender, headers=headers)
                m = self.message(mid)
                self.assertEqual([l["id"] for l in m["labels"]],
                                 [label["id"]] if label else [])
                trace = m["trace"]["auto_label"]
                self.assertEqual(trace["rule_id"], rule["id"] if rule else None, trace)
                # Disabled rules are not evaluated.
                self.assertLessEqual(trace["rules_evaluated"], 3, trace)
        # Once enabled, the catch-all takes what nothing else did.
        self.req("POST", "/v1/auto-label-rules/%s/enable/" % r_all["id"])
        mid = self.deliver("plain", mail_from="x@nowhere.test")
        self.assertEqual(self.label_ids(mid), [catchall["id"]])
        # Reordered first, it wins over the others.
        self.req("PATCH", "/v1/auto-label-rules/%s/" % r_all["id"], {"position": 0})
        mid = self.deliver("urgent", mail_from="x@vip.test")
        self.assertEqual(self.label_ids(mid), [catchall["id"]])
        st, _, lst = self.req("GET", "/v1/messages/?label=" + catchall["id"])
        self.assertEqual(len(lst["data"]), 2, lst)
        # The other inbox has its own (no) rules.
        mid = self.deliver("urgent", local="bot2")
        st, _, m = self.req("GET", "/v1/messages/%s/" % mid, token=self.rw2)
        self.assertEqual(m["labels"], [])
        self.clear_rules()

    def test_policies_act_on_arrival_and_on_apply(self):
        self.clear_rules()
        lab = self.new_label(policies={"forward_to": "reviewer@example.org",
                                       "notify": True, "block_reply": True,
                                       "retention": "1y"})
        self.assertEqual(lab["policies"], {"block_reply": True,
                                           "forward_to": "reviewer@example.org",
                                           "notify": True, "retention": "1y"})
        self.rule(lab["id"], [{"type": "subject_pattern", "value": "review:*"}])
        mid = self.deliver("review: contract")
        m = self.message(mid)
        self.assertEqual([l["id"] for l in m["labels"]], [lab["id"]])
        fwd = m["trace"]["forwarding"]
        self.assertEqual([(f["destination"], f["rule_id"], f["reason"]) for f in fwd],
                         [("reviewer@example.org", "label:" + lab["id"], "label_policy")])
        self.assertEqual(sorted(p["policy"] for p in m["trace"]["label_policies"]),
                         ["block_reply", "forward_to", "notify", "retention"])
        self.assertEqual(self.queued(mid), [("reviewer@example.org",
                                             "label:" + lab["id"])])
        applied = [p for t, p in self.events(mid) if t == "label.applied"]
        self.assertEqual(len(applied), 1, applied)
        self.assertEqual((applied[0]["source"], applied[0]["notify"],
                          applied[0]["rule_id"]), ("auto_label_rule", True,
                                                   m["trace"]["auto_label"]["rule_id"]))
        # Applied by hand to another message: the copy is queued too, once.
        other = self.deliver("no rule for this")
        self.assertEqual(self.queued(other), [])
        self.assertEqual(self.apply(other, lab["id"])[0], 204)
        self.assertEqual(self.apply(other, lab["id"])[0], 204)
        self.assertEqual(self.queued(other), [("reviewer@example.org",
                                               "label:" + lab["id"])])
        # Unset the policy: no more copies.
        st, _, upd = self.req("PATCH", "/v1/labels/%s/" % lab["id"],
                              {"policies": {"forward_to": None}})
        self.assertEqual((st, upd["policies"]["forward_to"], upd["policies"]["notify"]),
                         (200, None, True))
        mid = self.deliver("review: again")
        self.assertEqual(self.queued(mid), [])
        self.assertEqual(self.label_ids(mid), [lab["id"]])
        self.clear_rules()

    def test_delete_takes_the_content_of_queued_copies(self):
        """A deleted message's forwarded copy that is still queued (its
        destination does not resolve) loses its bytes and is never sent;
        no row of tenant.db holds the subject afterwards."""
        lab = self.new_label(policies={"forward_to": "reviewer@example.org"})
        mid = self.deliver("delete me with my copies")
        subject = self.message(mid)["subject"]
        self.assertEqual(self.apply(mid, lab["id"])[0], 204)
        self.assertEqual(self.queued(mid), [("reviewer@example.org", "label:" + lab["id"])])
        st, _, out = self.srv.request("DELETE", "/v1/messages/%s/" % mid,
                                      token=self.session)
        self.assertEqual(st, 204, out)

        def copy_state():
            conn = self.tenant_db()
            try:
                return conn.execute("SELECT status, length(raw), last_error FROM "
                                    "outbound WHERE source_message_id = ?",
                                    (mid,)).fetchall()
            finally:
                conn.close()
        # A copy in flight at the delete fails when it comes back for a retry.
        harness.wait_until(lambda: [r[0] for r in copy_state()] == ["failed"],
                           timeout=15, what="the queued copy failed")
        self.assertEqual([r[:2] for r in copy_state()], [("failed", 0)])
        leaks = [(t, c) for t, c, v in self.srv.db_text_values(
            "tenants/%s/tenant.db" % self.env.acct.tenant_id) if subject in v]
        self.assertEqual(leaks, [])

    def queued(self, mid):
        conn = self.tenant_db()
        try:
            return conn.execute("SELECT rcpt_to, rule_id FROM outbound WHERE "
                                "source_message_id = ? ORDER BY created_at",
                                (mid,)).fetchall()
        finally:
            conn.close()

    def test_openapi_lists_the_routes(self):
        st, _, doc = self.srv.request("GET", "/v1/openapi.json")
        self.assertEqual(st, 200)
        for path in ("/v1/labels/", "/v1/labels/{label_id}/",
                     "/v1/messages/{message_id}/labels/{label_id}/",
                     "/v1/auto-label-rules/", "/v1/auto-label-rules/reorder/"):
            self.assertIn(path, doc["paths"])


if __name__ == "__main__":
    harness.main()
