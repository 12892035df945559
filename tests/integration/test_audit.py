"""The audit log: entries from both databases merged newest first, the
filters and pagination, read-only (no route changes it), owners and
admins only, and the hash chain check: keyed with data_dir/audit.key and
closed by an authenticated head, it catches an edited, removed or
rehashed row, nulled hashes, rows cut off the end and a head moved
without the key, while rows from before the key still verify.
`gentd admin verify-audit` answers the same. A tenant's
audit_retention_days prunes its logs.

    GENTD_BIN=build/gentd python3 tests/integration/test_audit.py
"""

import base64
import datetime
import hashlib
import json
import os
import secrets
import stat
import time

import harness
from harness import GentdTestCase

DAY_MS = 24 * 3600 * 1000
ROW_COLUMNS = ("seq, id, tenant_id, actor_type, actor_id, action, target_type, "
               "target_id, detail, request_id, created_at, inbox_id, prev_hash, hash")


def legacy_hash(prev, row):
    """The plain SHA-256 chain hash of rows from before the key
    (store_audit_hash with no key); row as selected by ROW_COLUMNS."""
    fields = list(row[1:11]) + [row[11]]
    out = b"gentd-audit-v1|" + prev.encode()
    for i, v in enumerate(fields):
        if i == 10 and v is None:
            continue            # inbox_id is hashed only when set
        if v is None:
            out += b"|-"
        else:
            v = str(v).encode()
            out += b"|%d:" % len(v) + v
    return hashlib.sha256(out).hexdigest()


def rows_of(conn):
    return conn.execute("SELECT %s FROM audit ORDER BY seq" % ROW_COLUMNS).fetchall()


def iso_ms(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def edit(conn, *statements):
    """Run statements past the append-only triggers (as whoever edits the
    file must), then put the triggers back."""
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for st in statements:
        if isinstance(st, tuple):
            conn.execute(*st)
        else:
            conn.execute(st)
    conn.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
                 "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END")
    conn.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
                 "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END")
    conn.commit()


