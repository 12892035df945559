"""Webhook SSRF end to end against public addresses (RELIABILITY.md row 20):
gentd with webhook_allow_private off posts over HTTPS to a receiver on a
public-looking address, which answers 3xx towards the cloud metadata
address, loopback, another public address and itself. The delivery is
recorded undelivered with the 3xx, and no redirect target sees a
connection. The same gentd runs with every proxy variable pointing at a
recording listener, which sees nothing either.

No traffic leaves the machine: the file re-runs itself under
`ip netns exec` in a network namespace it makes, whose only interface is
lo carrying 127.0.0.1 and the test addresses below (no route out). There,
in the private mount namespace ip gives it, a directory holding only a
test certificate is bind-mounted on /etc/ssl/certs, so gentd's libcurl
trusts the receiver (gentd has no CA setting of its own). dnsmasq names
the receiver. Without root or network namespaces the file prints why on
stdout and exits 77, which meson counts as skipped, not passed.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_webhook_ssrf.py
"""

import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from test_smtp_webhooks import ConnRecorder, WebhookEnvCase, \
    proxy_env, wait_first

NETNS_VAR = "SSRF_TEST_NETNS"   # set for the run inside the namespace
SKIP = 77                       # meson: skipped
INNER_TIMEOUT = 270             # meson's timeout for the file is 300 s

# Outside every range webhook_url.c's v4_private() lists (45/8 is plain
# unicast), so gentd treats them as the public internet; here they exist
# only on the namespace's lo.
RECEIVER_IP = "45.76.0.1"       # the webhook endpoint (HTTPS)
OTHER_IP = "45.76.0.2"          # a public redirect target; untrusted TLS
PROXY_IP = "45.76.0.3"          # where the proxy variables point
METADATA_IP = "169.254.169.254"
NETNS_ADDRS = (RECEIVER_IP, OTHER_IP, PROXY_IP, METADATA_IP)

CERT_DIR = None                 # inside: directory of the trusted pair
ZONE = "public-%s.test" % secrets.token_hex(4)
HOOK_NAME = "hook." + ZONE      # -> RECEIVER_IP, in the trusted cert
UNTRUSTED_NAME = "untrusted." + ZONE     # -> OTHER_IP, cert not trusted


def skip(reason):
    print("SKIP test_smtp_webhook_ssrf: %s" % reason, flush=True)
    return SKIP


# --------------------------------------------------------------------------
# Outside: make the namespace, run this file in it, remove it
# --------------------------------------------------------------------------

def run_ip(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)


