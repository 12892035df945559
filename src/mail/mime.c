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

/* Append the mailboxes of list (and of its groups) to out->recipients. */
static void
collect_mailboxes(InternetAddressList *list, int depth, struct mime_summary *out)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n && out->n_recipients < MIME_MAX_RECIPIENTS; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(a) && depth == 0) {
			collect_mailboxes(internet_address_group_get_members(
			    INTERNET_ADDRESS_GROUP(a)), depth + 1, out);
		} else if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			out->recipients = xrealloc(out->recipients,
			    (out->n_recipients + 1) * sizeof(char *));
			out->recipients[out->n_recipients++] = xstrdup(
			    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
		}
	}
}

/*
 * Delivered-To (RFC 9228): the value is the addr-spec (RFC 5322 3.4.1) a
 * delivery was made to. Returns it trimmed of white space and of the <>
 * some writers put around it, or NULL when it cannot be an address
 * (empty, over 254 octets, a control character, <> inside): such a
 * field is neither compared with an inbox nor copied into a forward.
 */
static char *
delivered_to_value(const char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= 2 && v[0] == '<' && v[n - 1] == '>') {
		v++;
		n -= 2;
	}
	if (n == 0 || n > 254)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c < 0x20 || c == 0x7f || c == '<' || c == '>')
			return NULL;
	}
	return xstrndup(v, n);
}

/*
 * The Delivered-To fields of the top-level header, in order (newest
 * first: like Received:, each delivery puts its own on top), for mail
 * loop detection. Those of
 * an attached message are not read: they are part of the body.
 */
static void
collect_delivered_to(GMimeMessage *msg, struct mime_summary *out)
{
	GMimeHeaderList *list = g_mime_object_get_header_list((GMimeObject *)msg);
	int n = list ? g_mime_header_list_get_count(list) : 0;

	for (int i = 0; i < n && i < MIME_MAX_HEADERS &&
	    out->n_delivered_to < MIME_MAX_DELIVERED_TO; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *value = g_mime_header_get_value(h);
		char *v;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "Delivered-To") != 0 ||
		    !value || !(v = delivered_to_value(value)))
			continue;
		out->delivered_to = xrealloc(out->delivered_to,
		    (out->n_delivered_to + 1) * sizeof(char *));
		out->delivered_to[out->n_delivered_to++] = v;
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
	/* Every author: DMARC must not be dodged by adding a second one. */
	for (int i = 0; i < (int)out->n_from && out->n_authors < 16; i++) {
		InternetAddress *a = internet_address_list_get_address(list, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(a))
			continue;
		out->authors = xrealloc(out->authors, (out->n_authors + 1) * sizeof(char *));
		out->authors[out->n_authors++] = xstrdup(
		    internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a)));
	}
}

static char *
decoded_content(GMimePart *part, size_t *len_r)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *bytes;
	char *out;

	*len_r = 0;
	if (!w)
		return xstrdup("");
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	out = xmalloc(bytes->len + 1);
	if (bytes->len)
		memcpy(out, bytes->data, bytes->len);
	out[bytes->len] = '\0';
	*len_r = bytes->len;
	g_object_unref(mem);
	return out;
}

static void
add_attachment(struct mime_summary *out, GMimeObject *obj, const char *type,
    GMimeContentDisposition *disp)
{
	struct mime_attachment *a;

	out->attachments = xrealloc(out->attachments,
	    (out->n_attachments + 1) * sizeof(*out->attachments));
	a = &out->attachments[out->n_attachments++];
	memset(a, 0, sizeof(*a));
	a->content_type = xstrdup(type);
	a->inline_part = disp && !g_mime_content_disposition_is_attachment(disp);
	if (GMIME_IS_PART(obj)) {
		a->filename = xstrdup(g_mime_part_get_filename(GMIME_PART(obj)));
		a->content_id = xstrdup(g_mime_part_get_content_id(GMIME_PART(obj)));
		a->data = decoded_content(GMIME_PART(obj), &a->size);
	} else {
		/* An attached message: keep it whole, as message/rfc822. */
		GMimeStream *mem = g_mime_stream_mem_new();
		GByteArray *bytes;
		g_mime_object_write_content_to_stream(obj, NULL, mem);
		bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		a->data = bytes->len ? xstrndup((const char *)bytes->data, bytes->len) :
		    xstrdup("");
		a->size = bytes->len;
		g_object_unref(mem);
	}
}