class AuditTest(GentdTestCase):

    def setUp(self):
        self.a = self.srv.new_account()
        self.tok = self.srv.create_token(self.a, ["labels:read", "labels:write"],
                                         label="audit test")["raw_token"]
        for i in range(3):
            st, _, lab = self.srv.request("POST", "/v1/labels/", {
                "inbox_id": self.a.inbox_id, "name": "l%d-%s" % (i, secrets.token_hex(2))},
                token=self.tok)
            self.assertEqual(st, 201)

    def audit(self, query="", token=None, status=200):
        st, _, body = self.srv.request("GET", "/v1/audit/?" + query,
                                       token=token or self.a.session)
        self.assertEqual(st, status, body)
        return body

    def tenant_db(self):
        return self.srv.db("tenants/%s/tenant.db" % self.a.tenant_id)

    def verify(self):
        st, _, v = self.srv.request("GET", "/v1/audit/verify/", token=self.a.session)
        self.assertEqual(st, 200, v)
        return v

    def tamper(self, *statements):
        conn = self.tenant_db()
        try:
            rows = rows_of(conn)
            edit(conn, *(s(rows) if callable(s) else s for s in statements))
        finally:
            conn.close()
        return rows

    def test_list_merges_filters_and_pages(self):
        rows = self.audit("limit=200")["data"]
        actions = [r["action"] for r in rows]
        self.assertIn("token.created", actions)            # control.db
        self.assertEqual(actions.count("label.created"), 3)  # tenant.db
        self.assertEqual({r["log"] for r in rows}, {"account", "tenant"})
        times = [r["created_at"] for r in rows]
        self.assertEqual(times, sorted(times, reverse=True))
        labels = self.audit("action=label.created")["data"]
        self.assertEqual(len(labels), 3)
        self.assertTrue(all(r["actor_type"] == "token" for r in labels))
        tok_id = labels[0]["actor_id"]
        self.assertEqual(len(self.audit("actor_id=" + tok_id)["data"]), 3)
        # Paging: every entry once.
        seen, cursor = [], None
        for _ in range(50):
            page = self.audit("limit=2" + ("&cursor=" + cursor if cursor else ""))
            seen += [r["id"] for r in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(seen, [r["id"] for r in rows])
        # Another tenant sees none of it.
        other = self.srv.new_account()
        ids = {r["id"] for r in self.audit("limit=200", token=other.session)["data"]}
        self.assertFalse(ids & set(seen))
        self.audit("after=yesterday", status=400)
        self.audit("colour=red", status=400)

    def test_read_only_and_for_admins(self):
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            st, _, _ = self.srv.request(method, "/v1/audit/", {}, token=self.a.session)
            self.assertEqual(st, 405, method)
        member = self.srv.new_account(role="member", tenant=self.a.tenant_name, inbox=False)
        self.assertError(self.srv.request("GET", "/v1/audit/", token=member.session), 403)
        # Agent tokens need audit:read, which "read" does not include.
        self.assertError(self.srv.request("GET", "/v1/audit/", token=self.tok), 403)
        reader = self.srv.create_token(self.a, ["read"])["raw_token"]
        self.assertError(self.srv.request("GET", "/v1/audit/", token=reader), 403)

    def test_chain_detects_edits_and_removals(self):
        st, _, v = self.srv.request("GET", "/v1/audit/verify/", token=self.a.session)
        self.assertEqual(st, 200, v)
        self.assertTrue(v["ok"], v)
        self.assertGreaterEqual(v["tenant"]["chained"], 3)
        conn = self.tenant_db()
        try:
            seqs = [r[0] for r in conn.execute("SELECT seq FROM audit ORDER BY seq")]
            # Whoever edits the file must get past the append-only triggers first.
            conn.execute("DROP TRIGGER audit_no_update")
            conn.execute("UPDATE audit SET detail = ? WHERE seq = ?",
                         (json.dumps({"forged": True}), seqs[1]))
            conn.commit()
        finally:
            conn.close()
        v = self.srv.request("GET", "/v1/audit/verify/", token=self.a.session)[2]
        self.assertFalse(v["ok"])
        self.assertEqual(v["tenant"]["first_bad_seq"], seqs[1])
        self.assertIn("changed", v["tenant"]["problem"])
        self.assertTrue(v["account"]["ok"], v)
        # Undo the edit by hand is impossible without the hash; remove the
        # row instead: the next row no longer follows.
        conn = self.tenant_db()
        try:
            conn.execute("DROP TRIGGER audit_no_delete")
            conn.execute("DELETE FROM audit WHERE seq <= ?", (seqs[1],))
            conn.commit()
        finally:
            conn.close()
        v = self.srv.request("GET", "/v1/audit/verify/", token=self.a.session)[2]
        self.assertFalse(v["ok"])
        self.assertEqual(v["tenant"]["first_bad_seq"], seqs[2])
        self.assertIn("does not follow", v["tenant"]["problem"])


    def test_intact_log_verifies_under_the_key(self):
        v = self.verify()
        self.assertTrue(v["ok"], v)
        for log in ("tenant", "account"):
            self.assertTrue(v[log]["ok"], v)
            self.assertEqual(v[log]["keyed_from"], 1, v)   # a new database
            self.assertIsNone(v[log]["first_bad_seq"])
            self.assertIsNone(v[log]["problem"])
        self.assertEqual(v["tenant"]["rows"], v["tenant"]["chained"])
        conn = self.tenant_db()
        try:
            head = conn.execute("SELECT keyed_from, seq, hash FROM audit_head").fetchall()
            last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC "
                                "LIMIT 1").fetchone()
            rows = rows_of(conn)
        finally:
            conn.close()
        self.assertEqual(head, [(1, last[0], last[1])])
        # Keyed: the plain SHA-256 of a row is not its hash.
        self.assertNotEqual(legacy_hash(rows[0][12], rows[0]), rows[0][13])

    def test_nulled_hashes_are_not_unchained_history(self):
        """Hole 1: nulling every hash used to turn the log into 'legacy'
        rows that verify without a chain."""
        rows = self.tamper(
            ("UPDATE audit SET detail = ?, action = 'label.forged', hash = NULL, "
             "prev_hash = NULL", (json.dumps({"forged": True}),)))
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertFalse(v["tenant"]["ok"], v)
        self.assertEqual(v["tenant"]["first_bad_seq"], rows[0][0])
        self.assertIn("no hash", v["tenant"]["problem"])
        self.assertEqual(v["tenant"]["chained"], 0)
        self.assertTrue(v["account"]["ok"], v)

    def test_nulling_hashes_from_an_edited_row_on(self):
        rows = self.tamper(lambda rows: (
            "UPDATE audit SET detail = ?, hash = NULL, prev_hash = NULL WHERE seq >= ?",
            (json.dumps({"forged": True}), rows[1][0])))
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertEqual(v["tenant"]["first_bad_seq"], rows[1][0])
        self.assertIn("no hash", v["tenant"]["problem"])

    def test_removing_the_newest_row_is_caught(self):
        """Hole 2: what remains after cutting the end still chains."""
        rows = self.tamper(lambda rows: ("DELETE FROM audit WHERE seq = ?",
                                         (rows[-1][0],)))
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertEqual(v["tenant"]["first_bad_seq"], rows[-1][0])
        self.assertIn("removed from the end", v["tenant"]["problem"])
        # And a row written after the cut does not hide it: it follows
        # the head, which still names the removed row.
        self.assertEqual(self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.a.inbox_id, "name": "after-cut"}, token=self.tok)[0], 201)
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertIn("does not follow", v["tenant"]["problem"])

    def test_moving_the_head_without_the_key_is_caught(self):
        rows = self.tamper(lambda rows: ("DELETE FROM audit WHERE seq = ?",
                                         (rows[-1][0],)))
        conn = self.tenant_db()
        try:
            conn.execute("UPDATE audit_head SET seq = ?, hash = ?",
                         (rows[-2][0], rows[-2][13]))
            conn.commit()
        finally:
            conn.close()
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertFalse(v["tenant"]["ok"], v)
        self.assertIsNone(v["tenant"]["first_bad_seq"])
        self.assertIn("audit head does not verify", v["tenant"]["problem"])
        # Nor can the head be replaced by one of another tenant's.
        other = self.srv.new_account()
        src = self.srv.db("tenants/%s/tenant.db" % other.tenant_id)
        try:
            theirs = src.execute("SELECT keyed_from, anchor, seq, hash, mac "
                                 "FROM audit_head").fetchone()
        finally:
            src.close()
        conn = self.tenant_db()
        try:
            conn.execute("UPDATE audit_head SET keyed_from = ?, anchor = ?, seq = ?, "
                         "hash = ?, mac = ?", theirs)
            conn.commit()
        finally:
            conn.close()
        v = self.verify()
        self.assertIn("audit head does not verify", v["tenant"]["problem"])

    def test_rehashing_an_edit_with_plain_sha256_is_caught(self):
        """Hole 3: without the key, a recomputed hash is not the row's."""
        def forge(rows):
            r = list(rows[1])
            r[8] = json.dumps({"forged": True})
            return ("UPDATE audit SET detail = ?, hash = ? WHERE seq = ?",
                    (r[8], legacy_hash(r[12], r), r[0]))
        rows = self.tamper(forge)
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertEqual(v["tenant"]["first_bad_seq"], rows[1][0])
        self.assertIn("changed", v["tenant"]["problem"])

    def test_filter_by_inbox(self):
        other = "agent-b-%s@agents.example.com" % secrets.token_hex(3)
        b = self.srv.create_inbox(self.a.tenant_id, other)["inbox_id"]
        st, _, lab = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": b, "name": "in-b"}, token=self.a.session)
        self.assertEqual(st, 201, lab)
        rows_b = self.audit("inbox_id=" + b + "&limit=200")["data"]
        self.assertTrue(rows_b)
        for r in rows_b:
            self.assertIn(b, (r["inbox_id"], r["target_id"]), r)
        actions = [r["action"] for r in rows_b]
        self.assertIn("inbox.created", actions)             # account log, about it
        self.assertEqual(actions.count("label.created"), 1)  # tenant log, in it
        self.assertEqual({r["log"] for r in rows_b}, {"account", "tenant"})
        rows_a = self.audit("inbox_id=" + self.a.inbox_id + "&limit=200")["data"]
        self.assertEqual([r["action"] for r in rows_a].count("label.created"), 3)
        self.assertFalse({r["id"] for r in rows_a} & {r["id"] for r in rows_b})

    def test_filter_by_time(self):
        ids = []
        for i in range(3):
            time.sleep(0.05)
            st, _, lab = self.srv.request("POST", "/v1/labels/", {
                "inbox_id": self.a.inbox_id, "name": "t%d-%s" % (i, secrets.token_hex(2))},
                token=self.tok)
            self.assertEqual(st, 201, lab)
            ids.append(lab["id"])
        conn = self.tenant_db()
        try:
            got = dict(conn.execute("SELECT target_id, created_at FROM audit WHERE "
                                    "action = 'label.created'").fetchall())
            aud = dict(conn.execute("SELECT target_id, id FROM audit WHERE "
                                    "action = 'label.created'").fetchall())
        finally:
            conn.close()
        t = [got[i] for i in ids]
        self.assertLess(t[0], t[1])
        self.assertLess(t[1], t[2])
        w = [aud[i] for i in ids]
        older = {aud[i] for i in aud if i not in ids}
        after = {r["id"] for r in self.audit("limit=200&after=" + iso_ms(t[1]))["data"]}
        self.assertEqual(after & set(w), {w[1], w[2]})      # after is inclusive
        self.assertFalse(after & older)
        before = {r["id"] for r in self.audit("limit=200&before=" + iso_ms(t[1]))["data"]}
        self.assertEqual(before & set(w), {w[0]})           # before is exclusive
        self.assertTrue(older <= before)
        both = [r["id"] for r in self.audit("after=%s&before=%s" % (
            iso_ms(t[0]), iso_ms(t[2])))["data"]]
        self.assertEqual(both, [w[1], w[0]])                # newest first

    def test_filter_by_user_actor(self):
        st, _, lab = self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.a.inbox_id, "name": "by-user"}, token=self.a.session)
        self.assertEqual(st, 201, lab)
        rows = self.audit("limit=200&actor_id=" + self.a.user_id)["data"]
        self.assertTrue(rows)
        for r in rows:
            self.assertEqual((r["actor_type"], r["actor_id"]), ("user", self.a.user_id), r)
        self.assertIn(lab["id"], [r["target_id"] for r in rows
                                  if r["action"] == "label.created"])
        self.assertIn("token.created", [r["action"] for r in rows])  # account log
        # The token's labels are not the user's.
        self.assertEqual([r["action"] for r in rows].count("label.created"), 1)


