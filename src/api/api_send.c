/*
 * api_send.c - POST /v1/messages/: an agent sends (or replies).
 *
 * Order of checks, each refusing before anything is stored: the inbox
 * may send (active, not suspended), the body is valid, the thread of a
 * reply carries no block_reply label, every recipient passes the
 * outbound sender rules, and the send cap allows it (enforce: 429; hold:
 * queued until the period ends; allow_and_bill: sent and reported as
 * overage). Then the message (composed with GMime, signature appended)
 * and one queue row per recipient commit together and the answer is
 * 202: delivery happens in the relay. Addresses that hard-bounced before
 * get a row marked suppressed and are not tried.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/addr.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/mime.h"
#include "gent/mime_send.h"
#include "gent/relay.h"
#include "gent/send_caps.h"
#include "gent/sender_rules.h"
#include "gent/store_approvals.h"
#include "gent/store_caps.h"
#include "gent/store_inbox_settings.h"
#include "gent/store_labels.h"
#include "gent/store_queue.h"
#include "gent/store_rules.h"
#include "gent/store_tokens.h"
#include "gent/store_uploads.h"
#include "gent/timefmt.h"
#include "api_int.h"

#define RECIPIENTS_MAX 50
#define ATTACHMENTS_MAX 20
#define HEADERS_MAX 20
#define SUBJECT_MAX 998

/* Headers an agent may set; everything else is ours to write. */
static const char *const safe_headers[] = { "Reply-To", "List-Unsubscribe",
    "List-Unsubscribe-Post", "List-Id", "Auto-Submitted", "Importance",
    "Priority", "Keywords", "Comments", NULL };

struct send_req {
	char			*inbox_id;
	struct inbox_row	 inbox;
	const char		*rcpt[3 * RECIPIENTS_MAX];	/* to, cc, bcc, deduplicated */
	size_t			 n_to, n_cc, n_rcpt;
	struct send_attachment	 atts[ATTACHMENTS_MAX];
	char			*att_data[ATTACHMENTS_MAX];
	char			*att_names[ATTACHMENTS_MAX];	/* uploads only */
	char			*att_types[ATTACHMENTS_MAX];
	size_t			 n_atts;
	const char		*hdr_names[HEADERS_MAX], *hdr_values[HEADERS_MAX];
	size_t			 n_hdr;
	struct message_row	 parent;		/* reply_to_message_id */
	bool			 has_parent;
	char			*parent_refs, *parent_reply_to;
};

static void
send_req_free(struct send_req *r)
{
	free(r->inbox_id);
	inbox_row_free(&r->inbox);
	for (size_t i = 0; i < r->n_atts; i++) {
		free(r->att_data[i]);
		free(r->att_names[i]);
		free(r->att_types[i]);
	}
	message_row_free(&r->parent);
	free(r->parent_refs);
	free(r->parent_reply_to);
}

static bool
listed(const char *const *list, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], addr) == 0)
			return true;
	return false;
}

/* Add the addresses of a body array; -1 after answering 400. */
static int
take_recipients(struct api_ctx *ctx, const char *field, struct send_req *r,
    size_t *count)
{
	json_t *arr = json_object_get(ctx->body, field), *v;
	size_t i;

	json_array_foreach(arr, i, v) {
		const char *a = json_string_value(v);
		if (!addr_is_valid(a)) {
			api_error_field(ctx, field, "%s[%zu] '%.200s' is not an email "
			    "address", field, i, a);
			return -1;
		}
		if (listed(r->rcpt, r->n_rcpt, a))
			continue;
		if (r->n_rcpt == RECIPIENTS_MAX) {
			api_error_field(ctx, field, "a message has at most %d recipients",
			    RECIPIENTS_MAX);
			return -1;
		}
		r->rcpt[r->n_rcpt++] = a;
		(*count)++;
	}
	return 0;
}

