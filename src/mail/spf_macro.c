/*
 * spf_macro.c - the macro language of SPF (RFC 7208 section 7): syntax
 * checks for domain-specs and explanation strings, and their expansion.
 *
 *   domain-spec    = macro-string domain-end
 *   domain-end     = ( "." toplabel [ "." ] ) / macro-expand
 *   toplabel       = ( *alphanum ALPHA *alphanum ) /
 *                    ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
 *   explain-string = *( macro-string / SP )
 *   macro-string   = *( macro-expand / macro-literal )
 *   macro-expand   = ( "%{" macro-letter transformers *delimiter "}" )
 *                    / "%%" / "%_" / "%-"
 *   macro-literal  = %x21-24 / %x26-7E
 *   macro-letter   = "s" / "l" / "o" / "d" / "i" / "p" / "h" /
 *                    "c" / "r" / "t" / "v"
 *   transformers   = *DIGIT [ "r" ]
 *   delimiter      = "." / "-" / "+" / "," / "/" / "_" / "="
 *
 * The checks run when a record is parsed, so a bad macro anywhere is a
 * permerror before anything is evaluated; the letters c, r and t belong
 * to explanation text only (7.2). Expansion runs on checked strings and
 * cannot fail on them. Pure code: %{p} is the only letter that needs DNS,
 * and the caller supplies it through the environment.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"

#define SPF_MACRO_DELIMS ".-+,/_="
#define SPF_MACRO_KEEP_MAX 255u	/* more parts than any name can have */

/* One "%..." item of a macro-string. */
struct spf_macro {
	char		 letter;	/* lower case; 0 for "%%" "%_" "%-" */
	const char	*literal;	/* what "%%" "%_" "%-" stand for */
	bool		 escape;	/* upper-case letter: URL-escape the value */
	bool		 reverse;	/* the "r" transformer */
	unsigned	 keep;		/* right-hand parts to keep; 0 = all */
	char		 delims[sizeof(SPF_MACRO_DELIMS)];	/* "" means "." */
	size_t		 len;		/* source bytes, from '%' to '}' */
};

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool
letter_ok(int c, enum spf_macro_use use)
{
	c = lower(c);
	if (c != 0 && strchr("slodipvh", c))
		return true;
	return use == SPF_MACRO_EXPLAIN && c != 0 && strchr("crt", c);
}

static bool
literal_ok(unsigned char c, enum spf_macro_use use)
{
	if (c == ' ')
		return use == SPF_MACRO_EXPLAIN;
	return c >= 0x21 && c <= 0x7e && c != '%';
}

/* transformers = *DIGIT [ "r" ]; a DIGIT value must be nonzero (7.3). */
static const char *
parse_transformers(const char *q, struct spf_macro *m)
{
	bool digits = false;

	for (; is_digit(*q); q++) {
		digits = true;
		m->keep = m->keep * 10 + (unsigned)(*q - '0');
		if (m->keep > SPF_MACRO_KEEP_MAX)
			m->keep = SPF_MACRO_KEEP_MAX;
	}
	if (digits && m->keep == 0)
		return NULL;
	if (*q == 'r' || *q == 'R') {
		m->reverse = true;
		q++;
	}
	return q;
}

static const char *
parse_delimiters(const char *q, struct spf_macro *m)
{
	for (; *q != '\0' && strchr(SPF_MACRO_DELIMS, *q); q++)
		if (!strchr(m->delims, *q))
			m->delims[strlen(m->delims)] = *q;
	return q;
}

/* p points at '%'. 0 with *m filled, or -1 on a syntax error (7.1). */
static int
macro_parse(const char *p, enum spf_macro_use use, struct spf_macro *m)
{
	static const char *const literals[] = { "%", " ", "%20" };
	const char *q, *which = strchr("%_-", p[1]);

	memset(m, 0, sizeof(*m));
	if (p[1] != '\0' && which) {
		m->literal = literals[which - "%_-"];
		m->len = 2;
		return 0;
	}
	if (p[1] != '{' || !letter_ok(p[2], use))
		return -1;
	m->letter = (char)lower(p[2]);
	m->escape = p[2] != m->letter;
	if (!(q = parse_transformers(p + 3, m)))
		return -1;
	q = parse_delimiters(q, m);
	if (*q != '}')
		return -1;
	m->len = (size_t)(q + 1 - p);
	return 0;
}

/*
 * Walk s; 0 when every byte is a literal or part of a macro, -1 if not.
 * *tail gets the offset just past the last macro-expand (0 if none).
 */
static int
macro_scan(const char *s, enum spf_macro_use use, size_t *tail)
{
	struct spf_macro m;
	size_t i = 0;

	*tail = 0;
	while (s[i] != '\0') {
		if (s[i] != '%') {
			if (!literal_ok((unsigned char)s[i], use))
				return -1;
			i++;
			continue;
		}
		if (macro_parse(s + i, use, &m) != 0)
			return -1;
		i += m.len;
		*tail = i;
	}
	return 0;
}