class AuditKeyTest(GentdTestCase):
    """data_dir/audit.key and the command-line check, each on a server of
    its own (they edit control.db or stop the server)."""

    start_server = False

    def setUp(self):
        self.srv = self.new_server()
        self.a = self.srv.new_account()
        for i in range(3):
            self.assertEqual(self.srv.request("POST", "/v1/labels/", {
                "inbox_id": self.a.inbox_id, "name": "k%d" % i},
                token=self.a.session)[0], 201)

    def verify(self):
        st, _, v = self.srv.request("GET", "/v1/audit/verify/", token=self.a.session)
        self.assertEqual(st, 200, v)
        return v

    def tenant_path(self, acct=None):
        return "tenants/%s/tenant.db" % (acct or self.a).tenant_id

    def test_key_file_is_private_and_never_logged(self):
        path = os.path.join(self.srv.data_dir, "audit.key")
        st = os.stat(path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_size, 32)
        with open(path, "rb") as f:
            key = f.read()
        # Two more starts keep the key.
        self.srv.restart()
        with open(path, "rb") as f:
            self.assertEqual(f.read(), key)
        self.assertTrue(self.verify()["ok"])
        log = self.srv.log_text()
        for form in (key.hex(), key.hex().upper(), base64.b64encode(key).decode(),
                     base64.urlsafe_b64encode(key).decode().rstrip("=")):
            self.assertNotIn(form, log)
            for name in ("control.db", self.tenant_path()):
                self.assertFalse([v for v in self.srv.db_text_values(name)
                                  if form in v[2]], name)
        self.assertEqual(self.srv.data_files_contain(key), [path])
        rows = self.srv.request("GET", "/v1/audit/?limit=200", token=self.a.session)[2]
        self.assertNotIn(key.hex(), json.dumps(rows))

    def test_a_bad_key_file_stops_start_up(self):
        path = os.path.join(self.srv.data_dir, "audit.key")
        self.srv.stop()
        with open(path, "rb") as f:
            key = f.read()
        with open(path, "wb") as f:
            f.write(key[:31])
        p = self.srv.admin_raw("verify-audit")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("audit key must be exactly 32 bytes", p.stderr)
        p = harness.run_gentd(["serve", "--config", self.srv.conf_path])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("audit key", p.stdout + p.stderr + self.srv.log_text())
        with open(path, "wb") as f:
            f.write(key)
        self.srv.start()
        self.assertTrue(self.verify()["ok"])

    def test_admin_verify_audit(self):
        usage = harness.run_gentd(["--help"]).stdout
        self.assertIn("gentd admin verify-audit --config FILE [--tenant-id ID]", usage)
        b = self.srv.new_account()
        p = self.srv.admin_raw("verify-audit", "--tenant-id", self.a.tenant_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), self.verify())
        p = self.srv.admin_raw("verify-audit")
        self.assertEqual(p.returncode, 0, p.stderr)
        every = json.loads(p.stdout)
        self.assertTrue(every["ok"], every)
        self.assertEqual(set(every["tenants"]), {self.a.tenant_id, b.tenant_id})
        # Cut the newest row of a's log: 1, from both forms; b stays intact.
        conn = self.srv.db(self.tenant_path())
        try:
            edit(conn, "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)")
        finally:
            conn.close()
        p = self.srv.admin_raw("verify-audit", "--tenant-id", self.a.tenant_id)
        self.assertEqual(p.returncode, 1, p.stderr)
        got = json.loads(p.stdout)
        self.assertEqual(got, self.verify())
        self.assertFalse(got["ok"])
        self.assertIn("removed from the end", got["tenant"]["problem"])
        p = self.srv.admin_raw("verify-audit")
        self.assertEqual(p.returncode, 1, p.stderr)
        every = json.loads(p.stdout)
        self.assertFalse(every["tenants"][self.a.tenant_id]["ok"])
        self.assertTrue(every["tenants"][b.tenant_id]["ok"])
        self.assertTrue(every["account"]["ok"])
        p = self.srv.admin_raw("verify-audit", "--tenant-id", b.tenant_id)
        self.assertEqual(p.returncode, 0, p.stderr)
        # An edited account log fails every tenant's answer.
        conn = self.srv.db()
        try:
            edit(conn, "UPDATE audit SET detail = '{\"x\":1}' WHERE seq = 2")
        finally:
            conn.close()
        p = self.srv.admin_raw("verify-audit", "--tenant-id", b.tenant_id)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(json.loads(p.stdout)["account"]["first_bad_seq"], 2)
        p = self.srv.admin_raw("verify-audit", "--tenant-id", "ten_" + "0" * 24)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such tenant", p.stderr)

    def test_a_removed_head_is_not_made_again(self):
        """Deleting the head and restarting must not bless the edited file."""
        conn = self.srv.db(self.tenant_path())
        try:
            edit(conn, ("UPDATE audit SET detail = ?, hash = NULL, prev_hash = NULL",
                        (json.dumps({"forged": True}),)),
                 "DELETE FROM audit_head")
        finally:
            conn.close()
        v = self.verify()
        self.assertFalse(v["ok"])
        self.assertIn("audit head is missing", v["tenant"]["problem"])
        self.srv.restart()
        v = self.verify()           # opens the tenant's database, if nothing had
        self.assertFalse(v["ok"])
        self.assertIn("audit head is missing", v["tenant"]["problem"])
        harness.wait_until(lambda: "the audit head is missing" in self.srv.log_text(),
                           timeout=5, what="the missing head in the log")
        # The tenant still works; its log still fails.
        self.assertEqual(self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.a.inbox_id, "name": "still"}, token=self.a.session)[0], 201)
        self.assertFalse(self.verify()["ok"])
        self.assertEqual(self.srv.admin_raw("verify-audit", "--tenant-id",
                                            self.a.tenant_id).returncode, 1)

    def make_legacy(self, name):
        """Turn a database into one from before keyed chains: the first row
        unhashed (before chains existed), the others plain SHA-256, no head."""
        conn = self.srv.db(name)
        try:
            rows = rows_of(conn)
            stmts = [("UPDATE audit SET prev_hash = NULL, hash = NULL WHERE seq = ?",
                      (rows[0][0],))]
            prev = ""
            for r in rows[1:]:
                h = legacy_hash(prev, r)
                stmts.append(("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
                              (prev, h, r[0])))
                prev = h
            edit(conn, *stmts)
            conn.execute("DELETE FROM audit_head")
            conn.commit()
        finally:
            conn.close()
        return rows[-1][0]

    def test_rows_from_before_the_key_still_verify(self):
        self.srv.stop()
        last_t = self.make_legacy(self.tenant_path())
        last_c = self.make_legacy("control.db")
        os.unlink(os.path.join(self.srv.data_dir, "audit.key"))
        self.srv.start()
        # The start that made the key gave every database its head at once.
        conn = self.srv.db(self.tenant_path())
        try:
            self.assertEqual(conn.execute("SELECT keyed_from, seq FROM "
                                          "audit_head").fetchall(), [(last_t + 1, last_t)])
        finally:
            conn.close()
        self.assertIn("audit chain keyed from row %d" % (last_t + 1), self.srv.log_text())
        v = self.verify()
        self.assertTrue(v["ok"], v)
        self.assertEqual(v["tenant"]["keyed_from"], last_t + 1)
        self.assertEqual(v["account"]["keyed_from"], last_c + 1)
        self.assertEqual(v["tenant"]["chained"], v["tenant"]["rows"] - 1)
        # New rows are keyed and follow the legacy chain.
        self.assertEqual(self.srv.request("POST", "/v1/labels/", {
            "inbox_id": self.a.inbox_id, "name": "keyed"}, token=self.a.session)[0], 201)
        v = self.verify()
        self.assertTrue(v["ok"], v)
        # An edited legacy row, rehashed with its chain to the last legacy
        # row, no longer leads to the first keyed row.
        conn = self.srv.db(self.tenant_path())
        try:
            rows = rows_of(conn)
            stmts, prev = [], rows[1][12]
            for r in rows[1:]:
                if r[0] > last_t:
                    break
                r = list(r)
                if r[0] == rows[1][0]:
                    r[8] = json.dumps({"forged": True})
                h = legacy_hash(prev, r)
                stmts.append(("UPDATE audit SET detail = ?, prev_hash = ?, hash = ? "
                              "WHERE seq = ?", (r[8], prev, h, r[0])))
                prev = h
            edit(conn, *stmts)
        finally:
            conn.close()
        v = self.verify()
        self.assertFalse(v["ok"], v)
        self.assertEqual(v["tenant"]["first_bad_seq"], last_t + 1)
        self.assertIn("does not follow", v["tenant"]["problem"])