/* An attachment uploaded before (POST /v1/uploads/) by this inbox. */
static int
take_upload(struct api_ctx *ctx, struct store_db *db, struct send_req *r,
    const char *id, size_t i)
{
	struct upload_row u;
	size_t k = r->n_atts;

	if (!id || store_uploads_get(db, id, r->inbox_id, time_now_ms(), &u) != STORE_OK) {
		api_error_field(ctx, "attachments", "attachments[%zu].upload_id: no "
		    "upload '%.64s' for this inbox (uploads expire after a day)", i,
		    id ? id : "");
		return -1;
	}
	/* The send request owns the bytes and names from here on. */
	r->att_data[k] = u.data;
	r->att_names[k] = u.filename;
	r->att_types[k] = u.content_type;
	r->atts[k] = (struct send_attachment){ u.filename, u.content_type, u.data, u.size };
	r->n_atts = k + 1;
	return 0;
}

static int
take_attachments(struct api_ctx *ctx, struct store_db *db, struct send_req *r)
{
	json_t *arr = json_object_get(ctx->body, "attachments"), *a;
	size_t i;

	if (json_array_size(arr) > ATTACHMENTS_MAX) {
		api_error_field(ctx, "attachments", "at most %d attachments", ATTACHMENTS_MAX);
		return -1;
	}
	json_array_foreach(arr, i, a) {
		const char *content = json_string_value(json_object_get(a, "content"));
		const char *name = json_string_value(json_object_get(a, "filename"));
		const char *type = json_string_value(json_object_get(a, "content_type"));
		size_t len;
		if (json_object_get(a, "upload_id")) {
			if (take_upload(ctx, db, r, json_string_value(json_object_get(a,
			    "upload_id")), i) != 0)
				return -1;
			continue;
		}
		if (!json_is_object(a) || !content || !name || (type && !strchr(type, '/'))) {
			api_error_field(ctx, "attachments", "attachments[%zu] must be "
			    "{filename, content_type, content (base64)}", i);
			return -1;
		}
		size_t k = r->n_atts;
		if (!(r->att_data[k] = api__base64_decode(content, &len))) {
			api_error_field(ctx, "attachments", "attachments[%zu].content is "
			    "not base64", i);
			return -1;
		}
		r->atts[k] = (struct send_attachment){ name, type, r->att_data[k], len };
		r->n_atts = k + 1;
	}
	return 0;
}

static bool
header_safe(const char *name)
{
	if (strncasecmp(name, "X-", 2) == 0 && strncasecmp(name, "X-Gent-", 7) != 0)
		return name[2] != '\0';
	for (const char *const *p = safe_headers; *p; p++)
		if (strcasecmp(*p, name) == 0)
			return true;
	return false;
}

static int
take_headers(struct api_ctx *ctx, struct send_req *r)
{
	json_t *obj = json_object_get(ctx->body, "headers"), *v;
	const char *name;

	json_object_foreach(obj, name, v) {
		const char *val = json_string_value(v);
		bool name_ok = strlen(name) <= 76 && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name);
		if (!name_ok || !header_safe(name)) {
			api_error_field(ctx, "headers", "header '%.80s' may not be set "
			    "(allowed: X-*, Reply-To, List-Unsubscribe, ...)", name);
			return -1;
		}
		if (!val || strpbrk(val, "\r\n") || strlen(val) > SUBJECT_MAX) {
			api_error_field(ctx, "headers", "header '%s' needs a one-line string "
			    "value", name);
			return -1;
		}
		if (r->n_hdr == HEADERS_MAX) {
			api_error_field(ctx, "headers", "at most %d headers", HEADERS_MAX);
			return -1;
		}
		r->hdr_names[r->n_hdr] = name;
		r->hdr_values[r->n_hdr++] = val;
	}
	return 0;
}

static void
parent_header(void *arg, const char *name, const char *value)
{
	struct send_req *r = arg;

	if (strcasecmp(name, "References") == 0 && !r->parent_refs)
		r->parent_refs = xstrdup(value);
	else if (strcasecmp(name, "Reply-To") == 0 && !r->parent_reply_to)
		r->parent_reply_to = xstrdup(value);
}

