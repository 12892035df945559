"""
test_smtp_corpus.py - the MIME corpus through the inbound path
(RELIABILITY.md row 18): every file of shared/testdata/mime goes in over
SMTP (line ends converted to CRLF, dot-stuffed by the client) and comes out
through the messages API without a crash or a leak:

  - the raw bytes after gentd's trace fields are exactly what was sent;
  - GET /v1/messages/{id}/ answers 200 with valid UTF-8 JSON, and
    text_body / html_body are strings or null;
  - every listed attachment downloads with exactly its listed size;
  - the server is healthy afterwards, its log shows no crash or sanitizer
    report, and it exits 0 on SIGTERM (a leak under ASan/LSan would not).

Files over smtp_max_message (10M here) must get 552 and are left out of the
later checks (none of the current corpus is that big).

The same file runs against a sanitizer build: point GENTD_BIN at it.
    GENTD_BIN=build-asan/gentd PYTHONPATH=tests/integration:tests/domains \\
        /usr/bin/python3 tests/smtp/test_smtp_corpus.py
"""

import json
import re
import sys
import time
import unittest
from pathlib import Path

from smtp_fixture import (SmtpTestCase, SmtpConn, Closed, dot_stuff,
                          split_stored)

MIME_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "mime"
MAX_MESSAGE = 10 * 1024 * 1024
PER_SESSION = 40            # transactions per SMTP session
REPLY_TIMEOUT = 60.0        # generous: a sanitizer build is 3-5x slower
HTTP_TIMEOUT = 60.0
QUEUED = re.compile(r"queued as (q_[a-z0-9]+)")
OUR_ID = re.compile(rb"\(gentd\) with ESMTPS? id (q_[a-z0-9]+);")
CRASH_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                 "runtime error:", "Segmentation fault", "SIGSEGV", "SIGABRT",
                 "Assertion", "assertion failed", "double free", "stack smashing")


