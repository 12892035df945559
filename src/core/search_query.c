/*
 * search_query.c - q= to FTS5 MATCH text. Each word or phrase becomes an
 * FTS5 string ("..." with " doubled), so operators and column names in
 * user text are just text; only our own "*" and NOT are syntax.
 */
#include <stdbool.h>
#include <string.h>

#include "gent/search_query.h"
#include "gent/util.h"

struct term {
	const char	*start;
	size_t		 len;
	bool		 negated, prefix;
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Next term at *p (advanced past it); false at the end of q. */
static bool
next_term(const char **p, struct term *t)
{
	const char *s = *p;

	while (is_space(*s))
		s++;
	if (!*s)
		return false;
	memset(t, 0, sizeof(*t));
	if (*s == '-' && s[1] && !is_space(s[1])) {
		t->negated = true;
		s++;
	}
	if (*s == '"') {			/* "a phrase", maybe "a phrase"* */
		const char *end = strchr(s + 1, '"');
		t->start = s + 1;
		t->len = end ? (size_t)(end - s - 1) : strlen(s + 1);
		s = t->start + t->len + (end != NULL);
		if (*s == '*') {
			t->prefix = true;
			s++;
		}
	} else {				/* word, maybe word* */
		t->start = s;
		while (*s && !is_space(*s) && *s != '"')
			s++;
		t->len = (size_t)(s - t->start);
		while (t->len > 0 && t->start[t->len - 1] == '*') {
			t->prefix = true;
			t->len--;
		}
	}
	*p = s;
	return true;
}

/* Does the term hold a letter or digit (FTS5 would find no token)? */
static bool
has_token(const struct term *t)
{
	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->start[i];
		if (c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' &&
		    (c | 0x20) <= 'z'))
			return true;
	}
	return false;
}

static void
append_term(struct buf *out, const struct term *t)
{
	if (out->len)
		buf_append_str(out, " ");
	if (t->negated)
		buf_append_str(out, "NOT ");
	buf_append_str(out, "\"");
	for (size_t i = 0; i < t->len; i++)
		buf_append(out, t->start[i] == '"' ? "\"\"" : &t->start[i],
		    t->start[i] == '"' ? 2 : 1);
	buf_append_str(out, t->prefix ? "\"*" : "\"");
}

char *
search_query_to_fts(const char *q, const char **error_r)
{
	struct term terms[SEARCH_TERMS_MAX];
	struct buf out = { 0 };
	size_t n = 0, positive = 0;
	struct term t;

	if (strlen(q) > SEARCH_QUERY_MAX) {
		*error_r = "q is longer than 500 bytes";
		return NULL;
	}
	while (next_term(&q, &t)) {
		if (!has_token(&t))
			continue;
		if (n == SEARCH_TERMS_MAX) {
			*error_r = "q has more than 32 words";
			return NULL;
		}
		terms[n++] = t;
		positive += !t.negated;
	}
	if (positive == 0) {
		*error_r = "q needs at least one word to look for";
		return NULL;
	}
	/* Positive terms first: FTS5's NOT is binary and needs a left side. */
	for (size_t i = 0; i < n; i++)
		if (!terms[i].negated)
			append_term(&out, &terms[i]);
	for (size_t i = 0; i < n; i++)
		if (terms[i].negated)
			append_term(&out, &terms[i]);
	return out.data;	/* the buffer's memory is the caller's now */
}
