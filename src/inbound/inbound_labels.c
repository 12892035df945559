/*
 * inbound_labels.c - auto-label rules and label policies at receive time.
 *
 * The rules run before the message is stored, so the label is on the
 * message in the same transaction that makes it visible: no agent can
 * read it unlabelled. The label's policies that act on arrival take
 * effect here too: forward_to becomes a forwarded copy queued with the
 * message, notify marks the label.applied event. block_reply and
 * retention act later (on send, on expiry) and are only noted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/auto_label.h"
#include "gent/store_label_rules.h"
#include "gent/store_labels.h"
#include "gent/util.h"
#include "inbound_int.h"

/* The label's policies into the trace; forward_to into out. */
static void
plan_policies(struct store_db *db, const char *label_id, json_t *trace,
    struct inbound_labels *out)
{
	json_t *log = json_array(), *pol;
	struct label_row l;
	const char *dest;

	if (store_labels_get(db, label_id, &l) != STORE_OK) {
		json_object_set_new(trace, "label_policies", log);
		return;
	}
	pol = json_loads(l.policies ? l.policies : "{}", 0, NULL);
	dest = json_string_value(json_object_get(pol, "forward_to"));
	if (dest) {
		out->forward_rule = xasprintf("label:%s", label_id);
		out->forward_dest = xstrdup(dest);
		out->forwards[0] = (struct forward_target){ out->forward_rule,
		    out->forward_dest, "label_policy" };
		out->n_forwards = 1;
		json_array_append_new(log, json_pack("{s:s, s:s, s:s}", "label_id",
		    label_id, "policy", "forward_to", "destination", dest));
	}
	if (json_is_true(json_object_get(pol, "notify")))
		json_array_append_new(log, json_pack("{s:s, s:s, s:s}", "label_id",
		    label_id, "policy", "notify", "effect",
		    "label.applied event marked notify, sent to the inbox webhook"));
	if (json_is_true(json_object_get(pol, "block_reply")))
		json_array_append_new(log, json_pack("{s:s, s:s, s:s}", "label_id",
		    label_id, "policy", "block_reply", "effect",
		    "sending from this thread is refused"));
	if (json_is_string(json_object_get(pol, "retention")))
		json_array_append_new(log, json_pack("{s:s, s:s, s:O}", "label_id",
		    label_id, "policy", "retention", "retention",
		    json_object_get(pol, "retention")));
	json_object_set_new(trace, "label_policies", log);
	json_decref(pol);
	label_row_free(&l);
}

/* The first matching rule of rows, or -1; *evaluated_r rules were tried. */
static int
first_match(const struct label_rule_row *rows, int n,
    const struct auto_label_facts *facts, size_t *evaluated_r)
{
	struct auto_label_rule *rules = xcalloc(n ? (size_t)n : 1, sizeof(*rules));
	int hit;

	for (int i = 0; i < n; i++)
		rules[i] = (struct auto_label_rule){ rows[i].id, rows[i].match,
		    rows[i].conditions, rows[i].enabled };
	hit = auto_label_first_match(rules, (size_t)n, facts, evaluated_r);
	free(rules);
	return hit;
}

void
inbound__plan_labels(struct store_db *db, const char *inbox_id,
    const struct smtp_envelope *env, size_t rcpt, const struct mime_summary *sum,
    json_t *trace, struct inbound_labels *out)
{
	const char **rcpts = xcalloc(sum->n_recipients + 1, sizeof(char *));
	struct auto_label_facts facts = { sum->from_addr ? sum->from_addr :
	    env->mail_from, sum->subject, rcpts, sum->n_recipients + 1 };
	struct label_rule_row *rows = NULL;
	size_t evaluated = 0;
	int n = 0, hit = -1;

	memset(out, 0, sizeof(*out));
	rcpts[0] = env->rcpts[rcpt].addr;
	for (size_t i = 0; i < sum->n_recipients; i++)
		rcpts[i + 1] = sum->recipients[i];
	if (store_label_rules_list(db, inbox_id, &rows, &n) == STORE_OK)
		hit = first_match(rows, n, &facts, &evaluated);
	json_object_set_new(trace, "auto_label", json_pack("{s:I, s:o, s:o}",
	    "rules_evaluated", (json_int_t)evaluated,
	    "rule_id", hit >= 0 ? json_string(rows[hit].id) : json_null(),
	    "label_id", hit >= 0 ? json_string(rows[hit].label_id) : json_null()));
	if (hit >= 0) {
		out->label_id = xstrdup(rows[hit].label_id);
		out->rule_id = xstrdup(rows[hit].id);
		out->applied_by = xasprintf("rule:%s", rows[hit].id);
		out->apply[0] = (struct message_label){ out->label_id,
		    out->applied_by, out->rule_id };
		out->n = 1;
		plan_policies(db, out->label_id, trace, out);
	}
	label_rule_rows_free(rows, n);
	free(rcpts);
}

void
inbound__labels_free(struct inbound_labels *l)
{
	xfree(&l->label_id);
	xfree(&l->rule_id);
	xfree(&l->applied_by);
	xfree(&l->forward_rule);
	xfree(&l->forward_dest);
	l->n = l->n_forwards = 0;
}
