"""
test_smtp_receive.py - what gentd decides when it receives a message, end
to end: real mail over loopback SMTP to the real binary, the senders' SPF,
DKIM and DMARC records served by dnsmasq, the outcome read back through
the messages API (auth_results, trace, the stored Authentication-Results
header, thread_id, attachments).

    SPF           pass, fail, softfail, none; a loopback client passes only
                  when the record says so
    DKIM          rsa-sha256 and ed25519-sha256 signatures made by dkimpy
                  pass; a body changed after signing fails; rsa-sha1 is
                  refused (policy)
    DMARC         p=reject and failing: 550 5.7.1, nothing stored; p=reject
                  with an aligned DKIM pass is stored; p=none with aligned
                  SPF passes; p=quarantine failing is stored as such
    sender rules  allowlist and blocklist: the sender gets 250, the message
                  is dropped silently
    threads       In-Reply-To and References join the parent's thread
    attachments   listed, and downloaded byte for byte
    forwarding    trace["forwarding"]: the default address always, a
                  subject_keyword rule only on a match
    loops         (ForwardLoopTest, whose relay delivers to gentd itself)
                  a forwarded copy carries Delivered-To: <inbox> above the
                  original's Delivered-To fields; two inboxes forwarding to
                  each other stop after one round (the copy naming the
                  inbox is stored, not forwarded); a Delivered-To naming
                  the inbox stops the default, the rules and a label's
                  forward_to; unrelated Delivered-To fields change nothing

A STARTTLS delivery with smtplib is test_smtp_tls.py's
test_smtplib_starttls_delivery.

    GENTD_BIN=build/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_receive.py
"""

import base64
import os
import re
import shutil
import subprocess
import unittest

import harness
import dns_fixture
from smtp_fixture import (MailEnv, SmtpTestCase, header_fields, make_message,
                          send_mail, split_stored, HOST, HOSTNAME)

try:
    import dkim
except ImportError:         # python3-dkim
    dkim = None
try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
except ImportError:         # python3-cryptography
    rsa = None

SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]
OUTBOUND_ID = re.compile(r"^out_[a-z0-9]+$")
THREAD_ID = re.compile(r"^thr_[a-z0-9]+$")


def rsa_key():
    """(PKCS#1 PEM, which dkimpy signs with; the p= value: base64 of the
    DER SubjectPublicKeyInfo) of a new RSA-2048 key."""
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM,
                          serialization.PrivateFormat.TraditionalOpenSSL,
                          serialization.NoEncryption())
    spki = k.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, base64.b64encode(spki).decode()


def ed25519_key():
    """(base64 of the 32-byte seed, which dkimpy signs with; the p= value:
    base64 of the 32 raw public key bytes, RFC 8463 section 4.2)."""
    k = ed25519.Ed25519PrivateKey.generate()
    seed = k.private_bytes(serialization.Encoding.Raw,
                           serialization.PrivateFormat.Raw,
                           serialization.NoEncryption())
    pub = k.public_key().public_bytes(serialization.Encoding.Raw,
                                      serialization.PublicFormat.Raw)
    return base64.b64encode(seed), base64.b64encode(pub).decode()


def message_id(msg):
    """The Message-ID of a make_message() message, without the brackets."""
    return re.search(rb"^Message-ID: <([^>]+)>\r$", msg, re.M).group(1).decode()


def no_dmarc(domain):
    """auth_results["dmarc"] for a From domain without a _dmarc record (a
    .test name is its own organisational domain)."""
    return {"result": "none", "record_domain": "", "org_domain": domain,
            "policy": "", "disposition": "none", "spf_aligned": False,
            "dkim_aligned": False, "problem": "no DMARC record"}


def ar_header(mail_from, spf, dkim_parts, dmarc):
    """The Authentication-Results field gentd prepends (RFC 8601), one
    method per folded line, authserv-id our hostname."""
    parts = ["spf=%s smtp.mailfrom=%s" % (spf, mail_from)] + \
        (dkim_parts or ["dkim=none"]) + [dmarc]
    return ("Authentication-Results: %s;\r\n\t" % HOSTNAME +
            ";\r\n\t".join(parts) + "\r\n").encode()


