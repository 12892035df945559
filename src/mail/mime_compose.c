/*
 * mime_compose.c - building messages with GMime.
 */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "gent/mime_compose.h"
#include "gent/util.h"

static GMimeObject *
forward_text(const struct forward_compose *f)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
	struct buf text = { 0 };

	buf_printf(&text, "---------- Forwarded message ----------\n"
	    "From: %s\nDate: %s\nSubject: %s\nTo: %s\n\n%s\n\n--\n"
	    "Forwarded by %s. Unsubscribe: %s\n",
	    f->orig_from ? f->orig_from : "", f->orig_date ? f->orig_date : "",
	    f->orig_subject ? f->orig_subject : "", f->orig_to ? f->orig_to : "",
	    f->text_body ? f->text_body : "", f->inbox_address, f->unsubscribe_url);
	g_mime_text_part_set_charset(part, "utf-8");
	g_mime_text_part_set_text(part, text.data);
	g_mime_part_set_content_encoding(GMIME_PART(part),
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	buf_free(&text);
	return GMIME_OBJECT(part);
}

static GMimeObject *
attached_original(const char *raw, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *orig = g_mime_parser_construct_message(parser, NULL);
	GMimeObject *part = NULL;

	if (orig) {
		part = GMIME_OBJECT(g_mime_message_part_new_with_message("rfc822", orig));
		g_object_unref(orig);
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return part;
}

/*
 * A header written verbatim: GMime would RFC 2047-encode a long value,
 * but a URL in List-Unsubscribe (RFC 2369) must stay as it is.
 */
static void
set_raw_header(GMimeObject *obj, const char *name, const char *value)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	GMimeHeader *h;
	char *raw = xasprintf(" %s\n", value);

	g_mime_object_set_header(obj, name, "x", NULL);
	h = g_mime_header_list_get_header(list, name);
	g_mime_header_set_raw_value(h, raw);
	free(raw);
}

/*
 * The Delivered-To fields, above every other: a trace field, as the
 * delivering MTA prepends it. Written verbatim like List-Unsubscribe (an
 * address is never RFC 2047-encoded or folded); each value is an
 * inbox address or one that mime_summarize() kept (no control
 * characters).
 */
static void
set_delivered_to(GMimeObject *obj, const struct forward_compose *f)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);

	/* Prepended last one first, so they end up in the order given. */
	for (size_t i = f->n_delivered_to; i-- > 0;) {
		char *raw = xasprintf(" %s\n", f->delivered_to[i]);
		g_mime_object_prepend_header(obj, "Delivered-To", "x", NULL);
		g_mime_header_set_raw_value(g_mime_header_list_get_header_at(list, 0), raw);
		free(raw);
	}
}

static void
set_headers(GMimeMessage *msg, const struct forward_compose *f)
{
	char *subject = xasprintf("Fwd: %s", f->orig_subject ? f->orig_subject : "");
	char *list = xasprintf("<%s>", f->unsubscribe_url);
	GDateTime *now = g_date_time_new_now_utc();

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, NULL, f->inbox_address);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, f->to);
	if (f->reply_to && *f->reply_to)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, f->reply_to);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_mime_message_set_date(msg, now);
	g_mime_message_set_message_id(msg, f->message_id);
	set_raw_header(GMIME_OBJECT(msg), "List-Unsubscribe", list);
	g_mime_object_set_header(GMIME_OBJECT(msg), "List-Unsubscribe-Post",
	    "List-Unsubscribe=One-Click", NULL);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted", "auto-forwarded", NULL);
	set_delivered_to(GMIME_OBJECT(msg), f);
	g_date_time_unref(now);
	free(subject);
	free(list);
}

char *
mime_compose_forward(const struct forward_compose *f, size_t *len_r)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
	GMimeObject *text = forward_text(f), *orig = attached_original(f->raw, f->raw_len);
	GMimeFormatOptions *fo = g_mime_format_options_new();
	char *s, *out;

	set_headers(msg, f);
	g_mime_multipart_add(mixed, text);
	g_object_unref(text);
	if (orig) {
		g_mime_multipart_add(mixed, orig);
		g_object_unref(orig);
	}
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
	g_object_unref(mixed);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	s = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	out = xstrdup(s);
	*len_r = strlen(out);
	g_free(s);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	return out;
}
