/*
 * smtp_client_body.c - the message as it goes on the wire.
 *
 * Lines end at CRLF, at a bare CR and at a bare LF; each of the three is
 * written as CRLF, so the wire never carries a lone CR or LF and no
 * "<LF>.<LF>"-style sequence (SMTP smuggling, RELIABILITY.md rows 1-3)
 * can leave us: the only end of data a server can see is the one we add.
 * A line that starts with "." gets a second one (RFC 5321 4.5.2). A
 * message whose last line has no end gets CRLF; then ".\r\n" follows.
 *
 * scan() reads the message once before the transaction, so over-long
 * lines and SIZE are refused before anything is sent; encode() then
 * produces the wire form a block at a time from the caller's buffer,
 * without copying the whole message.
 */
#include <string.h>

#include "smtp_client_int.h"

static void
end_line(struct smtp_client_body_info *info, size_t *cur, bool *in_header)
{
	info->size += 2;
	if (*cur > info->longest)
		info->longest = *cur;
	if (*cur == 0)
		*in_header = false;	/* the empty line ends the header */
	*cur = 0;
}

void
smtp_client__body_scan(const char *msg, size_t len,
    struct smtp_client_body_info *info)
{
	size_t cur = 0;
	bool in_header = true;

	memset(info, 0, sizeof(*info));
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c == '\r') {
			if (i + 1 < len && msg[i + 1] == '\n')
				i++;
			end_line(info, &cur, &in_header);
		} else if (c == '\n') {
			end_line(info, &cur, &in_header);
		} else {
			cur++;
			info->size++;
			if (c >= 0x80) {
				info->eight_bit = true;
				if (in_header)
					info->header_8bit = true;
			}
		}
	}
	if (cur > 0)
		end_line(info, &cur, &in_header);
}

void
smtp_client__body_start(struct smtp_client_body_enc *e, const char *msg,
    size_t len)
{
	*e = (struct smtp_client_body_enc){
		.msg = msg, .len = len, .bol = true,
	};
}

/* The length of the run of ordinary octets at s[0..n), at most max. */
static size_t
text_run(const char *s, size_t n, size_t max)
{
	size_t i = 0;

	while (i < n && i < max && s[i] != '\r' && s[i] != '\n')
		i++;
	return i;
}

int
smtp_client__body_encode(struct smtp_client_body_enc *e, struct buf *out,
    size_t max)
{
	size_t start = out->len;

	while (!e->done && out->len - start < max) {
		char c;
		size_t n;

		if (e->pos == e->len) {
			if (e->cr || !e->bol)
				buf_append(out, "\r\n", 2);
			buf_append(out, ".\r\n", 3);
			e->done = true;
			break;
		}
		c = e->msg[e->pos];
		if (e->cr) {
			/* CR then LF is one line end; CR then anything else
			 * was a bare CR, written as CRLF all the same. */
			e->cr = false;
			buf_append(out, "\r\n", 2);
			e->bol = true;
			if (c == '\n')
				e->pos++;
			continue;
		}
		if (c == '\r') {
			e->cr = true;
			e->pos++;
			continue;
		}
		if (c == '\n') {
			buf_append(out, "\r\n", 2);	/* a bare LF */
			e->bol = true;
			e->pos++;
			continue;
		}
		if (e->bol && c == '.')
			buf_append(out, ".", 1);	/* dot-stuffing */
		n = text_run(e->msg + e->pos, e->len - e->pos,
		    max - (out->len - start));
		if (n == 0)
			n = 1;	/* max reached inside a line: one octet more */
		buf_append(out, e->msg + e->pos, n);
		e->pos += n;
		e->bol = false;
	}
	return e->done ? 1 : 0;
}