/* The message replied to, from this inbox; -1 after answering. */
static int
take_parent(struct api_ctx *ctx, struct store_db *db, struct send_req *r)
{
	const char *id = api_body_str(ctx, "reply_to_message_id");
	char *blocker;
	int rc;

	if (!id)
		return 0;
	rc = store_messages_get(db, id, true, &r->parent);
	if (rc == STORE_OK && strcmp(r->parent.inbox_id, r->inbox_id) != 0)
		rc = STORE_ERR_NOT_FOUND;
	if (rc != STORE_OK) {
		message_row_free(&r->parent);
		memset(&r->parent, 0, sizeof(r->parent));
		if (rc == STORE_ERR_NOT_FOUND)
			api_error_field(ctx, "reply_to_message_id", "no message '%s' in this "
			    "inbox", id);
		else
			api_error_internal(ctx);
		return -1;
	}
	r->has_parent = true;
	if ((blocker = store_labels_thread_block_reply(db, r->parent.thread_id))) {
		api_error(ctx, 403, "reply_blocked", "this thread carries the label '%s', "
		    "whose policy blocks replies", blocker);
		free(blocker);
		return -1;
	}
	mime_each_header(r->parent.raw, r->parent.raw_len, parent_header, r);
	return 0;
}

/* A reply without "to" goes to the parent's Reply-To, else its sender. */
static int
default_recipient(struct api_ctx *ctx, struct send_req *r)
{
	struct mime_summary sum;
	const char *who;

	if (r->n_rcpt > 0)
		return 0;
	if (!r->has_parent) {
		api_error_field(ctx, "to", "'to' needs at least one address");
		return -1;
	}
	mime_summarize(r->parent.raw, r->parent.raw_len, &sum);
	who = sum.from_addr ? sum.from_addr : r->parent.mail_from;
	if (r->parent_reply_to && addr_is_valid(r->parent_reply_to))
		who = r->parent_reply_to;
	if (who && addr_is_valid(who)) {
		/* Lives in the body object so the pointer outlives sum. */
		json_object_set_new(ctx->body, "to", json_pack("[s]", who));
		r->rcpt[r->n_rcpt++] = json_string_value(json_array_get(
		    json_object_get(ctx->body, "to"), 0));
		r->n_to = 1;
	}
	mime_summary_free(&sum);
	if (r->n_rcpt == 0) {
		api_error_field(ctx, "to", "the message replied to has no usable sender; "
		    "give 'to'");
		return -1;
	}
	return 0;
}

/* Outbound sender rules for every recipient; -1 after answering 403. */
static int
check_sender_rules(struct api_ctx *ctx, struct store_db *db, struct send_req *r)
{
	struct sender_rules_row rules;
	const char *matched;
	char *copy = NULL;
	int rc = 0;

	if (store_rules_sender_get(db, r->inbox_id, &rules) != STORE_OK) {
		api_error_internal(ctx);
		return -1;
	}
	for (size_t i = 0; i < r->n_rcpt && rc == 0; i++) {
		if (sender_rules_allows(rules.outbound_mode, rules.outbound_patterns,
		    &r->rcpt[i], 1, &matched, &copy))
			goto next;
		api_error(ctx, 403, "recipient_blocked", "the outbound sender rules "
		    "(%s) do not allow sending to %s", rules.outbound_mode, r->rcpt[i]);
		rc = -1;
next:
		xfree(&copy);
	}
	sender_rules_row_free(&rules);
	return rc;
}

static int
parse_request(struct api_ctx *ctx, struct store_db *db, struct send_req *r)
{
	const char *subject = api_body_str(ctx, "subject");

	if (subject && (strpbrk(subject, "\r\n") || str_chars(subject) > SUBJECT_MAX)) {
		api_error_field(ctx, "subject", "'subject' is one line of at most %d "
		    "characters", SUBJECT_MAX);
		return -1;
	}
	if (!subject && !api_body_str(ctx, "text_body") && !api_body_str(ctx, "html_body")) {
		api_error(ctx, 400, "invalid_request", "a message needs a subject, "
		    "text_body or html_body");
		return -1;
	}
	size_t n_bcc = 0;
	if (take_recipients(ctx, "to", r, &r->n_to) || take_recipients(ctx, "cc", r,
	    &r->n_cc) || take_recipients(ctx, "bcc", r, &n_bcc) ||
	    take_attachments(ctx, db, r) || take_headers(ctx, r))
		return -1;
	return 0;
}

