/*
 * store_audit_head.c - the audit head of one database: the authenticated
 * record of where its hash chain starts and ends (schema 0008/0019).
 *
 * A chain alone shows that no row in the middle changed, but not that
 * rows were cut off its end, nor where it was meant to start. The head
 * says both: keyed_from (rows from there on are hashed with the key),
 * anchor (the hash the oldest row left follows), and seq and hash of the
 * newest row, under an HMAC with the audit key that also names the
 * database ("control" or the tenant id), so a head cannot be replayed
 * into another tenant's file. Whoever has no key can neither move it nor
 * make a new one; store_audit_append() and the prune rewrite it in the
 * transaction of their change.
 *
 * A head is started only for a new database or at the start that made
 * the key (an upgrade from before keyed chains). A head missing after
 * that is an edit of the file, so it is reported, never re-created.
 */
#include <stdio.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/log.h"
#include "gent/util.h"
#include "store_int.h"

static void
head_mac(const struct store_db *db, const struct audit_head *h,
    char out[IDS_DIGEST_HEX_LEN + 1])
{
	struct buf b = { 0 };

	/* Every field is an integer, hex or an id: '|' cannot occur in one. */
	buf_printf(&b, "gentd-audit-head-v1|%s|%lld|%s|%lld|%s",
	    db->tenant_id ? db->tenant_id : "control", (long long)h->keyed_from,
	    h->anchor, (long long)h->seq, h->hash);
	store__audit_hmac_hex(db->audit_key->key, b.data, b.len, out);
	buf_free(&b);
}

/* Copy a hex column; false when it is longer than a digest. */
static bool
copy_hex(sqlite3_stmt *st, int col, char out[IDS_DIGEST_HEX_LEN + 1])
{
	if (sqlite3_column_bytes(st, col) > IDS_DIGEST_HEX_LEN) {
		out[0] = '\0';
		return false;
	}
	store__copy_col(st, col, out, IDS_DIGEST_HEX_LEN + 1);
	return true;
}

int
store__audit_head_read(sqlite3 *conn, const struct store_db *db,
    struct audit_head *h)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT keyed_from, anchor, seq, "
	    "hash, mac FROM audit_head WHERE id = 1");
	char mac[IDS_DIGEST_HEX_LEN + 1], want[IDS_DIGEST_HEX_LEN + 1];
	int rc;

	memset(h, 0, sizeof(*h));
	if (!st)
		return STORE_ERR_SQL;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bool whole;
		h->keyed_from = sqlite3_column_int64(st, 0);
		whole = copy_hex(st, 1, h->anchor);
		h->seq = sqlite3_column_int64(st, 2);
		whole &= copy_hex(st, 3, h->hash);
		whole &= copy_hex(st, 4, mac);
		head_mac(db, h, want);
		h->valid = whole && strlen(mac) == IDS_DIGEST_HEX_LEN &&
		    ids_equal_ct(mac, want, IDS_DIGEST_HEX_LEN);
		rc = STORE_OK;
	} else {
		rc = rc == SQLITE_DONE ? STORE_ERR_NOT_FOUND : STORE_ERR_SQL;
	}
	store_finish(st);
	return rc;
}

int
store__audit_head_write(sqlite3 *conn, const struct store_db *db,
    const struct audit_head *h)
{
	sqlite3_stmt *st = store_prepare(conn, "INSERT OR REPLACE INTO audit_head "
	    "(id, keyed_from, anchor, seq, hash, mac) VALUES (1, ?, ?, ?, ?, ?)");
	char mac[IDS_DIGEST_HEX_LEN + 1];
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	head_mac(db, h, mac);
	sqlite3_bind_int64(st, 1, h->keyed_from);
	store_bind_text(st, 2, h->anchor);
	sqlite3_bind_int64(st, 3, h->seq);
	store_bind_text(st, 4, h->hash);
	store_bind_text(st, 5, mac);
	rc = store_step_done(st);
	store_finish(st);
	return rc;
}

/*
 * The first head: the chain as it stands is taken as is (rows before
 * keyed_from keep their plain SHA-256 and are checked with it), and its
 * start is the anchor a prune left in audit_anchor before heads existed.
 */
static int
head_start(sqlite3 *conn, struct audit_head *h)
{
	sqlite3_stmt *st = store_prepare(conn, "SELECT seq, hash FROM audit "
	    "ORDER BY seq DESC LIMIT 1");
	int rc = STORE_ERR_SQL;

	memset(h, 0, sizeof(*h));
	if (!st)
		return STORE_ERR_SQL;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		h->seq = sqlite3_column_int64(st, 0);
		store__copy_col(st, 1, h->hash, sizeof(h->hash));
		/* FALLTHROUGH */
	case SQLITE_DONE:
		rc = STORE_OK;
		break;
	}
	store_finish(st);
	h->keyed_from = h->seq + 1;
	if (rc != STORE_OK ||
	    !(st = store_prepare(conn, "SELECT prev_hash FROM audit_anchor "
	    "WHERE id = 1")))
		return STORE_ERR_SQL;
	if (sqlite3_step(st) == SQLITE_ROW)
		store__copy_col(st, 0, h->anchor, sizeof(h->anchor));
	store_finish(st);
	return STORE_OK;
}

int
store__audit_head_open(struct store_db *db, bool may_start, char **error_r)
{
	sqlite3 *conn = db->writer_conn;
	struct audit_head h;
	int rc;

	if (sqlite3_exec(conn, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = xasprintf("%s: %s", db->path, sqlite3_errmsg(conn));
		return -1;
	}
	rc = store__audit_head_read(conn, db, &h);
	if (rc == STORE_ERR_NOT_FOUND && may_start) {
		if ((rc = head_start(conn, &h)) == STORE_OK)
			rc = store__audit_head_write(conn, db, &h);
		if (rc == STORE_OK && h.seq > 0)
			log_info("store", NULL, "%s: audit chain keyed from row %lld "
			    "on (rows before it keep their plain SHA-256)", db->path,
			    (long long)h.keyed_from);
	} else if (rc == STORE_ERR_NOT_FOUND) {
		log_error("store", NULL, "%s: the audit head is missing: this "
		    "database's audit log will not verify", db->path);
		rc = STORE_OK;
	} else if (rc == STORE_OK && !h.valid) {
		log_error("store", NULL, "%s: the audit head does not verify (edited, "
		    "or audit.key is not the key of this data)", db->path);
	}
	if (rc == STORE_OK &&
	    sqlite3_exec(conn, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	*error_r = xasprintf("%s: cannot start the audit head: %s", db->path,
	    sqlite3_errmsg(conn));
	sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