def netns_pids(name):
    p = run_ip("netns", "pids", name)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def outside():
    if os.geteuid() != 0:
        return skip("needs root to make a network namespace")
    if not shutil.which("ip") or not shutil.which("mount"):
        return skip("needs ip (iproute2) and mount")
    name = "gentd-ssrf-%d-%s" % (os.getpid(), secrets.token_hex(3))
    p = run_ip("netns", "add", name)
    if p.returncode != 0:
        return skip("ip netns add failed: %s" % p.stderr.strip())

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    proc = None
    try:
        for args in [("link", "set", "lo", "up")] + \
                [("addr", "add", a + "/32", "dev", "lo") for a in NETNS_ADDRS]:
            p = run_ip("-n", name, *args)
            if p.returncode != 0:
                return skip("ip -n %s %s: %s" % (name, " ".join(args),
                                                  p.stderr.strip()))
        env = dict(os.environ)
        env[NETNS_VAR] = name
        proc = subprocess.Popen(["ip", "netns", "exec", name, sys.executable,
                                 os.path.abspath(__file__)] + sys.argv[1:],
                                env=env, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            return proc.wait(timeout=INNER_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("FAIL test_smtp_webhook_ssrf: no result after %d s"
                  % INNER_TIMEOUT, flush=True)
            return 1
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        # Whatever of ours still runs in the namespace (gentd, dnsmasq).
        for pid in netns_pids(name):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        run_ip("netns", "del", name)


# --------------------------------------------------------------------------
# Inside: check where we are, trust the test certificate
# --------------------------------------------------------------------------

def ns_id(pid, kind):
    return os.readlink("/proc/%s/ns/%s" % (pid, kind))


def make_cert(directory, name, ip):
    """A self-signed pair for name and ip; (cert_path, key_path)."""
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=" + name, "-days", "2",
                        "-addext", "subjectAltName=DNS:%s,IP:%s" % (name, ip),
                        "-keyout", key, "-out", cert],
                       capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError("openssl req failed: %s" % p.stderr)
    return cert, key


def inside_setup():
    """None when ready, else why not. Refuses unless this process is in
    a network and a mount namespace of its own, with nothing but lo."""
    global CERT_DIR
    parent = os.getppid()
    if ns_id("self", "net") == ns_id(parent, "net"):
        return "not inside the test's network namespace"
    if ns_id("self", "mnt") == ns_id(parent, "mnt"):
        return "ip netns exec gave no private mount namespace"
    links = sorted(os.listdir("/sys/class/net"))
    if links != ["lo"]:
        return "the namespace has interfaces besides lo: %s" % links
    CERT_DIR = tempfile.mkdtemp(prefix="gentd-ssrf-certs-")
    trusted = os.path.join(CERT_DIR, "trusted")
    os.mkdir(trusted)
    cert, _ = make_cert(CERT_DIR, HOOK_NAME, RECEIVER_IP)
    make_cert(CERT_DIR, UNTRUSTED_NAME, OTHER_IP)
    shutil.copy(cert, os.path.join(trusted, "ca-certificates.crt"))
    os.chmod(trusted, 0o755)
    p = subprocess.run(["mount", "--bind", trusted, "/etc/ssl/certs"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return "mount --bind on /etc/ssl/certs failed: %s" % p.stderr.strip()
    return None


# --------------------------------------------------------------------------
# An HTTPS endpoint that answers by path
# --------------------------------------------------------------------------

class TlsServer(ThreadingHTTPServer):
    """The handshake runs in the request's thread, so a client that never
    finishes it holds up no one; failed handshakes are counted."""
    daemon_threads = True

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except OSError as e:
            with self.owner.lock:
                self.owner.handshake_errors.append(repr(e))
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()


class HttpsEndpoint:
    """HTTPS on ip with the pair (cert, key). answers[path] = (code,
    location); other paths get 200. Every request is kept."""

    def __init__(self, ip, cert, key):
        self.requests, self.handshake_errors, self.answers = [], [], {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(n)
                path = self.path.split("?")[0]
                with outer.lock:
                    outer.requests.append({"method": self.command, "path": path,
                                           "headers": dict(self.headers)})
                    code, location = outer.answers.get(path, (200, None))
                self.send_response(code)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_HEAD = answer

        self.httpd = TlsServer((ip, 0), Handler)
        self.httpd.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.httpd.ctx.load_cert_chain(cert, key)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def at(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------

class PublicWebhookTest(WebhookEnvCase):
    """webhook_allow_private off (the default), proxy variables set, and
    webhook targets on the (namespace's) public internet."""
    smtp_conf = {"webhook_allow_private": "false"}

    @classmethod
    def make_gentd_env(cls):
        cls.proxy = ConnRecorder(PROXY_IP)
        cls.addClassCleanup(cls.proxy.close)
        return proxy_env("http://%s:%d" % (PROXY_IP, cls.proxy.port))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns.publish(ZONE, a={HOOK_NAME: RECEIVER_IP,
                                 UNTRUSTED_NAME: OTHER_IP})
        cls.rx = HttpsEndpoint(RECEIVER_IP,
                               *[os.path.join(CERT_DIR, HOOK_NAME + x)
                                 for x in (".pem", ".key")])
        cls.addClassCleanup(cls.rx.close)

    def setUp(self):
        # Every listener a followed redirect or a proxy could reach.
        self.traps = {"metadata:80": ConnRecorder(METADATA_IP, 80),
                      "loopback": ConnRecorder("127.0.0.1"),
                      "public": ConnRecorder(OTHER_IP)}
        for t in self.traps.values():
            self.addCleanup(t.close)

    def url(self, path):
        return "https://%s:%d%s" % (HOOK_NAME, self.rx.port, path)

    def assertNothingElseConnected(self):
        self.assertEqual(self.proxy.connections(), [],
                         "gentd went through the proxy from its environment")
        for name, t in self.traps.items():
            self.assertEqual(t.connections(), [], "%s was connected to" % name)

    def test_public_https_target_is_delivered_directly(self):
        """The control: this setup delivers (the address counts as public,
        the certificate is trusted), straight to the endpoint."""
        rules = {"/ok": self.rule(self.url("/ok")),
                 # The address literal is as acceptable as the name.
                 "/literal": self.rule("https://%s:%d/literal"
                                       % (RECEIVER_IP, self.rx.port))}
        self.mail()
        for path, rule in rules.items():
            d = self.wait_status(rule["id"], "delivered")[0]
            self.assertEqual(len(self.rx.at(path)), 1, path)
            full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
            self.assertEqual([(a["result"], a["http_code"], a["connected_ip"])
                              for a in full["attempt_log"]],
                             [("delivered", 200, RECEIVER_IP)], path)
            self.api("POST", "/v1/alerts/%s/disable/" % rule["id"], None, 200)
        self.assertNothingElseConnected()

    def test_redirects_are_not_followed(self):
        lo, pub = self.traps["loopback"], self.traps["public"]
        cases = [
            ("/r302-metadata", 302, "http://%s/latest/meta-data/" % METADATA_IP),
            ("/r307-loopback", 307, "http://127.0.0.1:%d/" % lo.port),
            ("/r308-public", 308, "https://%s:%d/landing" % (OTHER_IP, pub.port)),
            ("/r301-same-host", 301, "/followed"),
        ]
        rules = {}
        for path, code, location in cases:
            self.rx.answers[path] = (code, location)
            rules[path] = self.rule(self.url(path), attempts=2, backoff="immediate")
        self.mail()
        for path, code, _ in cases:
            d = self.wait_status(rules[path]["id"], "undelivered")[0]
            self.assertEqual(d["attempts"], 2, d)
            self.assertIn(str(code), d["last_error"], d)
            full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
            self.assertEqual([(a["result"], a["http_code"], a["connected_ip"])
                              for a in full["attempt_log"]],
                             [("http-error", code, RECEIVER_IP)] * 2, (path, full))
            self.assertEqual([r["method"] for r in self.rx.at(path)], ["POST"] * 2)
        self.assertEqual(self.rx.at("/followed"), [])
        time.sleep(0.5)     # a late follow-up would show by now
        self.assertNothingElseConnected()

    def test_untrusted_certificate_is_not_delivered(self):
        """gentd checks the peer: a certificate not in the trust store
        fails the attempt, and no request is made."""
        bad = HttpsEndpoint(OTHER_IP, *[os.path.join(CERT_DIR, UNTRUSTED_NAME + x)
                                        for x in (".pem", ".key")])
        self.addCleanup(bad.close)
        rule = self.rule("https://%s:%d/untrusted" % (UNTRUSTED_NAME, bad.port),
                         attempts=1)
        self.mail()
        d = self.wait_status(rule["id"], "undelivered")[0]
        full = self.api("GET", "/v1/webhook-deliveries/%s/" % d["id"], None, 200)
        self.assertEqual(full["attempt_log"][0]["result"], "network-error", full)
        self.assertIn("certificate", full["attempt_log"][0]["error"].lower(), full)
        self.assertEqual(bad.requests, [])
        self.assertTrue(wait_first({"handshake": lambda: bad.handshake_errors},
                                   timeout=5), "no handshake reached the endpoint")
        self.assertNothingElseConnected()


def inside():
    why = inside_setup()
    if why:
        return skip(why)
    try:
        prog = unittest.main(module="__main__", verbosity=2, exit=False)
        return 0 if prog.result.wasSuccessful() else 1
    finally:
        if not os.environ.get("GENTD_KEEP_TMP"):
            shutil.rmtree(CERT_DIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(inside() if os.environ.get(NETNS_VAR) else outside())
