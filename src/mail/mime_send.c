/*
 * mime_send.c - messages agents send and delivery reports, with GMime.
 */
#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gent/html_text.h"
#include "gent/mime_send.h"
#include "gent/util.h"

static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);

	g_mime_text_part_set_charset(part, "utf-8");
	g_mime_text_part_set_text(part, text);
	/* QP keeps every line short and 7-bit: nothing a relay could break. */
	g_mime_part_set_content_encoding(GMIME_PART(part),
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	return GMIME_OBJECT(part);
}

static bool
looks_like_html(const char *s)
{
	return strchr(s, '<') && (strstr(s, "</") || strstr(s, "/>") || strstr(s, "<br"));
}

static void
append_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_append_str(b, "&lt;"); break;
		case '>': buf_append_str(b, "&gt;"); break;
		case '&': buf_append_str(b, "&amp;"); break;
		case '"': buf_append_str(b, "&quot;"); break;
		case '\n': buf_append_str(b, "<br>\n"); break;
		default: buf_append(b, s, 1);
		}
	}
}

/* The text body with the signature after the "-- " separator. */
static char *
signed_text(const char *body, const char *sig)
{
	struct buf b = { 0 };
	char *plain_sig;

	buf_append_str(&b, body ? body : "");
	if (!sig || !*sig)
		return b.data ? b.data : xstrdup("");
	plain_sig = looks_like_html(sig) ? html_text(sig) : xstrdup(sig);
	if (b.len && b.data[b.len - 1] != '\n')
		buf_append_str(&b, "\n");
	buf_printf(&b, "\n-- \n%s\n", plain_sig);
	free(plain_sig);
	return b.data;
}

static char *
signed_html(const char *body, const char *sig)
{
	struct buf b = { 0 };

	buf_append_str(&b, body);
	if (!sig || !*sig)
		return b.data;
	buf_append_str(&b, "\n<div class=\"gent-signature\">-- <br>\n");
	if (looks_like_html(sig))
		buf_append_str(&b, sig);
	else
		append_escaped(&b, sig);
	buf_append_str(&b, "</div>\n");
	return b.data;
}

static GMimeObject *
body_part(const struct send_compose *c)
{
	char *text = NULL, *html = NULL;
	GMimeObject *t = NULL, *h = NULL, *out;

	if (c->text_body || !c->html_body)
		t = text_part("plain", text = signed_text(c->text_body, c->signature));
	if (c->html_body)
		h = text_part("html", html = signed_html(c->html_body, c->signature));
	free(text);
	free(html);
	if (t && h) {
		GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
		g_mime_multipart_add(alt, t);
		g_mime_multipart_add(alt, h);
		g_object_unref(t);
		g_object_unref(h);
		return GMIME_OBJECT(alt);
	}
	out = t ? t : h;
	return out;
}

static GMimeObject *
attachment_part(const struct send_attachment *a)
{
	GMimeContentType *type = g_mime_content_type_parse(NULL, a->content_type ?
	    a->content_type : "application/octet-stream");
	GMimePart *part = g_mime_part_new_with_type(
	    g_mime_content_type_get_media_type(type),
	    g_mime_content_type_get_media_subtype(type));
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(a->data, a->len);
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream,
	    GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(part, content);
	g_mime_part_set_filename(part, a->filename ? a->filename : "attachment");
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(content);
	g_object_unref(stream);
	g_object_unref(type);
	return GMIME_OBJECT(part);
}

static void
send_headers(GMimeMessage *msg, const struct send_compose *c)
{
	GDateTime *now = g_date_time_new_now_utc();
	GMimeObject *o = GMIME_OBJECT(msg);

	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, c->from_name,
	    c->from_address);
	for (size_t i = 0; i < c->n_to; i++)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, c->to[i]);
	for (size_t i = 0; i < c->n_cc; i++)
		g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_CC, NULL, c->cc[i]);
	g_mime_message_set_subject(msg, c->subject ? c->subject : "", "utf-8");
	g_mime_message_set_date(msg, now);
	g_mime_message_set_message_id(msg, c->message_id);
	if (c->in_reply_to) {
		char *irt = xasprintf("<%s>", c->in_reply_to);
		char *refs = xasprintf("%s%s%s", c->references ? c->references : "",
		    c->references ? " " : "", irt);
		g_mime_object_set_header(o, "In-Reply-To", irt, NULL);
		g_mime_object_set_header(o, "References", refs, NULL);
		free(irt);
		free(refs);
	}
	for (size_t i = 0; i < c->n_extra; i++)
		g_mime_object_append_header(o, c->extra_names[i], c->extra_values[i], "utf-8");
	g_date_time_unref(now);
}

