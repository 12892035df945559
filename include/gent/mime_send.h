/*
 * mime_send.h - composing the messages agents send (POST /v1/messages/)
 * and the delivery status notifications the relay writes (RFC 3464).
 */
#ifndef GENT_MIME_SEND_H
#define GENT_MIME_SEND_H

#include <stddef.h>

struct send_attachment {
	const char	*filename;
	const char	*content_type;	/* "application/pdf" */
	const char	*data;		/* decoded bytes */
	size_t		 len;
};

struct send_compose {
	const char			*from_address;	/* the inbox */
	const char			*from_name;	/* its display name, or NULL */
	const char *const		*to, *const *cc;	/* Bcc never appears */
	size_t				 n_to, n_cc;
	const char			*subject;
	const char			*text_body, *html_body;	/* either may be NULL */
	const char			*signature;	/* the inbox's, or NULL */
	const char			*in_reply_to;	/* parent Message-ID, no <> */
	const char			*references;	/* "<a> <b>" of the parent, or NULL */
	const struct send_attachment	*attachments;
	size_t				 n_attachments;
	const char *const		*extra_names, *const *extra_values;
	size_t				 n_extra;	/* safe-listed headers */
	const char			*message_id;	/* no <> */
};

/**
 * The message as CRLF text: text/plain, text/html or both as
 * multipart/alternative, inside multipart/mixed when there are
 * attachments. The signature goes after "-- " in the text part and after
 * a "-- " line in the HTML part when there is one (an HTML signature is
 * shown as text in the plain part). Returns a new buffer and its length.
 */
char *mime_compose_send(const struct send_compose *c, size_t *len_r);

struct dsn_compose {
	const char	*reporting_mta;		/* our hostname */
	const char	*to;			/* the sending inbox */
	const char	*recipient;		/* the address that failed */
	const char	*action;		/* "failed" */
	const char	*status;		/* "5.1.1", "4.4.7" */
	const char	*diagnostic;		/* "smtp; 550 5.1.1 no such user" */
	const char	*remote_mta;		/* the MX that answered, or NULL */
	const char	*orig_headers;		/* the header block of what bounced */
	size_t		 orig_headers_len;
	const char	*orig_subject;
	const char	*orig_message_id;	/* for threading, no <> */
	const char	*message_id;		/* of the report, no <> */
};

/** A multipart/report; report-type=delivery-status (RFC 3464) from
 *  MAILER-DAEMON: a human part, message/delivery-status and the original
 *  headers as text/rfc822-headers. CRLF text. */
char *mime_compose_dsn(const struct dsn_compose *d, size_t *len_r);

#endif