int
spf__macro_check(const char *s, enum spf_macro_use use)
{
	size_t tail;

	return macro_scan(s, use, &tail);
}

static bool
toplabel_ok(const char *s, size_t len)
{
	bool alpha = false, dash = false;

	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			dash = true;
		else if (is_alpha(s[i]))
			alpha = true;
		else if (!is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

/* domain-end = ( "." toplabel [ "." ] ) / macro-expand */
int
spf__domain_spec_check(const char *s)
{
	size_t tail, len = strlen(s);
	const char *dot;

	if (len == 0 || macro_scan(s, SPF_MACRO_DOMAIN, &tail) != 0)
		return -1;
	if (tail == len)
		return 0;
	if (s[len - 1] == '.')
		len--;
	/* The dot before the toplabel must be literal text after any macro. */
	dot = memrchr(s + tail, '.', len - tail);
	if (!dot)
		return -1;
	return toplabel_ok(dot + 1, len - (size_t)(dot + 1 - s)) ? 0 : -1;
}

static const char *
macro_value(const struct spf_macro_env *env, char letter)
{
	switch (letter) {
	case 's': return env->sender;
	case 'l': return env->local;
	case 'o': return env->sender_domain;
	case 'd': return env->domain;
	case 'i': return env->ip;
	case 'c': return env->ip_pretty;
	case 'v': return env->ip_version;
	case 'h': return env->helo;
	case 'r': return env->receiver;
	case 't': return env->timestamp;
	case 'p': return env->ptr_name(env->ptr_arg, env->domain);
	}
	gent_assert(!"unchecked macro letter");
	return "";
}

/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986) */
static void
append_escaped(struct buf *out, const char *s, size_t n, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!escape || is_alpha(c) || is_digit(c) || strchr("-._~", c)) {
			buf_append(out, &s[i], 1);
			continue;
		}
		char pct[3] = { '%', hex[c >> 4], hex[c & 15] };
		buf_append(out, pct, sizeof(pct));
	}
}

/* One piece of a split value. */
struct spf_part {
	const char	*s;
	size_t		 n;
};

static size_t
split_value(const char *v, const char *delims, struct spf_part *parts)
{
	size_t n = 0;
	const char *start = v;

	for (const char *p = v;; p++) {
		if (*p != '\0' && !strchr(delims, *p))
			continue;
		parts[n++] = (struct spf_part){ start, (size_t)(p - start) };
		if (*p == '\0')
			return n;
		start = p + 1;
	}
}

/*
 * Split on the delimiters, reverse, keep the right-hand parts, join with
 * "." (7.3); then URL-escape for an upper-case letter.
 */
static void
macro_apply(const struct spf_macro *m, const char *value, struct buf *out)
{
	const char *delims = m->delims[0] ? m->delims : ".";
	size_t n = 1, first = 0;
	struct spf_part *parts;

	for (const char *p = value; *p; p++)
		n += strchr(delims, *p) != NULL;
	parts = xcalloc(n, sizeof(*parts));
	split_value(value, delims, parts);
	for (size_t i = 0; m->reverse && i < n / 2; i++) {
		struct spf_part t = parts[i];
		parts[i] = parts[n - 1 - i];
		parts[n - 1 - i] = t;
	}
	if (m->keep != 0 && m->keep < n)
		first = n - m->keep;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			buf_append(out, ".", 1);
		append_escaped(out, parts[i].s, parts[i].n, m->escape);
	}
	free(parts);
}

/* 7.3: no final dot; over 253 octets, drop labels from the left. */
static void
domain_finish(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] == '.')
		b->data[--b->len] = '\0';
	while (b->len > SPF_NAME_MAX) {
		const char *dot = memchr(b->data, '.', b->len);
		if (!dot)
			break;
		buf_consume(b, (size_t)(dot + 1 - b->data));
	}
}

int
spf__macro_expand(const char *s, enum spf_macro_use use,
    const struct spf_macro_env *env, struct buf *out)
{
	struct spf_macro m;

	gent_assert(out->len == 0);
	buf_append(out, "", 0);
	for (size_t i = 0; s[i] != '\0'; i += m.len) {
		if (s[i] != '%') {
			if (!literal_ok((unsigned char)s[i], use))
				return -1;
			buf_append(out, &s[i], 1);
			m.len = 1;
			continue;
		}
		if (macro_parse(s + i, use, &m) != 0)
			return -1;
		if (m.literal)
			buf_append_str(out, m.literal);
		else
			macro_apply(&m, macro_value(env, m.letter), out);
		/* A sender-sized value repeated in a 64 KiB record: refuse. */
		if (out->len > SPF_EXPAND_MAX)
			return -1;
	}
	if (use == SPF_MACRO_DOMAIN)
		domain_finish(out);
	return 0;
}
