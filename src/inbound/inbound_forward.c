/*
 * inbound_forward.c - forwarded copies of incoming mail.
 *
 * Each copy is a new message from the inbox (see mime_compose_forward)
 * with its own unsubscribe link, queued in the outbound table in the
 * same transaction as the original, so an accepted message never loses
 * a forward. The relay delivers the queue.
 *
 * Loops: a copy is a new message, so the original's Received: fields
 * (the hop limit, hops.c) do not come along and two inboxes forwarding
 * to each other would pass a growing message back and forth for ever.
 * As Postfix does, each copy carries Delivered-To: <inbox> above the
 * Delivered-To fields of the original (RFC 9228), and a message that
 * arrives carrying the receiving inbox's address is stored but not
 * forwarded again (inbound__plan_forwards). Storing rather than refusing
 * it with Postfix's 554 5.4.6 "mail forwarding loop": nothing is lost (a
 * person may want to see the message, and the loop is visible in the
 * trace), and the answer stays per recipient, where a 554 at end of DATA
 * would refuse the message for every other recipient of the transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/forwarding.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/mime_compose.h"
#include "gent/store_inbox_settings.h"
#include "gent/unsubscribe.h"
#include "gent/util.h"
#include "inbound_int.h"

#define FORWARDS_MAX 32

static bool
suppressed(void *ctx, const char *rule_id, const char *dest)
{
	return store_outbound_suppressed(ctx, rule_id, dest);
}

static char *
unsubscribe_url(struct app *app, const char *tenant, const char *inbox_id,
    const char *rule_id, const char *dest)
{
	struct unsubscribe_target t = { (char *)tenant, (char *)inbox_id,
	    (char *)rule_id, (char *)dest };
	char *token = unsubscribe_token(app->unsubscribe_key, &t);
	char *url = xasprintf("%s/v1/forwarding/unsubscribe/%s/", app->public_url, token);

	free(token);
	return url;
}

void
inbound_forward_compose(struct app *app, const struct forward_source *src,
    const char *rule_id, const char *dest, struct forward_copy *out)
{
	const struct mime_summary *sum = src->sum;
	char *url = unsubscribe_url(app, src->tenant_id, src->inbox_id, rule_id, dest);
	char *oid = ids_new("out"), *mid = xasprintf("%s@%s", oid, app->conf->hostname);
	const char *dt[MIME_MAX_DELIVERED_TO];
	struct forward_compose f = {
		.inbox_address = src->inbox_address, .to = dest,
		.reply_to = sum->from_addr ? sum->from_addr : src->mail_from,
		.orig_from = sum->from, .orig_to = sum->to, .orig_date = sum->date,
		.orig_subject = sum->subject, .text_body = sum->text_body,
		.raw = src->raw, .raw_len = src->len, .unsubscribe_url = url,
		.message_id = mid, .delivered_to = dt,
		.n_delivered_to = forwarding_delivered_to(src->inbox_address,
		    sum->delivered_to, sum->n_delivered_to, dt, GENT_ARRAY_LEN(dt)),
	};
	struct outbound_row *r = &out->row;

	memset(out, 0, sizeof(*out));
	out->raw = mime_compose_forward(&f, &r->raw_len);
	out->rule_id = xstrdup(rule_id);
	out->dest = xstrdup(dest);
	out->inbox_id = xstrdup(src->inbox_id);
	out->mail_from = xstrdup(src->inbox_address);
	snprintf(r->id, sizeof(r->id), "%s", oid);
	r->inbox_id = out->inbox_id;
	r->kind = "forward";
	r->source_message_id = src->message_id;
	r->rule_id = out->rule_id;
	r->mail_from = out->mail_from;
	r->rcpt_to = out->dest;
	r->raw = out->raw;
	free(url);
	free(mid);
	free(oid);
}

void
forward_copy_free(struct forward_copy *c)
{
	xfree(&c->raw);
	xfree(&c->rule_id);
	xfree(&c->dest);
	xfree(&c->inbox_id);
	xfree(&c->mail_from);
}

/* Compose one copy into the next slot of out (rows is what the store takes). */
static void
add_forward(struct app *app, const struct forward_source *src,
    const struct forward_target *t, struct inbound_forwards *out)
{
	size_t k = out->n++;

	inbound_forward_compose(app, src, t->rule_id ? t->rule_id : "default",
	    t->destination, &out->copies[k]);
	out->rows[k] = out->copies[k].row;
}

