"""
harness.py - shared helpers for the gentd integration tests.

The tests drive the real binary (GENTD_BIN, default <repo>/build/gentd) over
127.0.0.1 only. Each Gentd instance owns a fresh temporary directory with
its config, data_dir and log; every wait is bounded in time and count.

Typical use:

    class T(harness.GentdTestCase):
        server_conf = {"http_max_body": "1M"}   # one server for the class

        def test_x(self):
            acct = self.srv.new_account()         # tenant + owner + session
            status, headers, body = self.srv.request("GET", "/v1/users/me/",
                                                     token=acct.session)

GentdTestCase prints the tail of every involved server log when a test
fails, and stop() asserts the daemon exits 0 after SIGTERM.
"""

import atexit
import datetime
import errno
import hashlib
import http.client
import itertools
import json
import os
import secrets
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def gentd_bin():
    path = os.environ.get("GENTD_BIN") or os.path.join(REPO, "build", "gentd")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError("gentd binary not found at %s (set GENTD_BIN)" % path)
    return path


BIN = gentd_bin()
TOKEN_RE = r"^gent_[A-Za-z0-9_-]{43}$"
SESSION_RE = r"^gses_[A-Za-z0-9_-]{43}$"

_counter = itertools.count(1)


def uniq(prefix="u"):
    """A name unique within this run (and very likely across runs)."""
    return "%s%d%s" % (prefix, next(_counter), secrets.token_hex(3))


def unique_email(prefix="user", domain="example.com"):
    return "%s@%s" % (uniq(prefix), domain)


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def iso_in(seconds):
    """ISO 8601 UTC time `seconds` from now, with milliseconds."""
    t = datetime.datetime.now(datetime.timezone.utc) + \
        datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def free_ports(n=1):
    """n distinct free loopback ports (bound together, then released)."""
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_until(pred, timeout=5.0, interval=0.05, what="condition"):
    """Poll pred() until truthy (returned) or raise AssertionError."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def run_gentd(args, timeout=30, env=None):
    """Run the binary to completion; returns CompletedProcess (text)."""
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("GENTD_"):     # gentd rejects unknown GENTD_* keys
            del e[k]
    if env:
        e.update(env)
    return subprocess.run([BIN] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=e, stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# Raw HTTP responses and connections (exact bytes, pipelining, slow clients)
# --------------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status = status
        self.reason = reason
        self.header_list = headers          # [(name, value)] as received
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body.decode()) if self.body else None

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers,
                                         self.body[:200])


class ConnectionClosed(Exception):
    """The peer closed (or reset) before a full response arrived."""


class RawConn:
    """A plain TCP client for exact bytes. Every read has a deadline."""

    def __init__(self, port, timeout=5.0):
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.eof = False
        self.reset = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def try_send(self, data):
        """send; False when the server already closed or reset."""
        try:
            self.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            return False
        except OSError as e:
            if e.errno in (errno.EPIPE, errno.ECONNRESET):
                return False
            raise

    def _fill(self, deadline):
        """Read more into buf; False on EOF/reset. Raises on deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no data before the deadline")
        r, _, _ = select.select([self.sock], [], [], remaining)
        if not r:
            raise socket.timeout("no data before the deadline")
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError):
            self.eof = self.reset = True
            return False
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_response(self, timeout=None, head_only_statuses=(),
                      skip_interim=True):
        """Parse one response from the stream (Content-Length bodies)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            while b"\r\n\r\n" not in self.buf:
                if not self._fill(deadline):
                    raise ConnectionClosed("closed before a response head "
                                           "(%d bytes buffered)" % len(self.buf))
            head, rest = self.buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise AssertionError("bad status line %r" % lines[0])
            status = int(parts[1])
            reason = parts[2] if len(parts) > 2 else ""
            headers = []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
            hmap = {k.lower(): v for k, v in headers}
            if 100 <= status < 200:
                self.buf = rest
                if skip_interim:
                    continue
                return Response(status, reason, headers, b"", head)
            if status in (204, 304) or status in head_only_statuses:
                length = 0
            elif "content-length" in hmap:
                length = int(hmap["content-length"])
            else:
                length = None
            if length is None:
                while self._fill(deadline):
                    pass
                body, self.buf = rest, b""
            else:
                self.buf = rest
                while len(self.buf) < length:
                    if not self._fill(deadline):
                        raise ConnectionClosed("closed inside a body")
                body, self.buf = self.buf[:length], self.buf[length:]
            return Response(status, reason, headers, body, head)

    def wait_closed(self, timeout=3.0):
        """True when the server closes (EOF or reset) within timeout; any
        bytes received meanwhile are kept in buf."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def http_request_bytes(method, path, body=None, headers=None, host="gentd.test"):
    """Serialise one HTTP/1.1 request (body: dict -> JSON, or bytes)."""
    hdrs = [("Host", host)]
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hdrs.append(("Content-Type", "application/json"))
    if body is not None:
        hdrs.append(("Content-Length", str(len(body))))
    for k, v in (headers or {}).items():
        hdrs.append((k, v))
    out = "%s %s HTTP/1.1\r\n" % (method, path)
    out += "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
    return out.encode() + (body or b"")


