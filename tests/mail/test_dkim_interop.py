"""
test_dkim_interop.py - RELIABILITY.md row 16: the signatures gentd makes
verify with DKIM implementations that share no code with ours.

Every message of the MIME corpus (shared/testdata/mime) is put in CRLF
form the way the relay does before it signs (src/relay/relay_claim.c,
crlf_copy: CRLF, a lone CR and a lone LF each become CRLF, and a last line
without one gets it), signed by gent_dkim_sign() through dkim_sign_file
(tests/mail/dkim_sign_file.c) with a fresh RSA-2048 key (rsa-sha256,
relaxed/relaxed), and verified by

  - dkimpy (python3-dkim) in this process, handed the key record by a
    dnsfunc; and
  - opendkim-testmsg (opendkim-tools), one process per message. It only
    fetches keys from DNS through the system resolver, so the file runs
    itself again under `unshare --net --mount`: in that network namespace
    dnsmasq (tests/domains/dns_fixture.py) serves the key record on
    127.0.0.1:53, and in the private mount namespace a resolv.conf naming
    it is bind-mounted on /etc/resolv.conf. Both namespaces end with the
    process. Without root, unshare or opendkim-testmsg the opendkim tests
    print why and are skipped; dkimpy still runs. (Debian's
    opendkim-testmsg signs with rsa-sha1, so here it only verifies.)

Negative control: in every signed message with a body, one body byte
changed after signing must fail both verifiers, or a verifier that passed
everything would pass this test. opendkim-testmsg also reads every
message unsigned, to tell a verdict on our signature from a refusal of
the message itself.

Files that are not messages are left out (NOT_MESSAGES): the README.txt
files and the licence texts (LICENSE*, COPYING*, ARTISTIC-LICENSE.txt,
NOTICE.txt) describe the corpus, and mime4j-testmsgs/*.xml are mime4j's
expected event trees of the .msg beside them. gmime/substring.mbox is an
mbox: each of its messages is signed on its own (substring.mbox#1..3).
Six files start with an mbox envelope line ("From user@host date", no
colon): it is storage, not a header field, and is dropped. Two generated
messages sit on either side of the longest header field gentd signs
(FIELD_MAX, src/mail/dkim_sign.c).

KNOWN lists the steps expected to fail, each with a cause from KINDS:
messages without From (DKIM cannot sign them), a header field over
FIELD_MAX (gentd refuses), and messages opendkim-testmsg or dkimpy
refuse whether signed or not (no Date, a From without domain, a stray
line in the header section). Each cause is checked on its message, and
each row must still fail as its kind says, so the table cannot rot.

    GENTD_BIN=build/gentd DKIM_SIGN_FILE=build/tests/mail/dkim_sign_file \\
        PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/mail/test_dkim_interop.py [MIME_DIR]
"""

import base64
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
MIME_DIR = HERE.parents[1].parent / "shared" / "testdata" / "mime"
SIGNER = os.environ.get("DKIM_SIGN_FILE") or \
    str(HERE.parents[1] / "build" / "tests" / "mail" / "dkim_sign_file")
OPENDKIM = "/usr/sbin/opendkim-testmsg"
DOMAIN = "interop.gentd.test"
SELECTOR = "corpus2048"
KEY_NAME = "%s._domainkey.%s" % (SELECTOR, DOMAIN)
INSIDE = "--opendkim-inside"     # argv[1] of the run in the namespaces
MIN_MESSAGES = 120               # 124 today; fewer means a lost corpus
STEP_TIMEOUT = 30                # one signer or verifier process
INSIDE_TIMEOUT = 200             # all opendkim runs (meson allows 300 s)

FIELD_MAX = 65533                # src/mail/dkim_sign.c: longest field it signs

# (pattern on the path under MIME_DIR, why it is not a message)
NOT_MESSAGES = [
    (r"(^|/)README\.txt$", "describes the corpus"),
    (r"(^|/)(LICENSE[^/]*|COPYING[^/]*|ARTISTIC-LICENSE\.txt|NOTICE\.txt)$",
     "licence text"),
    (r"^mime4j-testmsgs/[^/]+\.xml$",
     "mime4j's expected event tree of the .msg beside it"),
]

