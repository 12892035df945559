/*
 * mime_compose.h - messages gentd writes itself (forwarded copies).
 */
#ifndef GENT_MIME_COMPOSE_H
#define GENT_MIME_COMPOSE_H

#include <stddef.h>

struct forward_compose {
	const char	*inbox_address;	/* From: the forwarding inbox */
	const char	*to;		/* the destination */
	const char	*reply_to;	/* the original sender, may be NULL */
	const char	*orig_from;	/* display form of the original From */
	const char	*orig_to;
	const char	*orig_date;
	const char	*orig_subject;
	const char	*text_body;	/* the original's text, may be NULL */
	const char	*raw;		/* the original message, attached whole */
	size_t		 raw_len;
	const char	*unsubscribe_url;	/* per rule and destination */
	const char	*message_id;	/* "<id@host>" without <> */
	const char	*const *delivered_to;	/* Delivered-To values, top first */
	size_t		 n_delivered_to;
};

/**
 * A forward of an incoming message as a new message from the inbox (so
 * it passes SPF/DKIM/DMARC as ours): a text part with the original's
 * headers, text and an unsubscribe footer, then the original attached as
 * message/rfc822; List-Unsubscribe and List-Unsubscribe-Post (RFC 8058)
 * headers; the delivered_to values as Delivered-To fields (RFC 9228) at
 * the top of the header, in the order given. CRLF line ends. Returns a
 * new buffer and its length.
 */
char *mime_compose_forward(const struct forward_compose *f, size_t *len_r);

#endif