class SmtpReceiveTest(SmtpTestCase):

    # One inbox per feature that changes inbox settings, so the tests do
    # not see each other's rules.
    inboxes = ("bot", "allow", "block", "block2", "thread", "att", "fwd")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = {k: dns_fixture.rand_domain(k) for k in (
            "spfpass", "spffail", "spfsoft", "spfnone", "dkim", "dmarcrej",
            "dmarcrejdkim", "dmarcnone", "dmarcquar")}
        txt = {
            cls.d["spfpass"]: ["v=spf1 ip4:127.0.0.1 -all"],
            "good.test": ["v=spf1 ip4:127.0.0.1 -all"],     # the allowlist's
            cls.d["spffail"]: ["v=spf1 -all"],
            cls.d["spfsoft"]: ["v=spf1 ~all"],
            cls.d["dmarcrej"]: ["v=spf1 -all"],
            "_dmarc." + cls.d["dmarcrej"]: ["v=DMARC1; p=reject"],
            cls.d["dmarcrejdkim"]: ["v=spf1 -all"],
            "_dmarc." + cls.d["dmarcrejdkim"]: ["v=DMARC1; p=reject"],
            cls.d["dmarcnone"]: ["v=spf1 ip4:127.0.0.1 -all"],
            "_dmarc." + cls.d["dmarcnone"]: ["v=DMARC1; p=none"],
            cls.d["dmarcquar"]: ["v=spf1 -all"],
            "_dmarc." + cls.d["dmarcquar"]: ["v=DMARC1; p=quarantine"],
        }
        cls.rsa = cls.ed = None
        if dkim is not None and rsa is not None:
            cls.rsa, rsa_p = rsa_key()
            cls.ed, ed_p = ed25519_key()
            for name in ("dkim", "dmarcrejdkim"):
                txt["rsa1._domainkey." + cls.d[name]] = [
                    "v=DKIM1; k=rsa; p=" + rsa_p]
            txt["ed1._domainkey." + cls.d["dkim"]] = ["v=DKIM1; k=ed25519; p=" + ed_p]
        # Every record in one go: each publish() would restart dnsmasq.
        for name, values in txt.items():
            cls.dns.publish(name, txt={name: values}, restart=False)
        cls.dns.restart()

    # -- helpers --

    def need_dkim(self):
        if dkim is None or rsa is None:
            self.skipTest("needs python3-dkim and python3-cryptography")

    def deliver(self, msg, mail_from, local="bot"):
        """Send msg; 250 means it is committed, so it can be read at once."""
        r = send_mail(self.port, mail_from, [self.env.addr(local)], msg)
        self.assertReply(r, 250, "2.0.0")
        return r

    def stored(self, subject, local="bot"):
        """The one message with this subject, as GET /v1/messages/{id}/."""
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, "want one message %r in %s, got %r"
                         % (subject, local, got))
        full = self.env.message(got[0]["id"], local)
        # The list and the message agree on what was decided.
        for key in ("auth_results", "trace", "thread_id"):
            self.assertEqual(full[key], got[0][key], key)
        self.assertEqual(full["trace"]["auth"], full["auth_results"])
        return full

    def our_results(self, m, sent, local="bot"):
        """Our Authentication-Results field of the stored copy: the first
        trace field, above our Received."""
        fields = split_stored(self.env.raw(m["id"], local), sent)
        self.assertEqual([n for n, _ in fields],
                         ["authentication-results", "received"], fields)
        return fields[0][1]

    def receive(self, subject, msg, mail_from, local="bot"):
        """Deliver, then (message JSON, our A-R field)."""
        self.deliver(msg, mail_from, local)
        m = self.stored(subject, local)
        return m, self.our_results(m, msg, local)

    def signed(self, subject, domain, selector, key, alg=b"rsa-sha256",
               body="A signed message.\r\n"):
        """A message From alice@domain with a DKIM-Signature by dkimpy."""
        msg = make_message(subject, body, mail_from="Alice <alice@%s>" % domain)
        sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                        signature_algorithm=alg, include_headers=SIGNED)
        return sig + msg

    def put(self, path, body):
        """A session PUT/POST for one of our inboxes (tokens are read-only)."""
        method, want = ("POST", 201) if path.endswith("/rules/") else ("PUT", 200)
        st, _, resp = self.srv.request(method, path, body,
                                       token=self.env.acct.session)
        self.assertEqual(st, want, resp)
        return resp

    # -- SPF --

    def spf_case(self, key, result, mechanism):
        domain = self.d[key]
        sender = "alice@" + domain
        subject = harness.uniq("spf-%s-" % result)
        msg = make_message(subject, mail_from="Alice <%s>" % sender)
        m, ar = self.receive(subject, msg, sender)
        self.assertEqual(m["auth_results"], {
            "spf": {"result": result, "domain": domain, "mechanism": mechanism,
                    "problem": ""},
            "dkim": [],
            "dmarc": no_dmarc(domain)})
        self.assertEqual(ar, ar_header(
            sender, result, None,
            "dmarc=none (p=none dis=none) header.from=" + domain))

    def test_spf_pass(self):
        self.spf_case("spfpass", "pass", "ip4:127.0.0.1")

    def test_spf_fail_even_from_loopback(self):
        # The client is 127.0.0.1; a record that allows nobody must fail
        # (libspf2 would say pass for any 127/8 client, RELIABILITY.md).
        self.spf_case("spffail", "fail", "-all")

    def test_spf_softfail(self):
        self.spf_case("spfsoft", "softfail", "~all")

    def test_spf_none_without_a_record(self):
        self.spf_case("spfnone", "none", "")

    def test_spf_null_sender_checks_the_helo_name(self):
        # RFC 7208 2.4: for MAIL FROM:<> the HELO identity is checked.
        domain = self.d["spfpass"]
        subject = harness.uniq("spf-helo-")
        msg = make_message(subject)
        self.assertReply(send_mail(self.port, "", [self.env.addr()], msg,
                                   helo=domain), 250, "2.0.0")
        m = self.stored(subject)
        self.assertEqual(m["auth_results"]["spf"], {
            "result": "pass", "domain": domain, "mechanism": "ip4:127.0.0.1",
            "problem": ""})
        self.assertTrue(self.our_results(m, msg).startswith(
            b"Authentication-Results: mx.gentd.test;\r\n\tspf=pass smtp.helo=%s;\r\n"
            % domain.encode()))

    def test_forged_results_for_our_hostname_are_removed(self):
        # RFC 8601 5: verdicts that claim our authserv-id (any case, folded
        # lines included) are dropped; other servers' stay.
        domain = self.d["spffail"]
        subject = harness.uniq("forged-ar-")
        forged = (b"Authentication-Results: mx.gentd.test; spf=pass\r\n"
                  b"\tsmtp.mailfrom=alice@" + domain.encode() + b"\r\n"
                  b"Authentication-Results: MX.Gentd.Test;dkim=pass\r\n")
        kept = (b"Authentication-Results: relay.example; dkim=pass\r\n"
                b"Authentication-Results: mx.gentd.test.evil.example; spf=pass\r\n")
        clean = make_message(subject, mail_from="alice@" + domain)
        msg = forged + kept + clean
        self.deliver(msg, "alice@" + domain)
        m = self.stored(subject)
        self.assertEqual(m["auth_results"]["spf"]["result"], "fail")
        fields = split_stored(self.env.raw(m["id"]), kept + clean)
        self.assertEqual([n for n, _ in fields],
                         ["authentication-results", "received"], fields)
        self.assertIn(b"\tspf=fail smtp.mailfrom=alice@", fields[0][1])

    # -- DKIM --

    def test_dkim_rsa_sha256_pass(self):
        self.need_dkim()
        domain = self.d["dkim"]
        subject = harness.uniq("dkim-rsa-")
        msg = self.signed(subject, domain, "rsa1", self.rsa)
        m, ar = self.receive(subject, msg, "alice@" + domain)
        self.assertEqual(m["auth_results"]["dkim"], [
            {"result": "pass", "domain": domain, "selector": "rsa1",
             "algorithm": "rsa-sha256", "key_bits": 2048, "problem": ""}])
        self.assertEqual(m["auth_results"]["spf"]["result"], "none")
        self.assertEqual(m["auth_results"]["dmarc"], no_dmarc(domain))
        self.assertEqual(ar, ar_header(
            "alice@" + domain, "none",
            ["dkim=pass header.d=%s header.s=rsa1 header.a=rsa-sha256" % domain],
            "dmarc=none (p=none dis=none) header.from=" + domain))

    def test_dkim_body_changed_after_signing_fails(self):
        self.need_dkim()
        domain = self.d["dkim"]
        subject = harness.uniq("dkim-tampered-")
        msg = self.signed(subject, domain, "rsa1", self.rsa,
                          body="Pay 10 EUR to account 1.\r\n")
        msg = msg.replace(b"Pay 10 EUR", b"Pay 99 EUR")
        m, ar = self.receive(subject, msg, "alice@" + domain)
        self.assertEqual(m["auth_results"]["dkim"], [
            {"result": "fail", "domain": domain, "selector": "rsa1",
             "algorithm": "rsa-sha256", "key_bits": 2048,
             "problem": "body hash does not match"}])
        self.assertIn(b"\tdkim=fail header.d=%s header.s=rsa1 header.a=rsa-sha256;"
                      % domain.encode(), ar)

    def test_dkim_ed25519_pass(self):
        self.need_dkim()
        domain = self.d["dkim"]
        subject = harness.uniq("dkim-ed25519-")
        msg = self.signed(subject, domain, "ed1", self.ed, alg=b"ed25519-sha256")
        self.assertIn(b"a=ed25519-sha256;", msg)
        m, ar = self.receive(subject, msg, "alice@" + domain)
        sigs = m["auth_results"]["dkim"]
        self.assertEqual(len(sigs), 1, sigs)
        self.assertEqual((sigs[0]["result"], sigs[0]["domain"], sigs[0]["selector"],
                          sigs[0]["algorithm"], sigs[0]["problem"]),
                         ("pass", domain, "ed1", "ed25519-sha256", ""), sigs)
        self.assertIn(b"\tdkim=pass header.d=%s header.s=ed1 header.a=ed25519-sha256;"
                      % domain.encode(), ar)
        # key_bits is not asserted: gentd reports 0 for ed25519 keys.
        # The pass means something: the same signature on a changed body fails.
        subject = harness.uniq("dkim-ed25519-tampered-")
        msg = self.signed(subject, domain, "ed1", self.ed, alg=b"ed25519-sha256",
                          body="Pay 10 EUR.\r\n").replace(b"10 EUR", b"99 EUR")
        m, _ = self.receive(subject, msg, "alice@" + domain)
        self.assertEqual([(s["result"], s["algorithm"], s["problem"])
                          for s in m["auth_results"]["dkim"]],
                         [("fail", "ed25519-sha256", "body hash does not match")])

    def test_dkim_rsa_sha1_is_not_a_pass(self):
        # RFC 8301: rsa-sha1 must not be considered valid. The signature
        # itself is good (same key as the pass above).
        self.need_dkim()
        domain = self.d["dkim"]
        subject = harness.uniq("dkim-sha1-")
        msg = self.signed(subject, domain, "rsa1", self.rsa, alg=b"rsa-sha1")
        m, ar = self.receive(subject, msg, "alice@" + domain)
        self.assertEqual(m["auth_results"]["dkim"], [
            {"result": "policy", "domain": domain, "selector": "rsa1",
             "algorithm": "rsa-sha1", "key_bits": 0,
             "problem": "rsa-sha1 is not accepted (RFC 8301)"}])
        self.assertIn(b"\tdkim=policy header.d=%s header.s=rsa1 header.a=rsa-sha1;"
                      % domain.encode(), ar)

    # -- DMARC --

    def test_dmarc_reject_refuses_and_stores_nothing(self):
        domain = self.d["dmarcrej"]
        subject = harness.uniq("dmarc-reject-")
        msg = make_message(subject, mail_from="Alice <alice@%s>" % domain)
        r = send_mail(self.port, "alice@" + domain, [self.env.addr()], msg)
        self.assertReply(r, 550, "5.7.1")
        self.assertEqual(r.last, "5.7.1 Message rejected per DMARC policy of "
                         + domain)
        self.assertEqual(self.env.by_subject(subject), [])

    def test_dmarc_reject_of_the_org_domain_covers_subdomains(self):
        # No _dmarc.mail.<domain>: the organisational domain's record
        # applies (RFC 7489 6.6.3; no sp=, so p=).
        domain = self.d["dmarcrej"]
        subject = harness.uniq("dmarc-reject-sub-")
        msg = make_message(subject, mail_from="ceo@mail." + domain)
        r = send_mail(self.port, "ceo@mail." + domain, [self.env.addr()], msg)
        self.assertReply(r, 550, "5.7.1")
        self.assertEqual(r.last, "5.7.1 Message rejected per DMARC policy of "
                         + domain)
        self.assertEqual(self.env.by_subject(subject), [])

    # Adding a second author (in the same From field or in a second From
    # field) must not turn a p=reject fail into a 250: every author
    # domain's policy applies (RFC 7489 6.6.1) and the strictest wins.
    def test_dmarc_reject_not_bypassed_by_a_second_author(self):
        domain = self.d["dmarcrej"]
        subject = harness.uniq("dmarc-reject-2from-")
        msg = make_message(subject, mail_from="ceo@%s, x@attacker.test" % domain)
        r = send_mail(self.port, "x@attacker.test", [self.env.addr()], msg)
        self.assertEqual(self.env.by_subject(subject), [])
        self.assertEqual(r.code // 100, 5, r)

    # The same, with two From fields (RFC 5322 allows one).
    def test_dmarc_reject_not_bypassed_by_a_second_from_field(self):
        domain = self.d["dmarcrej"]
        subject = harness.uniq("dmarc-reject-2fields-")
        msg = make_message(subject, mail_from="ceo@" + domain,
                           headers=[("From", "x@attacker.test")])
        r = send_mail(self.port, "x@attacker.test", [self.env.addr()], msg)
        self.assertEqual(self.env.by_subject(subject), [])
        self.assertEqual(r.code // 100, 5, r)

    def test_dmarc_reject_with_aligned_dkim_is_stored(self):
        # Same policy, SPF fails, but a DKIM pass for the From domain aligns.
        self.need_dkim()
        domain = self.d["dmarcrejdkim"]
        subject = harness.uniq("dmarc-reject-dkim-")
        msg = self.signed(subject, domain, "rsa1", self.rsa)
        m, ar = self.receive(subject, msg, "alice@" + domain)
        a = m["auth_results"]
        self.assertEqual((a["spf"]["result"], a["dkim"][0]["result"]),
                         ("fail", "pass"), a)
        self.assertEqual(a["dmarc"], {
            "result": "pass", "record_domain": domain, "org_domain": domain,
            "policy": "reject", "disposition": "none", "spf_aligned": False,
            "dkim_aligned": True, "problem": ""})
        self.assertTrue(ar.endswith(
            b"\tdmarc=pass (p=reject dis=none) header.from=%s\r\n" % domain.encode()), ar)

    def test_dmarc_none_with_aligned_spf_passes(self):
        domain = self.d["dmarcnone"]
        subject = harness.uniq("dmarc-none-")
        msg = make_message(subject, mail_from="Alice <alice@%s>" % domain)
        m, ar = self.receive(subject, msg, "alice@" + domain)
        self.assertEqual(m["auth_results"]["spf"]["result"], "pass")
        self.assertEqual(m["auth_results"]["dmarc"], {
            "result": "pass", "record_domain": domain, "org_domain": domain,
            "policy": "none", "disposition": "none", "spf_aligned": True,
            "dkim_aligned": False, "problem": ""})
        self.assertEqual(ar, ar_header(
            "alice@" + domain, "pass", None,
            "dmarc=pass (p=none dis=none) header.from=" + domain))

    def test_dmarc_none_with_unaligned_spf_is_not_a_pass(self):
        # SPF passes for the envelope domain, but the From domain is
        # another one: no alignment, so DMARC fails (p=none: delivered).
        domain = self.d["dmarcnone"]
        envelope = "bounce@" + self.d["spfpass"]
        subject = harness.uniq("dmarc-unaligned-")
        msg = make_message(subject, mail_from="Alice <alice@%s>" % domain)
        m, ar = self.receive(subject, msg, envelope)
        self.assertEqual(m["auth_results"]["spf"]["result"], "pass")
        self.assertEqual(m["auth_results"]["dmarc"], {
            "result": "fail", "record_domain": domain, "org_domain": domain,
            "policy": "none", "disposition": "none", "spf_aligned": False,
            "dkim_aligned": False, "problem": "no aligned SPF or DKIM pass"})
        self.assertTrue(ar.endswith(
            b"\tdmarc=fail (p=none dis=none) header.from=%s\r\n" % domain.encode()), ar)

    def test_dmarc_quarantine_failing_is_stored_with_the_verdict(self):
        # gentd refuses only for p=reject; a quarantine disposition is
        # recorded (auth_results, A-R header) and the message delivered.
        domain = self.d["dmarcquar"]
        subject = harness.uniq("dmarc-quarantine-")
        msg = make_message(subject, mail_from="Alice <alice@%s>" % domain)
        m, ar = self.receive(subject, msg, "alice@" + domain)
        self.assertEqual(m["auth_results"]["spf"]["result"], "fail")
        self.assertEqual(m["auth_results"]["dmarc"], {
            "result": "fail", "record_domain": domain, "org_domain": domain,
            "policy": "quarantine", "disposition": "quarantine",
            "spf_aligned": False, "dkim_aligned": False,
            "problem": "no aligned SPF or DKIM pass"})
        self.assertEqual(ar, ar_header(
            "alice@" + domain, "fail", None,
            "dmarc=fail (p=quarantine dis=quarantine) header.from=" + domain))

    # -- sender rules --

    def swaks(self, mail_from, local, subject):
        """One delivery with swaks (its From: header is the envelope
        sender); returns its transcript."""
        exe = shutil.which("swaks")
        if not exe:
            self.skipTest("swaks is not installed")
        p = subprocess.run([exe, "--server", "%s:%d" % (HOST, self.port),
                            "--helo", "swaks.gentd.test", "--from", mail_from,
                            "--to", self.env.addr(local),
                            "--header", "Subject: " + subject,
                            "--body", "sent by swaks", "--timeout", "10"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def send_from(self, addr, local, subject):
        """Envelope and header From both addr."""
        self.deliver(make_message(subject, mail_from=addr), addr, local)

    def test_sender_rules_allowlist(self):
        rules = self.put("/v1/sender-rules/", {
            "inbox_id": self.env.inboxes["allow"], "inbound_mode": "allowlist",
            "inbound_patterns": ["@GOOD.test", "@" + self.d["spffail"],
                                 "@" + self.d["dkim"]]})
        self.assertEqual((rules["inbound_mode"], rules["inbound_patterns"][0]),
                         ("allowlist", "@good.test"), rules)
        ok, other = harness.uniq("allow-ok-"), harness.uniq("allow-other-")
        # swaks for the listed sender, whose SPF passes: a normal 250 and a
        # stored message. Its From: alone vouches for nothing (no DKIM, no
        # DMARC), so only the envelope sender counts.
        out = self.swaks("alice@good.test", "allow", ok)
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as q_")
        m = self.stored(ok, "allow")
        self.assertEqual(m["trace"]["sender_rule"], {
            "mode": "allowlist", "decision": "accepted", "matched": "@good.test",
            "checked": ["alice@good.test"], "unauthenticated": ["alice@good.test"]})
        # Not listed: the sender sees success, the inbox gets nothing.
        out = self.swaks("mallory@other.test", "allow", other)
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as q_")
        self.assertEqual(self.env.by_subject(other, "allow"), [])
        # A listed address written by someone else: in From: (envelope not
        # listed), or in MAIL FROM from a host its SPF refuses.
        forged = harness.uniq("allow-forged-from-")
        self.deliver(make_message(forged, mail_from="Alice <alice@good.test>"),
                     "mallory@other.test", "allow")
        spoofed = harness.uniq("allow-spf-fail-")
        self.send_from("bob@" + self.d["spffail"], "allow", spoofed)
        self.assertEqual(self.env.by_subject(forged, "allow"), [])
        self.assertEqual(self.env.by_subject(spoofed, "allow"), [])
        # A DKIM signature of the From domain vouches for the author.
        if self.rsa:
            signed = harness.uniq("allow-dkim-")
            self.deliver(self.signed(signed, self.d["dkim"], "rsa1", self.rsa),
                         "list@other.test", "allow")
            rule = self.stored(signed, "allow")["trace"]["sender_rule"]
            self.assertEqual((rule["decision"], rule["checked"], rule["unauthenticated"]),
                             ("accepted", ["alice@" + self.d["dkim"]],
                              ["list@other.test"]))
        # The domain pattern is the whole domain, not a suffix of it.
        sub = harness.uniq("allow-sub-")
        self.send_from("eve@notgood.test", "allow", sub)
        self.assertEqual(self.env.by_subject(sub, "allow"), [])
        # The other inboxes are still open.
        self.send_from("mallory@other.test", "bot", other)
        self.assertEqual(len(self.env.by_subject(other, "bot")), 1)

    def test_sender_rules_blocklist(self):
        self.put("/v1/sender-rules/", {
            "inbox_id": self.env.inboxes["block"], "inbound_mode": "blocklist",
            "inbound_patterns": ["bad@x.test"]})
        blocked, upper, ok = (harness.uniq("block-bad-"), harness.uniq("block-upper-"),
                              harness.uniq("block-ok-"))
        self.send_from("bad@x.test", "block", blocked)
        # Case does not dodge the list.
        self.send_from("BAD@X.Test", "block", upper)
        out = self.swaks("good@x.test", "block", ok)
        self.assertRegex(out, r"<-  250 2\.0\.0 Ok: queued as q_")
        self.assertEqual(self.env.by_subject(blocked, "block"), [])
        self.assertEqual(self.env.by_subject(upper, "block"), [])
        m = self.stored(ok, "block")
        self.assertEqual(m["trace"]["sender_rule"], {
            "mode": "blocklist", "decision": "accepted", "matched": None,
            "checked": ["good@x.test", "good@x.test"]})
        self.assertEqual(len(self.env.messages("block")), 1)

    # A quoted local part that needs no quoting - "bad"@x.test, the same
    # mailbox as bad@x.test (RFC 5322 3.2.4, RFC 5321 4.1.2) - must not
    # get past the blocklist, in the envelope or in From.
    def test_sender_rules_blocklist_quoted_local_part(self):
        self.put("/v1/sender-rules/", {
            "inbox_id": self.env.inboxes["block2"], "inbound_mode": "blocklist",
            "inbound_patterns": ["bad@x.test"]})
        subject = harness.uniq("block-quoted-")
        self.send_from('"bad"@x.test', "block2", subject)
        self.assertEqual(self.env.by_subject(subject, "block2"), [])

    # -- threads --

    def test_threading_by_in_reply_to_and_references(self):
        subj = {k: harness.uniq("thread-%s-" % k) for k in "ABCD"}
        a = make_message(subj["A"])
        a_id = message_id(a)
        b = make_message(subj["B"], headers=[("In-Reply-To", "<%s>" % a_id)])
        b_id = message_id(b)
        c = make_message(subj["C"], headers=[
            ("References", "<%s> <%s>" % (a_id, b_id))])
        d = make_message(subj["D"])
        for msg in (a, b, c, d):
            self.deliver(msg, "sender@client.gentd.test", "thread")
        got = {k: self.stored(s, "thread") for k, s in subj.items()}
        self.assertRegex(got["A"]["thread_id"], THREAD_ID)
        self.assertEqual(got["A"]["message_id_header"], a_id)
        self.assertEqual(got["B"]["thread_id"], got["A"]["thread_id"])
        self.assertEqual(got["C"]["thread_id"], got["A"]["thread_id"])
        self.assertRegex(got["D"]["thread_id"], THREAD_ID)
        self.assertNotEqual(got["D"]["thread_id"], got["A"]["thread_id"])
        self.assertEqual([got[k]["trace"]["thread"]["parents_considered"]
                          for k in "ABCD"], [0, 1, 2, 0])

    # -- attachments --

    def test_attachment_listed_and_downloaded_exactly(self):
        subject = harness.uniq("attach-")
        blob = bytes(range(256)) + os.urandom(44)      # NUL, CR, LF, 0xff
        b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n")
        msg = (b"From: Sender <sender@client.gentd.test>\r\n"
               b"To: att@example.test\r\n"
               b"Subject: " + subject.encode() + b"\r\n"
               b"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
               b"Message-ID: <" + harness.uniq("att").encode() + b"@client.gentd.test>\r\n"
               b"MIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=\"b-1\"\r\n"
               b"\r\n"
               b"--b-1\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n"
               b"\r\n"
               b"See the attachment.\r\n"
               b"--b-1\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Disposition: attachment; filename=\"blob.bin\"\r\n"
               b"Content-Transfer-Encoding: base64\r\n"
               b"\r\n" + b64 +
               b"--b-1--\r\n")
        self.deliver(msg, "sender@client.gentd.test", "att")
        m = self.stored(subject, "att")
        self.assertTrue(m["has_attachments"])
        self.assertEqual(m["text_body"], "See the attachment.")
        self.assertEqual(m["trace"]["mime"], {"parsed": True, "truncated": False,
                                              "attachments": 1})
        self.assertEqual(len(m["attachments"]), 1, m["attachments"])
        att = m["attachments"][0]
        self.assertEqual({k: v for k, v in att.items() if k != "id"}, {
            "filename": "blob.bin", "content_type": "application/octet-stream",
            "content_id": None, "inline": False, "size": len(blob)})
        st, hdrs, _ = self.srv.request(
            "GET", "/v1/messages/%s/attachments/%s/" % (m["id"], att["id"]),
            token=self.env.tokens["att"])
        self.assertEqual(st, 200)
        self.assertEqual(self.srv.last_body, blob)
        self.assertEqual(hdrs["Content-Type"], "application/octet-stream")
        st, _, _ = self.srv.request(
            "GET", "/v1/messages/%s/attachments/att_nosuchthing/" % m["id"],
            token=self.env.tokens["att"])
        self.assertEqual(st, 404)

    # -- forwarding --

    def test_forwarding_trace(self):
        inbox = self.env.inboxes["fwd"]
        self.put("/v1/forwarding/", {"inbox_id": inbox,
                                     "default_address": "human@example.org"})
        rule = self.put("/v1/forwarding/rules/", {
            "inbox_id": inbox, "destination": "alerts@example.net",
            "condition_type": "subject_keyword", "condition_value": "urgent"})
        hit, miss = harness.uniq("URGENT disk full "), harness.uniq("weekly report ")
        for s in (hit, miss):
            self.deliver(make_message(s), "sender@client.gentd.test", "fwd")
        want = {
            hit: [("human@example.org", "default", "default"),
                  ("alerts@example.net", rule["id"], "subject_keyword")],
            miss: [("human@example.org", "default", "default")],
        }
        ids = []
        for s, dests in want.items():
            fw = self.stored(s, "fwd")["trace"]["forwarding"]
            self.assertEqual([(f["destination"], f["rule_id"], f["reason"])
                              for f in fw], dests, fw)
            for f in fw:
                self.assertRegex(f["outbound_id"], OUTBOUND_ID)
                ids.append(f["outbound_id"])
        self.assertEqual(len(set(ids)), 3, ids)


class SelfRelayGentd(harness.Gentd):
    """A gentd whose relay hands every message to its own SMTP listener
    (relay_host), as the MX of its own domains: a copy forwarded to one of
    its inboxes comes back over real SMTP. The port is read when the
    config is written, so a restart on new ports keeps it right."""

    def config_lines(self):
        return super().config_lines() + [
            ("relay_host", "%s:%d" % (HOST, self.smtp_port))]


class ForwardLoopTest(SmtpTestCase):
    """Forwarding loops, stopped with Delivered-To (RFC 9228)."""

    inboxes = ("loopa", "loopb", "fwdc", "fwdd", "self")
    smtp_conf = {"relay_retry_schedule": "1s", "queue_lifetime": "1h"}
    HOP_WAIT = 30       # seconds for a copy to go round the relay

    @classmethod
    def setUpClass(cls):
        # SmtpTestCase's, with the self-relaying server.
        super(SmtpTestCase, cls).setUpClass()
        cls.env = MailEnv(dict(cls.smtp_conf), inboxes=cls.inboxes,
                          name=cls.__name__,
                          make_srv=lambda c, n: SelfRelayGentd(c, name=n))
        cls.addClassCleanup(cls.env.cleanup)
        cls.srv, cls.port, cls.dns = cls.env.srv, cls.env.port, cls.env.dns

    # -- helpers --

    def session(self, method, path, body, want):
        st, _, resp = self.srv.request(method, path, body,
                                       token=self.env.acct.session)
        self.assertEqual(st, want, resp)
        return resp

    def forward(self, local, dest):
        """The inbox's default forwarding address."""
        self.session("PUT", "/v1/forwarding/", {
            "inbox_id": self.env.inboxes[local], "default_address": dest}, 200)

    def deliver(self, local, subject, top=b""):
        """A message with top (header fields) above the usual ones."""
        msg = top + make_message(subject, to=self.env.addr(local))
        r = send_mail(self.port, "sender@client.gentd.test",
                      [self.env.addr(local)], msg)
        self.assertReply(r, 250, "2.0.0")
        got = self.env.by_subject(subject, local)
        self.assertEqual(len(got), 1, got)
        return self.env.message(got[0]["id"], local)

    def containing(self, local, subject):
        """The inbox's messages whose subject contains subject, oldest first."""
        return sorted((m for m in self.env.messages(local)
                       if subject in (m.get("subject") or "")),
                      key=lambda m: (m["received_at"], m["id"]))

    def wait_for(self, local, subject, n):
        """Wait (bounded) until the inbox holds n such messages."""
        return harness.wait_until(
            lambda: len(self.containing(local, subject)) >= n and
            self.containing(local, subject), timeout=self.HOP_WAIT,
            interval=0.2, what="%d message(s) %r in %s" % (n, subject, local))

    def queued(self, **where):
        """Outbound rows (id, inbox_id, source_message_id, rule_id, rcpt_to,
        raw) matching the given columns."""
        sql = ("SELECT id, inbox_id, source_message_id, rule_id, rcpt_to, raw "
               "FROM outbound")
        if where:
            sql += " WHERE " + " AND ".join("%s = ?" % k for k in where)
        conn = self.srv.db("tenants/%s/tenant.db" % self.env.acct.tenant_id)
        try:
            return conn.execute(sql + " ORDER BY created_at, id",
                                tuple(where.values())).fetchall()
        finally:
            conn.close()

    @staticmethod
    def delivered_to(raw):
        """The Delivered-To values of the top-level header, in order."""
        head = bytes(raw).split(b"\r\n\r\n", 1)[0] + b"\r\n"
        return [f.split(b":", 1)[1].strip().decode()
                for n, f in header_fields(head) if n == "delivered-to"]

    def fwd(self, m):
        """trace["forwarding"] as (destination, rule_id, reason)."""
        f = m["trace"]["forwarding"]
        self.assertIsInstance(f, list, f)
        return [(x["destination"], x["rule_id"], x["reason"]) for x in f]

    # -- tests --

    def test_copy_carries_delivered_to_of_inbox_and_original(self):
        c, d = self.env.addr("fwdc"), self.env.addr("fwdd")
        self.forward("fwdc", d)
        subject = harness.uniq("dt-copy-")
        m = self.deliver("fwdc", subject, b"Delivered-To: one@else.test\r\n"
                         b"Delivered-To: <Two@Else.Test>\r\n")
        self.assertEqual(self.fwd(m), [(d, "default", "default")])
        rows = self.queued(source_message_id=m["id"])
        self.assertEqual(len(rows), 1, rows)
        want = [c, "one@else.test", "Two@Else.Test"]
        # The queued copy: ours on top, then the original's in order.
        self.assertTrue(bytes(rows[0][5]).startswith(
            b"".join(b"Delivered-To: %s\r\n" % v.encode() for v in want)),
            bytes(rows[0][5])[:300])
        # As received by the destination, through the relay over SMTP.
        got = self.wait_for("fwdd", subject, 1)
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["subject"], "Fwd: " + subject)
        raw = self.env.raw(got[0]["id"], "fwdd")
        self.assertEqual(self.delivered_to(raw), want)

    def test_two_inboxes_forwarding_to_each_other_stop(self):
        a, b = self.env.addr("loopa"), self.env.addr("loopb")
        self.forward("loopa", b)
        self.forward("loopb", a)
        subject = harness.uniq("ping-pong-")
        orig = self.deliver("loopa", subject)
        # A forwards to B; B forwards its copy back to A; A's copy names A.
        in_a = self.wait_for("loopa", subject, 2)
        in_b = self.containing("loopb", subject)
        self.assertEqual([m["subject"] for m in in_a],
                         [subject, "Fwd: Fwd: " + subject])
        self.assertEqual([m["subject"] for m in in_b], ["Fwd: " + subject])
        self.assertEqual(self.fwd(orig), [(b, "default", "default")])
        self.assertEqual(self.fwd(self.env.message(in_b[0]["id"], "loopb")),
                         [(a, "default", "default")])
        back = self.env.message(in_a[1]["id"], "loopa")
        self.assertEqual(back["trace"]["forwarding"],
                         {"skipped": "loop", "delivered_to": a})
        self.assertEqual(self.delivered_to(self.env.raw(back["id"], "loopa")),
                         [b, a])
        # Two copies in all, and none of the returned message: a copy is
        # queued in the transaction that stores its source, so none can
        # come later.
        rows = self.queued(inbox_id=self.env.inboxes["loopa"]) + \
            self.queued(inbox_id=self.env.inboxes["loopb"])
        self.assertEqual(sorted((r[2], r[4]) for r in rows),
                         sorted([(orig["id"], b), (in_b[0]["id"], a)]), rows)
        self.assertIn("%s forwarding skipped: mail loop, the message carries "
                      "Delivered-To: %s" % (back["id"], a), self.srv.log_text())

    def test_delivered_to_naming_the_inbox_stops_every_forward(self):
        inbox, me = self.env.inboxes["self"], self.env.addr("self")
        self.forward("self", "human@example.org")
        rule = self.session("POST", "/v1/forwarding/rules/", {
            "inbox_id": inbox, "destination": "alerts@example.net",
            "condition_type": "subject_keyword", "condition_value": "dt-self"}, 201)
        lab = self.session("POST", "/v1/labels/", {
            "inbox_id": inbox, "name": harness.uniq("l-"),
            "policies": {"forward_to": "reviewer@example.org"}}, 201)
        self.session("POST", "/v1/auto-label-rules/", {
            "inbox_id": inbox, "label_id": lab["id"], "conditions": [
                {"type": "subject_pattern", "value": "dt-self*"}]}, 201)
        # Without a Delivered-To naming it, the inbox makes three copies.
        plain = self.deliver("self", harness.uniq("dt-self-plain-"),
                             b"Delivered-To: other@else.test\r\n")
        self.assertEqual(self.fwd(plain), [
            ("human@example.org", "default", "default"),
            ("alerts@example.net", rule["id"], "subject_keyword"),
            ("reviewer@example.org", "label:" + lab["id"], "label_policy")])
        self.assertEqual(len(self.queued(source_message_id=plain["id"])), 3)
        # With one (any case, below another): stored and labelled, no copy.
        shout = me.upper()
        m = self.deliver("self", harness.uniq("dt-self-loop-"),
                         b"Delivered-To: other@else.test\r\n"
                         b"Delivered-To: " + shout.encode() + b"\r\n")
        self.assertEqual(m["trace"]["forwarding"],
                         {"skipped": "loop", "delivered_to": shout})
        self.assertEqual([l["id"] for l in m["labels"]], [lab["id"]])
        self.assertEqual(self.queued(source_message_id=m["id"]), [])

    def test_unrelated_delivered_to_is_forwarded(self):
        c, d = self.env.addr("fwdc"), self.env.addr("fwdd")
        self.forward("fwdc", d)
        subject = harness.uniq("dt-other-")
        local, domain = c.split("@")
        near = ["x" + c, c + ".org", local + "@x" + domain, d,
                "%s@%s (comment)" % (local, domain)]
        m = self.deliver("fwdc", subject, b"".join(
            b"Delivered-To: %s\r\n" % v.encode() for v in near))
        self.assertEqual(self.fwd(m), [(d, "default", "default")])
        self.assertEqual(len(self.queued(source_message_id=m["id"])), 1)
        got = self.wait_for("fwdd", subject, 1)
        self.assertEqual([x["subject"] for x in got], ["Fwd: " + subject])
        self.assertEqual(self.delivered_to(self.env.raw(got[0]["id"], "fwdd")),
                         [c] + near)


if __name__ == "__main__":
    unittest.main(verbosity=2)
