/*
 * inbound_forward.c - forwarded copies of incoming mail.
 *
 * Each copy is a new message from the inbox (see mime_compose_forward)
 * with its own unsubscribe link, queued in the outbound table in the
 * same transaction as the original, so an accepted message never loses
 * a forward. The relay delivers the queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Compose and queue one copy. */
static void
add_forward(struct app *app, const char *tenant, const char *inbox_id,
    const char *inbox_address, const char *message_id,
    const struct mime_summary *sum, const char *mail_from, const char *raw,
    size_t len, const struct forward_target *t, struct inbound_forwards *out)
{
	const char *rule = t->rule_id ? t->rule_id : "default";
	char *url = unsubscribe_url(app, tenant, inbox_id, rule, t->destination);
	char *oid = ids_new("out"), *mid = xasprintf("%s@%s", oid, app->conf->hostname);
	struct forward_compose f = {
		.inbox_address = inbox_address, .to = t->destination,
		.reply_to = sum->from_addr ? sum->from_addr : mail_from,
		.orig_from = sum->from, .orig_to = sum->to, .orig_date = sum->date,
		.orig_subject = sum->subject, .text_body = sum->text_body,
		.raw = raw, .raw_len = len, .unsubscribe_url = url, .message_id = mid,
	};
	size_t k = out->n++, composed_len;
	struct outbound_row *r = &out->rows[k];

	out->raws[k] = mime_compose_forward(&f, &composed_len);
	out->rule_ids[k] = xstrdup(rule);
	out->dests[k] = xstrdup(t->destination);
	snprintf(r->id, sizeof(r->id), "%s", oid);
	r->inbox_id = inbox_id;
	r->kind = "forward";
	r->source_message_id = message_id;
	r->rule_id = out->rule_ids[k];
	r->mail_from = inbox_address;
	r->rcpt_to = out->dests[k];
	r->raw = out->raws[k];
	r->raw_len = composed_len;
	free(url);
	free(mid);
	free(oid);
}

void
inbound__plan_forwards(struct app *app, struct store_db *db,
    const char *tenant, const char *inbox_id, const char *inbox_address,
    const char *message_id, const struct mime_summary *sum,
    const char *mail_from, const char *raw, size_t len, json_t *trace,
    struct inbound_forwards *out)
{
	struct forward_facts facts = { sum->from_addr ? sum->from_addr : mail_from,
	    sum->subject };
	struct forward_target targets[FORWARDS_MAX];
	struct forwarding_rule_row *rules = NULL;
	char *settings = NULL, *def = NULL;
	json_t *log = json_array();
	int n_rules = 0;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	store_inbox_settings_get(db, inbox_id, &settings);
	if (forwarding_enabled(settings, &def)) {
		store_forwarding_rules_list(db, inbox_id, &rules, &n_rules);
		/* The default address honours its unsubscribes too. */
		if (def && suppressed(db, "default", def))
			xfree(&def);
		n = forwarding_targets(def, rules, n_rules, &facts, suppressed, db,
		    targets, FORWARDS_MAX);
	}
	out->rows = xcalloc(n ? n : 1, sizeof(*out->rows));
	out->raws = xcalloc(n ? n : 1, sizeof(char *));
	out->rule_ids = xcalloc(n ? n : 1, sizeof(char *));
	out->dests = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		add_forward(app, tenant, inbox_id, inbox_address, message_id, sum,
		    mail_from, raw, len, &targets[i], out);
		json_array_append_new(log, json_pack("{s:s, s:s, s:s, s:s}",
		    "destination", targets[i].destination, "rule_id",
		    out->rule_ids[i], "reason", targets[i].reason, "outbound_id",
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
	for (size_t i = 0; i < f->n; i++) {
		free(f->raws[i]);
		free(f->rule_ids[i]);
		free(f->dests[i]);
	}
	free(f->rows);
	free(f->raws);
	free(f->rule_ids);
	free(f->dests);
	memset(f, 0, sizeof(*f));
}
