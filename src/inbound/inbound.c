/*
 * inbound.c - recipient checks and message delivery into tenant stores.
 *
 * The rcpt hook leaves "tenant_id inbox_id" as the recipient's cookie so
 * the message hook need not look it up again. Recipients of several
 * tenants are written tenant by tenant; the 250 waits for all commits.
 * (A failure after some tenants committed gives 451 and the client
 * retries; duplicate suppression across such retries comes with the
 * message-id index of the messages issue.)
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gent/hops.h"
#include "gent/ids.h"
#include "gent/inbound.h"
#include "inbound_int.h"
#include "gent/log.h"
#include "gent/mime.h"
#include "gent/sender_rules.h"
#include "gent/store_rules.h"
#include "gent/store_caps.h"
#include "gent/store_messages.h"
#include "gent/timefmt.h"
#include "gent/util.h"

/* Run a one-row query with one text bind; fills "tenant inbox". */
static int
inbox_query(sqlite3 *conn, const char *sql, const char *value, char **cookie_r)
{
	sqlite3_stmt *st = store_prepare(conn, sql);
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, value);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			*cookie_r = xasprintf("%s %s", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1));
			rc = STORE_OK;
		}
	}
	store_finish(st);
	return rc;
}

/*
 * Find a receiving inbox; fills "tenant inbox" or returns NOT_FOUND.
 * postmaster@<domain> (RFC 5321 4.5.1) goes to that inbox when it exists,
 * else to the oldest receiving inbox of the domain; the bare <postmaster>
 * is postmaster@<our hostname>.
 */
static int
find_inbox(struct app *app, const char *addr, char **cookie_r)
{
	struct store_db *control = store_control(app->store);
	sqlite3 *conn = store_db_acquire(control);
	const char *at = strrchr(addr, '@');
	char *pm = NULL;
	int rc;

	if (!at && strcasecmp(addr, "postmaster") == 0)
		addr = pm = xasprintf("postmaster@%s", app->conf->hostname);
	at = strrchr(addr, '@');
	rc = inbox_query(conn, "SELECT i.tenant_id, i.id FROM inboxes i JOIN "
	    "domains d ON d.id = i.domain_id WHERE i.address = ? AND i.status IN "
	    "('active', 'suspended') AND d.status = 'verified'", addr, cookie_r);
	if (rc == STORE_ERR_NOT_FOUND && at && (size_t)(at - addr) == 10 &&
	    strncasecmp(addr, "postmaster", 10) == 0)
		rc = inbox_query(conn, "SELECT i.tenant_id, i.id FROM inboxes i JOIN "
		    "domains d ON d.id = i.domain_id WHERE d.name = lower(?) AND "
		    "d.status = 'verified' AND i.status IN ('active', 'suspended') "
		    "ORDER BY i.created_at, i.id LIMIT 1", at + 1, cookie_r);
	store_db_release(control, &conn);
	free(pm);
	return rc;
}

/*
 * An inbox over its enforced mailbox cap takes no new mail. 452 4.2.2 is
 * temporary on purpose: the owner can free space or raise the cap, and
 * the sender's retries then get through; a 5xx would bounce mail that
 * could still have arrived.
 */
static bool
mailbox_full(struct app *app, const char *cookie)
{
	const char *sp = strchr(cookie, ' ');
	char *tenant = xstrndup(cookie, (size_t)(sp - cookie)), *err = NULL;
	struct mailbox_usage u;
	struct store_db *db;
	struct cap_row cap;
	bool full = false;

	if (store_tenant(app->store, tenant, &db, &err) == 0 &&
	    store_caps_get(db, sp + 1, "mailbox", &cap) == STORE_OK) {
		full = strcmp(cap.mode, "enforce") == 0 &&
		    store_caps_mailbox_usage(db, sp + 1, &u) == STORE_OK &&
		    u.messages + u.attachments >= cap.limit_value;
		cap_row_free(&cap);
	}
	free(err);
	free(tenant);
	return full;
}