/* The message as CRLF text (GMime writes the MIME-Version itself). */
static char *
to_crlf_string(GMimeMessage *msg, size_t *len_r)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	char *s, *out;

	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	s = g_mime_object_to_string(GMIME_OBJECT(msg), fo);
	out = xstrdup(s);
	*len_r = strlen(out);
	g_free(s);
	g_mime_format_options_free(fo);
	return out;
}

char *
mime_compose_send(const struct send_compose *c, size_t *len_r)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	GMimeObject *body = body_part(c);
	char *out;

	send_headers(msg, c);
	if (c->n_attachments) {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
		g_mime_multipart_add(mixed, body);
		g_object_unref(body);
		for (size_t i = 0; i < c->n_attachments; i++) {
			GMimeObject *a = attachment_part(&c->attachments[i]);
			g_mime_multipart_add(mixed, a);
			g_object_unref(a);
		}
		body = GMIME_OBJECT(mixed);
	}
	g_mime_message_set_mime_part(msg, body);
	g_object_unref(body);
	out = to_crlf_string(msg, len_r);
	g_object_unref(msg);
	return out;
}

static GMimeObject *
dsn_status_part(const struct dsn_compose *d)
{
	struct buf b = { 0 };
	GMimePart *part = g_mime_part_new_with_type("message", "delivery-status");
	GMimeStream *stream;
	GMimeDataWrapper *content;

	/* RFC 3464 2.2 and 2.3: per-message, blank line, per-recipient. */
	buf_printf(&b, "Reporting-MTA: dns; %s\n\nFinal-Recipient: rfc822; %s\n"
	    "Action: %s\nStatus: %s\n", d->reporting_mta, d->recipient, d->action,
	    d->status);
	if (d->remote_mta)
		buf_printf(&b, "Remote-MTA: dns; %s\n", d->remote_mta);
	buf_printf(&b, "Diagnostic-Code: %s\n", d->diagnostic);
	stream = g_mime_stream_mem_new_with_buffer(b.data, b.len);
	content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, content);
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_7BIT);
	g_object_unref(content);
	g_object_unref(stream);
	buf_free(&b);
	return GMIME_OBJECT(part);
}

static GMimeObject *
dsn_headers_part(const struct dsn_compose *d)
{
	GMimePart *part = g_mime_part_new_with_type("text", "rfc822-headers");
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(d->orig_headers,
	    d->orig_headers_len);
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream,
	    GMIME_CONTENT_ENCODING_DEFAULT);

	g_mime_part_set_content(part, content);
	g_object_unref(content);
	g_object_unref(stream);
	return GMIME_OBJECT(part);
}

char *
mime_compose_dsn(const struct dsn_compose *d, size_t *len_r)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	GMimeMultipart *report = g_mime_multipart_new_with_subtype("report");
	char *human = xasprintf("Your message to %s could not be delivered%s.\n\n"
	    "%s\n", d->recipient, strcmp(d->action, "failed") == 0 ? "" :
	    " yet", d->diagnostic);
	char *subject = xasprintf("Undelivered Mail Returned to Sender: %s",
	    d->orig_subject ? d->orig_subject : "");
	GMimeObject *parts[3] = { text_part("plain", human), dsn_status_part(d),
	    dsn_headers_part(d) };
	GDateTime *now = g_date_time_new_now_utc();
	char *daemon = xasprintf("MAILER-DAEMON@%s", d->reporting_mta), *out;

	g_mime_object_set_content_type_parameter(GMIME_OBJECT(report),
	    "report-type", "delivery-status");
	for (int i = 0; i < 3; i++) {
		g_mime_multipart_add(report, parts[i]);
		g_object_unref(parts[i]);
	}
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, "Mail Delivery System",
	    daemon);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, d->to);
	g_mime_message_set_subject(msg, subject, "utf-8");
	g_mime_message_set_date(msg, now);
	g_mime_message_set_message_id(msg, d->message_id);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted", "auto-replied", NULL);
	if (d->orig_message_id) {
		char *irt = xasprintf("<%s>", d->orig_message_id);
		g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", irt, NULL);
		g_mime_object_set_header(GMIME_OBJECT(msg), "References", irt, NULL);
		free(irt);
	}
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(report));
	g_object_unref(report);
	out = to_crlf_string(msg, len_r);
	g_date_time_unref(now);
	g_object_unref(msg);
	free(daemon);
	free(human);
	free(subject);
	return out;
}
