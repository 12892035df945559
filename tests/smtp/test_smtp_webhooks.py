"""Webhook delivery end to end: mail arrives over SMTP, the event fans out to
alert rules and the inbox webhook, and a real HTTP receiver on loopback
checks every signature (X-Gent-Signature and Standard Webhooks v1). The
receiver fails on purpose to exercise each backoff mode, is absent to make
deliveries undelivered, then comes back for replays. A second gentd with
webhook_allow_private off is pointed at names that resolve (through
dnsmasq) to 127.0.0.1, 10.x and 169.254.x: each is refused at connect
time, and nothing reaches the listener. A gentd started with every proxy
environment variable pointing at a recording listener posts straight to
the receiver, and the listener sees no connection (RELIABILITY row 20;
test_smtp_webhook_ssrf.py has the public-address and redirect cases).

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_webhooks.py
"""

import base64
import hashlib
import hmac
import json
import secrets
import select
import socket
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import harness
from smtp_fixture import MailEnv, SmtpTestCase

RETRY_DELAY = 2.0       # webhook_retry_delay of the first class, seconds
WAIT = 30.0             # bound on every wait for a delivery


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Receiver:
    """HTTP endpoint on 127.0.0.1. fail[path] = n makes the first n POSTs
    to path answer 500. Every request is kept with its arrival time and
    both signature verdicts for the secret registered for its path."""

    def __init__(self, port=0):
        self.requests, self.fail, self.secrets, self.old_secrets = [], {}, {}, {}
        self.hold = {}          # path -> seconds to wait before answering
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = self.path.split("?")[0]
                with outer.lock:
                    rec = outer.record(path, self.headers, body)
                    left = outer.fail.get(path, 0)
                    if left:
                        outer.fail[path] = left - 1
                    rec["answered"] = code = 500 if left else 200
                    hold = outer.hold.get(path, 0)
                if hold:
                    time.sleep(hold)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def record(self, path, headers, body):
        secret = self.secrets.get(path)
        rec = {"path": path, "at": time.monotonic(), "wall": time.time(), "body": body,
               "json": json.loads(body), "headers": dict(headers)}
        if secret:
            gent = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            msg = "%s.%s." % (headers.get("webhook-id"), headers.get("webhook-timestamp"))
            v1 = "v1," + base64.b64encode(hmac.new(
                secret.encode(), msg.encode() + body, hashlib.sha256).digest()).decode()
            rec["gent_ok"] = hmac.compare_digest(gent, headers.get("X-Gent-Signature", ""))
            rec["v1_ok"] = v1 in headers.get("webhook-signature", "").split(" ")
        old = self.old_secrets.get(path)
        if old:
            msg = "%s.%s." % (headers.get("webhook-id"), headers.get("webhook-timestamp"))
            want = "v1," + base64.b64encode(hmac.new(
                old.encode(), msg.encode() + body, hashlib.sha256).digest()).decode()
            rec["v1_old_ok"] = want in headers.get("webhook-signature", "").split(" ")
        self.requests.append(rec)
        return rec

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def at(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def wait(self, path, n, timeout=WAIT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.at(path)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError("%s: %d of %d requests after %.0f s" %
                             (path, len(self.at(path)), n, timeout))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ConnRecorder:
    """A TCP listener that answers nothing and records every connection:
    the peer and the first line it sent (a proxy's CONNECT or GET, the
    request line of a followed redirect). Polls with a timeout, so
    close() ends its thread within a tenth of a second."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.host, self.port = self.sock.getsockname()[:2]
        self.seen, self.lock, self.stopping = [], threading.Lock(), False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                conn, peer = self.sock.accept()
            except OSError:
                continue
            rec = {"peer": peer, "line": b""}
            with self.lock:
                self.seen.append(rec)
            conn.settimeout(1.0)
            try:
                rec["line"] = conn.recv(4096).split(b"\r\n")[0]
            except OSError:
                pass
            conn.close()

    def connections(self):
        with self.lock:
            return list(self.seen)

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class WebhookCase(SmtpTestCase):
    inboxes = ("bot", "bot2")

    def api(self, method, path, body=None, status=None, token=None):
        st, _, out = self.srv.request(method, path, body,
                                      token=token or self.env.acct.session)
        if status is not None:
            self.assertEqual(st, status, out)
        return out

    def rule(self, path_or_url, events=("message.received",), **kw):
        body = {"inbox_id": self.env.inboxes["bot"], "events": list(events),
                "url": path_or_url}
        body.update(kw)
        return self.api("POST", "/v1/alerts/", body, 201)

    def deliveries(self, query):
        return self.api("GET", "/v1/webhook-deliveries/?" + query, None, 200)["data"]

    def wait_status(self, alert_id, status, n=1, timeout=WAIT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = [d for d in self.deliveries("alert_id=" + alert_id)
                   if d["status"] == status]
            if len(got) >= n:
                return got
            time.sleep(0.1)
        raise AssertionError("alert %s: no %s delivery in %.0f s: %r" % (
            alert_id, status, timeout, self.deliveries("alert_id=" + alert_id)))

    def mail(self, local="bot"):
        subject = "hook " + secrets.token_hex(4)
        self.assertEqual(self.env.send(subject, [self.env.addr(local)]).code, 250)
        return self.env.by_subject(subject, local)[0]


class WebhookDeliveryTest(WebhookCase):
    smtp_conf = {"webhook_allow_private": "true",
                 "webhook_retry_delay": "%ds" % RETRY_DELAY}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rx = Receiver()
        cls.addClassCleanup(cls.rx.close)

    def disable_all(self):
        """Rules of earlier tests would fire too: disable them."""
        for r in self.api("GET", "/v1/alerts/?inbox_id=" + self.env.inboxes["bot"],
                          None, 200)["data"]:
            if r["enabled"]:
                self.api("POST", "/v1/alerts/%s/disable/" % r["id"], None, 200)

    def setUp(self):
        self.disable_all()

    def test_message_received_is_signed_and_logged(self):
        secret = "s3cret-" + secrets.token_hex(8)
        self.rx.secrets["/signed"] = secret
        rule = self.rule(self.rx.url("/signed"), secret=secret)
        m = self.mail()
        req = self.rx.wait("/signed", 1)[0]
        self.assertTrue(req["gent_ok"], req["headers"])
        self.assertTrue(req["v1_ok"], req["headers"])
        ev = req["json"]
        self.assertEqual(ev["type"], "message.received")
        self.assertEqual(ev["message_id"], m["id"])
        self.assertEqual(ev["thread_id"], m["thread_id"])
        self.assertEqual(ev["inbox_id"], self.env.inboxes["bot"])
        self.assertEqual(req["headers"]["X-Gent-Event"], "message.received")
        self.assertEqual(req["headers"]["Content-Type"], "application/json")
        ts = int(req["headers"]["webhook-timestamp"])
        self.assertLess(abs(ts - time.time()), 300)
        d = self.wait_status(rule["id"], "delivered")[0]
        self.assertEqual(d["id"], req["headers"]["webhook-id"])
        self.assertEqual(d["attempts"], 1)
        self.assertEqual(d["event_type"], "message.received")
        self.assertEqual(d["payload"], ev)
        full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
        self.assertEqual([(a["n"], a["result"], a["http_code"])
                          for a in full["attempt_log"]], [(1, "delivered", 200)])
        self.assertEqual(full["attempt_log"][0]["connected_ip"], "127.0.0.1")
        # The other inbox's mail does not fire this inbox's rule.
        self.mail("bot2")
        time.sleep(1.0)
        self.assertEqual(len(self.rx.at("/signed")), 1)

    def test_secret_rotation_signs_with_both_for_a_while(self):
        old, new = "old-secret-0123456789", "new-secret-0123456789"
        self.rx.secrets["/rotate"] = old
        rule = self.rule(self.rx.url("/rotate"), secret=old)
        self.mail()
        first = self.rx.wait("/rotate", 1)[0]
        self.assertTrue(first["gent_ok"] and first["v1_ok"])
        self.assertEqual(len(first["headers"]["webhook-signature"].split(" ")), 1)
        self.api("PATCH", "/v1/alerts/%s/" % rule["id"], {"secret": new}, 200)
        self.rx.secrets["/rotate"] = new
        self.rx.old_secrets["/rotate"] = old
        self.mail()
        second = self.rx.wait("/rotate", 2)[1]
        self.assertTrue(second["gent_ok"], second["headers"])   # the new secret
        self.assertTrue(second["v1_ok"], second["headers"])
        self.assertTrue(second["v1_old_ok"], second["headers"])  # and the old one
        self.assertEqual(len(second["headers"]["webhook-signature"].split(" ")), 2)
        # Changing anything else keeps the rotation as it was.
        self.api("PATCH", "/v1/alerts/%s/" % rule["id"], {"attempts": 2}, 200)
        self.mail()
        third = self.rx.wait("/rotate", 3)[2]
        self.assertTrue(third["v1_ok"] and third["v1_old_ok"], third["headers"])

    def test_secrets_are_stored_sealed(self):
        """Alert and inbox webhook secrets sign deliveries but are not in
        any data file (nor the log) as given: only sealed."""
        alert_secret = "alert-plain-" + secrets.token_hex(12)
        inbox_secret = "inbox-plain-" + secrets.token_hex(12)
        self.rx.secrets["/sealed"] = alert_secret
        rule = self.rule(self.rx.url("/sealed"), secret=alert_secret)
        inbox = self.env.inboxes["bot2"]
        self.rx.secrets["/sealed-inbox"] = inbox_secret
        self.api("PUT", "/v1/inboxes/%s/webhook/" % inbox,
                 {"url": self.rx.url("/sealed-inbox"), "secret": inbox_secret}, 200)
        self.addCleanup(self.api, "DELETE", "/v1/inboxes/%s/webhook/" % inbox)
        self.mail()
        self.mail("bot2")
        got = self.rx.wait("/sealed", 1)[0]
        self.assertTrue(got["gent_ok"] and got["v1_ok"])
        got = self.rx.wait("/sealed-inbox", 1)[0]
        self.assertTrue(got["gent_ok"] and got["v1_ok"])
        self.wait_status(rule["id"], "delivered")
        for plain in (alert_secret, inbox_secret):
            self.assertEqual(self.srv.data_files_contain(plain), [])
            self.assertNotIn(plain, self.srv.log_text())
        self.assertNotEqual(self.srv.data_files_contain("sealed1:"), [])
        # A secret that looks sealed is refused rather than stored as is.
        st, _, err = self.srv.request("PATCH", "/v1/alerts/%s/" % rule["id"],
                                      {"secret": "sealed1:" + "00" * 40},
                                      token=self.env.acct.session)
        self.assertEqual(st, 400, err)

    def test_each_backoff_mode(self):
        rules = {}
        for mode in ("immediate", "fixed", "exponential"):
            path = "/backoff-" + mode
            self.rx.fail[path] = 2
            rules[mode] = self.rule(self.rx.url(path), attempts=3, backoff=mode,
                                    secret="key-of-the-mode-" + mode)
            self.rx.secrets[path] = "key-of-the-mode-" + mode
        self.mail()
        gaps = {}
        for mode, rule in rules.items():
            got = self.rx.wait("/backoff-" + mode, 3)
            self.assertEqual([r["answered"] for r in got], [500, 500, 200])
            self.assertTrue(all(r["gent_ok"] and r["v1_ok"] for r in got))
            self.assertEqual(len({r["headers"]["webhook-id"] for r in got}), 1)
            # Each attempt is stamped when it is sent, not when the event
            # happened, so receivers' replay windows accept the retries.
            for r in got:
                self.assertLess(abs(int(r["headers"]["webhook-timestamp"]) - r["wall"]),
                                2, (mode, r["headers"]))
            gaps[mode] = [got[1]["at"] - got[0]["at"], got[2]["at"] - got[1]["at"]]
            d = self.wait_status(rule["id"], "delivered")[0]
            self.assertEqual(d["attempts"], 3)
            full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
            self.assertEqual([(a["result"], a["http_code"]) for a in full["attempt_log"]],
                             [("http-error", 500), ("http-error", 500),
                              ("delivered", 200)])
        self.assertLess(max(gaps["immediate"]), RETRY_DELAY * 0.75, gaps)
        for g in gaps["fixed"]:
            self.assertGreaterEqual(g, RETRY_DELAY * 0.95, gaps)
        self.assertGreaterEqual(gaps["exponential"][0], RETRY_DELAY * 0.95, gaps)
        self.assertGreaterEqual(gaps["exponential"][1], 2 * RETRY_DELAY * 0.95, gaps)

    def test_undelivered_then_replayed(self):
        port = free_port()          # nothing listens here yet
        rule = self.rule("http://127.0.0.1:%d/late" % port, attempts=2,
                         backoff="immediate", secret="late-secret-0123456789")
        self.mail()
        d = self.wait_status(rule["id"], "undelivered")[0]
        self.assertEqual(d["attempts"], 2)
        self.assertTrue(d["last_error"])
        full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
        self.assertEqual([a["result"] for a in full["attempt_log"]],
                         ["network-error", "network-error"])
        back = Receiver(port)
        self.addCleanup(back.close)
        back.secrets["/late"] = "late-secret-0123456789"
        out = self.api("POST", "/v1/webhook-deliveries/%s/replay/" % d["id"], {}, 202)
        self.assertEqual(out["status"], "pending")
        req = back.wait("/late", 1)[0]
        self.assertTrue(req["gent_ok"] and req["v1_ok"])
        self.assertEqual(req["headers"]["webhook-id"], d["id"])
        self.assertLess(abs(int(req["headers"]["webhook-timestamp"]) - req["wall"]), 2)
        self.assertEqual(req["json"], d["payload"])
        done = self.wait_status(rule["id"], "delivered")[0]
        self.assertEqual(done["attempts"], 3)
        # Replaying a delivered one sends it again; unknown ids are 404.
        self.api("POST", "/v1/webhook-deliveries/%s/replay/" % d["id"], {}, 202)
        back.wait("/late", 2)
        self.api("POST", "/v1/webhook-deliveries/whd_nosuch/replay/", {}, 404)
        # Bulk replay picks every undelivered delivery of the inbox.
        back.fail["/late"] = 10
        self.mail()
        self.mail()
        self.wait_status(rule["id"], "undelivered", n=2)
        back.fail["/late"] = 0
        out = self.api("POST", "/v1/webhook-deliveries/replay/",
                       {"inbox_id": self.env.inboxes["bot"]}, 202)
        self.assertGreaterEqual(out["replayed"], 2)
        self.wait_status(rule["id"], "delivered", n=3)

    def test_label_filter(self):
        inbox = self.env.inboxes["bot"]
        wanted = self.api("POST", "/v1/labels/", {"inbox_id": inbox,
                          "name": "w-" + secrets.token_hex(3)}, 201)
        other = self.api("POST", "/v1/labels/", {"inbox_id": inbox,
                         "name": "o-" + secrets.token_hex(3)}, 201)
        rule = self.rule(self.rx.url("/label"), events=("label.applied",
                         "message.received"), filter={"label_id": wanted["id"]})
        m = self.mail()             # carries no label: message.received skipped
        self.api("POST", "/v1/messages/%s/labels/" % m["id"],
                 {"label_id": other["id"]}, 204)
        self.api("POST", "/v1/messages/%s/labels/" % m["id"],
                 {"label_id": wanted["id"]}, 204)
        req = self.rx.wait("/label", 1)[0]
        self.assertEqual(req["json"]["type"], "label.applied")
        self.assertEqual(req["json"]["payload"]["label_id"], wanted["id"])
        time.sleep(1.0)
        self.assertEqual(len(self.rx.at("/label")), 1)
        self.assertEqual(len(self.deliveries("alert_id=" + rule["id"])), 1)

    def test_alert_test_endpoint(self):
        self.rx.secrets["/probe"] = "probe-secret-0123456789"
        rule = self.rule(self.rx.url("/probe"), secret="probe-secret-0123456789")
        out = self.api("POST", "/v1/alerts/test/", {"alert_id": rule["id"]}, 202)
        req = self.rx.wait("/probe", 1)[0]
        self.assertEqual(req["json"]["type"], "alert.test")
        self.assertEqual(req["json"]["payload"], {"alert_id": rule["id"], "test": True})
        self.assertTrue(req["gent_ok"] and req["v1_ok"])
        d = self.wait_status(rule["id"], "delivered")[0]
        self.assertEqual(d["id"], out["delivery_id"])
        self.api("POST", "/v1/alerts/test/", {"alert_id": "alrt_nosuch"}, 404)
        self.api("POST", "/v1/alerts/test/", {}, 400)
        self.api("POST", "/v1/alerts/test/", {"alert_id": rule["id"], "x": 1}, 400)

    def test_inbox_webhook(self):
        inbox = self.env.inboxes["bot2"]
        self.rx.secrets["/inbox"] = "inbox-secret-0123456789"
        self.api("PUT", "/v1/inboxes/%s/webhook/" % inbox,
                 {"url": self.rx.url("/inbox"), "secret": "inbox-secret-0123456789"}, 200)
        self.addCleanup(self.api, "DELETE", "/v1/inboxes/%s/webhook/" % inbox)
        m = self.mail("bot2")
        req = self.rx.wait("/inbox", 1)[0]
        self.assertTrue(req["gent_ok"] and req["v1_ok"])
        self.assertEqual(req["json"]["message_id"], m["id"])
        d = self.deliveries("inbox_id=%s&event_id=%s" % (inbox, req["json"]["id"]))
        self.assertEqual(len(d), 1)
        self.assertIsNone(d[0]["alert_id"])

    def test_label_notify_policy_reaches_the_inbox_webhook(self):
        """notify: "send a webhook notification whenever this label is
        applied", by hand or by an auto-label rule, to the inbox webhook,
        which lists only message.received; a label without it sends none."""
        inbox = self.env.inboxes["bot2"]
        self.rx.secrets["/notify"] = "notify-secret-0123456789"
        self.api("PUT", "/v1/inboxes/%s/webhook/" % inbox,
                 {"url": self.rx.url("/notify"), "secret": "notify-secret-0123456789"}, 200)
        self.addCleanup(self.api, "DELETE", "/v1/inboxes/%s/webhook/" % inbox)
        loud = self.api("POST", "/v1/labels/", {"inbox_id": inbox, "name": "loud",
                                                 "policies": {"notify": True}}, 201)
        quiet = self.api("POST", "/v1/labels/", {"inbox_id": inbox, "name": "quiet"}, 201)
        m = self.mail("bot2")
        self.rx.wait("/notify", 1)                  # its message.received
        for lab in (quiet, loud):
            self.api("POST", "/v1/messages/%s/labels/?inbox_id=%s" % (m["id"], inbox),
                     {"label_id": lab["id"]}, 204)
        got = self.rx.wait("/notify", 2)
        applied = [r["json"] for r in got if r["json"]["type"] == "label.applied"]
        self.assertEqual([(a["message_id"], a["payload"]["label_id"]) for a in applied],
                         [(m["id"], loud["id"])])
        self.assertTrue(all(r["gent_ok"] and r["v1_ok"] for r in got))
        # On arrival, through an auto-label rule.
        rule = self.api("POST", "/v1/auto-label-rules/", {
            "inbox_id": inbox, "label_id": loud["id"],
            "conditions": [{"type": "subject_pattern", "value": "hook *"}]}, 201)
        self.addCleanup(self.api, "DELETE", "/v1/auto-label-rules/%s/?inbox_id=%s"
                        % (rule["id"], inbox))
        m2 = self.mail("bot2")
        got = self.rx.wait("/notify", 4)
        applied = [r["json"] for r in got[2:] if r["json"]["type"] == "label.applied"]
        self.assertEqual([(a["message_id"], a["payload"]["source"]) for a in applied],
                         [(m2["id"], "auto_label_rule")])
        time.sleep(0.5)
        self.assertEqual(len(self.rx.at("/notify")), 4)

    def test_tokens_see_their_inbox_and_need_write_scope(self):
        rule = self.rule(self.rx.url("/scoped"))
        self.mail()
        d = self.wait_status(rule["id"], "delivered")[0]
        toks = {}
        for local, scopes in (("bot", ["alerts:read"]), ("bot2", ["alerts:read",
                                                                 "alerts:write"])):
            toks[local] = self.api("POST", "/v1/tokens/", {
                "inbox_id": self.env.inboxes[local], "label": "hooks " + local,
                "scopes": scopes}, 201)["raw_token"]
        mine = self.api("GET", "/v1/webhook-deliveries/", token=toks["bot"], status=200)
        self.assertIn(d["id"], [x["id"] for x in mine["data"]])
        self.api("POST", "/v1/webhook-deliveries/%s/replay/" % d["id"], {},
                 token=toks["bot"], status=403)
        self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], token=toks["bot2"],
                 status=404)
        self.api("POST", "/v1/webhook-deliveries/%s/replay/" % d["id"], {},
                 token=toks["bot2"], status=404)
        theirs = self.api("GET", "/v1/webhook-deliveries/", token=toks["bot2"],
                          status=200)
        self.assertNotIn(d["id"], [x["id"] for x in theirs["data"]])
        self.api("GET", "/v1/webhook-deliveries/?status=lost", status=400)
        self.api("GET", "/v1/webhook-deliveries/?bogus=1", status=400)

    def test_killed_mid_delivery_is_delivered_after_restart(self):
        """gentd dies with a post in flight (the receiver holds its answer):
        after the restart the delivery is made again, with the same id."""
        self.rx.hold["/inflight"] = 3.0
        rule = self.rule(self.rx.url("/inflight"), attempts=3, backoff="immediate")
        self.mail()
        first = self.rx.wait("/inflight", 1)[0]
        self.srv.kill()
        self.rx.hold["/inflight"] = 0
        self.srv.start()
        again = self.rx.wait("/inflight", 2)[1]
        self.assertEqual(again["headers"]["webhook-id"], first["headers"]["webhook-id"])
        d = self.wait_status(rule["id"], "delivered")[0]
        self.assertEqual(d["id"], first["headers"]["webhook-id"])

    def test_delivery_survives_kill_9(self):
        """A delivery owed when gentd dies is made after the restart."""
        port = free_port()
        rule = self.rule("http://127.0.0.1:%d/after-restart" % port, attempts=5,
                         backoff="fixed")
        self.mail()
        self.wait_status(rule["id"], "pending")
        self.srv.kill()
        self.srv.start()
        back = Receiver(port)
        self.addCleanup(back.close)
        back.wait("/after-restart", 1)
        self.wait_status(rule["id"], "delivered")


    def test_a_stuck_endpoint_does_not_hold_up_mail(self):
        """An endpoint that accepts connections and never answers: mail
        keeps arriving and the API keeps answering while its deliveries
        are in flight."""
        stuck = socket.socket()
        stuck.bind(("127.0.0.1", 0))
        stuck.listen(64)
        self.addCleanup(stuck.close)
        rule = self.rule("http://127.0.0.1:%d/stuck" % stuck.getsockname()[1],
                         attempts=1)
        healthy = self.rule(self.rx.url("/healthy"))
        self.mail()
        self.wait_status(rule["id"], "delivering")     # now stuck in flight
        ids = [self.mail()["id"] for _ in range(24)]
        listed = {m["id"] for m in self.env.messages("bot")}
        self.assertTrue(set(ids) <= listed)
        # The other endpoint gets every event meanwhile; the stuck one has
        # at most 16 in flight (the rest wait their turn, pending).
        self.rx.wait("/healthy", 25)
        self.wait_status(rule["id"], "delivering", n=16)
        states = [d["status"] for d in self.deliveries(
            "limit=200&alert_id=" + rule["id"])]
        self.assertEqual(states.count("delivering"), 16, states)
        self.assertEqual(states.count("pending"), 9, states)
        self.api("POST", "/v1/alerts/%s/disable/" % rule["id"], None, 200)
        self.api("POST", "/v1/alerts/%s/disable/" % healthy["id"], None, 200)

    def test_auth_failed_counts_a_run_of_refusals(self):
        inbox = self.env.inboxes["bot"]
        self.api("PATCH", "/v1/tenants/", {"governance_tier": "token_controls"}, 200)
        tok = self.api("POST", "/v1/tokens/", {"inbox_id": inbox, "label": "pausable",
                       "scopes": ["email:read"]}, 201)
        path = "/v1/tokens/%s/?inbox_id=%s" % (tok["token_id"], inbox)
        rule = self.rule(self.rx.url("/auth"), events=("auth.failed",), threshold=2)

        def refused(n):
            for _ in range(n):
                st, _, _ = self.srv.request("GET", "/v1/messages/",
                                            token=tok["raw_token"])
                self.assertEqual(st, 401)

        self.api("PATCH", path, {"action": "pause"}, 200)
        refused(3)
        self.api("PATCH", path, {"action": "resume"}, 200)
        st, _, _ = self.srv.request("GET", "/v1/messages/", token=tok["raw_token"])
        self.assertEqual(st, 200)
        self.api("PATCH", path, {"action": "pause"}, 200)
        refused(2)
        feed = self.api("GET", "/v1/events/?type=auth.failed&inbox_id=" + inbox,
                        None, 200)["data"]
        mine = [e["payload"]["consecutive"] for e in feed
                if e["payload"]["token_id"] == tok["token_id"]]
        self.assertEqual(mine, [1, 2, 3, 1, 2])
        self.assertEqual(feed[0]["payload"]["reason"], "token is paused")
        # threshold 2: one delivery per run of refusals, at the second.
        got = self.rx.wait("/auth", 2)
        self.assertEqual([r["json"]["payload"]["consecutive"] for r in got], [2, 2])
        time.sleep(1.0)
        self.assertEqual(len(self.rx.at("/auth")), 2)
        self.assertEqual(len(self.deliveries("alert_id=" + rule["id"])), 2)

    def test_storage_threshold(self):
        inbox = self.env.inboxes["bot2"]
        # 0.00001 GiB = 10737 bytes; alerts at 50% and 90%.
        self.api("PUT", "/v1/billing/caps/mailbox/", {"inbox_id": inbox,
                 "limit_gb": 0.00001, "mode": "allow_and_bill",
                 "alert_thresholds": [50, 90]}, status=200)
        self.addCleanup(self.api, "DELETE", "/v1/billing/caps/mailbox/?inbox_id=" + inbox)
        st, _, start = self.srv.request("GET", "/v1/events/?limit=200&type="
                                        "storage.threshold&inbox_id=" + inbox,
                                        token=self.env.acct.session)
        seen = len(start["data"])
        big = "x" * 70 + "\r\n"
        quota = self.api("GET", "/v1/inboxes/%s/quota/" % inbox, None, 200)
        crossings = []
        for _ in range(40):         # bounded: each adds about 3 KB
            subject = "fill " + secrets.token_hex(3)
            self.assertEqual(self.env.send(subject, [self.env.addr("bot2")],
                                           body=big * 40).code, 250)
            quota = self.api("GET", "/v1/inboxes/%s/quota/" % inbox, None, 200)
            if quota["used_pct"] >= 95:
                break
        feed = self.api("GET", "/v1/events/?limit=200&type=storage.threshold&"
                        "inbox_id=" + inbox, None, 200)["data"][seen:]
        self.assertEqual([e["payload"]["threshold"] for e in feed], [50, 90], feed)
        for e in feed:
            self.assertGreaterEqual(e["payload"]["percent"], e["payload"]["threshold"])
            self.assertEqual(e["payload"]["limit_bytes"], 10737)


class WebhookFreshServerTest(WebhookCase):
    """A gentd with no subscription at first; finished deliveries go with
    the audit log's retention."""
    smtp_conf = {"webhook_allow_private": "true", "audit_retention": "3s",
                 "expiry_interval": "1s"}

    def test_a_new_rule_gets_only_later_events(self):
        """With nothing subscribed the dispatcher writes nothing; the first
        rule starts at the end of the log, so earlier mail is not sent."""
        rx = Receiver()
        self.addCleanup(rx.close)
        early = self.mail()
        time.sleep(1.0)             # two dispatcher ticks with nothing to do
        rule = self.rule(rx.url("/fresh"))
        late = self.mail()
        got = rx.wait("/fresh", 1)
        time.sleep(1.0)
        self.assertEqual([r["json"]["message_id"] for r in rx.at("/fresh")],
                         [late["id"]])
        self.assertNotEqual(early["id"], late["id"])
        self.api("POST", "/v1/alerts/%s/disable/" % rule["id"], None, 200)
        self.assertEqual(len(got), 1)

    def test_finished_deliveries_are_pruned(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        rule = self.rule(rx.url("/kept"))
        self.mail()
        d = self.wait_status(rule["id"], "delivered")[0]
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            st, _, _ = self.srv.request("GET", "/v1/webhook-deliveries/%s/" % d["id"],
                                        token=self.env.acct.session)
            if st == 404:
                break
            self.assertEqual(st, 200)
            time.sleep(0.2)
        self.assertEqual(st, 404)
        # The event log goes with it (the rule is done with the event).
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            ids = [e["id"] for e in self.api("GET", "/v1/events/?limit=200&inbox_id="
                                             + self.env.inboxes["bot"], None, 200)["data"]]
            if d["event_id"] not in ids:
                break
            time.sleep(0.2)
        self.assertNotIn(d["event_id"], ids)


class WebhookSsrfTest(WebhookCase):
    """webhook_allow_private off: names resolving to private space."""
    smtp_conf = {"webhook_allow_private": "false"}

    def test_private_targets_are_refused_at_connect_time(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.2)
        self.addCleanup(listener.close)
        port = listener.getsockname()[1]
        zone = "hooks-" + secrets.token_hex(3) + ".test"
        targets = {"lo." + zone: "127.0.0.1", "ten." + zone: "10.1.2.3",
                   "meta." + zone: "169.254.169.254"}
        self.dns.publish(zone, a=targets)
        rules = {}
        for name, ip in targets.items():
            url = "https://%s:%d/hook" % (name, port)
            rules[ip] = self.rule(url)      # a public-looking name is accepted
        # An address literal is refused when the rule is made.
        st, _, err = self.srv.request("POST", "/v1/alerts/", {
            "inbox_id": self.env.inboxes["bot"], "events": ["message.received"],
            "url": "https://127.0.0.1:%d/hook" % port}, token=self.env.acct.session)
        self.assertEqual(st, 400, err)
        self.mail()
        for ip, rule in rules.items():
            d = self.wait_status(rule["id"], "undelivered")[0]
            self.assertEqual(d["attempts"], 1, d)    # refused: no retries
            full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
            self.assertEqual(full["attempt_log"][0]["result"], "refused", full)
            self.assertIn(ip, full["attempt_log"][0]["error"], full)
        try:
            conn, _ = listener.accept()
            conn.close()
            self.fail("a refused webhook reached the listener")
        except socket.timeout:
            pass



# Every variable libcurl reads a proxy from (it reads http_proxy only in
# lower case, the rest in either), and no exceptions.
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY")


def proxy_env(proxy_url):
    env = {k: proxy_url for k in PROXY_VARS}
    env.update(no_proxy="", NO_PROXY="")
    return env


class WebhookEnvCase(WebhookCase):
    """A WebhookCase whose gentd runs with gentd_env added to its
    environment; proxy_env() of a recording listener that the class makes."""
    gentd_env = {}

    @classmethod
    def make_gentd_env(cls):
        return dict(cls.gentd_env)

    @classmethod
    def setUpClass(cls):
        super(SmtpTestCase, cls).setUpClass()      # harness: no server yet
        env = cls.make_gentd_env()
        cls.env = MailEnv(dict(cls.smtp_conf), inboxes=cls.inboxes,
                          name=cls.__name__,
                          make_srv=lambda c, n: harness.Gentd(c, env=env, name=n))
        cls.addClassCleanup(cls.env.cleanup)
        cls.srv, cls.port, cls.dns = cls.env.srv, cls.env.port, cls.env.dns


def wait_first(checks, timeout=WAIT):
    """Poll until one of checks (name -> callable) returns something true;
    returns that name, or None after timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for name, check in checks.items():
            if check():
                return name
        time.sleep(0.05)
    return None


class WebhookProxyEnvTest(WebhookEnvCase):
    """Proxy environment variables are ignored: gentd started with all of
    them pointing at a listener still posts straight to the receiver."""
    smtp_conf = {"webhook_allow_private": "true"}

    @classmethod
    def make_gentd_env(cls):
        cls.proxy = ConnRecorder()
        cls.addClassCleanup(cls.proxy.close)
        return proxy_env("http://127.0.0.1:%d" % cls.proxy.port)

    def test_proxy_environment_is_ignored(self):
        with open("/proc/%d/environ" % self.srv.proc.pid, "rb") as f:
            env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if kv)
        for k in PROXY_VARS:        # the daemon really has them
            self.assertEqual(env.get(k), "http://127.0.0.1:%d" % self.proxy.port, k)
        rx = Receiver()
        self.addCleanup(rx.close)
        rule = self.rule(rx.url("/direct"))
        self.mail()
        # A proxied post would hang at the silent listener: stop at
        # whichever shows first.
        first = wait_first({"receiver": lambda: rx.at("/direct"),
                            "proxy": self.proxy.connections})
        self.assertEqual(self.proxy.connections(), [],
                         "gentd went through the proxy from its environment")
        self.assertEqual(first, "receiver")
        d = self.wait_status(rule["id"], "delivered")[0]
        full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
        self.assertEqual(full["attempt_log"][0]["connected_ip"], "127.0.0.1")
        time.sleep(0.5)
        self.assertEqual(self.proxy.connections(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
