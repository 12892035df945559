"""
dns_fixture.py - a real DNS server (dnsmasq) on 127.0.0.1 for the domain
tests, plus helpers to publish the records gentd asks for.

    dns = DnsServer()
    dns.start()                       # bounded wait until it answers
    dns.publish("agents-x.test",
                mx=[("mx.gentd.test", 10)],
                txt={"agents-x.test": ["v=spf1 mx ~all"]})
    dns.stop()

Every publish()/unpublish() restarts dnsmasq (same port) with the whole
record set and waits, bounded, until the new process answers (a sentinel
TXT record carries a generation number). Names under .test that are not
published get NXDOMAIN (--local=/test/), nothing is forwarded anywhere.

DnsGentdTestCase starts one DnsServer per class (before the gentd server,
which is pointed at it with dns_servers), always stops it (class cleanup
and atexit), and prints the tail of dnsmasq's query log when a test fails.
"""

import atexit
import os
import random
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import harness

DNSMASQ = os.environ.get("DNSMASQ_BIN", "/usr/sbin/dnsmasq")
GENTD_HOSTNAME = "mx.gentd.test"
SENTINEL = "_fixture-generation.fixture.test"

T_MX = 15
T_TXT = 16

_instances = []


def rand_domain(prefix="agents"):
    """A fresh domain name under .test (lower case)."""
    return "%s-%s.test" % (prefix, secrets.token_hex(5))


def split_txt(value):
    """A TXT value as the <=255-byte character-strings of one record."""
    data = value.encode()
    if not data:
        return [""]
    return [data[i:i + 255].decode() for i in range(0, len(data), 255)]


# --------------------------------------------------------------------------
# A tiny DNS client (readiness checks and debugging only)
# --------------------------------------------------------------------------

def _encode_name(name):
    out = b""
    for label in name.rstrip(".").encode().split(b"."):
        out += bytes([len(label)]) + label
    return out + b"\0"


def _read_name(msg, off, depth=0):
    labels = []
    while True:
        if depth > 20 or off >= len(msg):
            raise ValueError("bad name")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack(">H", msg[off:off + 2])[0] & 0x3FFF
            name, _ = _read_name(msg, ptr, depth + 1)
            if name:
                labels.append(name)
            return ".".join(labels), off + 2
        off += 1
        if n == 0:
            return ".".join(labels), off
        labels.append(msg[off:off + n].decode("latin-1"))
        off += n


def dns_query(port, name, qtype=T_TXT, timeout=0.5, host="127.0.0.1"):
    """One UDP query. Returns (rcode, [values]); TXT values are the joined
    strings, MX values "prio target". Raises socket.timeout."""
    qid = random.randrange(1, 0xFFFF)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + \
        _encode_name(name) + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(pkt, (host, port))
        deadline = time.monotonic() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            msg, _ = s.recvfrom(65535)
            if len(msg) >= 12 and struct.unpack(">H", msg[:2])[0] == qid:
                break
    finally:
        s.close()
    _, flags, qd, an, _, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        _, off = _read_name(msg, off)
        off += 4
    values = []
    for _ in range(an):
        _, off = _read_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        if rtype == T_TXT:
            parts, i = [], 0
            while i < len(rdata):
                n = rdata[i]
                parts.append(rdata[i + 1:i + 1 + n].decode("latin-1"))
                i += 1 + n
            values.append("".join(parts))
        elif rtype == T_MX:
            prio = struct.unpack(">H", rdata[:2])[0]
            target, _ = _read_name(msg, off + 2)
            values.append("%d %s" % (prio, target))
        off += rdlen
    return flags & 0xF, values


