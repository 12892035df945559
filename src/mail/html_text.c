/*
 * html_text.c - strip an HTML body down to words (see html_text.h).
 * One pass, linear in the input, no allocation beyond the output.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "gent/html_text.h"
#include "gent/util.h"

static const struct {
	const char	*name;	/* with the leading '&' and the ';' */
	const char	*text;
} entities[] = {
	{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
	{ "&#39;", "'" }, { "&apos;", "'" }, { "&nbsp;", " " },
};

static void
put_space(struct buf *out)
{
	if (out->len && out->data[out->len - 1] != ' ')
		buf_append(out, " ", 1);
}

/* Past the tag at p ('<'); *skip_r is set for <script> and <style>. */
static const char *
skip_tag(const char *p, const char **skip_until_r)
{
	const char *end = strchr(p, '>');

	if (strncasecmp(p, "<script", 7) == 0)
		*skip_until_r = "</script";
	else if (strncasecmp(p, "<style", 6) == 0)
		*skip_until_r = "</style";
	return end ? end + 1 : p + strlen(p);
}

/* Decode the entity at p ('&') into out; returns the next position. */
static const char *
put_entity(const char *p, struct buf *out)
{
	for (size_t i = 0; i < GENT_ARRAY_LEN(entities); i++) {
		size_t n = strlen(entities[i].name);
		if (strncasecmp(p, entities[i].name, n) == 0) {
			if (entities[i].text[0] == ' ')
				put_space(out);
			else
				buf_append_str(out, entities[i].text);
			return p + n;
		}
	}
	buf_append(out, p, 1);
	return p + 1;
}

char *
html_text(const char *html)
{
	const char *p = html, *skip_until = NULL;
	struct buf out = { 0 };

	if (!html)
		return NULL;
	buf_append(&out, "", 0);
	while (*p) {
		if (skip_until) {
			const char *end = strcasestr(p, skip_until);
			p = end ? end : p + strlen(p);
			skip_until = NULL;
			continue;
		}
		if (*p == '<') {
			p = skip_tag(p, &skip_until);
			put_space(&out);
		} else if (*p == '&') {
			p = put_entity(p, &out);
		} else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			put_space(&out);
			p++;
		} else {
			buf_append(&out, p++, 1);
		}
	}
	return out.data;
}
