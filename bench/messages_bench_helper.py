#!/usr/bin/env python3
"""messages_bench_helper.py - the corpus and the API checks of
bench_messages.sh (stdlib only).

    ingest PORT RCPT COUNT SESSIONS SEED TIMEOUT
        send COUNT generated messages to 127.0.0.1:PORT over SMTP, in
        SESSIONS parallel sessions (one process and one connection each,
        many messages per connection); progress on stderr every 10 s;
        exit 1 if any message is refused or if it all takes more than
        TIMEOUT seconds. stdout: "SENT SECONDS"
    words
        stdout: "RARE COMMON", the two planted search words
    ids BASE TOKEN N OUT
        page GET /v1/messages/?limit=200 with next_cursor until N ids (or
        the end); write them to OUT, one a line. stdout: how many
    check BASE TOKEN PATH [list|object|all]
        GET PATH: it must answer 200 with a non-empty "data" array (list),
        an object with an "id" (object), or (all) a non-empty list whose
        pages, followed through next_cursor, are counted. Then GET PATH
        three more times, one after the other. stdout: "MS SUMMARY", MS
        the fastest of those three in milliseconds (the cost of one
        request on an idle server), SUMMARY items and bytes
    stats DATA_DIR RARE COMMON
        stdout: "MESSAGES ATTACHED THREADS REPLIES RARE_HITS COMMON_HITS"
        from the tenant.db (read-only)

The corpus is fixed by SEED: message i has its own RNG, a distinct
subject, a body of pseudo-words drawn (Zipf-like) from a fixed
vocabulary, the rare word in 0.1% of messages (i % 1000 == 500), the
common word in 30% (i % 10 in 0, 3, 7), an attachment in 5%
(i % 20 == 13), and one in five is a reply (In-Reply-To and References)
to an earlier message of the same session, so its parent is stored.
"""

import base64
import bisect
import glob
import http.client
import json
import multiprocessing
import os
import random
import signal
import smtplib
import sqlite3
import sys
import time
import urllib.parse

RARE = "quokka"
COMMON = "invoice"
VOCAB_SIZE = 5000
SENDERS = 300
SENDER_DOMAINS = 30
REPLY_SHARE = 0.2
BASE_DATE = 1704067200		# 2024-01-01T00:00:00Z; message i is 30 s later

SYLLABLES = ("ba be bi bo bu da de di do du fa fe fi fo fu ga ge gi go gu "
             "ha he hi ho hu ja je jo ju ka ke ki ko ku la le li lo lu ma "
             "me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa "
             "se si so su ta te ti to tu va ve vi vo vu wa we wi wo za ze "
             "zi zo zu an en in on un ar er ir or ur el al").split()