def _free_udp_tcp_port():
    """A loopback port free for both UDP and TCP right now."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((harness.HOST, 0))
            port = u.getsockname()[1]
            try:
                t.bind((harness.HOST, port))
            except OSError:
                continue
            return port
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free UDP+TCP port on loopback")


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------

class DnsServer:
    """dnsmasq serving a record set on 127.0.0.1:<port>."""

    def __init__(self):
        if not os.access(DNSMASQ, os.X_OK):
            raise RuntimeError("dnsmasq not found at %s (package dnsmasq-base)"
                               % DNSMASQ)
        self.dir = tempfile.mkdtemp(prefix="gentd-dns-")
        # dnsmasq may drop privileges to "nobody" when started as root.
        os.chmod(self.dir, 0o755)
        self.log_path = os.path.join(self.dir, "dnsmasq.log")
        self.out_path = os.path.join(self.dir, "dnsmasq.out")
        self.pid_path = os.path.join(self.dir, "dnsmasq.pid")
        self.port = None
        self.proc = None
        self.generation = 0
        self.mx = {}        # name -> [(target, prio)]
        self.txt = {}       # name -> [value]
        self.a = {}         # name -> IPv4 address (MX targets of relay tests)
        self.cleaned = False
        _instances.append(self)

    # -- configuration --

    def gentd_conf(self):
        """gentd settings that point its resolver here."""
        return {"dns_servers": "127.0.0.1:%d" % self.port,
                "dns_timeout": "500ms",
                "hostname": GENTD_HOSTNAME}

    def _args(self):
        args = [DNSMASQ, "--no-daemon", "--conf-file=/dev/null",
                "--port=%d" % self.port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts",
                "--local=/test/", "--log-queries",
                "--log-facility=%s" % self.log_path,
                "--pid-file=%s" % self.pid_path,
                "--txt-record=%s,gen-%d" % (SENTINEL, self.generation)]
        for name in sorted(self.mx):
            for target, prio in self.mx[name]:
                args.append("--mx-host=%s,%s,%d" % (name, target, prio))
        for name in sorted(self.a):
            args.append("--host-record=%s,%s" % (name, self.a[name]))
        for name in sorted(self.txt):
            for value in self.txt[name]:
                for bad in ",\"\\\n":
                    if bad in value:
                        raise ValueError("TXT value %r holds %r, which the "
                                         "fixture cannot pass to dnsmasq"
                                         % (value, bad))
                args.append("--txt-record=%s,%s" % (name, ",".join(split_txt(value))))
        return args

    # -- process control --

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=5.0):
        assert not self.running(), "dnsmasq already running"
        fresh_port = self.port is None
        for attempt in range(3):
            if fresh_port:
                self.port = _free_udp_tcp_port()
            self.generation += 1
            with open(self.out_path, "ab") as out:
                self.proc = subprocess.Popen(self._args(), stdin=subprocess.DEVNULL,
                                             stdout=out, stderr=out)
            try:
                self.wait_ready(timeout)
                return self
            except AssertionError:
                self._kill()
                if fresh_port and attempt < 2 and \
                        "in use" in self.output_text().lower():
                    continue
                raise
        return self

    def wait_ready(self, timeout=5.0):
        """Until this generation's sentinel answers (bounded)."""
        want = "gen-%d" % self.generation
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited with %s: %s"
                                     % (self.proc.returncode, self.output_text()[-2000:]))
            try:
                rcode, values = dns_query(self.port, SENTINEL, T_TXT, timeout=0.2)
                if rcode == 0 and want in values:
                    return
                last = (rcode, values)
            except (socket.timeout, OSError, ValueError) as e:
                last = repr(e)
            time.sleep(0.02)
        raise AssertionError("dnsmasq on port %s not ready after %.1fs (%r): %s"
                             % (self.port, timeout, last, self.output_text()[-2000:]))

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def stop(self, timeout=5.0):
        """SIGTERM, bounded wait, SIGKILL if needed. Idempotent."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)     # in case it is paused
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill()

    def pause(self):
        """SIGSTOP: queries go unanswered (time out) until resume()."""
        assert self.running(), "dnsmasq not running"
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.running():
            self.proc.send_signal(signal.SIGCONT)

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        if self.cleaned:
            return
        self.stop()
        self.cleaned = True
        if not os.environ.get("GENTD_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- records --

    def publish(self, zone, mx=None, txt=None, a=None, restart=True):
        """Replace every record at or under `zone` with mx [(target, prio)]
        at the zone itself, txt {name: [values]} and a {name: ipv4}; then
        restart."""
        self._drop(zone)
        self.a.update(a or {})
        if mx:
            self.mx[zone] = list(mx)
        for name, values in (txt or {}).items():
            if values:
                self.txt[name] = list(values)
        if restart:
            self.restart()

    def unpublish(self, zone, restart=True):
        self._drop(zone)
        if restart:
            self.restart()

    def _drop(self, zone):
        def under(n):
            return n == zone or n.endswith("." + zone)
        for table in (self.mx, self.txt, self.a):
            for name in [n for n in table if under(n)]:
                del table[name]

    def query(self, name, qtype=T_TXT):
        return dns_query(self.port, name, qtype)

    # -- logs --

    def output_text(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])


def _stop_all():
    for d in _instances:
        try:
            d.cleanup()
        except Exception:
            pass


atexit.register(_stop_all)


# --------------------------------------------------------------------------
# gentd's records, published
# --------------------------------------------------------------------------

def records_by_key(domain_body):
    """{key: record} of a domain (or check) response."""
    return {r["key"]: r for r in domain_body["records"]}


def record_set(domain_body, **override):
    """(mx, txt) for DnsServer.publish from a domain's records.

    override key=None leaves that record out; key="value" or
    key=["v1", "v2"] publishes those TXT values instead (for mx: a target
    host name or a list of them).
    """
    recs = records_by_key(domain_body)
    mx, txt = [], {}
    for key, r in recs.items():
        values = override[key] if key in override else [r["value"]]
        if values is None:
            continue
        if isinstance(values, str):
            values = [values]
        if key == "mx":
            mx = [(v, r.get("priority", 10)) for v in values]
        else:
            txt.setdefault(r["name"], []).extend(values)
    return mx, txt


def publish_domain(dns, domain_body, **override):
    mx, txt = record_set(domain_body, **override)
    dns.publish(domain_body["domain"], mx=mx, txt=txt)


def create_domain(srv, session, name=None, **fields):
    """POST /v1/domains/; asserts 201 and returns the body."""
    body = {"domain": name or rand_domain()}
    body.update(fields)
    st, _, resp = srv.request("POST", "/v1/domains/", body, token=session)
    if st != 201:
        raise AssertionError("domain create %r: %d %r" % (body, st, resp))
    return resp


def verify(srv, session, name):
    return srv.request("POST", "/v1/domains/%s/verify/" % name, token=session)


def verified_domain(srv, dns, session, name=None, **fields):
    """Add a domain, publish all of its records and verify it; returns the
    verified domain body."""
    d = create_domain(srv, session, name, **fields)
    publish_domain(dns, d)
    st, _, body = verify(srv, session, d["domain"])
    if st != 200 or body.get("status") != "verified":
        raise AssertionError("verify %s: %d %r" % (d["domain"], st, body))
    return body


# --------------------------------------------------------------------------
# Test case base
# --------------------------------------------------------------------------

class DnsGentdTestCase(harness.GentdTestCase):
    """One dnsmasq and one gentd (pointed at it) per class."""

    extra_conf = {}

    @classmethod
    def setUpClass(cls):
        cls.dns = DnsServer()
        cls.addClassCleanup(cls.dns.cleanup)
        cls.dns.start()
        conf = cls.dns.gentd_conf()
        conf.update(cls.extra_conf)
        cls.server_conf = conf
        super().setUpClass()

    def new_dns_server(self, conf=None, start=True):
        """A gentd owned by this test that uses the class's DNS server."""
        c = self.dns.gentd_conf()
        c.update(conf or {})
        return self.new_server(c, start=start)

    def run(self, result=None):
        before = None
        if result is not None:
            before = len(result.failures) + len(result.errors)
        out = super().run(result)
        dns = getattr(type(self), "dns", None)
        if result is not None and before is not None and dns is not None and \
                len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n===== dnsmasq query log tail (port %s) =====\n%s\n"
                             "===== end of dnsmasq log =====\n"
                             % (dns.port, dns.log_tail()))
        return out