/* The inbox must exist and be allowed to send; -1 after answering. */
static int
load_inbox(struct api_ctx *ctx, struct send_req *r)
{
	if (store_inboxes_get(store_control(ctx->app->store), ctx->who.tenant_id,
	    r->inbox_id, &r->inbox) != STORE_OK) {
		api_error(ctx, 404, "not_found", "inbox not found");
		return -1;
	}
	if (strcmp(r->inbox.status, "active") != 0) {
		api_error(ctx, 403, "inbox_suspended", "inbox %s is %s: it cannot send",
		    r->inbox.address, r->inbox.status);
		return -1;
	}
	return 0;
}

/* What the send cap says; -1 after answering 429. */
static int
check_cap(struct api_ctx *ctx, struct store_db *db, struct send_req *r,
    enum send_cap_verdict *v, int64_t *resets_at, char **event_r)
{
	struct cap_row cap;
	int64_t now = time_now_ms(), sent = 0;
	char when[TIMEFMT_ISO_LEN];

	*v = SEND_CAP_OK;
	*event_r = NULL;
	if (store_caps_get(db, r->inbox_id, "send", &cap) != STORE_OK)
		return 0;
	store_queue_sent_since(db, r->inbox_id, send_caps_period_start(cap.period, now),
	    &sent);
	*v = send_caps_check(cap.mode, cap.limit_value, sent);
	*resets_at = send_caps_period_end(cap.period, now);
	time_format_iso(*resets_at, when);
	if (*v != SEND_CAP_OK || sent + 1 == cap.limit_value ||
	    caps_threshold_crossed(cap.alert_thresholds, sent, sent + 1,
	    cap.limit_value) > 0)
		*event_r = xasprintf("{\"resource\":\"send\",\"limit\":%lld,\"sent\":%lld,"
		    "\"percent\":%lld,\"period\":\"%s\",\"mode\":\"%s\","
		    "\"resets_at\":\"%s\"}", (long long)cap.limit_value,
		    (long long)sent + 1, (long long)caps_percent(sent + 1, cap.limit_value),
		    cap.period, cap.mode, when);
	if (*v == SEND_CAP_REFUSE) {
		api_error(ctx, 429, "send_cap_reached", "this inbox sent %lld of its %s "
		    "limit of %lld; the count resets at %s", (long long)sent, cap.period,
		    (long long)cap.limit_value, when);
		xfree(event_r);
	}
	cap_row_free(&cap);
	return *v == SEND_CAP_REFUSE ? -1 : 0;
}

static char *
signature_of(struct store_db *db, const char *inbox_id)
{
	char *text = NULL, *sig;
	json_t *s;

	store_inbox_settings_get(db, inbox_id, &text);
	s = json_loads(text ? text : "{}", 0, NULL);
	sig = xstrdup(json_string_value(json_object_get(s, "signature")));
	json_decref(s);
	free(text);
	return sig;
}

static char *
compose(struct api_ctx *ctx, struct store_db *db, struct send_req *r,
    const char *msgid, size_t *len_r)
{
	char *sig = signature_of(db, r->inbox_id), *raw;
	struct send_compose c = {
		.from_address = r->inbox.address, .from_name = r->inbox.display_name,
		.to = r->rcpt, .n_to = r->n_to, .cc = r->rcpt + r->n_to, .n_cc = r->n_cc,
		.subject = api_body_str(ctx, "subject"),
		.text_body = api_body_str(ctx, "text_body"),
		.html_body = api_body_str(ctx, "html_body"), .signature = sig,
		.in_reply_to = r->has_parent ? r->parent.message_id_hdr : NULL,
		.references = r->parent_refs, .attachments = r->atts,
		.n_attachments = r->n_atts, .extra_names = r->hdr_names,
		.extra_values = r->hdr_values, .n_extra = r->n_hdr, .message_id = msgid,
	};

	raw = mime_compose_send(&c, len_r);
	free(sig);
	return raw;
}