def crlf(data):
    """Every bare LF and lone CR becomes CRLF."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


def corpus_files():
    if not MIME_DIR.is_dir():
        raise AssertionError("MIME corpus not found at %s (shared/ must sit "
                             "beside the repository)" % MIME_DIR)
    files = sorted(p for p in MIME_DIR.rglob("*") if p.is_file())
    if len(files) < 100:
        raise AssertionError("only %d files under %s: corpus incomplete?"
                             % (len(files), MIME_DIR))
    return files


def check_strings(value, where):
    """Every string inside a decoded JSON value is valid Unicode (no lone
    surrogates from \\ud800-style escapes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            raise AssertionError("%s: string is not valid UTF-8: %s" % (where, e))
    elif isinstance(value, dict):
        for k, v in value.items():
            check_strings(k, where)
            check_strings(v, "%s.%s" % (where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_strings(v, "%s[%d]" % (where, i))


class SmtpCorpusTest(SmtpTestCase):
    smtp_conf = {"smtp_max_message": "10M"}
    inboxes = ("bot",)

    def get(self, path, token):
        """GET with a long timeout; (status, raw body bytes)."""
        st, _, _ = self.srv.request("GET", path, token=token, timeout=HTTP_TIMEOUT)
        return st, self.srv.last_body

    def get_json(self, path, token, what):
        st, body = self.get(path, token)
        self.assertEqual(st, 200, "%s: GET %s -> %d %r" % (what, path, st, body[:300]))
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            self.fail("%s: GET %s is not UTF-8: %s" % (what, path, e))
        try:
            doc = json.loads(text)
        except ValueError as e:
            self.fail("%s: GET %s is not JSON: %s" % (what, path, e))
        check_strings(doc, what)
        return doc

    # -- sending --

    def send_all(self, files):
        """Returns (accepted {qid: (name, sent)}, too_big [names],
        refused [(name, reply)])."""
        rcpt = self.env.addr("bot")
        accepted, too_big, refused = {}, [], []
        conn, in_session = None, 0
        try:
            for path in files:
                name = str(path.relative_to(MIME_DIR))
                data = crlf(path.read_bytes())
                sent = data if data.endswith(b"\r\n") else data + b"\r\n"
                if conn is None or in_session >= PER_SESSION:
                    if conn is not None:
                        self.quit(conn)
                    conn = SmtpConn(self.port, timeout=REPLY_TIMEOUT)
                    self.assertEqual(conn.greeting.code, 220, conn.greeting)
                    conn.ehlo("corpus.gentd.test")
                    in_session = 0
                in_session += 1
                r = conn.cmd("MAIL FROM:<corpus@client.gentd.test>")
                if r.code == 552 and len(data) > MAX_MESSAGE:
                    too_big.append(name)
                    continue
                self.assertEqual(r.code, 250, "%s: MAIL %r" % (name, r))
                r = conn.cmd("RCPT TO:<%s>" % rcpt)
                self.assertEqual(r.code, 250, "%s: RCPT %r" % (name, r))
                r = conn.cmd("DATA")
                self.assertEqual(r.code, 354, "%s: DATA %r" % (name, r))
                try:
                    conn.send(dot_stuff(data))
                    r = conn.reply(REPLY_TIMEOUT)
                except (Closed, OSError) as e:
                    self.fail("%s (%d bytes): connection lost after the data: %r"
                              % (name, len(data), e))
                if len(sent) > MAX_MESSAGE:
                    self.assertEqual(r.code, 552, "%s (%d bytes) over the limit: %r"
                                     % (name, len(sent), r))
                    too_big.append(name)
                elif r.code == 250:
                    m = QUEUED.search(r.last)
                    self.assertIsNotNone(m, "%s: no queue id in %r" % (name, r))
                    accepted[m.group(1)] = (name, sent)
                else:
                    refused.append((name, r))
        finally:
            if conn is not None:
                self.quit(conn)
        return accepted, too_big, refused

    @staticmethod
    def quit(conn):
        try:
            conn.cmd("QUIT", timeout=REPLY_TIMEOUT)
        except (Closed, OSError):
            pass
        conn.close()

    # -- the test --

    def test_corpus_round_trip(self):
        files = corpus_files()
        t0 = time.monotonic()
        accepted, too_big, refused = self.send_all(files)
        t_send = time.monotonic() - t0
        self.assertEqual(refused, [], "messages refused (not for size)")
        self.assertEqual(len(accepted) + len(too_big), len(files))

        token = self.env.tokens["bot"]
        listing = self.env.messages("bot")
        check_strings(listing, "list")
        self.assertEqual(len(listing), len(accepted),
                         "inbox holds %d messages, %d got 250"
                         % (len(listing), len(accepted)))

        seen = {}
        n_att = n_text = n_html = n_malformed = n_with_att = 0
        problems = []
        for item in listing:
            mid = item["id"]
            st, raw = self.get("/v1/messages/%s/raw/" % mid, token)
            self.assertEqual(st, 200, "raw %s: %d" % (mid, st))
            m = OUR_ID.search(raw[:4096])
            self.assertIsNotNone(m, "raw %s: no Received field of ours: %r"
                                 % (mid, raw[:500]))
            qid = m.group(1).decode()
            self.assertIn(qid, accepted, "message %s has an unknown queue id %s"
                          % (mid, qid))
            self.assertNotIn(qid, seen, "queue id %s stored twice (%s, %s)"
                             % (qid, seen.get(qid), mid))
            seen[qid] = mid
            name, sent = accepted[qid]
            try:
                split_stored(raw, sent)
            except AssertionError as e:
                problems.append("%s (%s): stored bytes differ: %s"
                                % (name, mid, str(e)[:400]))
            self.assertEqual(item.get("size"), len(raw), "%s: size" % name)

            full = self.get_json("/v1/messages/%s/" % mid, token, name)
            for k in ("text_body", "html_body"):
                self.assertIn(k, full, "%s: %s missing" % (name, k))
                self.assertTrue(full[k] is None or isinstance(full[k], str),
                                "%s: %s is %r" % (name, k, type(full[k])))
            n_text += full["text_body"] is not None
            n_html += full["html_body"] is not None
            n_malformed += bool(full.get("malformed"))
            atts = full.get("attachments")
            self.assertIsInstance(atts, list, "%s: attachments" % name)
            self.assertEqual(bool(item.get("has_attachments")), bool(atts),
                             "%s: has_attachments %r but %d attachments"
                             % (name, item.get("has_attachments"), len(atts)))
            n_with_att += bool(atts)
            for a in atts:
                st, data = self.get("/v1/messages/%s/attachments/%s/" % (mid, a["id"]),
                                    token)
                self.assertEqual(st, 200, "%s: attachment %r: %d %r"
                                 % (name, a, st, data[:200]))
                self.assertEqual(len(data), a["size"],
                                 "%s: attachment %r downloads %d bytes"
                                 % (name, a, len(data)))
                n_att += 1
        self.assertEqual(set(seen), set(accepted), "accepted but not listed: %r"
                         % sorted(accepted[q][0] for q in set(accepted) - set(seen)))

        # Still healthy, no crash, a clean exit (LeakSanitizer would fail it).
        st, _, _ = self.srv.request("GET", "/healthz", timeout=HTTP_TIMEOUT)
        self.assertEqual(st, 200, "healthz after the corpus")
        self.assertTrue(self.srv.running(), "gentd died")
        rc = self.srv.stop(timeout=120)
        self.assertEqual(rc, 0)
        log = self.srv.log_text()
        hits = [m for m in CRASH_MARKERS if m in log]
        self.assertEqual(hits, [], "crash/sanitizer markers in the log:\n%s"
                         % self.srv.log_tail(80))

        sys.stderr.write(
            "\ncorpus: %d files, %d accepted, %d over the size limit (552); "
            "%d messages read back: %d with text_body, %d with html_body, "
            "%d malformed, %d with attachments, %d attachments downloaded; "
            "%d byte mismatches; sending took %.1fs, total %.1fs\n"
            % (len(files), len(accepted), len(too_big), len(seen), n_text,
               n_html, n_malformed, n_with_att, n_att, len(problems), t_send,
               time.monotonic() - t0))
        self.assertEqual(problems, [], "\n".join(problems))


if __name__ == "__main__":
    unittest.main(verbosity=2)
