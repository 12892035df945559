/*
 * hops.c - counting the Received: fields of a message (see hops.h).
 *
 * Every relay prepends one Received: field (RFC 5321 4.4), so their number
 * is the number of hops the message has taken, and a message with too
 * many is going round in a loop (RFC 5321 6.3). Only the header section is
 * read: it ends at the first empty line, or at the end of the data when
 * there is no body. A "Received:" further down is text of the body.
 *
 *   field  = field-name *WSP ":" ...     ; RFC 5322 3.6.7, 4.5 (obs-optional)
 *   folded = WSP ...                     ; continues the field above (2.2.3)
 *
 * The name is matched without regard to case. Lines end in LF, with or
 * without a CR before it (the SMTP engine hands over CRLF lines only, but
 * a caller need not rely on that). The cost is one memchr() per line of
 * the header section; the caller's size cap (smtp_max_message) bounds it.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "gent/hops.h"

#define NAME		"received"
#define NAME_LEN	(sizeof(NAME) - 1)

/* Is the line p[0..n) (without its LF) the start of a Received: field? */
static bool
is_received(const char *p, size_t n)
{
	size_t i = NAME_LEN;

	/* n > NAME_LEN: strncasecmp() then reads only bytes of the line. */
	if (n <= NAME_LEN || strncasecmp(p, NAME, NAME_LEN) != 0)
		return false;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':';
}

size_t
hops_count(const char *raw, size_t len, size_t stop_at)
{
	const char *p = raw, *end = raw + len;
	size_t n = 0;

	while (p < end && n < stop_at) {
		const char *lf = memchr(p, '\n', (size_t)(end - p));
		size_t line = (size_t)((lf ? lf : end) - p);

		if (line == 0 || (line == 1 && p[0] == '\r'))
			break;		/* the empty line: the body follows */
		if (is_received(p, line))
			n++;		/* a folded line starts with WSP: never */
		if (!lf)
			break;
		p = lf + 1;
	}
	return n;
}