/* The queue rows: one per recipient, in the message's transaction. */
static void
plan_rows(struct store_db *db, struct send_req *r, const char *msg_id,
    const char *raw, size_t len, enum send_cap_verdict v, int64_t resets_at,
    struct outbound_row *rows, char (*ids)[64])
{
	for (size_t i = 0; i < r->n_rcpt; i++) {
		char *id = ids_new("out");
		bool gone = store_queue_suppressed(db, r->inbox_id, r->rcpt[i]);
		snprintf(ids[i], 64, "%s", id);
		rows[i] = (struct outbound_row){ .inbox_id = r->inbox_id, .kind = "send",
		    .source_message_id = msg_id, .mail_from = r->inbox.address,
		    .rcpt_to = r->rcpt[i], .raw = raw, .raw_len = len,
		    .status = gone ? "suppressed" : v == SEND_CAP_HOLD ? "held" : NULL,
		    .next_attempt_at = v == SEND_CAP_HOLD ? resets_at : 0 };
		snprintf(rows[i].id, sizeof(rows[i].id), "%s", id);
		free(id);
	}
}

static json_t *
accepted_json(const struct message_row *m, const struct outbound_row *rows,
    size_t n, enum send_cap_verdict v)
{
	json_t *rcpts = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(rcpts, json_pack("{s:s, s:s, s:s}", "address",
		    rows[i].rcpt_to, "outbound_id", rows[i].id, "status",
		    rows[i].status ? rows[i].status : "queued"));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "id", m->id,
	    "message_id", m->id, "thread_id", m->thread_id, "status",
	    v == SEND_CAP_HOLD ? "held" : "queued", "recipients", rcpts,
	    "overage", v == SEND_CAP_OVERAGE);
}

static void
store_and_answer(struct api_ctx *ctx, struct store_db *db, struct send_req *r,
    enum send_cap_verdict v, int64_t resets_at, const char *cap_event)
{
	char *id = ids_new("msg"), *hdr_id = xasprintf("%s@%s", id,
	    ctx->app->conf->hostname), *parents[1];
	struct outbound_row rows[3 * RECIPIENTS_MAX];
	char row_ids[3 * RECIPIENTS_MAX][64];
	struct mime_summary sum;
	struct message_row m = { 0 };
	size_t len;
	char *raw = compose(ctx, db, r, hdr_id, &len);

	mime_summarize(raw, len, &sum);
	snprintf(m.id, sizeof(m.id), "%s", id);
	snprintf(m.inbox_id, sizeof(m.inbox_id), "%s", r->inbox_id);
	snprintf(m.direction, sizeof(m.direction), "outbound");
	m.message_id_hdr = hdr_id;
	m.subject = sum.subject;
	m.from_addr = sum.from;
	m.to_addrs = sum.to;
	m.date_hdr = sum.date;
	m.mail_from = r->inbox.address;
	m.rcpt_to = (char *)r->rcpt[0];
	m.raw = raw;
	m.raw_len = len;
	m.size = (int64_t)len;
	m.received_at = time_now_ms();
	m.trace = "{}";
	parents[0] = r->has_parent ? r->parent.message_id_hdr : NULL;
	m.parents = parents;
	m.n_parents = r->has_parent && parents[0];
	m.text_body = sum.text_body;
	m.html_body = sum.html_body;
	m.attachments = sum.attachments;
	m.n_attachments = (int64_t)sum.n_attachments;
	plan_rows(db, r, id, raw, len, v, resets_at, rows, row_ids);
	m.forwards = rows;
	m.n_forwards = r->n_rcpt;
	struct store_audit a = api_audit(ctx, "message.sent", "message", id);
	if (store_queue_send(db, &m, &a, cap_event) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		api_reply(ctx, 202, accepted_json(&m, rows, r->n_rcpt, v));
		relay_kick(ctx->app);
	}
	mime_summary_free(&sum);
	free(raw);
	free(hdr_id);
	free(id);
}

