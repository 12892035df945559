/*
 * store_domains.h - custom domains and their DKIM keys (control.db).
 */
#ifndef GENT_STORE_DOMAINS_H
#define GENT_STORE_DOMAINS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct domain_row {
	char	 id[64];
	char	 tenant_id[64];
	char	 name[256];
	char	 domain_use[32];
	char	 dmarc_policy[16];
	char	 status[16];		/* pending, verified */
	char	 verify_token[64];
	char	*check_results;		/* JSON array */
	int64_t	 created_at, updated_at, verified_at, last_checked_at;
};

struct dkim_key_row {
	char	 id[64];
	char	 domain_id[64];
	char	 selector[64];
	char	*key_path;
	char	*public_key;
	char	 status[16];		/* pending, active, retired */
	int64_t	 created_at, activated_at, retired_at;
};

/** Insert a domain and its first (active) key. CONFLICT when the name exists. */
int store_domains_create(struct store_db *db, const struct domain_row *d,
    const struct dkim_key_row *k, const struct store_audit *audit);
/** A domain of the tenant by name. */
int store_domains_get(struct store_db *db, const char *tenant_id,
    const char *name, struct domain_row *out);
/** Keyset page of the tenant's domains, newest first. */
int store_domains_list(struct store_db *db, const char *tenant_id, int limit,
    int64_t cursor_ms, const char *cursor_id, struct domain_row **rows_r,
    int *n_r, bool *more_r);
/** Record a verification run; verified=true also sets status. */
int store_domains_save_check(struct store_db *db, const char *id,
    const char *results_json, bool verified, const struct store_audit *audit);
/** Delete a domain and its keys; CONFLICT while inboxes on it are live. */
int store_domains_delete(struct store_db *db, const char *tenant_id,
    const char *id, const struct store_audit *audit);
void domain_row_free(struct domain_row *d);
void domain_rows_free(struct domain_row *rows, int n);

/** All keys of a domain, oldest first. */
int store_dkim_keys_list(struct store_db *db, const char *domain_id,
    struct dkim_key_row **rows_r, int *n_r);
/** Add a pending key (rotation). CONFLICT when a pending key exists. */
int store_dkim_keys_add_pending(struct store_db *db, const struct dkim_key_row *k,
    const struct store_audit *audit);
/** Make the pending key active and retire the active one. NOT_FOUND if none. */
int store_dkim_keys_activate(struct store_db *db, const char *domain_id,
    const struct store_audit *audit);
void dkim_key_rows_free(struct dkim_key_row *rows, int n);

#endif
