/*
 * mime.c - GMime-based message parsing. Runs on worker threads; GMime is
 * initialised once by mime_init() on the main thread before they start.
 */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "gent/mime.h"
#include "gent/util.h"

void
mime_init(void)
{
	g_mime_init();
}

static char *
addresses(InternetAddressList *list)
{
	char *s, *out;

	if (!list || internet_address_list_length(list) == 0)
		return NULL;
	s = internet_address_list_to_string(list, NULL, FALSE);
	out = xstrdup(s);
	g_free(s);
	return out;
}

#define MIME_PARENTS_MAX 64

/* Message ids of In-Reply-To and References, most direct parent first. */
static void
collect_parents(GMimeMessage *msg, struct mime_summary *out)
{
	static const char *const headers[] = { "In-Reply-To", "References" };

	for (size_t h = 0; h < 2; h++) {
		const char *text = g_mime_object_get_header((GMimeObject *)msg, headers[h]);
		GMimeReferences *refs = text ? g_mime_references_parse(NULL, text) : NULL;
		int n = refs ? g_mime_references_length(refs) : 0;
		/* References lists the root first; the nearest parent is last. */
		for (int i = n - 1; i >= 0 && out->n_parents < MIME_PARENTS_MAX; i--) {
			out->parents = xrealloc(out->parents,
			    (out->n_parents + 1) * sizeof(char *));
			out->parents[out->n_parents++] =
			    xstrdup(g_mime_references_get_message_id(refs, i));
		}
		if (refs)
			g_mime_references_free(refs);
	}
}

static void
from_mailbox(GMimeMessage *msg, struct mime_summary *out)
{
	InternetAddressList *list = g_mime_message_get_from(msg);
	InternetAddress *first;

	out->n_from = list ? (size_t)internet_address_list_length(list) : 0;
	if (out->n_from == 0)
		return;
	first = internet_address_list_get_address(list, 0);
	if (INTERNET_ADDRESS_IS_MAILBOX(first))
		out->from_addr = xstrdup(internet_address_mailbox_get_addr(
		    INTERNET_ADDRESS_MAILBOX(first)));
}

void
mime_summarize(const char *raw, size_t len, struct mime_summary *out)
{
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;

	memset(out, 0, sizeof(*out));
	stream = g_mime_stream_mem_new_with_buffer(raw, len);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (msg) {
		out->parsed = true;
		out->message_id = xstrdup(g_mime_message_get_message_id(msg));
		out->subject = xstrdup(g_mime_message_get_subject(msg));
		out->from = addresses(g_mime_message_get_from(msg));
		out->to = addresses(g_mime_message_get_to(msg));
		out->date = xstrdup(g_mime_object_get_header((GMimeObject *)msg, "Date"));
		from_mailbox(msg, out);
		collect_parents(msg, out);
		g_object_unref(msg);
	}
	g_object_unref(parser);
	g_object_unref(stream);
}

void
mime_summary_free(struct mime_summary *s)
{
	xfree(&s->message_id);
	xfree(&s->subject);
	xfree(&s->from);
	xfree(&s->to);
	xfree(&s->date);
	xfree(&s->from_addr);
	for (size_t i = 0; i < s->n_parents; i++)
		free(s->parents[i]);
	xfree(&s->parents);
	s->n_parents = s->n_from = 0;
}