class AuditRetentionTest(GentdTestCase):
    """audit_retention removes old entries and the chain still checks."""

    def test_tenant_shows_the_retention_in_force(self):
        """A tenant that never set audit_retention_days is shown the
        installation's audit_retention (in whole days, rounded up), which
        is what its sweep uses; one it set is shown as set."""
        srv = self.new_server({"audit_retention": "30d"})
        a = srv.new_account(inbox=False)
        days = lambda: srv.request("GET", "/v1/tenants/", token=a.session)[2][
            "settings"]["audit_retention_days"]
        self.assertEqual(days(), 30)
        st, _, out = srv.request("PATCH", "/v1/tenants/", {"audit_retention_days": 400},
                                 token=a.session)
        self.assertEqual((st, out["settings"]["audit_retention_days"]), (200, 400))
        self.assertEqual(days(), 400)
        short = self.new_server({"audit_retention": "2s"})
        b = short.new_account(inbox=False)
        self.assertEqual(short.request("GET", "/v1/tenants/", token=b.session)[2][
            "settings"]["audit_retention_days"], 1)

    def test_prune_keeps_the_chain_checkable(self):
        srv = self.new_server({"audit_retention": "2s", "expiry_interval": "1s"})
        a = srv.new_account()
        tok = srv.create_token(a, ["labels:write"])["raw_token"]
        for i in range(3):
            self.assertEqual(srv.request("POST", "/v1/labels/", {
                "inbox_id": a.inbox_id, "name": "old%d" % i}, token=tok)[0], 201)

        def actions():
            st, _, body = srv.request("GET", "/v1/audit/?limit=200", token=a.session)
            return [r["action"] for r in body["data"]]
        harness.wait_until(lambda: "label.created" not in actions(), timeout=15,
                           what="old audit entries pruned")
        # (The audit.pruned entries themselves age out here within seconds.)
        self.assertIn("audit entries past audit_retention removed", srv.log_text())
        self.assertEqual(srv.request("POST", "/v1/labels/", {
            "inbox_id": a.inbox_id, "name": "new"}, token=tok)[0], 201)
        st, _, v = srv.request("GET", "/v1/audit/verify/", token=a.session)
        self.assertTrue(v["ok"], v)
        self.assertGreaterEqual(v["tenant"]["chained"], 1)
        self.assertEqual(v["tenant"]["keyed_from"], 1)
        # The head was re-anchored: the command line agrees.
        p = srv.admin_raw("verify-audit", "--tenant-id", a.tenant_id)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_tenant_audit_retention_days(self):
        """A tenant's audit_retention_days decides for its audit and event
        logs; a tenant without one keeps the installation's audit_retention
        (90 days here). Days are long: rows are backdated in the file."""
        srv = self.new_server({"expiry_interval": "1s"})
        short, other = srv.new_account(), srv.new_account()
        for acct in (short, other):
            for i in range(2):
                self.assertEqual(srv.request("POST", "/v1/labels/", {
                    "inbox_id": acct.inbox_id, "name": "r%d" % i},
                    token=acct.session)[0], 201)
        st, _, body = srv.request("PATCH", "/v1/tenants/", {"audit_retention_days": 1},
                                  token=short.session)
        self.assertEqual(st, 200, body)
        two_days = 2 * DAY_MS
        for acct in (short, other):
            conn = srv.db("tenants/%s/tenant.db" % acct.tenant_id)
            try:
                edit(conn, ("UPDATE audit SET created_at = created_at - ?", (two_days,)))
                conn.execute("INSERT INTO events (id, type, created_at) VALUES (?, "
                             "'auth.failed', ?)", ("evt_old" + secrets.token_hex(4),
                                                   int(time.time() * 1000) - two_days))
                conn.commit()
            finally:
                conn.close()

        def counts(acct):
            conn = srv.db("tenants/%s/tenant.db" % acct.tenant_id)
            try:
                return (conn.execute("SELECT count(*) FROM audit WHERE action = "
                                     "'label.created'").fetchone()[0],
                        conn.execute("SELECT count(*) FROM events WHERE id LIKE "
                                     "'evt_old%'").fetchone()[0])
            finally:
                conn.close()
        harness.wait_until(lambda: counts(short) == (0, 0), timeout=15,
                           what="the short tenant's old entries pruned")
        self.assertIn("%s: 2 audit entries past audit_retention_days removed"
                      % short.tenant_id, srv.log_text())
        self.assertIn("%s: 1 events past audit_retention_days removed"
                      % short.tenant_id, srv.log_text())
        # Two more sweeps: the other tenant keeps everything.
        time.sleep(2.5)
        self.assertEqual(counts(other), (2, 1))
        self.assertNotIn(other.tenant_id + ": ", "\n".join(
            l for l in srv.log_text().splitlines() if "past audit_retention" in l))
        # The pruned log still verifies; the account log was not pruned.
        st, _, v = srv.request("GET", "/v1/audit/verify/", token=short.session)
        self.assertTrue(v["ok"], v)
        actions = [r["action"] for r in srv.request(
            "GET", "/v1/audit/?limit=200", token=short.session)[2]["data"]]
        self.assertIn("audit.pruned", actions)
        self.assertIn("tenant.updated", actions)


if __name__ == "__main__":
    harness.main()
