/*
 * store_waitlist.c - access requests and their single-use sign-up tokens.
 *
 * pending -> approved (an operator issues a sign-up token; only its digest
 * is kept) -> redeemed (the owner account and tenant exist).
 */
#include <stdlib.h>
#include <string.h>

#include "gent/store_accounts.h"
#include "gent/timefmt.h"
#include "gent/util.h"
#include "store_int.h"

struct add_job {
	const char			*email;
	bool				*created_r;
	const struct store_audit	*audit;
};

static int
add_fn(sqlite3 *conn, void *arg)
{
	struct add_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "INSERT INTO waitlist (email, "
	    "created_at) VALUES (?, ?) ON CONFLICT (email) DO NOTHING");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->email);
	sqlite3_bind_int64(st, 2, time_now_ms());
	rc = store_step_done(st);
	store_finish(st);
	*j->created_r = rc == STORE_OK && sqlite3_changes(conn) > 0;
	if (rc != STORE_OK || !*j->created_r)
		return rc;
	return store_audit_append(conn, j->audit);
}

int
store_waitlist_add(struct store_db *db, const char *email, bool *created_r,
    const struct store_audit *audit)
{
	struct add_job j = { email, created_r, audit };

	return store_db_write(db, add_fn, &j);
}

struct approve_job {
	const char			*email, *digest;
	int64_t				 expires_at;
	const struct store_audit	*audit;
};

static int
approve_fn(sqlite3 *conn, void *arg)
{
	struct approve_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE waitlist SET status = "
	    "'approved', signup_digest = ?, signup_expires_at = ?, approved_at = ? "
	    "WHERE email = ? AND status != 'redeemed'");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	store_bind_text(st, 1, j->digest);
	sqlite3_bind_int64(st, 2, j->expires_at);
	sqlite3_bind_int64(st, 3, time_now_ms());
	store_bind_text(st, 4, j->email);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_NOT_FOUND;
	store_finish(st);
	return rc == STORE_OK ? store_audit_append(conn, j->audit) : rc;
}

int
store_waitlist_approve(struct store_db *db, const char *email,
    const char *digest, int64_t expires_at, const struct store_audit *audit)
{
	struct approve_job j = { email, digest, expires_at, audit };

	return store_db_write(db, approve_fn, &j);
}

bool
store_waitlist_valid(struct store_db *db, const char *email,
    const char *digest, int64_t now)
{
	sqlite3 *conn = store_db_acquire(db);
	sqlite3_stmt *st = store_prepare(conn, "SELECT 1 FROM waitlist WHERE "
	    "email = ? AND signup_digest = ? AND status = 'approved' AND "
	    "signup_expires_at > ?");
	bool ok = false;

	if (st) {
		store_bind_text(st, 1, email);
		store_bind_text(st, 2, digest);
		sqlite3_bind_int64(st, 3, now);
		ok = sqlite3_step(st) == SQLITE_ROW;
	}
	store_finish(st);
	store_db_release(db, &conn);
	return ok;
}

struct redeem_job {
	const char			*digest;
	struct new_user			*u;
	const struct store_audit	*audit;
};

static int
redeem_fn(sqlite3 *conn, void *arg)
{
	struct redeem_job *j = arg;
	sqlite3_stmt *st = store_prepare(conn, "UPDATE waitlist SET status = "
	    "'redeemed', redeemed_at = ?1 WHERE email = ?2 AND signup_digest = ?3 "
	    "AND status = 'approved' AND signup_expires_at > ?1");
	int rc;

	if (!st)
		return STORE_ERR_SQL;
	sqlite3_bind_int64(st, 1, time_now_ms());
	store_bind_text(st, 2, j->u->email);
	store_bind_text(st, 3, j->digest);
	rc = store_step_done(st);
	if (rc == STORE_OK && sqlite3_changes(conn) == 0)
		rc = STORE_ERR_INVALID;
	store_finish(st);
	return rc == STORE_OK ? store__create_user_in_tx(conn, j->u, j->audit) : rc;
}

int
store_waitlist_redeem(struct store_db *db, const char *digest,
    struct new_user *u, const struct store_audit *audit)
{
	struct redeem_job j = { digest, u, audit };

	return store_db_write(db, redeem_fn, &j);
}