static void
hook_rcpt(void *ctx, const struct smtp_envelope *env, const char *rcpt,
    char **cookie_r, struct smtp_reply *out)
{
	struct app *app = ctx;
	int rc = find_inbox(app, rcpt, cookie_r);

	(void)env;
	if (rc == STORE_OK && mailbox_full(app, *cookie_r)) {
		xfree(cookie_r);
		smtp_reply_set(out, 452, "4.2.2 <%.200s>: Mailbox full", rcpt);
	} else if (rc == STORE_OK)
		smtp_reply_set(out, 250, "2.1.5 Ok");
	else if (rc == STORE_ERR_NOT_FOUND)
		smtp_reply_set(out, 550, "5.1.1 <%.200s>: Recipient address "
		    "rejected: no such mailbox here", rcpt);
	else
		smtp_reply_set(out, 451, "4.3.0 Temporary lookup failure; try again");
}

/* RFC 5321 4.4 trace header, prepended to what we store. */
static char *
received_header(const struct app *app, const struct smtp_envelope *env,
    const char *id)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	return xasprintf("Received: from %.255s ([%s])\r\n\tby %s (gentd) with %s "
	    "id %s;\r\n\t%s\r\n", env->helo, env->client_ip, app->conf->hostname,
	    env->tls ? "ESMTPS" : "ESMTP", id, date);
}

/* addr's domain is domain or under it (relaxed alignment). */
static bool
addr_in_domain(const char *addr, const char *domain)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t n, d;

	if (!at || !domain || !*domain)
		return false;
	n = strlen(++at);
	d = strlen(domain);
	return (n == d && strcasecmp(at, domain) == 0) ||
	    (n > d && at[n - d - 1] == '.' && strcasecmp(at + n - d, domain) == 0);
}

/* An author address a verified DKIM signature (or, for the first author,
 * a DMARC pass) vouches for. */
static bool
author_authenticated(const json_t *auth, const char *addr, bool first)
{
	const char *dmarc = json_string_value(json_object_get(json_object_get(auth,
	    "dmarc"), "result"));
	json_t *sig;
	size_t i;

	if (first && dmarc && strcmp(dmarc, "pass") == 0)
		return true;
	json_array_foreach(json_object_get(auth, "dkim"), i, sig) {
		const char *r = json_string_value(json_object_get(sig, "result"));
		if (r && strcmp(r, "pass") == 0 && addr_in_domain(addr,
		    json_string_value(json_object_get(sig, "domain"))))
			return true;
	}
	return false;
}

/*
 * An allowlist admits mail only from senders someone vouches for: the
 * envelope sender when SPF passed for it, an author when DMARC passed or
 * a DKIM signature of its domain verified. Otherwise anyone could write
 * an allowlisted address in MAIL FROM or From: and be let in. Keeps those
 * of cand[0..n) (envelope first, then authors) and lists the others in
 * untrusted; returns how many are kept.
 */
static size_t
keep_authenticated(const json_t *auth, const char **cand, size_t n,
    json_t *untrusted)
{
	const char *spf = json_string_value(json_object_get(json_object_get(auth,
	    "spf"), "result"));
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		bool ok = i == 0 ? *cand[0] && spf && strcmp(spf, "pass") == 0 :
		    author_authenticated(auth, cand[i], i == 1);
		if (ok)
			cand[kept++] = cand[i];
		else if (*cand[i])
			json_array_append_new(untrusted, json_string(cand[i]));
	}
	return kept;
}