def vocabulary(seed):
    """VOCAB_SIZE distinct pseudo-words, never a planted word."""
    rng = random.Random("vocab-%d" % seed)
    words, seen = [], {RARE, COMMON}
    while len(words) < VOCAB_SIZE:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
        if len(w) > 2 and w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Corpus:
    def __init__(self, seed):
        self.seed = seed
        self.words = vocabulary(seed)
        acc, self.cum = 0.0, []
        for r in range(len(self.words)):		# Zipf, s = 1
            acc += 1.0 / (r + 1)
            self.cum.append(acc)
        rng = random.Random("senders-%d" % seed)
        self.senders = []
        for k in range(SENDERS):
            first, last = rng.choice(self.words), rng.choice(self.words)
            dom = "src%02d.test" % (k % SENDER_DOMAINS)
            self.senders.append(("%s %s" % (first.title(), last.title()),
                                 "%s.%s@%s" % (first, last, dom)))

    def draw(self, rng, n):
        return rng.choices(self.words, cum_weights=self.cum, k=n)

    def body(self, rng, i):
        words = self.draw(rng, rng.randint(60, 250))
        if i % 1000 == 500:
            words.insert(rng.randrange(len(words) + 1), RARE)
        if i % 10 in (0, 3, 7):
            words.insert(rng.randrange(len(words) + 1), COMMON)
        lines, line = [], []
        for w in words:
            line.append(w)
            if sum(len(x) + 1 for x in line) > 66:
                lines.append(" ".join(line))
                line = []
        if line:
            lines.append(" ".join(line))
        return "\r\n".join(lines) + "\r\n"

    def message(self, i, rcpt, parent):
        """(envelope sender, bytes, message-id, references) of message i;
        parent is (message-id, references) or None."""
        rng = random.Random(self.seed * 1000003 + i)
        name, addr = self.senders[rng.randrange(len(self.senders))]
        msgid = "m%d.%d@%s" % (i, self.seed, addr.split("@")[1])
        subject = " ".join(self.draw(rng, rng.randint(3, 7))).capitalize()
        subject = "%s%s #%d" % ("Re: " if parent else "", subject, i)
        hdr = [
            "From: %s <%s>" % (name, addr),
            "To: Agent <%s>" % rcpt,
            "Subject: %s" % subject,
            "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                       time.gmtime(BASE_DATE + 30 * i)),
            "Message-ID: <%s>" % msgid,
            "MIME-Version: 1.0",
        ]
        refs = []
        if parent:
            refs = (parent[1] + [parent[0]])[-10:]
            hdr.append("In-Reply-To: <%s>" % parent[0])
            hdr.append("References: %s" % " ".join("<%s>" % r for r in refs))
        text = self.body(rng, i)
        if i % 20 == 13:
            blob = rng.randbytes(rng.randint(2048, 24576))
            b64 = base64.encodebytes(blob).decode().replace("\n", "\r\n")
            bnd = "=-b%d" % i
            hdr.append('Content-Type: multipart/mixed; boundary="%s"' % bnd)
            body = ("--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                    "%s--%s\r\nContent-Type: application/pdf\r\n"
                    'Content-Disposition: attachment; filename="report-%d.pdf"\r\n'
                    "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n"
                    % (bnd, text, bnd, i, b64, bnd))
        else:
            hdr.append("Content-Type: text/plain; charset=us-ascii")
            body = text
        raw = "\r\n".join(hdr) + "\r\n\r\n" + body
        return addr, raw.encode("ascii"), msgid, refs


# --- ingest -------------------------------------------------------------------------


def connect(port):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.src.test",
                     timeout=60)
    s.ehlo()
    return s


def worker(w, port, rcpt, count, sessions, seed, done):
    corpus = Corpus(seed)
    rng = random.Random("threads-%d-%d" % (seed, w))
    history = []			# (message-id, references) sent by us
    smtp = connect(port)
    for i in range(w, count, sessions):
        parent = None
        if history and rng.random() < REPLY_SHARE:
            parent = history[rng.randrange(max(0, len(history) - 500),
                                           len(history))]
        sender, raw, msgid, refs = corpus.message(i, rcpt, parent)
        for attempt in range(3):
            try:
                smtp.sendmail(sender, [rcpt], raw)
                break
            except (smtplib.SMTPServerDisconnected, ConnectionError,
                    TimeoutError) as e:
                # A lost connection: try again on a new one. (If the 250
                # was lost, the count check of the caller shows it.)
                if attempt == 2:
                    raise SystemExit("session %d, message %d: %s" % (w, i, e))
                time.sleep(0.2)
                smtp = connect(port)
            except smtplib.SMTPException as e:
                raise SystemExit("session %d, message %d refused: %s"
                                 % (w, i, e))
        history.append((msgid, refs))
        with done.get_lock():
            done.value += 1
    smtp.quit()


def ingest(port, rcpt, count, sessions, seed, timeout):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ctx = multiprocessing.get_context("fork")
    done = ctx.Value("q", 0)
    procs = [ctx.Process(target=worker, daemon=True,
                         args=(w, port, rcpt, count, sessions, seed, done))
             for w in range(min(sessions, count))]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    last, last_done = t0, 0
    try:
        while any(p.is_alive() for p in procs):
            now = time.monotonic()
            if now - t0 > timeout:
                raise SystemExit("ingest did not finish within %d s: %d of %d "
                                 "messages sent" % (timeout, done.value, count))
            if any(p.exitcode not in (None, 0) for p in procs):
                raise SystemExit("an SMTP session failed (see above); %d of %d "
                                 "messages sent" % (done.value, count))
            if now - last >= 10:
                n = done.value
                sys.stderr.write("bench: ingest %d/%d after %.0f s: %.0f msg/s "
                                 "(%.0f msg/s over the last %.0f s)\n" % (
                                     n, count, now - t0, n / (now - t0),
                                     (n - last_done) / (now - last), now - last))
                last, last_done = now, n
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(5)
    t = time.monotonic() - t0
    if any(p.exitcode != 0 for p in procs) or done.value != count:
        raise SystemExit("ingest failed: %d of %d messages sent"
                         % (done.value, count))
    print("%d %.3f" % (count, t))


