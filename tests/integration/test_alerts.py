"""Alert rules API (the ARCHITECTURE.md shape): create with defaults,
validation of every field (nothing stored on a 400), write-only secret,
enable/disable, update, delete, inbox scoping and scopes.

    GENTD_BIN=build/gentd python3 tests/integration/test_alerts.py
"""

import harness
from harness import GentdTestCase

WRITE = ["alerts:read", "alerts:write"]


class AlertsTest(GentdTestCase):

    def setUp(self):
        self.a = self.srv.new_account()
        self.tok = self.srv.create_token(self.a, WRITE)["raw_token"]

    def req(self, method, path, body=None, token=None):
        return self.srv.request(method, path, body, token=token or self.tok)

    def create(self, **body):
        b = {"events": ["message.received"], "url": "https://hooks.example.com/gent"}
        b.update(body)
        return self.req("POST", "/v1/alerts/", b)

    def test_create_defaults_and_round_trip(self):
        st, _, r = self.create(secret="a-very-long-secret-1234")
        self.assertEqual(st, 201, r)
        self.assertTrue(r["id"].startswith("alrt_"), r)
        self.assertEqual((r["inbox_id"], r["attempts"], r["backoff"], r["enabled"],
                          r["has_secret"], r["filter"], r["threshold"], r["offset"]),
                         (self.a.inbox_id, 3, "exponential", True, True, None, None, None))
        self.assertNotIn("secret", r)
        st, _, got = self.req("GET", "/v1/alerts/%s/" % r["id"])
        self.assertEqual((st, got), (200, r))
        self.assertNotIn("a-very-long-secret", self.srv.last_body.decode())
        st, _, lst = self.req("GET", "/v1/alerts/")
        self.assertEqual([x["id"] for x in lst["data"]], [r["id"]])
        st, _, upd = self.req("PATCH", "/v1/alerts/%s/" % r["id"], {
            "events": ["label.applied"], "filter": {"label_id": "lbl_x"},
            "attempts": 5, "backoff": "fixed", "secret": None})
        self.assertEqual(st, 200, upd)
        self.assertEqual((upd["events"], upd["filter"], upd["attempts"], upd["backoff"],
                          upd["has_secret"]),
                         (["label.applied"], {"label_id": "lbl_x"}, 5, "fixed", False))
        st, _, off = self.req("POST", "/v1/alerts/%s/disable/" % r["id"])
        self.assertEqual((st, off["enabled"]), (200, False))
        st, _, on = self.req("POST", "/v1/alerts/%s/enable/" % r["id"])
        self.assertEqual((st, on["enabled"]), (200, True))
        self.assertEqual(self.req("DELETE", "/v1/alerts/%s/" % r["id"])[0], 204)
        self.assertError(self.req("GET", "/v1/alerts/%s/" % r["id"]), 404)

    def test_system_and_timed_fields(self):
        st, _, r = self.create(events=["cap.reached", "storage.threshold"], threshold=80)
        self.assertEqual((st, r["threshold"]), (201, 80), r)
        st, _, r = self.create(events=["event.created", "contact.birthday"],
                               offset={"value": 2, "unit": "days"})
        self.assertEqual((st, r["offset"]), (201, {"value": 2, "unit": "days"}), r)

    def test_validation_changes_nothing(self):
        cases = [
            ({"events": []}, "events"), ({"events": ["message.deleted"]}, "events"),
            ({"events": ["contact."]}, "events"), ({"events": ["contact.Bad Type"]}, "events"),
            ({"url": "http://hooks.example.com/x"}, "url"), ({"url": "https://127.0.0.1/x"}, "url"),
            ({"url": "https://localhost/x"}, "url"), ({"url": "ftp://x.example/"}, "url"),
            ({"attempts": 0}, "attempts"), ({"attempts": 11}, "attempts"),
            ({"backoff": "linear"}, "backoff"), ({"secret": "short"}, "secret"),
            ({"filter": {"label_id": "l", "contact_id": "c"}}, "filter"),
            ({"filter": {"inbox_id": "x"}}, "filter"),
            ({"threshold": 80}, "threshold"),               # not a system event
            ({"offset": {"value": 1, "unit": "days"}}, "offset"),   # not timed
            ({"events": ["event.created"], "offset": {"value": 1, "unit": "weeks"}}, "offset"),
            ({"colour": "red"}, "colour"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                self.assertError(self.create(**body), 400, field=field)
        self.assertEqual(self.req("GET", "/v1/alerts/")[2]["data"], [])

    def test_scopes_and_inboxes(self):
        st, _, r = self.create()
        self.assertEqual(st, 201)
        reader = self.srv.create_token(self.a, ["read"])["raw_token"]
        self.assertEqual(self.req("GET", "/v1/alerts/", token=reader)[0], 200)
        for method, path in (("POST", "/v1/alerts/"), ("PATCH", "/v1/alerts/%s/" % r["id"]),
                             ("DELETE", "/v1/alerts/%s/" % r["id"]),
                             ("POST", "/v1/alerts/%s/disable/" % r["id"])):
            self.assertError(self.req(method, path, {} if method != "DELETE" else None,
                                      token=reader), 403)
        other = self.srv.new_account()
        otok = self.srv.create_token(other, WRITE)["raw_token"]
        self.assertError(self.req("GET", "/v1/alerts/%s/" % r["id"], token=otok), 404)
        # A session names the inbox.
        st, _, lst = self.srv.request("GET", "/v1/alerts/?inbox_id=" + self.a.inbox_id,
                                      token=self.a.session)
        self.assertEqual([x["id"] for x in lst["data"]], [r["id"]])


if __name__ == "__main__":
    harness.main()
