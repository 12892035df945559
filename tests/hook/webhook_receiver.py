#!/usr/bin/python3
"""webhook_receiver.py - the HTTP endpoint test_webhook_http.c posts to.

Usage: webhook_receiver.py LOGFILE SECRET

Binds 127.0.0.1 on a free port, prints the port on stdout, and appends one
JSON line per request to LOGFILE before answering, so a request the client
saw answered is always in the log. It verifies both signatures itself
(X-Gent-Signature keyed with SECRET's bytes; Standard Webhooks v1 keyed
with the base64 after "whsec_") and records the verdicts.

Paths: /ok -> 200, /fail -> 500, /redirect -> 302 to /target,
/target -> 200, /slow -> 200 after 5 s, /big -> 200 with 1 MiB.
It exits when its parent goes away or after 120 s, whichever is first.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, SECRET = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()


def verdicts(headers, body):
    gent = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    key = (base64.b64decode(SECRET[6:]) if SECRET.startswith("whsec_")
           else SECRET.encode())
    msg = "{}.{}.".format(headers.get("webhook-id", ""),
                          headers.get("webhook-timestamp", "")).encode()
    v1 = "v1," + base64.b64encode(
        hmac.new(key, msg + body, hashlib.sha256).digest()).decode()
    return (hmac.compare_digest(gent, headers.get("X-Gent-Signature", "")),
            hmac.compare_digest(v1, headers.get("webhook-signature", "")))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        gent_ok, v1_ok = verdicts(self.headers, body)
        rec = {
            "path": self.path,
            "method": self.command,
            "content_type": self.headers.get("Content-Type"),
            "user_agent": self.headers.get("User-Agent"),
            "x_gent_signature": self.headers.get("X-Gent-Signature"),
            "webhook_id": self.headers.get("webhook-id"),
            "webhook_timestamp": self.headers.get("webhook-timestamp"),
            "webhook_signature": self.headers.get("webhook-signature"),
            "body": body.decode("utf-8", "replace"),
            "gent_ok": gent_ok,
            "v1_ok": v1_ok,
        }
        with LOCK, open(LOG, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if self.path == "/fail":
            self.answer(500, b"nope")
        elif self.path == "/redirect":
            self.answer(302, b"", [("Location", "/target")])
        elif self.path == "/slow":
            time.sleep(5)
            self.answer(200, b"late")
        elif self.path == "/big":
            self.answer(200, b"x" * (1024 * 1024))
        else:
            self.answer(200, b"ok")

    def answer(self, code, payload, extra=()):
        try:
            self.send_response(code)
            for k, v in extra:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass	# the client gave up (timeout, cap); expected


def watchdog(parent):
    deadline = time.time() + 120
    while os.getppid() == parent and time.time() < deadline:
        time.sleep(0.2)
    os._exit(0)


def main():
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=watchdog, args=(os.getppid(),),
                     daemon=True).start()
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


main()