# --------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------

class Account:
    """A tenant with one user, signed in (from Gentd.new_account)."""

    def __init__(self, **kw):
        self.inbox_id = None
        self.inbox_address = None
        self.__dict__.update(kw)

    def __repr__(self):
        return "<Account %s %s %s>" % (self.email, self.tenant_id, self.role)


class Gentd:
    """One gentd daemon on loopback with its own temporary data_dir."""

    instances = []          # every instance created, for failure reports

    def __init__(self, conf=None, env=None, name="gentd"):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="gentd-it-")
        self.data_dir = os.path.join(self.dir, "data")
        self.conf_path = os.path.join(self.dir, "gentd.conf")
        self.log_path = os.path.join(self.dir, "gentd.log")
        self.conf = dict(conf or {})
        self.env = dict(env or {})
        self.proc = None
        self.port, self.smtp_port = free_ports(2)
        self.final_log = None
        self.cleaned = False
        self.exit_codes = []
        self.write_config()
        Gentd.instances.append(self)

    # -- configuration and process control --

    def config_lines(self):
        base = [
            ("data_dir", self.data_dir),
            ("hostname", "gentd.test"),
            ("http_listen", "%s:%d" % (HOST, self.port)),
            ("smtp_listen", "%s:%d" % (HOST, self.smtp_port)),
            ("log_level", "debug"),
            ("scrypt_log2n", "10"),
        ]
        keys = [k for k, _ in base]
        lines = [(k, self.conf.get(k, v)) for k, v in base]
        lines += [(k, v) for k, v in self.conf.items() if k not in keys]
        return lines

    def write_config(self):
        with open(self.conf_path, "w") as f:
            f.write("# written by tests/integration/harness.py\n")
            for k, v in self.config_lines():
                f.write("%s = %s\n" % (k, v))

    def _env(self):
        e = dict(os.environ)
        for k in list(e):
            if k.startswith("GENTD_"):  # incl. GENTD_BIN: an unknown key
                del e[k]
        e.update(self.env)
        return e

    @property
    def base_url(self):
        return "http://%s:%d" % (HOST, self.port)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True, timeout=10.0):
        """Start `gentd serve`; with wait, block until /healthz is 200."""
        assert not self.running(), "already running"
        for attempt in range(3):
            with open(self.log_path, "ab") as logf:
                logf.write(("--- %s start (port %d) ---\n"
                            % (self.name, self.port)).encode())
                logf.flush()
                self.proc = subprocess.Popen(
                    [BIN, "serve", "--config", self.conf_path],
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                    env=self._env())
            if not wait:
                return self
            try:
                self.wait_healthy(timeout)
                return self
            except AssertionError:
                # Someone else may have taken the port between picking it
                # and binding it: pick new ports and try again.
                if self.proc.poll() is not None and \
                        "address already in use" in self.log_text().lower() \
                        and attempt < 2:
                    self.port, self.smtp_port = free_ports(2)
                    self.write_config()
                    continue
                raise
        return self

    def wait_healthy(self, timeout=10.0, port=None):
        port = port or self.port
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("gentd exited with %s before becoming "
                                     "healthy; log:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                c = http.client.HTTPConnection(HOST, port, timeout=1.0)
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
                last = "status %d" % r.status
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(0.05)
        raise AssertionError("gentd not healthy on port %d after %.0fs (%s); "
                             "log:\n%s" % (port, timeout, last, self.log_tail()))

    def send_signal(self, sig):
        assert self.running(), "not running"
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=15.0):
        """Wait for the process to exit; returns its code (kills on timeout
        and raises AssertionError)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError("gentd did not exit within %.0fs; log:\n%s"
                                 % (timeout, self.log_tail()))
        self.exit_codes.append(rc)
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=15.0, expect_code=0):
        """Signal and wait (bounded); asserts the exit code."""
        if not self.running():
            rc = self.proc.returncode if self.proc else None
            if self.proc is not None and expect_code is not None and rc != expect_code:
                raise AssertionError("gentd had already exited with %s; log:\n%s"
                                     % (rc, self.log_tail()))
            return rc
        self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        if expect_code is not None and rc != expect_code:
            raise AssertionError("gentd exited with %s (expected %s); log:\n%s"
                                 % (rc, expect_code, self.log_tail()))
        return rc

    def kill(self):
        """SIGKILL and reap."""
        if self.running():
            self.proc.kill()
            self.proc.wait(timeout=10)

    def restart(self, **kw):
        """Graceful stop (exit 0 asserted) and start on the same data_dir."""
        self.stop()
        return self.start(**kw)

    def cleanup(self):
        if self.cleaned:
            return
        self.kill()
        self.final_log = self.log_tail(80)
        self.cleaned = True
        if not os.environ.get("GENTD_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- logs --

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return self.final_log or ""

    def log_tail(self, n=60):
        if self.cleaned and self.final_log is not None:
            return self.final_log
        return "\n".join(self.log_text().splitlines()[-n:])

    # -- admin CLI --

    def admin_raw(self, *args, timeout=60):
        return run_gentd(["admin"] + list(args) + ["--config", self.conf_path],
                         timeout=timeout, env=self.env)

    def admin(self, *args, timeout=60):
        """Run `gentd admin ...`; asserts exit 0 and returns parsed JSON."""
        p = self.admin_raw(*args, timeout=timeout)
        if p.returncode != 0:
            raise AssertionError("gentd admin %s exited %d: %s"
                                 % (" ".join(args), p.returncode, p.stderr))
        try:
            return json.loads(p.stdout)
        except ValueError:
            raise AssertionError("gentd admin %s printed non-JSON: %r"
                                 % (" ".join(args), p.stdout))

    def create_user(self, email, password, tenant=None, role=None):
        args = ["create-user", "--email", email, "--password", password]
        if tenant is not None:
            args += ["--tenant", tenant]
        if role is not None:
            args += ["--role", role]
        return self.admin(*args)

    def create_inbox(self, tenant_id, address):
        return self.admin("create-inbox", "--tenant-id", tenant_id,
                          "--address", address)

    # -- HTTP --

    def request(self, method, path, body=None, token=None, headers=None,
                raw_body=None, timeout=10.0):
        """One request on a fresh connection.

        body: JSON-encoded with Content-Type: application/json (unless the
        caller gives a Content-Type); raw_body: bytes sent as they are.
        Returns (status, headers, parsed JSON or None); headers look up
        case-insensitively. The raw body is kept in self.last_body.
        """
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            if not any(k.lower() == "content-type" for k in hdrs):
                hdrs["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        self.last_body = raw
        parsed = None
        if raw:
            try:
                parsed = json.loads(raw.decode())
            except ValueError:
                parsed = None
        return resp.status, resp.headers, parsed

    def raw(self, timeout=5.0):
        """A RawConn to this server."""
        return RawConn(self.port, timeout=timeout)

    def login(self, email, password):
        status, _, body = self.request("POST", "/v1/auth/login/",
                                       {"email": email, "password": password})
        if status != 201:
            raise AssertionError("login %s: %d %r" % (email, status, body))
        return body["session_token"]

    # -- convenience for tests --

    def new_account(self, role=None, tenant=None, inbox=True, password=None):
        """A new user (new tenant unless `tenant` names one), signed in,
        with an inbox unless inbox=False."""
        email = unique_email("user")
        password = password or "pw-" + secrets.token_hex(8)
        tenant = tenant or uniq("tenant")
        u = self.create_user(email, password, tenant=tenant, role=role)
        acct = Account(email=email, password=password, tenant_id=u["tenant_id"],
                       user_id=u["user_id"], role=u["role"], tenant_name=tenant)
        acct.session = self.login(email, password)
        if inbox:
            addr = unique_email("agent", "agents.example.com")
            ib = self.create_inbox(acct.tenant_id, addr)
            acct.inbox_id = ib["inbox_id"]
            acct.inbox_address = ib["address"]
        return acct

    def create_token(self, acct, scopes, label="test token", session=None,
                     **extra):
        """POST /v1/tokens/ for acct's inbox; asserts 201, returns body."""
        body = {"inbox_id": acct.inbox_id, "scopes": scopes, "label": label}
        body.update(extra)
        status, _, resp = self.request("POST", "/v1/tokens/", body,
                                       token=session or acct.session)
        if status != 201:
            raise AssertionError("token create: %d %r" % (status, resp))
        return resp

    # -- the database --

    def db(self, name="control.db"):
        """A sqlite3 connection to a database under data_dir (read-mostly;
        the server keeps running)."""
        path = os.path.join(self.data_dir, name)
        conn = sqlite3.connect(path, timeout=10)
        return conn

    def db_text_values(self, name="control.db"):
        """Every (table, column, value) of every text value in a database."""
        out = []
        conn = self.db(name)
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for t in tables:
                cols = [r[1] for r in conn.execute('PRAGMA table_info("%s")' % t)]
                for row in conn.execute('SELECT * FROM "%s"' % t):
                    for c, v in zip(cols, row):
                        if isinstance(v, bytes):
                            v = v.decode("latin-1")
                        if isinstance(v, str):
                            out.append((t, c, v))
        finally:
            conn.close()
        return out

    def data_files_contain(self, needle):
        """Paths of files under data_dir whose bytes contain needle."""
        if isinstance(needle, str):
            needle = needle.encode()
        hits = []
        for root, _, files in os.walk(self.data_dir):
            for fn in files:
                p = os.path.join(root, fn)
                try:
                    with open(p, "rb") as f:
                        if needle in f.read():
                            hits.append(p)
                except OSError:
                    pass
        return hits