/* Append the label-policy targets not already forwarded to or unsubscribed. */
static size_t
add_extra(struct store_db *db, const struct forward_target *extra, size_t n_extra,
    struct forward_target *targets, size_t n)
{
	for (size_t i = 0; i < n_extra && n < FORWARDS_MAX; i++) {
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= strcasecmp(targets[k].destination, extra[i].destination) == 0;
		if (!dup && !suppressed(db, extra[i].rule_id, extra[i].destination))
			targets[n++] = extra[i];
	}
	return n;
}

/*
 * A message that already went through this inbox (a Delivered-To names
 * it) is stored but forwarded nowhere: not to the default address, the
 * rules or a label's forward_to. True when so; the trace says why.
 */
static bool
forward_loop(const struct forward_source *src, json_t *trace)
{
	const struct mime_summary *sum = src->sum;
	const char *dt = forwarding_loop(src->inbox_address, sum->delivered_to,
	    sum->n_delivered_to);

	if (!dt)
		return false;
	log_info("inbound", NULL, "%s forwarding skipped: mail loop, the message "
	    "carries Delivered-To: %s (inbox %s)", src->message_id, dt, src->inbox_id);
	json_object_set_new(trace, "forwarding", json_pack("{s:s, s:s}",
	    "skipped", "loop", "delivered_to", dt));
	return true;
}

void
inbound__plan_forwards(struct app *app, struct store_db *db,
    const struct forward_source *src, const struct forward_target *extra,
    size_t n_extra, json_t *trace, struct inbound_forwards *out)
{
	const struct mime_summary *sum = src->sum;
	struct forward_facts facts = { sum->from_addr ? sum->from_addr : src->mail_from,
	    sum->subject };
	struct forward_target targets[FORWARDS_MAX];
	struct forwarding_rule_row *rules = NULL;
	char *settings = NULL, *def = NULL;
	json_t *log;
	int n_rules = 0;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (forward_loop(src, trace)) {
		out->rows = xcalloc(1, sizeof(*out->rows));
		out->copies = xcalloc(1, sizeof(*out->copies));
		return;
	}
	log = json_array();
	store_inbox_settings_get(db, src->inbox_id, &settings);
	if (forwarding_enabled(settings, &def)) {
		store_forwarding_rules_list(db, src->inbox_id, &rules, &n_rules);
		/* The default address honours its unsubscribes too. */
		if (def && suppressed(db, "default", def))
			xfree(&def);
		n = forwarding_targets(def, rules, n_rules, &facts, suppressed, db,
		    targets, FORWARDS_MAX);
	}
	/* Label policies forward whether or not forwarding is switched on. */
	n = add_extra(db, extra, n_extra, targets, n);
	out->rows = xcalloc(n ? n : 1, sizeof(*out->rows));
	out->copies = xcalloc(n ? n : 1, sizeof(*out->copies));
	for (size_t i = 0; i < n; i++) {
		add_forward(app, src, &targets[i], out);
		json_array_append_new(log, json_pack("{s:s, s:s, s:s, s:s}",
		    "destination", targets[i].destination, "rule_id",
		    out->copies[i].rule_id, "reason", targets[i].reason, "outbound_id",
		    out->rows[i].id));
	}
	json_object_set_new(trace, "forwarding", log);
	forwarding_rule_rows_free(rules, n_rules);
	free(settings);
	free(def);
}

void
inbound__forwards_free(struct inbound_forwards *f)
{
	for (size_t i = 0; i < f->n; i++)
		forward_copy_free(&f->copies[i]);
	free(f->rows);
	free(f->copies);
	memset(f, 0, sizeof(*f));
}
