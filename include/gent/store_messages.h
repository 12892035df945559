/*
 * store_messages.h - message rows (tenant.db).
 */
#ifndef GENT_STORE_MESSAGES_H
#define GENT_STORE_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gent/store.h"

struct message_row {
	char	 id[64];
	char	 inbox_id[64];
	char	 direction[16];
	char	*message_id_hdr, *subject, *from_addr, *to_addrs, *date_hdr;
	char	*mail_from, *rcpt_to, *client_ip, *helo;
	bool	 tls;
	int64_t	 size, received_at;
	char	*raw;			/* only when asked for */
	size_t	 raw_len;
	char	*smtp_session;
};

/** Insert several rows in one transaction (one per recipient inbox). */
int store_messages_insert(struct store_db *db, const struct message_row *rows,
    size_t n, const struct store_audit *audits);
/** Keyset page of an inbox's messages, newest first (no raw). */
int store_messages_list(struct store_db *db, const char *inbox_id, int limit,
    int64_t cursor_ms, const char *cursor_id, struct message_row **rows_r,
    int *n_r, bool *more_r);
/** One message; with_raw loads the bytes. NOT_FOUND when absent. */
int store_messages_get(struct store_db *db, const char *id, bool with_raw,
    struct message_row *out);
void message_row_free(struct message_row *r);
void message_rows_free(struct message_row *rows, int n);

#endif
