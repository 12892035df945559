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
}
