/*
 * store_tokens.h - inboxes (address routing) and agent tokens, in
 * control.db. Only SHA-256 digests of token values are ever stored.
 */
#ifndef GENT_STORE_TOKENS_H
#define GENT_STORE_TOKENS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct inbox_row {
	char	 id[64];
	char	 tenant_id[64];
	char	 address[320];		/* "" once purged */
	char	 released_address[320];	/* the address a purged inbox had */
	char	 domain_id[64];		/* "" for operator-made inboxes */
	char	*display_name;
	char	 status[16];		/* active, suspended, closing, purged */
	int64_t	 created_at, updated_at, closing_at, purged_at;
};

/**
 * Create an inbox. The API's POST /v1/inboxes/ and the operator CLI both
 * come here; CONFLICT when the address exists (case-insensitive), INVALID
 * when its domain (if any) is no longer verified (deleted meanwhile).
 */
int store_inboxes_create(struct store_db *db, struct inbox_row *row,
    const struct store_audit *audit);
/** Read an inbox of the tenant; NOT_FOUND across tenants. */
int store_inboxes_get(struct store_db *db, const char *tenant_id,
    const char *id, struct inbox_row *out);
void inbox_row_free(struct inbox_row *r);
void inbox_rows_free(struct inbox_row *rows, int n);
/** Keyset page of the tenant's inboxes, newest first; status NULL = all. */
int store_inboxes_list(struct store_db *db, const char *tenant_id,
    const char *status, int limit, int64_t cursor_ms, const char *cursor_id,
    struct inbox_row **rows_r, int *n_r, bool *more_r);
/**
 * Move an inbox along its life cycle: active <-> suspended, either ->
 * closing (sets closing_at). INVALID for other moves. display_name, when
 * not NULL, is updated in the same transaction (status NULL = keep).
 */
int store_inboxes_update(struct store_db *db, const char *tenant_id,
    const char *id, const char *status, const char *display_name,
    const struct store_audit *audit);
/**
 * Purge inboxes closing since before cutoff: status purged, address
 * released, tokens revoked, one audit row each. *purged_r counts them.
 */
int store_inboxes_purge_due(struct store_db *db, int64_t cutoff,
    int *purged_r);

struct token_row {
	char	 id[64];
	char	 tenant_id[64];
	char	 inbox_id[64];
	char	*label;
	char	*scopes_json;		/* JSON array */
	char	*requires_approval_json;
	char	 status[16];		/* active, paused, revoked */
	char	 inbox_status[16];	/* the inbox's status */
	char	 created_by[64];
	int64_t	 created_at, updated_at, expires_at, rotated_at, revoked_at;
	int64_t	 failed_auths;		/* consecutive refused requests */
};

/** Insert a token with its digest. */
int store_tokens_create(struct store_db *db, const struct token_row *t,
    const char *digest, const struct store_audit *audit);
/** Look up by digest (authentication). NOT_FOUND or OK. */
int store_tokens_by_digest(struct store_db *db, const char *digest,
    struct token_row *out);
/** One token of the tenant and inbox. */
int store_tokens_get(struct store_db *db, const char *tenant_id,
    const char *inbox_id, const char *id, struct token_row *out);
/** Keyset page of an inbox's tokens, newest first. */
int store_tokens_list(struct store_db *db, const char *tenant_id,
    const char *inbox_id, int limit, int64_t cursor_ms, const char *cursor_id,
    struct token_row **rows_r, int *n_r, bool *more_r);
/**
 * Change status: "paused" (from active), "active" (from paused),
 * "revoked" (from either). INVALID when the transition is not allowed,
 * NOT_FOUND when absent.
 */
int store_tokens_set_status(struct store_db *db, const char *tenant_id,
    const char *inbox_id, const char *id, const char *status,
    const struct store_audit *audit);
/** Replace the digest (rotate); INVALID for a revoked token. */
int store_tokens_rotate(struct store_db *db, const char *tenant_id,
    const char *inbox_id, const char *id, const char *digest,
    const struct store_audit *audit);
void token_row_free(struct token_row *t);
void token_rows_free(struct token_row *rows, int n);
/** A request with the token was refused (failed: the count goes up, its
 *  new value in *count_r) or accepted (the count goes back to 0). */
int store_tokens_auth_counted(struct store_db *db, const char *id, bool failed,
    int64_t *count_r);

#endif
