"""Custom domains: add (records to publish, DKIM key on disk), DNS check
and verify against a real DNS server (dnsmasq), list/get, access control,
delete, and DKIM key rotation.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration \
        /usr/bin/python3 tests/domains/test_api_domains.py
"""

import base64
import datetime
import os
import re
import secrets
import stat
import sys
import threading
import time
import unittest
import urllib.parse

import harness
import dns_fixture
from dns_fixture import (DnsGentdTestCase, create_domain, publish_domain,
                         rand_domain, record_set, records_by_key,
                         verified_domain)

try:
    import dkim
except ImportError:     # dkimpy is python3-dkim; /usr/bin/python3 has it
    dkim = None

KEYS = ["mx", "spf", "dkim", "dmarc", "ownership"]
HOSTS = {"mx": "@", "spf": "@", "dkim": "gent._domainkey", "dmarc": "_dmarc",
         "ownership": "_gent-verify"}


def tags(value):
    """{tag: value} of a "k=v; k=v" record."""
    out = {}
    for part in value.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def parse_time(s):
    """An API time (ISO 8601 UTC, with or without milliseconds)."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in s else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.datetime.strptime(s, fmt)


class DomainsTest(DnsGentdTestCase):

    # -- helpers --

    def path(self, name, tail=""):
        return "/v1/domains/%s/%s" % (name, tail)

    def get_domain(self, acct, name):
        st, _, body = self.srv.request("GET", self.path(name), token=acct.session)
        self.assertEqual(st, 200, body)
        return body

    def check(self, acct, name):
        st, _, body = self.srv.request("GET", self.path(name, "check/"),
                                       token=acct.session, timeout=30)
        self.assertEqual(st, 200, body)
        return body

    def verify(self, acct, name):
        st, _, body = self.srv.request("POST", self.path(name, "verify/"),
                                       token=acct.session, timeout=30)
        self.assertEqual(st, 200, body)
        return body

    def statuses(self, body):
        return {r["key"]: r["status"] for r in body["records"]}

    def key_file(self, domain_id, selector="gent"):
        """The PEM file of a key, as recorded in control.db (files are
        named by key id under data_dir/dkim/<domain_id>/)."""
        conn = self.srv.db()
        try:
            row = conn.execute("SELECT key_path FROM dkim_keys WHERE domain_id = ? "
                               "AND selector = ?", (domain_id, selector)).fetchone()
        finally:
            conn.close()
        self.assertIsNotNone(row, "no %s key for %s" % (selector, domain_id))
        path = row[0]
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(self.srv.conf_path), path)
        return path

    def domain_ids_in_db(self):
        conn = self.srv.db()
        try:
            return {r[0] for r in conn.execute("SELECT id FROM domains")}
        finally:
            conn.close()

    def dkim_keys(self, acct, name):
        st, _, body = self.srv.request("GET", self.path(name, "dkim/"),
                                       token=acct.session)
        self.assertEqual(st, 200, body)
        self.assertEqual(body["domain"], name)
        return {k["selector"]: k for k in body["keys"]}

    # -- add --

    def test_create_returns_the_five_records(self):
        a = self.srv.new_account(inbox=False)
        name = rand_domain()
        st, _, d = self.srv.request("POST", "/v1/domains/", {"domain": name},
                                    token=a.session)
        self.assertEqual(st, 201, d)
        self.assertRegex(d["id"], r"^dom_[a-z0-9]+$")
        self.assertEqual(d["domain_id"], d["id"])
        self.assertEqual(d["domain"], name)
        self.assertEqual(d["status"], "pending")
        self.assertEqual(d["domain_use"], "existing_domain")
        self.assertEqual(d["dmarc_policy"], "quarantine")
        self.assertIsNone(d["verified_at"])
        self.assertIsNone(d["last_checked_at"])
        self.assertEqual(len(d["records"]), 5, d["records"])
        recs = records_by_key(d)
        self.assertEqual(sorted(recs), sorted(KEYS))
        for key in KEYS:
            r = recs[key]
            self.assertEqual(r["host"], HOSTS[key], r)
            want_name = name if HOSTS[key] == "@" else "%s.%s" % (HOSTS[key], name)
            self.assertEqual(r["name"], want_name, r)
            self.assertEqual(r["type"], "MX" if key == "mx" else "TXT", r)
            self.assertIsInstance(r["value"], str)
        self.assertEqual(recs["mx"]["value"], dns_fixture.GENTD_HOSTNAME)
        self.assertEqual(recs["mx"]["priority"], 10)
        spf = recs["spf"]["value"].split()
        self.assertEqual(spf[0], "v=spf1")
        self.assertTrue("mx" in spf or "a:" + dns_fixture.GENTD_HOSTNAME in spf, spf)
        dk = tags(recs["dkim"]["value"])
        self.assertEqual(dk.get("v"), "DKIM1")
        self.assertEqual(dk.get("k"), "rsa")
        der = base64.b64decode(dk["p"], validate=True)
        self.assertGreater(len(der), 256, "an RSA-2048 SubjectPublicKeyInfo")
        dm = tags(recs["dmarc"]["value"])
        self.assertEqual(dm.get("v"), "DMARC1")
        self.assertEqual(dm.get("p"), "quarantine")
        self.assertRegex(recs["ownership"]["value"], r"^gent-verify=\S{8,}$")
        # GET shows the same domain and records.
        got = self.get_domain(a, name)
        self.assertEqual(got["id"], d["id"])
        self.assertEqual({r["key"]: r["value"] for r in got["records"]},
                         {r["key"]: r["value"] for r in d["records"]})
        # Two domains never share a key or an ownership token.
        d2 = create_domain(self.srv, a.session)
        r2 = records_by_key(d2)
        self.assertNotEqual(r2["dkim"]["value"], recs["dkim"]["value"])
        self.assertNotEqual(r2["ownership"]["value"], recs["ownership"]["value"])

    def test_dmarc_policy_defaults(self):
        a = self.srv.new_account(inbox=False)

        def policy(body):
            return tags(records_by_key(body)["dmarc"]["value"])["p"]

        d = create_domain(self.srv, a.session, domain_use="existing_domain")
        self.assertEqual((d["dmarc_policy"], policy(d)), ("quarantine", "quarantine"))
        d = create_domain(self.srv, a.session, domain_use="dedicated_subdomain")
        self.assertEqual(d["domain_use"], "dedicated_subdomain")
        self.assertEqual((d["dmarc_policy"], policy(d)), ("reject", "reject"))
        # An explicit dmarc_policy wins over either default.
        d = create_domain(self.srv, a.session, domain_use="dedicated_subdomain",
                          dmarc_policy="quarantine")
        self.assertEqual((d["dmarc_policy"], policy(d)), ("quarantine", "quarantine"))
        d = create_domain(self.srv, a.session, dmarc_policy="reject")
        self.assertEqual((d["dmarc_policy"], policy(d)), ("reject", "reject"))
        d = create_domain(self.srv, a.session, dmarc_policy="none")
        self.assertEqual((d["dmarc_policy"], policy(d)), ("none", "none"))
        # Bad values.
        for body, field in [
                ({"domain_use": "shared"}, "domain_use"),
                ({"domain_use": ""}, "domain_use"),
                ({"domain_use": 1}, "domain_use"),
                ({"dmarc_policy": "strict"}, "dmarc_policy"),
                ({"dmarc_policy": "REJECT"}, "dmarc_policy"),
                ({"dmarc_policy": True}, "dmarc_policy")]:
            name = rand_domain()
            body = dict(body, domain=name)
            self.assertError(self.srv.request("POST", "/v1/domains/", body,
                                              token=a.session), 400, field=field)
            self.assertError(self.srv.request("GET", self.path(name),
                                              token=a.session), 404)

    def test_name_normalisation(self):
        a = self.srv.new_account(inbox=False)
        r = secrets.token_hex(4)
        d = create_domain(self.srv, a.session, "AGENTS-%s.Test." % r)
        self.assertEqual(d["domain"], "agents-%s.test" % r)
        self.assertEqual(records_by_key(d)["dmarc"]["name"], "_dmarc.agents-%s.test" % r)
        # The path is normalised the same way.
        st, _, got = self.srv.request("GET", self.path("Agents-%s.TEST." % r),
                                      token=a.session)
        self.assertEqual(st, 200, got)
        self.assertEqual(got["id"], d["id"])
        # IDN: U-label in, A-label stored.
        label = "bücher-%s" % r
        want = "xn--%s.test" % label.encode("punycode").decode()
        d = create_domain(self.srv, a.session, "Bücher-%s.test" % r)
        self.assertEqual(d["domain"], want)
        self.assertTrue(d["domain"].startswith("xn--"), d["domain"])
        self.assertEqual(records_by_key(d)["ownership"]["name"], "_gent-verify." + want)
        self.assertEqual(self.get_domain(a, want)["id"], d["id"])
        # The same name in another spelling is a duplicate.
        self.assertError(self.srv.request("POST", "/v1/domains/",
                                          {"domain": "bücher-%s.test." % r},
                                          token=a.session), 409)
        self.assertError(self.srv.request("POST", "/v1/domains/",
                                          {"domain": want.upper()},
                                          token=a.session), 409)

    def test_u_label_in_path(self):
        # HTTP clients percent-encode a U-label in the path (RFC 3986); the
        # query string is decoded, the {name} segment must be too.
        a = self.srv.new_account(inbox=False)
        label = "münchen-%s" % secrets.token_hex(4)
        d = create_domain(self.srv, a.session, label + ".test")
        self.assertTrue(d["domain"].startswith("xn--"), d["domain"])
        for tail in ("", "check/", "dkim/"):
            with self.subTest(tail=tail):
                st, _, body = self.srv.request(
                    "GET", self.path(urllib.parse.quote(label + ".test"), tail),
                    token=a.session)
                self.assertEqual(st, 200, body)
                self.assertEqual(body["domain"], d["domain"])

    def test_concurrent_adds_of_one_name(self):
        accts = [self.srv.new_account(inbox=False) for _ in range(2)]
        name = rand_domain("race")
        results = []

        def add(acct):
            st, _, body = self.srv.request("POST", "/v1/domains/", {"domain": name},
                                           token=acct.session, timeout=30)
            results.append((st, body))

        threads = [threading.Thread(target=add, args=(accts[i % 2],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(sorted(st for st, _ in results), [201] + [409] * 5, results)
        winner = [b for st, b in results if st == 201][0]
        for st, b in results:
            if st == 409:
                self.assertEqual(b["error"]["status"], 409)
        conn = self.srv.db()
        try:
            rows = conn.execute("SELECT id FROM domains WHERE name = ?", (name,)).fetchall()
        finally:
            conn.close()
        self.assertEqual(rows, [(winner["id"],)])
        root = os.path.join(self.srv.data_dir, "dkim")
        ids = self.domain_ids_in_db()
        strays = [(dd, f) for dd in os.listdir(root)
                  for f in os.listdir(os.path.join(root, dd))
                  if f.endswith(".pem") and dd not in ids]
        self.assertEqual(strays, [], "losers must remove their key files")

    def test_invalid_names(self):
        a = self.srv.new_account(inbox=False)
        bad = ["", " ", "nodot", "localhost", "-lead.test", "trail-.test",
               "a..test", ".test", "test.", "..", "under_score.test",
               "sp ace.test", "x" * 64 + ".test", ("a" * 60 + ".") * 5 + "test",
               "1.2.3.4", "example.123", "*.wild.test", "http://x.test/",
               "user@x.test", "x.test/path", "a\tb.test"]
        for name in bad:
            with self.subTest(name=name):
                self.assertError(self.srv.request("POST", "/v1/domains/",
                                                  {"domain": name}, token=a.session),
                                 400, field="domain")
        self.assertError(self.srv.request("POST", "/v1/domains/", {},
                                          token=a.session), 400, field="domain")
        self.assertError(self.srv.request("POST", "/v1/domains/", {"domain": 5},
                                          token=a.session), 400, field="domain")
        self.assertError(self.srv.request("POST", "/v1/domains/", {"domain": None},
                                          token=a.session), 400, field="domain")
        # An unknown field is refused and nothing is created.
        name = rand_domain()
        self.assertError(self.srv.request("POST", "/v1/domains/",
                                          {"domain": name, "ttl": 300},
                                          token=a.session), 400, field="ttl")
        self.assertError(self.srv.request("GET", self.path(name), token=a.session), 404)
        st, _, lst = self.srv.request("GET", "/v1/domains/", token=a.session)
        self.assertEqual((st, lst["data"]), (200, []))

    def test_duplicates(self):
        a = self.srv.new_account(inbox=False)
        b = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        name = d["domain"]
        for who, spelling in [(a, name), (a, name.upper() + "."), (b, name),
                              (b, name.upper())]:
            with self.subTest(tenant=who.tenant_name, spelling=spelling):
                self.assertError(self.srv.request("POST", "/v1/domains/",
                                                  {"domain": spelling},
                                                  token=who.session), 409)
        # The loser sees nothing; the owner's domain is untouched.
        self.assertError(self.srv.request("GET", self.path(name), token=b.session), 404)
        st, _, lst = self.srv.request("GET", "/v1/domains/", token=b.session)
        self.assertEqual((st, lst["data"]), (200, []))
        self.assertEqual(self.get_domain(a, name)["id"], d["id"])
        # Refused attempts leave no key files behind.
        ids = self.domain_ids_in_db()
        root = os.path.join(self.srv.data_dir, "dkim")
        for dom_dir in os.listdir(root):
            pems = [f for f in os.listdir(os.path.join(root, dom_dir))
                    if f.endswith(".pem")]
            if pems:
                self.assertIn(dom_dir, ids, "key files %r of no domain" % pems)

    # -- the DKIM key --

    def test_dkim_key_file_and_signature(self):
        if dkim is None:
            self.skipTest("dkimpy (python3-dkim) is not importable by %s"
                          % sys.executable)
        a = self.srv.new_account(inbox=False)
        bodies = []

        def call(method, path, body=None):
            resp = self.srv.request(method, path, body, token=a.session)
            bodies.append(self.srv.last_body)
            return resp

        st, _, d = call("POST", "/v1/domains/", {"domain": rand_domain()})
        self.assertEqual(st, 201, d)
        name = d["domain"]
        path = self.key_file(d["id"])
        self.assertTrue(os.path.isfile(path), path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) & 0o077, 0,
                         "the key directory must not be open to others")
        with open(path, "rb") as f:
            pem = f.read()
        self.assertIn(b"PRIVATE KEY-----", pem)

        # Publish and let gentd look the records up itself.
        publish_domain(self.dns, d)
        st, _, chk = call("GET", self.path(name, "check/"))
        self.assertEqual(st, 200, chk)
        dk = records_by_key(chk)["dkim"]
        self.assertEqual(dk["status"], "verified", dk)
        self.assertEqual(len(dk["found"]), 1, dk)
        seen = dk["found"][0]
        self.assertIn("query[TXT] gent._domainkey.%s" % name, self.dns.log_text())

        asked = []

        def dnsfunc(qname, timeout=5):
            q = qname.decode() if isinstance(qname, bytes) else qname
            asked.append(q)
            if q.rstrip(".").lower() == "gent._domainkey." + name:
                return seen.encode()
            return None

        msg = ("From: Agent <agent@%s>\r\nTo: someone@example.test\r\n"
               "Subject: DKIM check\r\nMessage-ID: <%s@%s>\r\n\r\n"
               "Hello from the DKIM test.\r\n" % (name, secrets.token_hex(6), name)
               ).encode()
        sig = dkim.sign(msg, b"gent", name.encode(), pem,
                        include_headers=[b"From", b"To", b"Subject", b"Message-ID"])
        self.assertTrue(dkim.verify(sig + msg, dnsfunc=dnsfunc),
                        "a signature by data_dir's key must verify against the "
                        "published record")
        self.assertTrue(any(q.rstrip(".") == "gent._domainkey." + name for q in asked),
                        asked)
        self.assertFalse(dkim.verify(sig + msg.replace(b"Hello", b"Jello"),
                                     dnsfunc=dnsfunc), "tampered body must fail")
        # Another domain's record must not verify this key's signature.
        other = create_domain(self.srv, a.session)
        other_rec = records_by_key(other)["dkim"]["value"].encode()
        self.assertFalse(dkim.verify(sig + msg, dnsfunc=lambda n, timeout=5: other_rec))

        # The private key never leaves the server.
        call("GET", self.path(name))
        call("GET", "/v1/domains/")
        call("POST", self.path(name, "verify/"))
        call("GET", self.path(name, "dkim/"))
        call("POST", self.path(name, "dkim/rotate/"))
        call("GET", self.path(name, "dkim/"))
        lines = [l for l in pem.decode().splitlines() if l and not l.startswith("-----")]
        body_b64 = "".join(lines)
        for raw in bodies:
            text = raw.decode("utf-8", "replace").replace("\\/", "/")
            self.assertNotIn("PRIVATE KEY", text)
            self.assertNotIn(".pem", text)
            self.assertNotIn(body_b64[200:260], text)
            for l in lines[1:-1]:
                self.assertNotIn(l, text)

    # -- check and verify --

    def test_nothing_published_is_missing(self):
        a = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        name = d["domain"]
        before = self.get_domain(a, name)
        chk = self.check(a, name)
        self.assertEqual(chk["domain"], name)
        self.assertEqual(chk["status"], "pending")
        self.assertIs(chk["all_records_verified"], False)
        self.assertEqual(len(chk["records"]), 5)
        for r in chk["records"]:
            self.assertEqual(r["status"], "missing", r)
            self.assertEqual(r["found"], [], r)
        self.assertEqual(self.get_domain(a, name), before, "check must not mutate")
        # gentd asked our server, for every record.
        log = self.dns.log_text()
        self.assertIn("query[MX] %s" % name, log)
        for host in ("_dmarc", "_gent-verify", "gent._domainkey"):
            self.assertIn("query[TXT] %s.%s" % (host, name), log)

        v = self.verify(a, name)
        self.assertEqual(v["status"], "pending")
        self.assertIsNone(v["verified_at"])
        self.assertIsNotNone(v["last_checked_at"])
        self.assertEqual(set(self.statuses(v).values()), {"missing"})
        after_verify = self.get_domain(a, name)
        self.assertEqual(after_verify["status"], "pending")
        self.assertEqual(after_verify["last_checked_at"], v["last_checked_at"])
        time.sleep(0.01)
        self.check(a, name)
        self.assertEqual(self.get_domain(a, name), after_verify, "check must not mutate")

    def test_wrong_values_are_mismatch(self):
        a = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        other = create_domain(self.srv, a.session)
        name = d["domain"]
        publish_domain(self.dns, d,
                       mx="mx.elsewhere.test",
                       spf="v=spf1 include:_spf.elsewhere.test -all",
                       dkim=records_by_key(other)["dkim"]["value"],
                       dmarc="v=DMARC1; p=none",
                       ownership="gent-verify=not-the-token")
        before = self.get_domain(a, name)
        chk = self.check(a, name)
        self.assertEqual(self.statuses(chk), {k: "mismatch" for k in KEYS}, chk)
        recs = records_by_key(chk)
        self.assertEqual(recs["mx"]["found"], ["10 mx.elsewhere.test"])
        self.assertEqual(recs["dmarc"]["found"], ["v=DMARC1; p=none"])
        self.assertIsNotNone(recs["dmarc"]["detail"])
        self.assertEqual(self.get_domain(a, name), before)
        v = self.verify(a, name)
        self.assertEqual(v["status"], "pending")
        self.assertEqual(self.statuses(v), {k: "mismatch" for k in KEYS})

        # Two SPF records are a permerror: mismatch, even if one is right.
        right_spf = records_by_key(d)["spf"]["value"]
        publish_domain(self.dns, d, spf=[right_spf, "v=spf1 a:%s -all"
                                         % dns_fixture.GENTD_HOSTNAME])
        chk = self.check(a, name)
        st = self.statuses(chk)
        self.assertEqual(st["spf"], "mismatch", chk)
        self.assertIsNotNone(records_by_key(chk)["spf"]["detail"])
        self.assertEqual({k: s for k, s in st.items() if k != "spf"},
                         {k: "verified" for k in KEYS if k != "spf"})
        v = self.verify(a, name)
        self.assertEqual(v["status"], "pending")
        self.assertIsNone(v["verified_at"])

        # Everything right except ownership: not verified on first proof.
        publish_domain(self.dns, d, ownership=None)
        v = self.verify(a, name)
        self.assertEqual(self.statuses(v)["ownership"], "missing")
        self.assertEqual(v["status"], "pending")

    def test_verify_then_ownership_may_go(self):
        a = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        name = d["domain"]
        rec = records_by_key(d)
        # Unrelated TXT at the apex and a stricter DMARC do not hurt.
        publish_domain(self.dns, d,
                       spf=["google-site-verification=abc123", rec["spf"]["value"]],
                       dmarc="v=DMARC1; p=reject; rua=mailto:dmarc@%s" % name)
        v = self.verify(a, name)
        self.assertEqual(v["status"], "verified", v)
        self.assertEqual(self.statuses(v), {k: "verified" for k in KEYS})
        self.assertIsNotNone(v["verified_at"])
        self.assertIsNotNone(v["last_checked_at"])
        verified_at = v["verified_at"]
        got = self.get_domain(a, name)
        self.assertEqual((got["status"], got["verified_at"]), ("verified", verified_at))
        chk = self.check(a, name)
        self.assertIs(chk["all_records_verified"], True)
        self.assertEqual(chk["status"], "verified")

        # The ownership record may go; the domain stays verified.
        publish_domain(self.dns, d, ownership=None)
        time.sleep(0.01)
        v2 = self.verify(a, name)
        self.assertEqual(v2["status"], "verified", v2)
        self.assertEqual(v2["verified_at"], verified_at)
        self.assertGreaterEqual(parse_time(v2["last_checked_at"]),
                                parse_time(v["last_checked_at"]))
        st = self.statuses(v2)
        self.assertEqual(st["ownership"], "missing")
        self.assertEqual({k: s for k, s in st.items() if k != "ownership"},
                         {k: "verified" for k in KEYS if k != "ownership"})
        before = self.get_domain(a, name)
        chk = self.check(a, name)
        self.assertEqual(chk["status"], "verified")
        self.assertIs(chk["all_records_verified"], False)
        self.assertEqual(self.statuses(chk)["ownership"], "missing")
        self.assertEqual(self.get_domain(a, name), before, "check must not mutate")

    def test_dns_down_is_error_and_changes_nothing(self):
        a = self.srv.new_account(inbox=False)
        ok = verified_domain(self.srv, self.dns, a.session)
        pend = create_domain(self.srv, a.session)
        snap = {n: self.get_domain(a, n) for n in (ok["domain"], pend["domain"])}
        self.dns.stop()
        try:
            for name in snap:
                t0 = time.monotonic()
                chk = self.check(a, name)
                self.assertLess(time.monotonic() - t0, 20.0)
                self.assertEqual(self.statuses(chk), {k: "error" for k in KEYS}, chk)
                for r in chk["records"]:
                    self.assertIsNotNone(r["detail"], r)
                self.assertEqual(chk["status"], snap[name]["status"])
                self.assertEqual(self.get_domain(a, name), snap[name])
            v = self.verify(a, ok["domain"])
            self.assertEqual(v["status"], "verified")
            self.assertEqual(v["verified_at"], snap[ok["domain"]]["verified_at"])
            self.assertEqual(set(self.statuses(v).values()), {"error"})
            v = self.verify(a, pend["domain"])
            self.assertEqual(v["status"], "pending")
            self.assertIsNone(v["verified_at"])
            self.assertEqual(set(self.statuses(v).values()), {"error"})
        finally:
            self.dns.start()
        # Back up: the verified domain checks out again.
        chk = self.check(a, ok["domain"])
        self.assertIs(chk["all_records_verified"], True, chk)

    def test_dns_timeout_is_error_and_bounded(self):
        # A DNS server that does not answer: every record is "error" once
        # dns_timeout (500ms here, 2 tries) runs out, and the daemon keeps
        # serving other requests meanwhile.
        a = self.srv.new_account(inbox=False)
        d = verified_domain(self.srv, self.dns, a.session)
        before = self.get_domain(a, d["domain"])
        result = {}

        def slow_check():
            t0 = time.monotonic()
            result["resp"] = self.srv.request("GET", self.path(d["domain"], "check/"),
                                              token=a.session, timeout=60)
            result["took"] = time.monotonic() - t0

        self.dns.pause()
        try:
            t = threading.Thread(target=slow_check)
            t.start()
            time.sleep(0.2)
            t0 = time.monotonic()
            st, _, _ = self.srv.request("GET", "/v1/domains/", token=a.session)
            self.assertEqual(st, 200)
            self.assertLess(time.monotonic() - t0, 2.0, "a DNS wait must not stall others")
            t.join(timeout=60)
        finally:
            self.dns.resume()
        self.assertFalse(t.is_alive())
        st, _, chk = result["resp"]
        self.assertEqual(st, 200, chk)
        self.assertEqual(self.statuses(chk), {k: "error" for k in KEYS}, chk)
        self.assertGreaterEqual(result["took"], 0.5)
        self.assertLess(result["took"], 20.0)
        self.assertEqual(chk["status"], "verified")
        self.assertEqual(self.get_domain(a, d["domain"]), before)

    # -- list and read --

    def test_list_and_pagination(self):
        a = self.srv.new_account(inbox=False)
        b = self.srv.new_account(inbox=False)
        mine = [create_domain(self.srv, a.session)["domain"] for _ in range(3)]
        theirs = create_domain(self.srv, b.session)["domain"]
        st, _, lst = self.srv.request("GET", "/v1/domains/", token=a.session)
        self.assertEqual(st, 200, lst)
        self.assertEqual(sorted(lst), ["data", "next_cursor"])
        self.assertIsNone(lst["next_cursor"])
        self.assertEqual([d["domain"] for d in lst["data"]], mine[::-1],
                         "newest first")
        for item in lst["data"]:
            self.assertEqual(len(item["records"]), 5)
        pages, cursor = [], None
        for _ in range(5):
            q = "/v1/domains/?limit=1" + ("&cursor=" + cursor if cursor else "")
            st, _, page = self.srv.request("GET", q, token=a.session)
            self.assertEqual(st, 200, page)
            self.assertEqual(len(page["data"]), 1, page)
            pages.append(page["data"][0]["domain"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        self.assertEqual(pages, mine[::-1])
        self.assertNotIn(theirs, pages)
        for q in ("limit=0", "limit=201", "limit=x"):
            self.assertError(self.srv.request("GET", "/v1/domains/?" + q,
                                              token=a.session), 400, field="limit")
        self.assertError(self.srv.request("GET", "/v1/domains/?cursor=bogus",
                                          token=a.session), 400, field="cursor")
        for name in mine:
            self.assertEqual(self.get_domain(a, name)["domain"], name)
        st, _, lst = self.srv.request("GET", "/v1/domains/", token=b.session)
        self.assertEqual([d["domain"] for d in lst["data"]], [theirs])

    def test_reference_and_record_types(self):
        a = self.srv.new_account(inbox=False)
        st, _, ref = self.srv.request("GET", "/v1/domains/reference/", token=a.session)
        self.assertEqual(st, 200, ref)
        self.assertEqual(sorted(ref["domain_use"]), ["dedicated_subdomain", "existing_domain"])
        self.assertEqual(sorted(ref["dmarc_policies"]), ["none", "quarantine", "reject"])
        self.assertEqual(ref["default_dmarc_policy"],
                         {"existing_domain": "quarantine", "dedicated_subdomain": "reject"})
        st, _, types = self.srv.request("GET", "/v1/domains/dns-record-types/",
                                        token=a.session)
        self.assertEqual(st, 200, types)
        self.assertEqual({t["key"]: t["host"] for t in types["data"]}, HOSTS)
        self.assertEqual({t["key"]: t["type"] for t in types["data"]},
                         {k: "MX" if k == "mx" else "TXT" for k in KEYS})

    def routes(self, name):
        return [("GET", "/v1/domains/reference/", None),
                ("GET", "/v1/domains/dns-record-types/", None),
                ("POST", "/v1/domains/", {"domain": rand_domain()}),
                ("GET", "/v1/domains/", None),
                ("GET", self.path(name), None),
                ("DELETE", self.path(name), None),
                ("POST", self.path(name, "verify/"), None),
                ("GET", self.path(name, "check/"), None),
                ("GET", self.path(name, "dkim/"), None),
                ("POST", self.path(name, "dkim/rotate/"), None),
                ("POST", self.path(name, "dkim/activate/"), None)]

    def test_agent_tokens_and_anonymous_are_refused(self):
        a = self.srv.new_account()
        tok = self.srv.create_token(a, ["full"])["raw_token"]
        d = create_domain(self.srv, a.session)
        for method, path, body in self.routes(d["domain"]):
            with self.subTest(method=method, path=path):
                self.assertError(self.srv.request(method, path, body, token=tok),
                                 403, code="forbidden")
                resp = self.srv.request(method, path, body)
                self.assertError(resp, 401)
                self.assertIn("Bearer", resp[1].get("WWW-Authenticate", ""))
        # Nothing happened: one domain, one key, still there.
        st, _, lst = self.srv.request("GET", "/v1/domains/", token=a.session)
        self.assertEqual([x["domain"] for x in lst["data"]], [d["domain"]])
        self.assertEqual(list(self.dkim_keys(a, d["domain"])), ["gent"])

    def test_other_tenants_domain_is_404(self):
        a = self.srv.new_account(inbox=False)
        b = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        name = d["domain"]
        for method, path, body in self.routes(name)[4:]:
            with self.subTest(method=method, path=path):
                self.assertError(self.srv.request(method, path, body, token=b.session),
                                 404, code="not_found")
        for tail in ("", "check/", "dkim/"):
            self.assertError(self.srv.request("GET", self.path(rand_domain(), tail),
                                              token=a.session), 404)
        self.assertError(self.srv.request("GET", self.path("not_a_domain"),
                                          token=a.session), 404)
        # Untouched for its owner.
        got = self.get_domain(a, name)
        self.assertEqual((got["id"], got["status"], got["last_checked_at"]),
                         (d["id"], "pending", None))
        self.assertEqual(list(self.dkim_keys(a, name)), ["gent"])
        self.assertTrue(os.path.isfile(self.key_file(d["id"])))

    # -- delete --

    def test_delete_needs_no_live_inboxes(self):
        a = self.srv.new_account(inbox=False)
        d = verified_domain(self.srv, self.dns, a.session)
        name = d["domain"]
        key = self.key_file(d["id"])
        st, _, ib = self.srv.request("POST", "/v1/inboxes/", {"address": "bot@" + name},
                                     token=a.session)
        self.assertEqual(st, 201, ib)
        self.assertError(self.srv.request("DELETE", self.path(name), token=a.session),
                         409)
        st, _, _ = self.srv.request("PATCH", "/v1/inboxes/%s/" % ib["inbox_id"],
                                    {"status": "suspended"}, token=a.session)
        self.assertEqual(st, 200)
        self.assertError(self.srv.request("DELETE", self.path(name), token=a.session),
                         409)
        self.assertTrue(os.path.isfile(key))
        self.assertEqual(self.get_domain(a, name)["status"], "verified")
        st, _, closed = self.srv.request("DELETE", "/v1/inboxes/%s/" % ib["inbox_id"],
                                         token=a.session)
        self.assertEqual((st, closed["status"]), (200, "closing"), closed)
        st, _, body = self.srv.request("DELETE", self.path(name), token=a.session)
        self.assertEqual(st, 204, body)
        self.assertEqual(self.srv.last_body, b"")
        self.assertFalse(os.path.exists(key), "the key file must go with the domain")
        self.assertFalse(os.path.exists(os.path.dirname(key)))
        self.assertError(self.srv.request("GET", self.path(name), token=a.session), 404)
        self.assertError(self.srv.request("DELETE", self.path(name), token=a.session),
                         404)
        # The closing inbox is still there.
        st, _, still = self.srv.request("GET", "/v1/inboxes/%s/" % ib["inbox_id"],
                                        token=a.session)
        self.assertEqual((st, still["status"]), (200, "closing"))
        # The name is free again, with a new key.
        again = create_domain(self.srv, a.session, name)
        self.assertNotEqual(again["id"], d["id"])
        self.assertEqual(again["status"], "pending")
        self.assertTrue(os.path.isfile(self.key_file(again["id"])))

    def test_delete_removes_every_key(self):
        a = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        st, _, body = self.srv.request("POST", self.path(d["domain"], "dkim/rotate/"),
                                       token=a.session)
        self.assertEqual(st, 201, body)
        keys = [self.key_file(d["id"], s) for s in ("gent", "gent2")]
        for k in keys:
            self.assertTrue(os.path.isfile(k), k)
        st, _, body = self.srv.request("DELETE", self.path(d["domain"]), token=a.session)
        self.assertEqual(st, 204, body)
        for k in keys:
            self.assertFalse(os.path.exists(k), k)
        self.assertFalse(os.path.exists(os.path.dirname(keys[0])))

    def test_delete_races_inbox_create(self):
        # Deleting a domain and creating an inbox on it at the same moment
        # must not leave a live inbox on a deleted domain (its address would
        # keep routing mail after the name is free for anyone to add).
        a = self.srv.new_account(inbox=False)
        doms = [create_domain(self.srv, a.session) for _ in range(24)]
        for i, d in enumerate(doms):
            mx, txt = record_set(d)
            self.dns.publish(d["domain"], mx=mx, txt=txt, restart=i == len(doms) - 1)
        for d in doms:
            self.assertEqual(self.verify(a, d["domain"])["status"], "verified")
        outcomes = []
        for d in doms:
            res = {}

            def create():
                res["inbox"] = self.srv.request("POST", "/v1/inboxes/",
                                                {"address": "race@" + d["domain"]},
                                                token=a.session, timeout=30)[0]

            def delete():
                res["delete"] = self.srv.request("DELETE", self.path(d["domain"]),
                                                 token=a.session, timeout=30)[0]

            threads = [threading.Thread(target=create), threading.Thread(target=delete)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            outcomes.append((d["domain"], res.get("inbox"), res.get("delete")))
        both = [o for o in outcomes if o[1] == 201 and o[2] == 204]
        self.assertEqual(both, [], "inbox created (201) and its domain deleted (204)")
        for _, ib, de in outcomes:
            self.assertIn((ib, de), [(201, 409), (409, 204), (400, 204)])
        conn = self.srv.db()
        try:
            orphans = conn.execute(
                "SELECT address FROM inboxes WHERE status IN ('active', 'suspended') "
                "AND domain_id IS NOT NULL AND domain_id NOT IN "
                "(SELECT id FROM domains)").fetchall()
        finally:
            conn.close()
        self.assertEqual(orphans, [])

    # -- DKIM rotation --

    def test_concurrent_rotations(self):
        # Only one rotation may be pending: racing requests get 409, not 500.
        a = self.srv.new_account(inbox=False)
        d = create_domain(self.srv, a.session)
        results = []

        def rotate():
            st, _, body = self.srv.request("POST", self.path(d["domain"], "dkim/rotate/"),
                                           token=a.session, timeout=30)
            results.append((st, body))

        threads = [threading.Thread(target=rotate) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(sorted(st for st, _ in results), [201, 409, 409, 409], results)
        self.assertEqual({k: v["status"] for k, v in self.dkim_keys(a, d["domain"]).items()},
                         {"gent": "active", "gent2": "pending"})
        self.assertTrue(os.path.isfile(self.key_file(d["id"], "gent2")))

    def test_dkim_rotation(self):
        a = self.srv.new_account(inbox=False)
        d = verified_domain(self.srv, self.dns, a.session)
        name = d["domain"]
        keys = self.dkim_keys(a, name)
        self.assertEqual(list(keys), ["gent"])
        k1 = keys["gent"]
        self.assertEqual(k1["status"], "active")
        self.assertEqual(k1["name"], "gent._domainkey." + name)
        self.assertEqual(k1["value"], records_by_key(d)["dkim"]["value"])
        self.assertIsNotNone(k1["activated_at"])
        self.assertIsNone(k1["retired_at"])
        # Nothing to activate yet.
        self.assertError(self.srv.request("POST", self.path(name, "dkim/activate/"),
                                          token=a.session), 409)

        st, _, rot = self.srv.request("POST", self.path(name, "dkim/rotate/"),
                                      token=a.session)
        self.assertEqual(st, 201, rot)
        keys = {k["selector"]: k for k in rot["keys"]}
        self.assertEqual(sorted(keys), ["gent", "gent2"])
        self.assertEqual(keys["gent"]["status"], "active")
        k2 = keys["gent2"]
        self.assertEqual(k2["status"], "pending")
        self.assertEqual(k2["name"], "gent2._domainkey." + name)
        self.assertIsNone(k2["activated_at"])
        self.assertEqual(tags(k2["value"]).get("v"), "DKIM1")
        self.assertNotEqual(tags(k2["value"])["p"], tags(k1["value"])["p"])
        k2_file = self.key_file(d["id"], "gent2")
        self.assertEqual(stat.S_IMODE(os.stat(k2_file).st_mode), 0o600)
        # One rotation at a time.
        self.assertError(self.srv.request("POST", self.path(name, "dkim/rotate/"),
                                          token=a.session), 409)
        self.assertEqual(sorted(self.dkim_keys(a, name)), ["gent", "gent2"])
        # Not published yet, then published wrong.
        err = self.assertError(self.srv.request("POST", self.path(name, "dkim/activate/"),
                                                token=a.session),
                               409, code="dkim_not_published")
        self.assertIn("gent2._domainkey." + name, err["message"])
        mx, txt = record_set(d)
        txt["gent2._domainkey." + name] = [k1["value"]]
        self.dns.publish(name, mx=mx, txt=txt)
        self.assertError(self.srv.request("POST", self.path(name, "dkim/activate/"),
                                          token=a.session), 409, code="dkim_not_published")
        self.assertEqual(self.dkim_keys(a, name)["gent2"]["status"], "pending")
        # Published: the switch.
        txt["gent2._domainkey." + name] = [k2["value"]]
        self.dns.publish(name, mx=mx, txt=txt)
        st, _, act = self.srv.request("POST", self.path(name, "dkim/activate/"),
                                      token=a.session)
        self.assertEqual(st, 200, act)
        keys = {k["selector"]: k for k in act["keys"]}
        self.assertEqual(keys["gent2"]["status"], "active")
        self.assertIsNotNone(keys["gent2"]["activated_at"])
        self.assertEqual(keys["gent"]["status"], "retired")
        self.assertIsNotNone(keys["gent"]["retired_at"])
        self.assertEqual(self.dkim_keys(a, name), keys)
        # The check now follows the new selector, and the domain stays verified.
        chk = self.check(a, name)
        dk = records_by_key(chk)["dkim"]
        self.assertEqual((dk["name"], dk["status"]), ("gent2._domainkey." + name, "verified"))
        self.assertIs(chk["all_records_verified"], True, chk)
        self.assertEqual(self.verify(a, name)["status"], "verified")
        if dkim is not None:
            with open(k2_file, "rb") as f:
                pem = f.read()
            msg = b"From: a@%s\r\nSubject: rotated\r\n\r\nbody\r\n" % name.encode()
            sig = dkim.sign(msg, b"gent2", name.encode(), pem)
            self.assertTrue(dkim.verify(sig + msg, dnsfunc=lambda n, timeout=5:
                                        dk["found"][0].encode()))
        # Selectors are never reused.
        st, _, rot = self.srv.request("POST", self.path(name, "dkim/rotate/"),
                                      token=a.session)
        self.assertEqual(st, 201, rot)
        self.assertEqual({k["selector"]: k["status"] for k in rot["keys"]},
                         {"gent": "retired", "gent2": "active", "gent3": "pending"})


if __name__ == "__main__":
    harness.main()