/* Body text parts become text_body/html_body; everything else attaches. */
static void
walk(GMimeObject *obj, int depth, int *leaves, struct mime_summary *out)
{
	GMimeContentType *ct;
	GMimeContentDisposition *disp;
	char *type;

	if (!obj || depth > MIME_MAX_DEPTH || *leaves >= MIME_MAX_PARTS) {
		out->truncated = true;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		for (int i = 0; i < n; i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    depth + 1, leaves, out);
		return;
	}
	(*leaves)++;
	ct = g_mime_object_get_content_type(obj);
	type = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
	disp = g_mime_object_get_content_disposition(obj);
	bool attachment = disp && g_mime_content_disposition_is_attachment(disp);
	if (GMIME_IS_TEXT_PART(obj) && !attachment &&
	    ((!out->text_body && g_ascii_strcasecmp(type, "text/plain") == 0) ||
	    (!out->html_body && g_ascii_strcasecmp(type, "text/html") == 0))) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
		/* No or unknown charset leaves raw bytes: the API promises UTF-8. */
		char *valid = g_utf8_make_valid(text ? text : "", -1);
		char **slot = g_ascii_strcasecmp(type, "text/plain") == 0 ?
		    &out->text_body : &out->html_body;
		*slot = xstrdup(valid);
		g_free(valid);
		g_free(text);
	} else {
		add_attachment(out, obj, type, disp);
	}
	g_free(type);
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
		collect_mailboxes(g_mime_message_get_to(msg), 0, out);
		collect_mailboxes(g_mime_message_get_cc(msg), 0, out);
		collect_parents(msg, out);
		collect_delivered_to(msg, out);
		int leaves = 0;
		walk(g_mime_message_get_mime_part(msg), 0, &leaves, out);
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
	for (size_t i = 0; i < s->n_delivered_to; i++)
		free(s->delivered_to[i]);
	xfree(&s->delivered_to);
	s->n_delivered_to = 0;
	for (size_t i = 0; i < s->n_authors; i++)
		free(s->authors[i]);
	xfree(&s->authors);
	s->n_authors = 0;
	for (size_t i = 0; i < s->n_recipients; i++)
		free(s->recipients[i]);
	xfree(&s->recipients);
	s->n_parents = s->n_from = s->n_recipients = 0;
	xfree(&s->text_body);
	xfree(&s->html_body);
	for (size_t i = 0; i < s->n_attachments; i++) {
		free(s->attachments[i].filename);
		free(s->attachments[i].content_type);
		free(s->attachments[i].content_id);
		free(s->attachments[i].data);
	}
	xfree(&s->attachments);
	s->n_attachments = 0;
}

void
mime_each_header(const char *raw, size_t len,
    void (*fn)(void *ctx, const char *name, const char *value), void *ctx)
{
	const char *end = memmem(raw, len, "\r\n\r\n", 4);
	size_t hlen = end ? (size_t)(end - raw) + 4 : len;
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, hlen);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	/* As a part, not a message: a GMimeMessage hands its Content-*
	 * fields to its body part, and its own list lacks them. */
	GMimeObject *part = g_mime_parser_construct_part(parser, NULL);
	GMimeHeaderList *list = part ? g_mime_object_get_header_list(part) : NULL;
	int n = list ? g_mime_header_list_get_count(list) : 0;

	for (int i = 0; i < n && i < MIME_MAX_HEADERS; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *value = g_mime_header_get_value(h);
		fn(ctx, g_mime_header_get_name(h), value ? value : "");
	}
	if (part)
		g_object_unref(part);
	g_object_unref(parser);
	g_object_unref(stream);
}