def _kill_leftovers():
    for g in Gentd.instances:
        try:
            g.kill()
        except Exception:
            pass


atexit.register(_kill_leftovers)


# --------------------------------------------------------------------------
# Test case base
# --------------------------------------------------------------------------

class GentdTestCase(unittest.TestCase):
    """Starts one server per class (unless start_server = False) with
    server_conf, stops it after the class (asserting exit 0), and prints the
    log tail of the servers involved when a test fails."""

    server_conf = {}
    start_server = True
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.srv = None
        if cls.start_server:
            cls.srv = Gentd(cls.server_conf, name=cls.__name__)
            try:
                cls.srv.start()
            except Exception:
                cls.srv.cleanup()
                raise

    @classmethod
    def tearDownClass(cls):
        if cls.srv is not None:
            try:
                cls.srv.stop()
            finally:
                cls.srv.cleanup()

    def new_server(self, conf=None, env=None, start=True):
        """A server owned by this test (cleaned up after it)."""
        g = Gentd(conf, env=env, name=self.id())
        self.addCleanup(g.cleanup)
        if start:
            g.start()
        return g

    def run(self, result=None):
        first = len(Gentd.instances)
        before = None
        if result is not None:
            before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if result is not None and before is not None and \
                len(result.failures) + len(result.errors) > before:
            involved = list(Gentd.instances[first:])
            cls_srv = getattr(type(self), "srv", None)
            if cls_srv is not None and cls_srv not in involved:
                involved.insert(0, cls_srv)
            for g in involved:
                sys.stderr.write("\n===== log tail of %s (%s) =====\n%s\n"
                                 "===== end of log =====\n"
                                 % (g.name, g.dir, g.log_tail()))
        return out

    # -- assertions --

    def assertError(self, resp, status, code=None, field=None, msg=None):
        """resp is (status, headers, body) from Gentd.request."""
        st, _, body = resp
        self.assertEqual(st, status, msg or body)
        self.assertIsInstance(body, dict, "error body must be JSON: %r" % (body,))
        self.assertIn("error", body, body)
        err = body["error"]
        self.assertEqual(err.get("status"), status, body)
        self.assertIsInstance(err.get("code"), str, body)
        self.assertIsInstance(err.get("message"), str, body)
        self.assertTrue(err["message"], body)
        if code is not None:
            self.assertEqual(err["code"], code, body)
        if field is not None:
            self.assertEqual(err.get("field"), field, body)
        return err

    def assertStatus(self, resp, status):
        self.assertEqual(resp[0], status, resp[2])
        return resp[2]


def main():
    unittest.main(verbosity=2)