# --- the API ------------------------------------------------------------------------


_conns = {}


def get(base, token, path):
    """(status, body) of GET base+path on a kept-alive connection."""
    host = urllib.parse.urlsplit(base).netloc
    for attempt in (0, 1):
        conn = _conns.get(host)
        if conn is None:
            conn = _conns[host] = http.client.HTTPConnection(host, timeout=60)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            del _conns[host]
            if attempt:
                raise


def get_json(base, token, path):
    code, body = get(base, token, path)
    if code != 200:
        raise SystemExit("GET %s answered %d: %s" % (path, code, body[:300]))
    return json.loads(body), len(body)


def with_cursor(path, cursor):
    return path + ("&" if "?" in path else "?") + "cursor=" + \
        urllib.parse.quote(cursor, safe="")


def ids(base, token, n, out):
    got, cursor = [], None
    while len(got) < n:
        path = "/v1/messages/?limit=200"
        j, _ = get_json(base, token, with_cursor(path, cursor) if cursor else path)
        got += [m["id"] for m in j["data"]]
        cursor = j.get("next_cursor")
        if not cursor:
            break
    got = got[:n]
    if len(set(got)) != len(got):
        raise SystemExit("paging with next_cursor gave an id twice")
    with open(out, "w") as f:
        f.write("".join(i + "\n" for i in got))
    print(len(got))


def check_summary(base, token, path, kind):
    j, size = get_json(base, token, path)
    if kind == "object":
        if not isinstance(j, dict) or not j.get("id"):
            raise SystemExit("GET %s: no object with an id: %.300s" % (path, j))
        return "object %s, %d bytes" % (j["id"], size)
    data = j.get("data") if isinstance(j, dict) else None
    if not data:
        raise SystemExit("GET %s: empty or no \"data\": %.300s" % (path, j))
    if kind != "all":
        return "%d items, %d bytes, next_cursor %s" % (
            len(data), size, "set" if j.get("next_cursor") else "null")
    total, pages = len(data), 1
    while j.get("next_cursor") and pages < 1000:
        j, _ = get_json(base, token, with_cursor(path, j["next_cursor"]))
        total += len(j["data"])
        pages += 1
    return "%d items in %d page(s), first page %d bytes" % (total, pages, size)


def check(base, token, path, kind):
    summary = check_summary(base, token, path, kind)
    best = None
    for _ in range(3):
        t0 = time.monotonic()
        get_json(base, token, path)
        t = time.monotonic() - t0
        best = t if best is None else min(best, t)
    print("%.2f %s" % (best * 1000, summary))


def stats(data_dir, rare, common):
    dbs = glob.glob(os.path.join(data_dir, "tenants", "*", "tenant.db"))
    if len(dbs) != 1:
        raise SystemExit("expected one tenant.db, found %d" % len(dbs))
    conn = sqlite3.connect("file:%s?mode=ro" % dbs[0], uri=True, timeout=10)
    try:
        q = lambda sql, *a: conn.execute(sql, a).fetchone()[0]
        out = [q("SELECT count(*) FROM messages"),
               q("SELECT count(*) FROM messages WHERE n_attachments > 0"),
               q("SELECT count(*) FROM threads"),
               q("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
                 rare),
               q("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?",
                 common)]
    finally:
        conn.close()
    out.insert(3, out[0] - out[2])	# messages that joined an existing thread
    print(" ".join(str(x) for x in out))


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    cmd, a = argv[0], argv[1:]
    if cmd == "ingest":
        ingest(int(a[0]), a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]))
    elif cmd == "words":
        print(RARE, COMMON)
    elif cmd == "ids":
        ids(a[0], a[1], int(a[2]), a[3])
    elif cmd == "check":
        check(a[0], a[1], a[2], a[3] if len(a) > 3 else "list")
    elif cmd == "stats":
        stats(a[0], a[1], a[2])
    else:
        raise SystemExit("unknown command %r\n%s" % (cmd, __doc__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