/* What the sender rules of one inbox say; fills the trace's sender_rule. */
static bool
sender_allowed(struct store_db *db, const char *inbox_id,
    const struct smtp_envelope *env, const struct mime_summary *sum,
    const json_t *auth, json_t *trace)
{
	/* The envelope sender and every author: a second From address must
	 * not carry a blocked sender past the blocklist. */
	const char *cand[17] = { env->mail_from, sum->from_addr ? sum->from_addr : "" };
	size_t n_cand = 2;
	struct sender_rules_row rules;
	const char *matched;
	char *copy;
	bool ok;

	if (store_rules_sender_get(db, inbox_id, &rules) != STORE_OK) {
		/* Cannot read the rules: deliver (losing mail is worse) and say so. */
		json_object_set_new(trace, "sender_rule", json_pack("{s:s, s:s}",
		    "decision", "accepted", "note", "rules unreadable"));
		return true;
	}
	for (size_t i = 1; i < sum->n_authors && n_cand < GENT_ARRAY_LEN(cand); i++)
		cand[n_cand++] = sum->authors[i];
	json_t *untrusted = NULL;
	if (strcmp(rules.inbound_mode, "allowlist") == 0) {
		untrusted = json_array();
		n_cand = keep_authenticated(auth, cand, n_cand, untrusted);
	}
	ok = sender_rules_allows(rules.inbound_mode, rules.inbound_patterns, cand,
	    n_cand, &matched, &copy);
	json_t *checked = json_array();
	for (size_t i = 0; i < n_cand; i++)
		json_array_append_new(checked, json_string(cand[i]));
	json_t *rule = json_pack("{s:s, s:s, s:o, s:o}",
	    "mode", rules.inbound_mode, "decision", ok ? "accepted" : "dropped",
	    "matched", matched ? json_string(matched) : json_null(),
	    "checked", checked);
	if (untrusted)
		json_object_set_new(rule, "unauthenticated", untrusted);
	json_object_set_new(trace, "sender_rule", rule);
	free(copy);
	sender_rules_row_free(&rules);
	return ok;
}

static json_t *
base_trace(const struct smtp_envelope *env, const char *session, const char *rcpt)
{
	return json_pack("{s:{s:s, s:s, s:s, s:b, s:s, s:s}}", "smtp",
	    "session", session, "client_ip", env->client_ip, "helo", env->helo,
	    "tls", env->tls, "mail_from", env->mail_from, "rcpt_to", rcpt);
}

struct delivery {
	struct message_row	*rows;
	struct store_audit	*audits;
	char			**ids, **traces;
	struct inbound_forwards	*forwards;
	struct inbound_labels	*labels;
	size_t			 n;
};

static void
delivery_free(struct delivery *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->ids[i]);
		free(d->traces[i]);
		inbound__forwards_free(&d->forwards[i]);
		inbound__labels_free(&d->labels[i]);
	}
	free(d->forwards);
	free(d->labels);
	free(d->rows);
	free(d->audits);
	free(d->ids);
	free(d->traces);
}