STEPS = ("sign", "dkimpy", "opendkim")
OPENDKIM_REFUSES = r"^opendkim-testmsg: dkim_chunk\(\): Syntax error$"
# How each verifier reports a body that no longer matches bh=.
BODY_MISMATCH = {"dkimpy": r"body hash mismatch",
                 "opendkim": r"^opendkim-testmsg: dkim_eom\(\): Bad signature$"}


class Kind:
    """Why a step fails for a message. holds(msg) checks the cause on the
    message itself; error matches what the step reported; itself: the
    verifier refuses the unsigned message the same way (so the failure
    says nothing against our signature)."""

    def __init__(self, why, holds, error, itself=False):
        self.why, self.holds, self.error, self.itself = \
            why, holds, error, itself


def header_fields(msg):
    """([(lower-case name, field with its folds)], [stray lines]) of the
    header section of a CRLF message: its lines before the first empty
    one. A stray line is neither "name:" (obsolete white space before the
    colon allowed) nor a fold."""
    fields, stray = [], []
    for line in msg.split(b"\r\n"):
        if line == b"":
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + b"\r\n" + line)
            continue
        m = re.match(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:", line)
        if m:
            fields.append((m.group(1).lower(), line))
        else:
            stray.append(line)
    return fields, stray


def field_names(msg):
    return [name for name, _ in header_fields(msg)[0]]


KINDS = {
    "no-from": Kind(
        "no From field: RFC 6376 section 5.4 requires From to be signed and "
        "libopendkim will not sign without one (the relay would send the "
        "message unsigned); mail gentd composes always has one",
        lambda m: b"from" not in field_names(m), r"not signed: Syntax error$"),
    "long-field": Kind(
        "a header field over FIELD_MAX bytes: libopendkim would hash a cut "
        "copy (it buffers a field in MAXBUFRSZ, 64 KiB), so "
        "gent_dkim_sign() refuses (src/mail/dkim_sign.c)",
        lambda m: any(len(f) > FIELD_MAX for _, f in header_fields(m)[0]),
        r"not signed: a header field is over %d bytes" % FIELD_MAX),
    "no-date": Kind(
        "no Date field: opendkim-testmsg enforces RFC 5322 header counts "
        "(DKIM_LIBFLAGS_STRICTHDRS) and refuses the message before it reads "
        "any signature; dkimpy verifies it",
        lambda m: b"date" not in field_names(m), OPENDKIM_REFUSES, True),
    "from-no-domain": Kind(
        "From without a domain (\"From: user2\"): libopendkim's verifier "
        "cannot name the author and refuses the message (\"can't determine "
        "sender address\"); dkimpy verifies it",
        lambda m: all(b"@" not in f for n, f in header_fields(m)[0]
                      if n == b"from"), OPENDKIM_REFUSES, True),
    "stray-line": Kind(
        "a line in the header section is neither a field nor a fold (after "
        "a \"blank\" line holding a space, or an unfolded base64 line): "
        "dkimpy stops parsing (MessageFormatError), libopendkim's verifier "
        "refuses the message, though its signer took it",
        lambda m: bool(header_fields(m)[1]),
        r"MessageFormatError|" + OPENDKIM_REFUSES, True),
}

# The steps expected to fail: (step, KINDS key, messages). Each cause is
# checked on its message (test_known_failures_hold), and every row must
# still fail the way its kind says, or the test asks for its removal.
# The messages without From are MIME entities rather than mail (parser
# tests of mime4j and MIME-tools); generated/ sits on both sides of
# FIELD_MAX.
KNOWN = [
    ("sign", "no-from", [
        "mailparser-fixtures/mixed.eml",
        "mime-tools-testmsgs/attachment-filename-encoding-Latin1.msg",
        "mime-tools-testmsgs/attachment-filename-encoding-UTF8.msg",
        "mime-tools-testmsgs/bluedot-postcard.msg",
        "mime-tools-testmsgs/bluedot-simple.msg",
        "mime-tools-testmsgs/double-semicolon.msg",
        "mime-tools-testmsgs/double-semicolon2.msg",
        "mime-tools-testmsgs/empty-preamble.msg",
        "mime-tools-testmsgs/infinite.msg",
        "mime-tools-testmsgs/multi-2gifs-base64.msg",
        "mime-tools-testmsgs/russian.msg",
        "mime-tools-testmsgs/sig-uu.msg",
        "mime-tools-testmsgs/ticket-60931.msg",
        "mime-tools-testmsgs/x-gzip64.msg",
        "mime4j-testmsgs/bad-newlines-multiple-parts-base64.msg",
        "mime4j-testmsgs/bad-newlines-multiple-parts.msg",
        "mime4j-testmsgs/base64-encoded-text.msg",
        "mime4j-testmsgs/base64encoded-rfc822message-nested.msg",
        "mime4j-testmsgs/base64encoded-rfc822message.msg",
        "mime4j-testmsgs/boundary-name-clash.msg",
        "mime4j-testmsgs/ending-boundaries.msg",
        "mime4j-testmsgs/intermediate-boundaries.msg",
        "mime4j-testmsgs/malformedHeader-nocrlfcrlf.msg",
        "mime4j-testmsgs/malformedHeader-noheader.msg",
        "mime4j-testmsgs/malformedHeaderStartsBody-nocrlfcrlf.msg",
        "mime4j-testmsgs/malformedHeaderStartsBody-noheader.msg",
        "mime4j-testmsgs/misplaced-boundary.msg",
        "mime4j-testmsgs/missing-boundary.msg",
        "mime4j-testmsgs/missing-inner-boundary.msg",
        "mime4j-testmsgs/missing-inner-start-boundary.msg",
        "mime4j-testmsgs/obsolete.msg",
        "mime4j-testmsgs/qp-body.msg",
        "mime4j-testmsgs/russian-headers.msg",
        "mime4j-testmsgs/very-long-boundary.msg",
        "mime4j-testmsgs/very-very-long-boundary.msg",
        "mime4j-testmsgs/weird-boundary.msg",
        "mimekit-messages/delivery-status-multiple-blank-lines.txt",
        "mimekit-messages/delivery-status2.txt",
        "mimekit-messages/feedback-report.txt",      # a BOM before "From:"
        "mimekit-messages/multipart-related-mhtml.txt",
    ]),
    ("sign", "long-field", [
        "generated/to-field-65534.eml",
        "mimekit-messages/stack-overflow.txt",
    ]),
    ("dkimpy", "stray-line", [
        "mime-tools-testmsgs/hdr-fakeout.msg",
        "mime4j-testmsgs/basic-plain-with-bad-header-separator.msg",
        "mimekit-messages/issue358.txt",
    ]),
    ("opendkim", "stray-line", [
        "mime-tools-testmsgs/hdr-fakeout.msg",
        "mime4j-testmsgs/basic-plain-with-bad-header-separator.msg",
        "mimekit-messages/issue358.txt",
    ]),
    ("opendkim", "no-date", [
        "mailparser-fixtures/base64encodedroot.eml",
        "mailparser-fixtures/htmllargecallstack.eml",
        "mailparser-fixtures/nested.eml",
        "mailparser-fixtures/outofmemory.eml",
        "mime-tools-testmsgs/2002_06_12_doublebound.msg",
        "mime-tools-testmsgs/badfile.msg",
        "mime-tools-testmsgs/intl.msg",
        "mime-tools-testmsgs/multi-badnames.msg",
        "mime-tools-testmsgs/multi-clen.msg",
        "mime-tools-testmsgs/multi-digest.msg",
        "mime-tools-testmsgs/multi-frag.msg",
        "mime-tools-testmsgs/multi-nested.msg",
        "mime-tools-testmsgs/multi-nested2.msg",
        "mime-tools-testmsgs/multi-nested3.msg",
        "mime-tools-testmsgs/multi-simple.msg",
        "mimekit-messages/rfc2060.txt",
    ]),
    ("opendkim", "from-no-domain", [
        "mime-tools-testmsgs/re-fwd.msg",
        "mime-tools-testmsgs/uu-zeegee.msg",
    ]),
]
KNOWN_FAILURES = {}     # {message name: {step: KINDS key}}
for _step, _kind, _names in KNOWN:
    for _name in _names:
        KNOWN_FAILURES.setdefault(_name, {})[_step] = _kind


# --------------------------------------------------------------------------
# The corpus
# --------------------------------------------------------------------------

def crlf(data):
    """The relay's wire form: every line end CRLF, the last line ended."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if data and not data.endswith(b"\n"):
        data += b"\r\n"
    return data


def mbox_messages(data):
    """The messages of an mbox, their "From " separator lines dropped."""
    parts = re.split(rb"(?m)^From [^\n]*\n", data)
    return parts[1:] if not parts[0].strip() else parts


def drop_envelope(data):
    """data without a first line "From <sender> <date>", the mbox
    envelope (From_) line some corpus files were saved with: not a
    header field (no colon after the name), not part of the message."""
    first = data.split(b"\n", 1)[0]
    if first.startswith(b"From ") and \
            not re.match(rb"From[ \t]*:", first):
        return data[len(first) + 1:]
    return data


def long_to_message(n):
    """A message whose To: field, folded every 4 addresses, is n bytes."""
    to, i = b"To: rcpt0@example.test", 1
    while len(to) < n - 40:
        to += (b",\r\n " if i % 4 == 0 else b", ") + b"rcpt%d@example.test" % i
        i += 1
    to += b", " + b"x" * (n - len(to) - len(b", @example.test")) + \
        b"@example.test"
    assert len(to) == n
    return (b"From: Agent <agent@example.test>\r\n" + to +
            b"\r\nSubject: many recipients\r\n"
            b"Date: Wed, 02 Dec 2026 12:00:00 +0000\r\n"
            b"Message-ID: <long-to-%d@example.test>\r\n\r\nHello all.\r\n" % n)


def corpus(mime_dir):
    """([(name, CRLF bytes)], [(path, why skipped)]) in path order, then
    the generated messages."""
    if not mime_dir.is_dir():
        raise AssertionError("MIME corpus not found at %s (shared/ must sit "
                             "beside the repository)" % mime_dir)
    messages, skipped = [], []
    for path in sorted(p for p in mime_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(mime_dir).as_posix()
        why = next((w for pat, w in NOT_MESSAGES if re.search(pat, rel)), None)
        if why:
            skipped.append((rel, why))
            continue
        data = path.read_bytes()
        if rel.endswith(".mbox"):
            for i, m in enumerate(mbox_messages(data), 1):
                messages.append(("%s#%d" % (rel, i), crlf(m)))
        else:
            messages.append((rel, crlf(drop_envelope(data))))
    for n in (FIELD_MAX, FIELD_MAX + 1):
        messages.append(("generated/to-field-%d.eml" % n, long_to_message(n)))
    return messages, skipped


def tamper_body(signed):
    """signed with its first body byte that is not white space changed
    (relaxed canonicalization keeps the rest), or None without one."""
    sep = signed.find(b"\r\n\r\n")
    if sep < 0:
        return None
    for i in range(sep + 4, len(signed)):
        if signed[i] not in b" \t\r\n":
            out = bytearray(signed)
            out[i] = ord("A") if signed[i] != ord("A") else ord("B")
            return bytes(out)
    return None


# --------------------------------------------------------------------------
# Key, signer, verifiers
# --------------------------------------------------------------------------

def make_key(directory):
    """A fresh RSA-2048 key as PKCS#8 PEM (as gentd stores its own) at
    directory/key.pem; returns (path, TXT record)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    path = os.path.join(directory, "key.pem")
    with open(path, "wb") as f:
        f.write(pem)
    # As dkim_key_record() writes it.
    return path, "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode()


def sign(key_path, msg):
    """(signed bytes, "") or (None, why)."""
    p = subprocess.run([SIGNER, key_path, DOMAIN, SELECTOR], input=msg,
                       capture_output=True, timeout=STEP_TIMEOUT)
    why = p.stderr.decode("utf-8", "replace").strip()
    why = why.replace(SIGNER + ": ", "")
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, why)
    if not p.stdout.endswith(msg) or \
            not p.stdout.startswith(b"DKIM-Signature: "):
        return None, "output is not DKIM-Signature + the message"
    return p.stdout, ""


