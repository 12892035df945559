/*
 * store_messages.h - message rows (tenant.db).
 */
#ifndef GENT_STORE_MESSAGES_H
#define GENT_STORE_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gent/mime.h"
#include "gent/store.h"
#include "gent/store_outbound.h"

/* A label given to a message as it is stored (auto-label rules). */
struct message_label {
	const char	*label_id;
	const char	*applied_by;	/* "rule:<id>" */
	const char	*rule_id;
};

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
	char	 thread_id[64];		/* set by insert (from parents or new) */
	char	*trace;			/* JSON text */
	char	**parents;		/* insert only: message ids to thread under */
	size_t	 n_parents;
	char	*text_body, *html_body;
	int64_t	 n_attachments;
	bool	 malformed;
	const struct mime_attachment *attachments;	/* insert only */
	const struct outbound_row *forwards;	/* insert only: queued with it */
	size_t	 n_forwards;
	const struct message_label *labels;	/* insert only: applied with it */
	size_t	 n_labels;
	char	*labels_json;		/* read: [{"id", "name"}] in apply order */
	bool	 is_read, is_starred, is_archived;
	char	*snippet;		/* list with a search: the best match */
	double	 rank;			/* list with a search: bm25, lower is better */
};

/* Which messages a list returns. NULL strings, -1 flags and 0 times do
 * not filter. */
struct message_filter {
	const char	*label_id, *thread_id;
	const char	*from, *to;	/* case-insensitive substring of the header */
	int		 unread, starred, archived, has_attachment;
	int64_t		 after_ms, before_ms;	/* received_at >= after, < before */
	const char	*fts;		/* FTS5 MATCH text (search_query_to_fts) */
	bool		 by_relevance;	/* with fts: best first, offset cursor */
};

/* Filter that lets everything through. */
#define MESSAGE_FILTER_ALL { .unread = -1, .starred = -1, .archived = -1, \
	.has_attachment = -1 }

struct attachment_row {
	char	 id[64];
	char	 message_id[64];
	char	*filename, *content_type, *content_id;
	bool	 inline_part;
	int64_t	 size;
	char	*data;			/* only when asked for */
};

/** Attachment metadata of a message, in order. */
int store_attachments_list(struct store_db *db, const char *message_id,
    struct attachment_row **rows_r, int *n_r);
/** One attachment with its bytes. NOT_FOUND when absent. */
int store_attachments_get(struct store_db *db, const char *message_id,
    const char *id, struct attachment_row *out);
void attachment_rows_free(struct attachment_row *rows, int n);

/**
 * Insert several rows in one transaction (one per recipient inbox). Each
 * row joins the thread of the first of its parents found in its inbox
 * (In-Reply-To, then References nearest first), else starts a thread.
 * Its labels are applied (with their label.applied events) and its
 * forwards queued in the same transaction. A row with an empty id
 * stores nothing but its audit row (a drop).
 */
int store_messages_insert(struct store_db *db, struct message_row *rows,
    size_t n, const struct store_audit *audits);
/**
 * A page of an inbox's messages (no raw, no bodies: text_body and
 * html_body are NULL; store_messages_get() has them): newest first with a keyset
 * cursor (cursor_ms, cursor_id), or with filter->by_relevance best match
 * first, cursor_ms being the offset.
 */
int store_messages_list(struct store_db *db, const char *inbox_id,
    const struct message_filter *filter, int limit, int64_t cursor_ms,
    const char *cursor_id, struct message_row **rows_r, int *n_r, bool *more_r);
/** Set read / starred / archived (-1 keeps); NOT_FOUND when gone. */
int store_messages_set_flags(struct store_db *db, const char *id, int read,
    int starred, int archived, const struct store_audit *audit);
/**
 * Delete a message's content: the row, its attachments, labels and search
 * entry; its thread shrinks. The audit row (written here) remains.
 */
int store_messages_delete(struct store_db *db, const char *id,
    const struct store_audit *audit);
/** One message; with_raw loads the bytes. NOT_FOUND when absent. */
int store_messages_get(struct store_db *db, const char *id, bool with_raw,
    struct message_row *out);
void message_row_free(struct message_row *r);
void message_rows_free(struct message_row *rows, int n);

#endif