/* A supervised token's send waits for a person (guide 10). */
static void
hold_for_approval(struct api_ctx *ctx, struct store_db *db, struct send_req *r)
{
	struct approval_row a = { 0 };
	char *id = ids_new("apr");
	json_t *summary = json_pack("{s:O, s:o}", "to", json_object_get(ctx->body, "to"),
	    "subject", api_body_str(ctx, "subject") ?
	    json_string(api_body_str(ctx, "subject")) : json_null());

	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.inbox_id, sizeof(a.inbox_id), "%s", r->inbox_id);
	snprintf(a.token_id, sizeof(a.token_id), "%s", ctx->who.token_id);
	snprintf(a.action, sizeof(a.action), "email:send");
	a.request = json_dumps(ctx->body, JSON_COMPACT);
	a.summary = json_dumps(summary, JSON_COMPACT);
	a.created_at = time_now_ms();
	struct store_audit au = api_audit(ctx, "approval.requested", "approval", id);
	if (store_approvals_create(db, &a, &au) != STORE_OK)
		api_error_internal(ctx);
	else
		api_reply(ctx, 202, json_pack("{s:s, s:s, s:s, s:O}", "approval_id", id,
		    "status", "pending_approval", "action", "email:send", "summary", summary));
	json_decref(summary);
	free(a.request);
	free(a.summary);
	free(id);
}

static void
send_checked(struct api_ctx *ctx, bool may_hold)
{
	struct send_req r = { 0 };
	enum send_cap_verdict v;
	int64_t resets_at = 0;
	char *cap_event = NULL;
	struct store_db *db;

	if (!(r.inbox_id = api_inbox_id(ctx)) || !(db = api_tenant_db(ctx)) ||
	    load_inbox(ctx, &r) != 0 || parse_request(ctx, db, &r) != 0 ||
	    take_parent(ctx, db, &r) != 0 || default_recipient(ctx, &r) != 0 ||
	    check_sender_rules(ctx, db, &r) != 0)
		goto out;
	if (may_hold && ctx->who.kind == API_TOKEN &&
	    scopes_has(ctx->who.approval, "email:send")) {
		hold_for_approval(ctx, db, &r);
		goto out;
	}
	if (check_cap(ctx, db, &r, &v, &resets_at, &cap_event) == 0)
		store_and_answer(ctx, db, &r, v, resets_at, cap_event);
out:
	free(cap_event);
	send_req_free(&r);
}

static void
messages_send(struct api_ctx *ctx)
{
	send_checked(ctx, true);
}

void
api__send_as(struct api_ctx *ctx, const struct api_principal *as, json_t *body)
{
	struct api_principal who = ctx->who;
	json_t *own = ctx->body;

	ctx->who = *as;
	ctx->body = body;
	send_checked(ctx, false);
	ctx->who = who;
	ctx->body = own;
}

static const struct api_field send_fields[] = {
	{ "inbox_id", API_T_STRING, false, false, "required with a session" },
	{ "to", API_T_STRING_ARRAY, false, false, "addresses; a reply defaults to its sender" },
	{ "cc", API_T_STRING_ARRAY, false, false, NULL },
	{ "bcc", API_T_STRING_ARRAY, false, false, "never shown in the headers" },
	{ "subject", API_T_STRING, false, false, NULL },
	{ "text_body", API_T_STRING, false, false, NULL },
	{ "html_body", API_T_STRING, false, false, NULL },
	{ "attachments", API_T_ARRAY, false, false, "[{filename, content_type, content (base64)}]" },
	{ "headers", API_T_OBJECT, false, false, "X-*, Reply-To, List-Unsubscribe, ..." },
	{ "reply_to_message_id", API_T_STRING, false, false, "sets In-Reply-To, References, thread" },
	{ 0 },
};

const struct api_route api_send_routes[] = {
	{ "POST", "/v1/messages/", API_AUTH_SCOPE, "email:send", messages_send,
	  send_fields, 202, "Send a message (or reply); delivered by the relay" },
	{ 0 },
};
