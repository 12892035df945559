/*
 * mime.h - what we read from a message with GMime.
 */
#ifndef GENT_MIME_H
#define GENT_MIME_H

#include <stdbool.h>
#include <stddef.h>

struct mime_summary {
	char	*message_id;	/* without <> */
	char	*subject;	/* decoded to UTF-8 (RFC 2047) */
	char	*from;		/* display form, UTF-8 */
	char	*to;
	char	*date;		/* as written */
	char	*from_addr;	/* addr-spec of the first From mailbox */
	size_t	 n_from;	/* mailboxes in From (DMARC needs exactly one) */
	char	**parents;	/* In-Reply-To then References message ids, no <> */
	size_t	 n_parents;
	bool	 parsed;	/* false: GMime could not build a message */
};

/** Call once at start-up, before any thread uses GMime. */
void mime_init(void);
/** Parse headers of a raw message (CRLF lines). Never fails: on a malformed
 *  message fields stay NULL and parsed is false. */
void mime_summarize(const char *raw, size_t len, struct mime_summary *out);
void mime_summary_free(struct mime_summary *s);

#endif
