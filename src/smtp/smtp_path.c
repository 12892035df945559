/*
 * smtp_path.c - Reverse-path / Forward-path parsing (RFC 5321 4.1.2):
 *
 *   Path       = "<" [ A-d-l ":" ] Mailbox ">"
 *   A-d-l      = At-domain *( "," At-domain )     ; source route, ignored
 *   Mailbox    = Local-part "@" ( Domain / address-literal )
 *   Local-part = Dot-string / Quoted-string
 *
 * The local part is kept as written (quoted strings included), so
 * "a@b"@us or a%b@us can never be mistaken for a relay target: the
 * recipient check compares the whole address with our inboxes.
 * SMTPUTF8 local parts and domains (UTF-8 bytes >= 0x80) are accepted.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "gent/smtp_parse.h"

/* RFC 5321 4.5.3.1: a local part (quotes included) of at most 64 octets,
 * a domain of 255, a whole path, from "<" to ">", of 256. */
#define LOCAL_MAX 64
#define DOMAIN_MAX 255
#define PATH_MAX_LEN 256

static bool
atext(unsigned char c)
{
	/* c != 0 first: strchr() finds the terminating NUL of its string. */
	return c != 0 && (isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) || c >= 0x80);
}

/* Dot-string or quoted-string; returns bytes used or 0. */
static size_t
local_part(const char *p)
{
	size_t i = 0;

	if (p[0] == '"') {
		for (i = 1; p[i] && p[i] != '"'; i++) {
			if (p[i] == '\\') {
				if (!p[i + 1] || (unsigned char)p[i + 1] < 0x20)
					return 0;
				i++;
			} else if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
				return 0;
			}
		}
		return p[i] == '"' ? i + 1 : 0;
	}
	for (;;) {
		size_t start = i;
		while (atext((unsigned char)p[i]))
			i++;
		if (i == start)
			return 0;
		if (p[i] != '.')
			return i;
		i++;
	}
}

/* Domain (LDH labels, UTF-8 allowed) or [address literal]. */
static size_t
domain_part(const char *p)
{
	size_t i = 0;

	if (p[0] == '[') {
		/* dcontent = %d33-90 / %d94-126 (RFC 5321 4.1.3): no controls,
		 * spaces, brackets or backslashes in an address literal. */
		for (i = 1; p[i] && p[i] != ']' && i < DOMAIN_MAX; i++)
			if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126 ||
			    p[i] == '[' || p[i] == '\\')
				return 0;
		return p[i] == ']' && i > 1 ? i + 1 : 0;
	}
	for (;;) {
		size_t start = i;
		while (isalnum((unsigned char)p[i]) || p[i] == '-' ||
		    (unsigned char)p[i] >= 0x80)
			i++;
		if (i == start || p[start] == '-' || p[i - 1] == '-')
			return 0;
		if (p[i] != '.')
			return i;
		i++;
	}
}

/* Skip "@dom,@dom:" source routes. */
static const char *
skip_route(const char *p)
{
	if (*p != '@')
		return p;
	for (;;) {
		size_t n;
		if (*p != '@' || !(n = domain_part(p + 1)))
			return NULL;
		p += 1 + n;
		if (*p == ':')
			return p + 1;
		if (*p != ',')
			return NULL;
		p++;
	}
}

int
smtp_path_parse(const char *arg, bool allow_null, struct smtp_path *out,
    const char **why_r)
{
	const char *p = arg, *mbox, *lt;
	size_t ln, dn;

	memset(out, 0, sizeof(*out));
	while (*p == ' ')
		p++;	/* tolerated: "MAIL FROM: <a@b>" is common */
	if (*p != '<') {
		*why_r = "path must be enclosed in <>";
		return -1;
	}
	lt = p++;
	if (*p == '>') {
		if (!allow_null) {
			*why_r = "null path not allowed here";
			return -1;
		}
		out->addr = xstrdup("");
		mbox = p;
		ln = dn = 0;
		goto params;
	}
	if (!(p = skip_route(p))) {
		*why_r = "bad source route";
		return -1;
	}
	mbox = p;
	if (!(ln = local_part(p)) || p[ln] != '@') {
		*why_r = "bad local part";
		return -1;
	}
	if (ln > LOCAL_MAX) {
		*why_r = "local part over 64 octets";
		return -1;
	}
	if (!(dn = domain_part(p + ln + 1)) || dn > DOMAIN_MAX || p[ln + 1 + dn] != '>') {
		*why_r = "bad domain";
		return -1;
	}
	if ((size_t)(p + ln + 1 + dn + 1 - lt) > PATH_MAX_LEN) {
		*why_r = "path over 256 octets";
		return -1;
	}
	out->addr = xstrndup(mbox, ln + 1 + dn);
	p += ln + 1 + dn;
params:
	p++;	/* '>' */
	if (*p && *p != ' ') {
		*why_r = "junk after path";
		smtp_path_free(out);
		return -1;
	}
	while (*p == ' ')
		p++;
	out->params = *p ? xstrdup(p) : NULL;
	return 0;
}

void
smtp_path_free(struct smtp_path *p)
{
	xfree(&p->addr);
	xfree(&p->params);
}