class LogList(logging.Handler):
    """dkimpy's log lines of one verification: [(level, text)]."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append((record.levelno, record.getMessage()))


def dkimpy_verify(data, record):
    """(passed, why): dkimpy on the first (our) signature. why is its
    error, else its last debug line other than the parsed tags."""
    log = logging.getLogger("dkimpy-interop")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    h = LogList()
    log.addHandler(h)

    def dnsfunc(name, timeout=5):
        if name.decode("ascii", "replace").rstrip(".").lower() == KEY_NAME:
            return record.encode()
        return None
    try:
        ok = dkim.verify(data, logger=log, dnsfunc=dnsfunc)
    except Exception as e:      # DKIM() parses before verify()'s try
        ok = False
        h.lines.append((logging.ERROR, "%s: %s" % (type(e).__name__, e)))
    finally:
        log.removeHandler(h)
    if ok:
        return True, ""
    errors = [t for lvl, t in h.lines if lvl >= logging.WARNING]
    debug = [t for lvl, t in h.lines if lvl < logging.WARNING and
             not t.startswith(("sig: ", "signed "))]
    return False, ("; ".join(errors) or (debug or ["verify() False"])[-1])[:400]


# --------------------------------------------------------------------------
# opendkim-testmsg, outside the namespaces: start the run inside
# --------------------------------------------------------------------------

def opendkim_unavailable():
    if not os.access(OPENDKIM, os.X_OK):
        return "%s not found (package opendkim-tools)" % OPENDKIM
    if os.geteuid() != 0:
        return ("needs root for the network and mount namespaces in which "
                "127.0.0.1:53 serves the key")
    for tool in ("unshare", "mount", "ip"):
        if not shutil.which(tool):
            return "needs %s" % tool
    p = subprocess.run(["unshare", "--net", "--mount", "true"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:    # a container without CAP_SYS_ADMIN, say
        return "unshare --net --mount: %s" % p.stderr.strip()
    return None


def opendkim_run(tmp, record, jobs):
    """[[what, name, exit status, stderr]] for jobs [[what, name, path]]
    (opendkim-testmsg < path, each), None when they did not finish in
    time, or a str: why opendkim-testmsg cannot run here."""
    why = opendkim_unavailable()
    if why:
        return why
    manifest = os.path.join(tmp, "opendkim-jobs.json")
    result = os.path.join(tmp, "opendkim-results.json")
    with open(manifest, "w") as f:
        json.dump({"record": record, "jobs": jobs, "out": result,
                   "tmp": tmp}, f)
    proc = subprocess.Popen(["unshare", "--net", "--mount",
                             "--propagation", "private", sys.executable,
                             os.path.abspath(__file__), INSIDE, manifest],
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        rc = proc.wait(timeout=INSIDE_TIMEOUT)
    except subprocess.TimeoutExpired:
        print("opendkim-testmsg runs not done after %d s" % INSIDE_TIMEOUT)
        return None     # no results: the opendkim tests fail
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)   # dnsmasq is in the group
            proc.wait(timeout=10)
    if not os.path.exists(result):
        print("the run in the namespaces exited %d without results" % rc)
        return None
    with open(result) as f:
        out = json.load(f)
    return out["skip"] or out["results"]


# --------------------------------------------------------------------------
# opendkim-testmsg, inside the namespaces
# --------------------------------------------------------------------------

def ns_id(pid, kind):
    return os.readlink("/proc/%s/ns/%s" % (pid, kind))


def inside_setup(tmp, record):
    """None when ready, else why not. Nothing is mounted unless this
    process has network and mount namespaces of its own."""
    import dns_fixture
    parent = os.getppid()
    for kind in ("net", "mnt"):
        if ns_id("self", kind) == ns_id(parent, kind):
            return "unshare gave no private %s namespace" % kind
    p = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        return "ip link set lo up: %s" % p.stderr.strip()
    dns = dns_fixture.DnsServer()
    dns.port = 53       # the system resolver knows no other port
    dns.txt[KEY_NAME] = [record]
    dns.start()
    conf = os.path.join(tmp, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
    p = subprocess.run(["mount", "--bind", conf, "/etc/resolv.conf"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        return "mount --bind on /etc/resolv.conf: %s" % p.stderr.strip()
    rcode, values = dns_fixture.dns_query(53, KEY_NAME)
    if rcode != 0 or values != [record]:
        raise AssertionError("dnsmasq answers %s with %r %r"
                             % (KEY_NAME, rcode, values))
    return None


def inside(manifest):
    with open(manifest) as f:
        m = json.load(f)
    out = {"skip": None, "results": []}
    try:
        out["skip"] = inside_setup(m["tmp"], m["record"])
        if not out["skip"]:
            for what, name, path in m["jobs"]:
                with open(path, "rb") as msg:
                    p = subprocess.run([OPENDKIM, "-t", m["tmp"]], stdin=msg,
                                       capture_output=True,
                                       timeout=STEP_TIMEOUT)
                err = p.stderr.decode("utf-8", "replace").strip()
                out["results"].append([what, name, p.returncode, err[:400]])
    finally:
        with open(m["out"], "w") as f:
            json.dump(out, f)
    return 0


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------

class DkimInteropTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        cls.tmp = tempfile.mkdtemp(prefix="gentd-dkim-interop-")
        os.chmod(cls.tmp, 0o755)    # dnsmasq drops root to nobody
        if not os.environ.get("GENTD_KEEP_TMP"):
            cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.messages, skipped = corpus(MIME_DIR)
        cls.by_name = dict(cls.messages)
        reasons = [why for _, why in skipped]
        print("%d files are not messages: %s" % (len(skipped), "; ".join(
            "%s (%d)" % (w, reasons.count(w)) for w in sorted(set(reasons)))))
        key_path, cls.record = make_key(cls.tmp)

        # res[step][name] = (passed, why); tampered[verifier][name] the
        # same for the changed bodies; unsigned[name]: opendkim-testmsg's
        # (passed, why) for the message before signing.
        cls.res = {s: {} for s in STEPS}
        cls.tampered = {"dkimpy": {}, "opendkim": {}}
        cls.unsigned = {}
        jobs = []
        for i, (name, msg) in enumerate(cls.messages):
            signed, why = sign(key_path, msg)
            cls.res["sign"][name] = (signed is not None, why)
            if signed is None:
                continue
            cls.res["dkimpy"][name] = dkimpy_verify(signed, cls.record)
            jobs.append(["signed", name, cls.write(i, "signed", signed)])
            jobs.append(["unsigned", name, cls.write(i, "unsigned", msg)])
            bad = tamper_body(signed)
            if bad is not None:
                cls.tampered["dkimpy"][name] = dkimpy_verify(bad, cls.record)
                jobs.append(["tampered", name, cls.write(i, "tampered", bad)])

        cls.opendkim_skip = None
        got = opendkim_run(cls.tmp, cls.record, jobs)
        if isinstance(got, str):
            cls.opendkim_skip = got
            print("SKIP opendkim-testmsg: %s" % got)
            got = []
        for what, name, rc, err in got or []:
            passed = (rc == 0 and not err, err or "exit %d" % rc)
            {"signed": cls.res["opendkim"], "unsigned": cls.unsigned,
             "tampered": cls.tampered["opendkim"]}[what][name] = passed
        cls.summary(time.monotonic() - started)

    @classmethod
    def write(cls, i, what, data):
        path = os.path.join(cls.tmp, "%03d.%s.eml" % (i, what))
        with open(path, "wb") as f:
            f.write(data)
        return path

    @classmethod
    def summary(cls, seconds):
        def ratio(results, passing=True):
            return "%d/%d" % (sum(ok == passing for ok, _ in results.values()),
                              len(results))
        skip = cls.opendkim_skip
        print("%d messages, signed %s; verified: dkimpy %s, opendkim-testmsg "
              "%s; changed bodies rejected: dkimpy %s, opendkim-testmsg %s; "
              "%d KNOWN_FAILURES rows (%.1f s)"
              % (len(cls.messages), ratio(cls.res["sign"]),
                 ratio(cls.res["dkimpy"]),
                 "skipped" if skip else ratio(cls.res["opendkim"]),
                 ratio(cls.tampered["dkimpy"], False),
                 "skipped" if skip else ratio(cls.tampered["opendkim"], False),
                 sum(len(r) for r in KNOWN_FAILURES.values()), seconds))
        for step, kind, names in KNOWN:
            print("  %s expected to fail for %d (%s): %s"
                  % (step, len(names), kind, KINDS[kind].why))

    def skip_opendkim(self, step):
        if step == "opendkim" and self.opendkim_skip:
            self.skipTest(self.opendkim_skip)

    def check_step(self, step):
        """Every message passes step unless KNOWN_FAILURES says it fails;
        the report names every file that went the other way."""
        self.skip_opendkim(step)
        results = self.res[step]
        want = [n for n, _ in self.messages
                if step == "sign" or self.res["sign"][n][0]]
        bad = []
        for name in want:
            if name not in results:
                bad.append("%s: no %s result" % (name, step))
                continue
            passed, why = results[name]
            kind = KNOWN_FAILURES.get(name, {}).get(step)
            if kind and passed:
                bad.append("%s: passes %s now; remove its KNOWN_FAILURES "
                           "row (%s)" % (name, step, kind))
            elif not kind and not passed:
                bad.append("%s: %s failed: %s" % (name, step, why))
        if bad:
            self.fail("%d of %d messages:\n  %s"
                      % (len(bad), len(want), "\n  ".join(bad)))

    def test_corpus_is_there(self):
        n = sum(not name.startswith("generated/") for name, _ in self.messages)
        self.assertGreaterEqual(n, MIN_MESSAGES, "MIME corpus incomplete?")

    def test_gentd_signs_every_message(self):
        self.check_step("sign")

    def test_dkimpy_verifies_every_signature(self):
        self.check_step("dkimpy")

    def test_opendkim_verifies_every_signature(self):
        self.check_step("opendkim")

    def test_known_failures_hold(self):
        """Each row names a message, its cause holds on that message, the
        step failed with its kind's error, and where the kind says the
        verifier refuses the message itself, it refused the unsigned one
        with the same words."""
        bad = []
        for name, steps in sorted(KNOWN_FAILURES.items()):
            msg = self.by_name.get(name)
            if msg is None:
                bad.append("%s: no such message" % name)
                continue
            for step, kind_name in sorted(steps.items()):
                kind = KINDS[kind_name]
                if not kind.holds(msg):
                    bad.append("%s: not %s" % (name, kind_name))
                if step == "opendkim" and self.opendkim_skip:
                    continue
                passed, why = self.res[step].get(name, (None, "no result"))
                if passed is False and not re.search(kind.error, why):
                    bad.append("%s: %s failed otherwise than %s says: %s"
                               % (name, step, kind_name, why))
                if kind.itself and step == "opendkim" and \
                        self.unsigned.get(name) != (False, why):
                    bad.append("%s: opendkim-testmsg on the unsigned message: "
                               "%r, not %r" % (name, self.unsigned.get(name),
                                               why))
        if bad:
            self.fail("\n  " + "\n  ".join(bad))

    def check_tampered(self, verifier):
        """The changed body fails wherever the signed message passed, and
        fails as a mismatch there, not as a refusal of the message."""
        self.skip_opendkim(verifier)
        got = self.tampered[verifier]
        # The same changed messages went to both verifiers.
        missing = sorted(set(self.tampered["dkimpy"]) - set(got))
        if missing:
            self.fail("no %s result for the changed body of %s"
                      % (verifier, missing))
        passed = sorted(n for n, (ok, _) in got.items() if ok)
        if passed:
            self.fail("%s passes a changed body of:\n  %s"
                      % (verifier, "\n  ".join(passed)))
        controls = [n for n in got if self.res[verifier][n][0]]
        # Most messages have a body; a lost control set is a failure.
        self.assertGreaterEqual(len(controls), MIN_MESSAGES // 2)
        mismatch = BODY_MISMATCH[verifier]
        other = ["%s: %s" % (n, got[n][1]) for n in sorted(controls)
                 if not re.search(mismatch, got[n][1])]
        if other:
            self.fail("%s rejects a changed body, but not as %r:\n  %s"
                      % (verifier, mismatch, "\n  ".join(other)))

    def test_dkimpy_rejects_changed_body(self):
        self.check_tampered("dkimpy")

    def test_opendkim_rejects_changed_body(self):
        self.check_tampered("opendkim")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == INSIDE:
        sys.exit(inside(sys.argv[2]))
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        MIME_DIR = Path(sys.argv.pop(1))
    unittest.main(verbosity=2)
