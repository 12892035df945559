"""The HTTP/1.1 front end: request bodies, errors, limits, keep-alive,
pipelining, slow and idle clients, the connection cap, and openapi.json."""

import json
import re
import select
import socket
import threading
import time

import harness
from harness import GentdTestCase, http_request_bytes, ConnectionClosed

MAX_BODY = 1024 * 1024


def chunked(*parts):
    out = b""
    for p in parts:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


class HttpTest(GentdTestCase):
    server_conf = {
        "http_max_body": "1M",
        "http_header_timeout": "1s",
        "http_idle_timeout": "1s",
    }

    def waitlist_raw(self, body, headers=None):
        return self.srv.request("POST", "/v1/waitlist/", raw_body=body,
                                headers=headers or {})

    # -- bodies and JSON errors --

    def test_malformed_json(self):
        for bad in [b"{", b"{\"email\": }", b"nul", b"{\"email\":\"a@b.example\"} x",
                    b"\xff\xfe", b"{\"email\":\"a@b.example\",\"email\":\"c@d.example\"}"]:
            r = self.waitlist_raw(bad, {"Content-Type": "application/json"})
            self.assertError(r, 400, "invalid_json", msg=bad)
        for not_object in [b"[]", b"\"a@b.example\"", b"42", b"null"]:
            r = self.waitlist_raw(not_object, {"Content-Type": "application/json"})
            self.assertError(r, 400, msg=not_object)

    def test_wrong_type_names_field(self):
        for value in [5, True, None, ["a@b.example"], {"x": 1}]:
            self.assertError(self.srv.request("POST", "/v1/waitlist/", {"email": value}),
                             400, "invalid_field", "email", msg=repr(value))
        self.assertError(self.srv.request("POST", "/v1/waitlist/", {}),
                         400, "invalid_field", "email")
        self.assertError(self.srv.request("POST", "/v1/waitlist/",
                                          {"email": "a@b.example", "why": "hi"}),
                         400, "invalid_field", "why")

    def test_content_type_required_for_body(self):
        body = json.dumps({"email": harness.unique_email()}).encode()
        self.assertError(self.waitlist_raw(body), 415, "unsupported_media_type")
        for ct in ["text/plain", "application/x-www-form-urlencoded",
                   "application/jsonx", "json"]:
            self.assertError(self.waitlist_raw(body, {"Content-Type": ct}), 415, msg=ct)
        for ct in ["application/json", "application/json; charset=utf-8",
                   "Application/JSON"]:
            st = self.waitlist_raw(json.dumps({"email": harness.unique_email()}).encode(),
                                   {"Content-Type": ct})[0]
            self.assertEqual(st, 202, ct)
        # A body where none is expected is refused, not ignored.
        self.assertError(self.srv.request("GET", "/healthz", raw_body=b"{}",
                                          headers={"Content-Type": "application/json"}),
                         400, "unexpected_body")

    def test_unknown_path_and_method(self):
        for path in ["/", "/v1", "/v1/nope/", "/v1/tokens/a/b/c/", "/healthz/extra",
                     "/v1/users/me/x", "/V1/USERS/ME/"]:
            self.assertError(self.srv.request("GET", path), 404, "not_found", msg=path)
        st, h, body = self.srv.request("DELETE", "/v1/waitlist/")
        self.assertError((st, h, body), 405, "method_not_allowed")
        self.assertEqual(h["Allow"], "POST")
        st, h, body = self.srv.request("PUT", "/v1/tokens/")
        self.assertEqual(st, 405, body)
        self.assertEqual(sorted(x.strip() for x in h["Allow"].split(",")), ["GET", "POST"])
        st, h, body = self.srv.request("POST", "/v1/tokens/tok_abc/")
        self.assertEqual(st, 405, body)
        self.assertEqual(sorted(x.strip() for x in h["Allow"].split(",")),
                         ["DELETE", "GET", "PATCH"])
        st, h, body = self.srv.request("GET", "/v1/auth/login/")
        self.assertError((st, h, body), 405, "method_not_allowed")
        self.assertEqual(h["Allow"], "POST")

    def test_error_envelope_and_headers(self):
        st, h, body = self.srv.request("GET", "/v1/nope/")
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(set(body), {"error"})
        self.assertEqual(set(body["error"]), {"status", "code", "message"})
        self.assertTrue(h["X-Request-Id"].startswith("req_"))
        self.assertEqual(h["Cache-Control"], "no-store")

    # -- size limits --

    def test_body_too_large_content_length(self):
        with self.srv.raw() as c:
            # Headers only: the limit is enforced before the body arrives.
            c.send("POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (MAX_BODY + 1))
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 413, r)
            self.assertEqual(r.json()["error"]["code"], "payload_too_large")
            self.assertEqual(r.header("Connection"), "close")
            self.assertTrue(c.wait_closed(3))
        # Exactly the limit is fine (and then fails JSON parsing, not size).
        body = b"{\"email\": \"" + b"a" * (MAX_BODY - 20) + b"\"}"
        body += b" " * (MAX_BODY - len(body))
        self.assertEqual(len(body), MAX_BODY)
        st, _, resp = self.waitlist_raw(body, {"Content-Type": "application/json"})
        self.assertEqual(st, 400, resp)
        self.assertEqual(resp["error"]["field"], "email")
        # The whole oversized body sent in one go.
        with self.srv.raw() as c:
            big = b"{\"email\": \"" + b"a" * (MAX_BODY + 10) + b"\"}"
            c.try_send(http_request_bytes("POST", "/v1/waitlist/", big,
                                          {"Content-Type": "application/json"}))
            r = c.read_response(timeout=5)
            self.assertEqual(r.status, 413, r)
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_body_too_large_chunked(self):
        with self.srv.raw() as c:
            c.send("POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n")
            piece = b"%x\r\n" % 65536 + b" " * 65536 + b"\r\n"
            sent = 0
            for _ in range(40):                 # up to 2.5 MiB, bounded
                if not c.try_send(piece):
                    break
                sent += 65536
                r, _, _ = select.select([c.sock], [], [], 0)
                if r:
                    break
            self.assertGreater(sent, 0)
            r = c.read_response(timeout=5)
            self.assertEqual(r.status, 413, r)
            self.assertEqual(r.json()["error"]["code"], "payload_too_large")
            self.assertTrue(c.wait_closed(3))
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_expect_100_continue(self):
        # Too large: 413 at once, no 100 Continue, no waiting for the body.
        with self.srv.raw() as c:
            t0 = time.monotonic()
            c.send("POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                   "Content-Length: %d\r\n\r\n" % (5 * MAX_BODY))
            r = c.read_response(timeout=3, skip_interim=False)
            self.assertEqual(r.status, 413, r)
            self.assertLess(time.monotonic() - t0, 2)
            self.assertTrue(c.wait_closed(3))
        # Acceptable: 100 Continue, then the body, then the answer.
        with self.srv.raw() as c:
            body = json.dumps({"email": harness.unique_email()}).encode()
            c.send("POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                   "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                   "Content-Length: %d\r\n\r\n" % len(body))
            r = c.read_response(timeout=3, skip_interim=False)
            self.assertEqual(r.status, 100, r)
            c.send(body)
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.json()["status"], "pending")

    def test_headers_too_large(self):
        with self.srv.raw() as c:
            c.try_send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n"
                       % ("a" * (40 * 1024)))
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 431, r)
            self.assertEqual(r.json()["error"]["code"], "headers_too_large")
            self.assertTrue(c.wait_closed(3))
        # Many small headers adding up.
        with self.srv.raw() as c:
            c.try_send("GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                       "".join("X-H%d: %s\r\n" % (i, "b" * 400) for i in range(90)) +
                       "\r\n")
            self.assertEqual(c.read_response(timeout=3).status, 431)
        # More than 100 header lines.
        with self.srv.raw() as c:
            c.try_send("GET /healthz HTTP/1.1\r\n" +
                       "".join("X-%d: y\r\n" % i for i in range(101)) + "\r\n")
            self.assertEqual(c.read_response(timeout=3).status, 431)
        # A very long request target.
        with self.srv.raw() as c:
            c.try_send("GET /healthz?%s HTTP/1.1\r\nHost: x\r\n\r\n" % ("q" * 40000))
            self.assertEqual(c.read_response(timeout=3).status, 431)
        # Just under the limit is served.
        with self.srv.raw() as c:
            c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n"
                   % ("a" * (24 * 1024)))
            self.assertEqual(c.read_response(timeout=3).status, 200)

    def test_garbage_is_400_and_close(self):
        for junk in [b"\x00\x01\x02garbage\r\n\r\n", b"HELLO\r\n\r\n",
                     b"GET / HTTP/9.9\r\n\r\n", b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
                     b"POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"]:
            with self.srv.raw() as c:
                c.send(junk)
                r = c.read_response(timeout=3)
                self.assertEqual(r.status, 400, junk)
                self.assertEqual(r.json()["error"]["code"], "bad_request")
                self.assertEqual(r.header("Connection"), "close")
                self.assertTrue(c.wait_closed(3), junk)
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    # -- connections --

    def test_keep_alive(self):
        with self.srv.raw() as c:
            ids = set()
            for i in range(3):
                c.send(http_request_bytes("GET", "/healthz"))
                r = c.read_response(timeout=3)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json(), {"status": "ok"})
                self.assertNotEqual(r.header("Connection"), "close")
                ids.add(r.header("X-Request-Id"))
            self.assertEqual(len(ids), 3)
            # Connection: close is honoured.
            c.send(http_request_bytes("GET", "/healthz", headers={"Connection": "close"}))
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Connection"), "close")
            self.assertTrue(c.wait_closed(3))
        # HTTP/1.0 without keep-alive closes after one answer.
        with self.srv.raw() as c:
            c.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            self.assertEqual(c.read_response(timeout=3).status, 200)
            self.assertTrue(c.wait_closed(3))

    def test_pipelining(self):
        email = harness.unique_email("pipe")
        reqs = [
            http_request_bytes("GET", "/healthz"),
            http_request_bytes("GET", "/v1/no-such-thing/"),
            http_request_bytes("POST", "/v1/waitlist/", {"email": email}),
            http_request_bytes("GET", "/v1/tokens/reference/"),
            http_request_bytes("DELETE", "/v1/waitlist/"),
        ]
        with self.srv.raw() as c:
            c.send(b"".join(reqs))
            rs = [c.read_response(timeout=5) for _ in reqs]
        self.assertEqual([r.status for r in rs], [200, 404, 202, 200, 405])
        self.assertEqual(rs[0].json(), {"status": "ok"})
        self.assertEqual(rs[1].json()["error"]["code"], "not_found")
        self.assertEqual(rs[2].json(), {"email": email, "status": "pending"})
        self.assertIn("scopes", rs[3].json())
        self.assertEqual(rs[4].header("Allow"), "POST")
        rids = [r.header("X-Request-Id") for r in rs]
        self.assertEqual(len(set(rids)), 5, rids)

    def test_pipelined_garbage_after_valid_request(self):
        with self.srv.raw() as c:
            c.send(http_request_bytes("GET", "/healthz") + b"GARBAGE\r\n\r\n" +
                   http_request_bytes("GET", "/healthz"))
            self.assertEqual(c.read_response(timeout=3).status, 200)
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 400)
            self.assertTrue(c.wait_closed(3))
            self.assertEqual(c.buf, b"", "answered a request after the bad one")

    def test_head_response_has_no_body(self):
        # RFC 9110 9.3.2: a response to HEAD never has content, whatever
        # its status; otherwise the next response on the connection is
        # misread by every client.
        with self.srv.raw() as c:
            c.send(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
                   http_request_bytes("GET", "/healthz"))
            head = c.read_response(timeout=3, head_only_statuses=range(100, 600))
            self.assertIn(head.status, (200, 405), head)
            try:
                nxt = c.read_response(timeout=3)
            except AssertionError as e:
                self.fail("the HEAD answer carried a body, so the next response "
                          "is misframed: %s" % e)
            self.assertEqual(nxt.status, 200,
                             "the HEAD answer carried a body: the next response "
                             "starts with %r" % (nxt.raw_head[:60],))
            self.assertEqual(nxt.json(), {"status": "ok"})

    def test_half_closed_client_still_answered(self):
        # A client may shut down its sending side once its requests are out
        # (HTTP/1.0-style tools do); complete requests are still answered.
        n = 10
        reqs = [http_request_bytes("GET", "/healthz")] * (n - 1) + \
            [http_request_bytes("GET", "/healthz", headers={"Connection": "close"})]
        with self.srv.raw() as c:
            c.send(b"".join(reqs))
            c.sock.shutdown(socket.SHUT_WR)
            got = 0
            try:
                for _ in range(n):
                    self.assertEqual(c.read_response(timeout=3).status, 200)
                    got += 1
            except ConnectionClosed:
                pass
            self.assertEqual(got, n, "only %d of %d requests answered after the "
                             "client's half-close" % (got, n))

    def test_many_concurrent_clients(self):
        results = []
        lock = threading.Lock()

        def client():
            ok = 0
            try:
                with self.srv.raw(timeout=10) as c:
                    for _ in range(5):
                        c.send(http_request_bytes("GET", "/healthz"))
                        ok += c.read_response(timeout=10).status == 200
            except (OSError, ConnectionClosed):
                pass
            with lock:
                results.append(ok)
        threads = [threading.Thread(target=client) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(results, [5] * 50)

    def test_pipelined_flood(self):
        n = 2000
        one = http_request_bytes("GET", "/healthz")
        data = one * n
        got = 0
        cut = False
        with self.srv.raw(timeout=30) as c:
            c.sock.setblocking(False)
            sent = 0
            deadline = time.monotonic() + 60
            while got < n and time.monotonic() < deadline:
                want_w = [c.sock] if sent < len(data) else []
                r, w, _ = select.select([c.sock], want_w, [], 1.0)
                if w:
                    try:
                        sent += c.sock.send(data[sent:sent + 65536])
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        sent = len(data)
                if r:
                    try:
                        chunk = c.sock.recv(262144)
                    except BlockingIOError:
                        continue
                    except ConnectionResetError:
                        chunk = b""
                    if not chunk:
                        cut = True
                        break
                    c.buf += chunk
                    # Count complete responses; each is a small 200.
                    while True:
                        i = c.buf.find(b"\r\n\r\n")
                        if i < 0:
                            break
                        head = c.buf[:i].decode("latin-1")
                        self.assertTrue(head.startswith("HTTP/1.1 200 "), head[:80])
                        length = int([l.split(":", 1)[1] for l in head.split("\r\n")
                                      if l.lower().startswith("content-length:")][0])
                        if len(c.buf) < i + 4 + length:
                            break
                        self.assertEqual(c.buf[i + 4:i + 4 + length], b'{"status":"ok"}')
                        c.buf = c.buf[i + 4 + length:]
                        got += 1
        self.assertTrue(got == n or cut, "got %d of %d responses, no clean cut" % (got, n))
        self.assertGreater(got, 0)
        self.assertTrue(self.srv.running())
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_chunked_request_body(self):
        # One write with several chunks.
        email = harness.unique_email("chunky")
        body = json.dumps({"email": email}).encode()
        with self.srv.raw() as c:
            c.send(b"POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + chunked(body[:5], body[5:12], body[12:]))
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.json(), {"email": email, "status": "pending"})
        # A proper chunked body in several writes.
        email = harness.unique_email("chunky")
        body = json.dumps({"email": email}).encode()
        with self.srv.raw() as c:
            c.send(b"POST /v1/waitlist/ HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(0, len(body), 7):
                c.send(b"%x\r\n" % len(body[i:i + 7]) + body[i:i + 7] + b"\r\n")
                time.sleep(0.01)
            c.send(b"0\r\n\r\n")
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 202, r)
            self.assertEqual(r.json(), {"email": email, "status": "pending"})
            # And the connection is still usable.
            c.send(http_request_bytes("GET", "/healthz"))
            self.assertEqual(c.read_response(timeout=3).status, 200)

    # -- slow and idle clients --

    def test_slow_header_client_is_cut(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 100 + b"\r\n\r\n"
        with self.srv.raw() as c:
            t0 = time.monotonic()
            closed = False
            for i in range(len(req)):           # at most ~30 s; expect ~1 s
                if not c.try_send(req[i:i + 1]):
                    closed = True
                    break
                if c.wait_closed(0.3):
                    closed = True
                    break
                if time.monotonic() - t0 > 6:
                    break
            elapsed = time.monotonic() - t0
            self.assertTrue(closed, "still open after %.1fs of trickling" % elapsed)
            self.assertLess(elapsed, 3.0)
            self.assertNotIn(b"200 OK", c.buf)
        self.assertEqual(self.srv.request("GET", "/healthz")[0], 200)

    def test_silent_connection_is_closed(self):
        with self.srv.raw() as c:
            t0 = time.monotonic()
            self.assertTrue(c.wait_closed(4), "silent connection kept open")
            self.assertLess(time.monotonic() - t0, 3.0)

    def test_idle_keep_alive_closed(self):
        with self.srv.raw() as c:
            c.send(http_request_bytes("GET", "/healthz"))
            self.assertEqual(c.read_response(timeout=3).status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.wait_closed(4), "idle keep-alive connection kept open")
            elapsed = time.monotonic() - t0
            self.assertLess(elapsed, 3.0)
            self.assertGreater(elapsed, 0.5)

    def test_request_within_idle_timeout_resets_it(self):
        with self.srv.raw() as c:
            for _ in range(4):                  # 4 x 0.5 s > 1 s idle timeout
                c.send(http_request_bytes("GET", "/healthz"))
                self.assertEqual(c.read_response(timeout=3).status, 200)
                time.sleep(0.5)
            c.send(http_request_bytes("GET", "/healthz"))
            self.assertEqual(c.read_response(timeout=3).status, 200)

    # -- openapi --

    def test_openapi(self):
        st, h, doc = self.srv.request("GET", "/v1/openapi.json")
        self.assertEqual(st, 200)
        self.assertTrue(h["Content-Type"].startswith("application/json"))
        self.assertTrue(doc["openapi"].startswith("3."))
        paths = doc["paths"]
        expected = [
            ("get", "/healthz"), ("get", "/v1/openapi.json"),
            ("post", "/v1/auth/login/"), ("post", "/v1/auth/logout/"),
            ("post", "/v1/auth/signup/"), ("get", "/v1/users/me/"),
            ("get", "/v1/tokens/reference/"), ("post", "/v1/tokens/"),
            ("get", "/v1/tokens/"), ("get", "/v1/tokens/{token_id}/"),
            ("patch", "/v1/tokens/{token_id}/"), ("delete", "/v1/tokens/{token_id}/"),
            ("post", "/v1/waitlist/"), ("get", "/v1/waitlist/validate/"),
            ("get", "/v1/invites/"), ("post", "/v1/invites/"),
            ("post", "/v1/invites/accept/"), ("get", "/v1/tenants/"),
            ("patch", "/v1/tenants/"), ("get", "/v1/tenants/reference/"),
            ("get", "/v1/tenants/cap-resources/"), ("get", "/v1/tenants/cap-modes/"),
            ("get", "/v1/sender-rules/reference/"), ("get", "/v1/sender-rules/modes/"),
            ("get", "/v1/sender-rules/"), ("put", "/v1/sender-rules/"),
            ("delete", "/v1/sender-rules/"),
        ]
        for method, path in expected:
            self.assertIn(path, paths)
            self.assertIn(method, paths[path], "%s %s" % (method, path))
        create = paths["/v1/tokens/"]["post"]
        schema = create["requestBody"]["content"]["application/json"]["schema"]
        self.assertIs(schema["additionalProperties"], False)
        self.assertEqual(sorted(schema["required"]), ["inbox_id", "label", "scopes"])
        self.assertEqual(schema["properties"]["scopes"]["type"], "array")
        self.assertEqual(schema["properties"]["scopes"]["items"], {"type": "string"})
        self.assertEqual(paths["/v1/sender-rules/"]["get"]["x-scope"], "workflows:read")
        self.assertEqual(paths["/v1/sender-rules/"]["put"]["x-scope"], "workflows:write")
        self.assertEqual(paths["/v1/tokens/{token_id}/"]["get"]["parameters"][0]["name"],
                         "token_id")
        self.assertIn("201", create["responses"])
        # Every documented operation is routed (never 404/405). The probe
        # body is refused by validation or auth before any handler runs.
        for path, item in paths.items():
            for method in item:
                concrete = re.sub(r"\{[^}]+\}", "probe", path)
                st, _, body = self.srv.request(method.upper(), concrete,
                                               {"__probe__": 1})
                self.assertNotEqual(st, 405, "%s %s -> %d %r" % (method, path, st, body))
                # A 404 may only come from the handler (the probe names no
                # real object), never from routing.
                if st == 404:
                    self.assertNotEqual(body["error"]["message"], "no such endpoint",
                                        "%s %s is not routed" % (method, path))


class ConnectionCapTest(GentdTestCase):
    server_conf = {"http_max_connections": "3"}

    def test_fourth_connection_gets_503(self):
        conns = []
        try:
            for _ in range(3):
                c = self.srv.raw()
                conns.append(c)
                c.send(http_request_bytes("GET", "/healthz"))
                self.assertEqual(c.read_response(timeout=3).status, 200)
            with self.srv.raw() as fourth:
                r = fourth.read_response(timeout=3)
                self.assertEqual(r.status, 503, r)
                self.assertEqual(r.json()["error"]["code"], "unavailable")
                self.assertEqual(r.header("Connection"), "close")
                self.assertTrue(fourth.wait_closed(3))
            # The three are still served.
            for c in conns:
                c.send(http_request_bytes("GET", "/healthz"))
                self.assertEqual(c.read_response(timeout=3).status, 200)
            # Freeing one slot lets a new connection in (bounded retry while
            # the server notices the close).
            conns.pop().close()

            def new_conn_ok():
                try:
                    with self.srv.raw() as c:
                        c.send(http_request_bytes("GET", "/healthz"))
                        return c.read_response(timeout=3).status == 200
                except (OSError, ConnectionClosed):
                    return False
            harness.wait_until(new_conn_ok, timeout=5, interval=0.1,
                               what="a slot to free up")
        finally:
            for c in conns:
                c.close()


if __name__ == "__main__":
    harness.main()
