"""Idempotency-Key on POST: the first answer is kept and replayed, the
same key with another request is refused, keys are per principal, and
concurrent retries never run twice.

    GENTD_BIN=build/gentd python3 tests/integration/test_idempotency.py
"""

import secrets
import threading

import harness
from harness import GentdTestCase


class IdempotencyTest(GentdTestCase):

    def setUp(self):
        self.a = self.srv.new_account()
        self.tok = self.srv.create_token(self.a, ["labels:read", "labels:write"])["raw_token"]

    def create(self, name, key, token=None):
        return self.srv.request("POST", "/v1/labels/", {"inbox_id": self.a.inbox_id,
                                                        "name": name},
                                token=token or self.tok,
                                headers={"Idempotency-Key": key})

    def labels(self):
        st, _, body = self.srv.request("GET", "/v1/labels/", token=self.tok)
        self.assertEqual(st, 200)
        return [l["name"] for l in body["data"]]

    def test_replay_returns_the_first_answer(self):
        key = "k-" + secrets.token_hex(8)
        st, h1, first = self.create("once", key)
        self.assertEqual(st, 201, first)
        self.assertIsNone(h1.get("Idempotent-Replayed"))
        st, h2, again = self.create("once", key)
        self.assertEqual((st, again), (201, first))
        self.assertEqual(h2.get("Idempotent-Replayed"), "true")
        self.assertEqual(self.labels().count("once"), 1)
        # Same key, different request: refused, nothing made.
        self.assertError(self.create("twice", key), 422, code="idempotency_key_reused")
        self.assertNotIn("twice", self.labels())
        # An error answer is kept too (it is the answer to that request).
        key2 = "k-" + secrets.token_hex(8)
        self.assertError(self.create("once", key2), 409, code="conflict")
        st, h, body = self.create("once", key2)
        self.assertEqual((st, h.get("Idempotent-Replayed")), (409, "true"))

    def test_keys_are_per_principal_and_validated(self):
        key = "shared-" + secrets.token_hex(4)
        other = self.srv.create_token(self.a, ["labels:read", "labels:write"])["raw_token"]
        self.assertEqual(self.create("p1", key)[0], 201)
        self.assertEqual(self.create("p2", key, token=other)[0], 201)
        self.assertEqual(sorted(n for n in self.labels() if n in ("p1", "p2")), ["p1", "p2"])
        for bad in ("", "x" * 256, "has space", "tab\tkey"):
            with self.subTest(key=bad):
                self.assertError(self.create("bad", bad), 400, field="Idempotency-Key")
        self.assertNotIn("bad", self.labels())
        # GET ignores the header.
        st, _, _ = self.srv.request("GET", "/v1/labels/", token=self.tok,
                                    headers={"Idempotency-Key": "whatever"})
        self.assertEqual(st, 200)

    def test_concurrent_retries_run_once(self):
        key = "race-" + secrets.token_hex(6)
        results = []
        lock = threading.Lock()

        def go():
            r = self.create("raced", key)
            with lock:
                results.append(r[0])

        threads = [threading.Thread(target=go) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        self.assertEqual(len(results), 8)
        self.assertIn(201, results)
        self.assertTrue(set(results) <= {201, 409}, results)
        self.assertEqual(self.labels().count("raced"), 1)


if __name__ == "__main__":
    harness.main()