/* Add one recipient's copy (or its audited drop) to the delivery. */
static void
add_copy(struct app *app, struct delivery *d, struct store_db *db, const char *tenant,
    const char *inbox_id, size_t rcpt, const struct smtp_envelope *env,
    const char *raw, size_t len, const struct mime_summary *sum,
    const json_t *auth, const char *session)
{
	json_t *trace = base_trace(env, session, env->rcpts[rcpt].addr);

	json_object_set(trace, "auth", (json_t *)auth);
	bool ok = sender_allowed(db, inbox_id, env, sum, auth, trace);
	size_t k = d->n++;
	struct message_row *m = &d->rows[k];

	d->ids[k] = ids_new("msg");
	if (ok) {
		char *addr = xstrdup(env->rcpts[rcpt].addr);
		struct inbound_labels *lb = &d->labels[k];
		str_lower(addr);
		struct forward_source src = { tenant, inbox_id, addr, d->ids[k], sum,
		    env->mail_from, raw, len };
		inbound__plan_labels(db, inbox_id, env, rcpt, sum, trace, lb);
		inbound__plan_forwards(app, db, &src, lb->forwards, lb->n_forwards,
		    trace, &d->forwards[k]);
		free(addr);
	}
	json_object_set_new(trace, "thread", json_pack("{s:I}", "parents_considered",
	    (json_int_t)sum->n_parents));
	json_object_set_new(trace, "mime", json_pack("{s:b, s:b, s:I}", "parsed",
	    sum->parsed, "truncated", sum->truncated, "attachments",
	    (json_int_t)sum->n_attachments));
	d->traces[k] = json_dumps(trace, JSON_COMPACT);
	json_decref(trace);
	d->audits[k] = (struct store_audit){ .tenant_id = tenant,
	    .actor_type = "smtp", .actor_id = session,
	    .action = ok ? "message.received" : "message.dropped",
	    .target_type = ok ? "message" : "inbox",
	    .target_id = ok ? d->ids[k] : inbox_id,
	    .detail_json = ok ? NULL : d->traces[k], .inbox_id = inbox_id };
	if (!ok) {
		m->id[0] = '\0';	/* audited, not stored: a silent drop */
		return;
	}
	snprintf(m->id, sizeof(m->id), "%s", d->ids[k]);
	snprintf(m->inbox_id, sizeof(m->inbox_id), "%s", inbox_id);
	snprintf(m->direction, sizeof(m->direction), "inbound");
	m->message_id_hdr = sum->message_id;
	m->subject = sum->subject;
	m->from_addr = sum->from;
	m->to_addrs = sum->to;
	m->date_hdr = sum->date;
	m->mail_from = (char *)env->mail_from;
	m->rcpt_to = env->rcpts[rcpt].addr;
	m->client_ip = (char *)env->client_ip;
	m->helo = (char *)env->helo;
	m->tls = env->tls;
	m->raw = (char *)raw;
	m->raw_len = len;
	m->size = (int64_t)len;
	m->received_at = time_now_ms();
	m->smtp_session = (char *)session;
	m->trace = d->traces[k];
	m->forwards = d->forwards[k].rows;
	m->n_forwards = d->forwards[k].n;
	m->labels = d->labels[k].apply;
	m->n_labels = d->labels[k].n;
	m->parents = sum->parents;
	m->n_parents = sum->n_parents;
	m->text_body = sum->text_body;
	m->html_body = sum->html_body;
	m->attachments = sum->attachments;
	m->n_attachments = (int64_t)sum->n_attachments;
	m->malformed = !sum->parsed || sum->truncated;
}

/* Store this message for every recipient of one tenant. */
static int
deliver_tenant(struct app *app, const struct smtp_envelope *env,
    const char *tenant, const char *raw, size_t len,
    const struct mime_summary *sum, const json_t *auth, const char *session)
{
	struct delivery d = { 0 };
	size_t tlen = strlen(tenant);
	struct store_db *db;
	char *err = NULL;
	int rc;

	if (store_tenant(app->store, tenant, &db, &err) != 0) {
		log_error("inbound", NULL, "%s", err);
		free(err);
		return STORE_ERR_SQL;
	}
	d.rows = xcalloc(env->n_rcpts, sizeof(*d.rows));
	d.audits = xcalloc(env->n_rcpts, sizeof(*d.audits));
	d.ids = xcalloc(env->n_rcpts, sizeof(char *));
	d.traces = xcalloc(env->n_rcpts, sizeof(char *));
	d.forwards = xcalloc(env->n_rcpts, sizeof(*d.forwards));
	d.labels = xcalloc(env->n_rcpts, sizeof(*d.labels));
	for (size_t i = 0; i < env->n_rcpts; i++) {
		const char *cookie = env->rcpts[i].cookie;
		if (strncmp(cookie, tenant, tlen) != 0 || cookie[tlen] != ' ')
			continue;
		add_copy(app, &d, db, tenant, cookie + tlen + 1, i, env, raw, len, sum,
		    auth, session);
	}
	/* Copies and the audit rows of drops commit together. */
	rc = store_messages_insert(db, d.rows, d.n, d.audits);
	if (rc == STORE_OK)
		inbound__storage_thresholds(db, d.rows, d.n);
	delivery_free(&d);
	return rc;
}

