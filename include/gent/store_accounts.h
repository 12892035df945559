/*
 * store_accounts.h - tenants, users, sign-in sessions, waitlist, invites
 * (all in control.db). Writers block on the group commit: worker threads
 * and the CLI only.
 */
#ifndef GENT_STORE_ACCOUNTS_H
#define GENT_STORE_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct user_row {
	char	 id[64];
	char	 tenant_id[64];
	char	 email[320];
	char	 role[16];
	char	*password_hash;		/* free with user_row_free() */
	int	 failed_logins;
	int64_t	 locked_until;
	int64_t	 created_at;
};

struct session_row {
	char	 id[64];
	char	 user_id[64];
	char	 tenant_id[64];
	char	 role[16];		/* the user's current role */
	int64_t	 expires_at;
	int64_t	 revoked_at;		/* 0 = live */
};

struct tenant_row {
	char	 id[64];
	char	*name;
	char	*settings_json;
	int64_t	 created_at, updated_at;
};

struct new_user {
	const char	*tenant_name;	/* create-or-join by name; NULL = new */
	bool		 new_tenant;	/* the name must not exist yet (sign-up) */
	const char	*tenant_id;	/* join this tenant (invites) */
	const char	*email;
	const char	*password_hash;
	const char	*role;
	char		 tenant_id_r[64];	/* out */
	char		 user_id_r[64];		/* out */
	bool		 tenant_created_r;	/* out */
};

/** Create a user (and its tenant when new). CONFLICT when email is taken. */
int store_accounts_create_user(struct store_db *db, struct new_user *u,
    const struct store_audit *audit);
/** Look up a user by email (case-insensitive). NOT_FOUND or OK. */
int store_accounts_user_by_email(struct store_db *db, const char *email,
    struct user_row *out);
/** Look up a user by id. */
int store_accounts_user_by_id(struct store_db *db, const char *id,
    struct user_row *out);
void user_row_free(struct user_row *u);
/**
 * Start a sign-in attempt, atomically: when the user is locked out returns
 * STORE_ERR_FORBIDDEN with *locked_until_r; otherwise counts the attempt
 * as a failure in advance (a success resets it, see
 * store_sessions_create), and once failures reach free_failures locks the
 * account for 2^(failures - free_failures) seconds, at most max_lock_s.
 * Counting before the password check keeps parallel guesses from all
 * slipping past the lock.
 */
int store_accounts_login_begin(struct store_db *db, const char *user_id,
    int64_t now, int free_failures, int max_lock_s, int *failures_r,
    int64_t *locked_until_r);

/** Store a new session (digest of its token only); resets sign-in failures. */
int store_sessions_create(struct store_db *db, const char *id,
    const char *digest, const char *user_id, const char *tenant_id,
    int64_t expires_at, const struct store_audit *audit);
/** Find a session by token digest. NOT_FOUND or OK. */
int store_sessions_by_digest(struct store_db *db, const char *digest,
    struct session_row *out);
/** Revoke a session. */
int store_sessions_revoke(struct store_db *db, const char *id,
    const struct store_audit *audit);

/** Read the tenant. */
/** Every tenant id (caller frees each and the array). */
int store_tenants_ids(struct store_db *db, char ***ids_r, int *n_r);
int store_tenants_get(struct store_db *db, const char *id,
    struct tenant_row *out);
/**
 * Rename (name NULL = keep) and merge the members of patch_json into the
 * stored settings, inside one transaction so concurrent patches of
 * different settings all stick. CONFLICT when the name is taken.
 */
int store_tenants_patch(struct store_db *db, const char *id,
    const char *name, const char *patch_json,
    const struct store_audit *audit);
void tenant_row_free(struct tenant_row *t);
/** Counts of verified domains, live inboxes and tokens, for next_step. */
int store_tenants_progress(struct store_db *db, const char *tenant_id,
    int *domains_r, int *inboxes_r, int *tokens_r);

/* Waitlist. */
/** Add an email once; *created_r false when it was already there. */
int store_waitlist_add(struct store_db *db, const char *email,
    bool *created_r, const struct store_audit *audit);
/** Approve: store the sign-up token digest and its expiry. NOT_FOUND. */
int store_waitlist_approve(struct store_db *db, const char *email,
    const char *digest, int64_t expires_at, const struct store_audit *audit);
/** True when email+digest name an approved, unexpired, unredeemed entry. */
bool store_waitlist_valid(struct store_db *db, const char *email,
    const char *digest, int64_t now);
/** Redeem the token and create the owner and tenant in one transaction. */
int store_waitlist_redeem(struct store_db *db, const char *digest,
    struct new_user *u, const struct store_audit *audit);

/* Invites. */
struct invite_row {
	char	 id[64];
	char	 tenant_id[64];
	char	 role[16];
	char	*email;			/* NULL = open invite */
	char	 status[16];		/* pending, accepted, cancelled, expired */
	int64_t	 expires_at, created_at, accepted_at;
	char	 created_by[64];
};

int store_invites_create(struct store_db *db, const struct invite_row *inv,
    const char *digest, const struct store_audit *audit);
/** Keyset page, newest first; *more_r set when another page exists. */
int store_invites_list(struct store_db *db, const char *tenant_id,
    const char *status, int limit, int64_t cursor_ms, const char *cursor_id,
    struct invite_row **rows_r, int *n_r, bool *more_r);
/** Accept: CONFLICT/NOT_FOUND/INVALID as the invite's state says. */
int store_invites_accept(struct store_db *db, const char *digest,
    struct new_user *u, int64_t now, const struct store_audit *audit);
void invite_rows_free(struct invite_row *rows, int n);

#endif
