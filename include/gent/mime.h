/*
 * mime.h - what we read from a message with GMime.
 */
#ifndef GENT_MIME_H
#define GENT_MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_MAX_DEPTH 32	/* nesting of multiparts and attached messages */
#define MIME_MAX_PARTS 256	/* leaves looked at */
#define MIME_MAX_RECIPIENTS 100	/* To and Cc mailboxes kept */
#define MIME_MAX_DELIVERED_TO 50	/* Delivered-To values kept */

struct mime_attachment {
	char	*filename;	/* NULL when none given */
	char	*content_type;	/* "application/pdf" */
	char	*content_id;	/* without <>, for inline images */
	bool	 inline_part;	/* Content-Disposition: inline */
	char	*data;		/* decoded bytes (transfer encoding removed) */
	size_t	 size;
};

struct mime_summary {
	char	*message_id;	/* without <> */
	char	*subject;	/* decoded to UTF-8 (RFC 2047) */
	char	*from;		/* display form, UTF-8 */
	char	*to;
	char	*date;		/* as written */
	char	*from_addr;	/* addr-spec of the first From mailbox */
	size_t	 n_from;	/* mailboxes in From (DMARC needs exactly one) */
	char	**authors;	/* addr-specs of every From mailbox (at most 16) */
	size_t	 n_authors;
	char	**recipients;	/* addr-specs of To then Cc mailboxes (groups opened) */
	size_t	 n_recipients;
	char	**parents;	/* In-Reply-To then References message ids, no <> */
	size_t	 n_parents;
	char	**delivered_to;	/* top-level Delivered-To values (RFC 9228), in
				   order, trimmed, no <>; at most 50 */
	size_t	 n_delivered_to;
	char	*text_body;	/* first text/plain part (not an attachment), UTF-8 */
	char	*html_body;	/* first text/html part (not an attachment), UTF-8 */
	struct mime_attachment	*attachments;
	size_t	 n_attachments;
	bool	 truncated;	/* part or depth limits hit: some parts skipped */
	bool	 parsed;	/* false: GMime could not build a message */
};

/** Call once at start-up, before any thread uses GMime. */
void mime_init(void);
/**
 * Parse a raw message (CRLF lines): headers, the text and HTML bodies
 * decoded to UTF-8 (RFC 2047 words and charsets), attachments decoded.
 * Never fails: on a malformed message what could be read is filled in and
 * parsed is false; the caller stores the raw bytes regardless.
 */
void mime_summarize(const char *raw, size_t len, struct mime_summary *out);
void mime_summary_free(struct mime_summary *s);

#define MIME_MAX_HEADERS 500	/* fields reported by mime_each_header */

/**
 * Call fn for each field of the message's header section, in order, with
 * the name and the unfolded, RFC 2047-decoded value (UTF-8). Only the
 * header section is parsed.
 */
void mime_each_header(const char *raw, size_t len,
    void (*fn)(void *ctx, const char *name, const char *value), void *ctx);

#endif