/* Deliver to every tenant among the recipients, in recipient order. */
static int
deliver_all(struct app *app, const struct smtp_envelope *env, const char *raw,
    size_t len, const struct mime_summary *sum, const json_t *auth,
    const char *session)
{
	int rc = STORE_OK;

	for (size_t i = 0; i < env->n_rcpts && rc == STORE_OK; i++) {
		const char *cookie = env->rcpts[i].cookie, *sp = strchr(cookie, ' ');
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= strncmp(env->rcpts[k].cookie, cookie, (size_t)(sp - cookie + 1)) == 0;
		if (seen)
			continue;
		char *tenant = xstrndup(cookie, (size_t)(sp - cookie));
		rc = deliver_tenant(app, env, tenant, raw, len, sum, auth, session);
		free(tenant);
	}
	return rc;
}

/*
 * RFC 5321 6.3: a message that has passed through more than smtp_max_hops
 * relays is taken to be in a loop and refused, so it is neither stored
 * nor forwarded once more. The fields are counted as received, before
 * ours is added. The default of 50 is Postfix's hopcount_limit (Exim
 * uses 30, sendmail 25; the RFC asks for a large threshold, "normally at
 * least 100"). Only the header section is read and the count stops just
 * past the limit, before any parsing. True when out is set.
 */
static bool
too_many_hops(const struct app *app, const struct smtp_envelope *env,
    const char *data, size_t len, struct smtp_reply *out)
{
	size_t max = (size_t)app->conf->smtp_max_hops;

	if (hops_count(data, len, max + 1) <= max)
		return false;
	log_info("inbound", NULL, "%016" PRIx64 " message refused: over %zu "
	    "Received fields (mail loop)", env->session_id, max);
	smtp_reply_set(out, 554, "5.4.6 Too many hops: over %zu Received fields, "
	    "mail loop suspected", max);
	return true;
}

static void
hook_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, struct smtp_reply *out)
{
	struct app *app = ctx;
	char session[32], *qid, *hdr, *clean;
	struct inbound_auth auth;
	struct mime_summary sum;
	struct buf raw = { 0 };
	size_t clean_len;
	int rc;

	if (too_many_hops(app, env, data, len, out))
		return;
	qid = ids_new("q");
	snprintf(session, sizeof(session), "%016" PRIx64, env->session_id);
	mime_summarize(data, len, &sum);
	inbound__authenticate(app, env, &sum, data, len, &auth);
	if (strcmp(auth.dmarc.disposition, "reject") == 0) {
		/* The From domain asks receivers to refuse mail that fails DMARC. */
		smtp_reply_set(out, 550, "5.7.1 Message rejected per DMARC policy "
		    "of %.200s", auth.dmarc.record_domain);
		goto out;
	}
	/* Stored copy: our trace headers on top, forged verdicts removed. */
	hdr = received_header(app, env, qid);
	clean = inbound__strip_forged_results(data, len, app->conf->hostname, &clean_len);
	buf_append_str(&raw, auth.header);
	buf_append_str(&raw, hdr);
	buf_append(&raw, clean, clean_len);
	free(hdr);
	free(clean);
	rc = deliver_all(app, env, raw.data, raw.len, &sum, auth.json, session);
	if (rc == STORE_OK)
		smtp_reply_set(out, 250, "2.0.0 Ok: queued as %s", qid);
	else
		smtp_reply_set(out, 451, "4.3.0 Could not store the message; try again later");
out:
	inbound__auth_free(&auth);
	mime_summary_free(&sum);
	buf_free(&raw);
	free(qid);
}

struct smtp_hooks
inbound_hooks(struct app *app)
{
	struct smtp_hooks h = { .rcpt = hook_rcpt, .message = hook_message, .ctx = app };
	return h;
}
