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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gent/ids.h"
#include "gent/inbound.h"
#include "gent/log.h"
#include "gent/mime.h"
#include "gent/store_messages.h"
#include "gent/timefmt.h"
#include "gent/util.h"

/* Find a receiving inbox; fills "tenant inbox" or returns NOT_FOUND. */
static int
find_inbox(struct store_db *control, const char *addr, char **cookie_r)
{
	sqlite3 *conn = store_db_acquire(control);
	sqlite3_stmt *st = store_prepare(conn, "SELECT i.tenant_id, i.id FROM "
	    "inboxes i JOIN domains d ON d.id = i.domain_id WHERE i.address = ? "
	    "AND i.status IN ('active', 'suspended') AND d.status = 'verified'");
	int rc = STORE_ERR_SQL;

	if (st) {
		store_bind_text(st, 1, addr);
		rc = STORE_ERR_NOT_FOUND;
		if (sqlite3_step(st) == SQLITE_ROW) {
			*cookie_r = xasprintf("%s %s", sqlite3_column_text(st, 0),
			    sqlite3_column_text(st, 1));
			rc = STORE_OK;
		}
	}
	sqlite3_finalize(st);
	store_db_release(control, &conn);
	return rc;
}

static void
hook_rcpt(void *ctx, const struct smtp_envelope *env, const char *rcpt,
    char **cookie_r, struct smtp_reply *out)
{
	struct app *app = ctx;
	int rc = find_inbox(store_control(app->store), rcpt, cookie_r);

	(void)env;
	if (rc == STORE_OK)
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

/* Store this message for every recipient of one tenant. */
static int
deliver_tenant(struct app *app, const struct smtp_envelope *env,
    const char *tenant, const char *raw, size_t len,
    const struct mime_summary *sum, const char *session)
{
	struct message_row *rows = xcalloc(env->n_rcpts, sizeof(*rows));
	struct store_audit *audits = xcalloc(env->n_rcpts, sizeof(*audits));
	struct store_db *db;
	char *err = NULL, *ids[512] = { 0 };
	size_t n = 0;
	int rc;

	if (store_tenant(app->store, tenant, &db, &err) != 0) {
		log_error("inbound", NULL, "%s", err);
		free(err);
		free(rows);
		free(audits);
		return STORE_ERR_SQL;
	}
	for (size_t i = 0; i < env->n_rcpts && n < GENT_ARRAY_LEN(ids); i++) {
		const char *cookie = env->rcpts[i].cookie;
		size_t tlen = strlen(tenant);
		if (!cookie || strncmp(cookie, tenant, tlen) != 0 || cookie[tlen] != ' ')
			continue;
		struct message_row *m = &rows[n];
		ids[n] = ids_new("msg");
		snprintf(m->id, sizeof(m->id), "%s", ids[n]);
		snprintf(m->inbox_id, sizeof(m->inbox_id), "%s", cookie + tlen + 1);
		snprintf(m->direction, sizeof(m->direction), "inbound");
		m->message_id_hdr = sum->message_id;
		m->subject = sum->subject;
		m->from_addr = sum->from;
		m->to_addrs = sum->to;
		m->date_hdr = sum->date;
		m->mail_from = (char *)env->mail_from;
		m->rcpt_to = env->rcpts[i].addr;
		m->client_ip = (char *)env->client_ip;
		m->helo = (char *)env->helo;
		m->tls = env->tls;
		m->raw = (char *)raw;
		m->raw_len = len;
		m->size = (int64_t)len;
		m->received_at = time_now_ms();
		m->smtp_session = (char *)session;
		audits[n] = (struct store_audit){ .tenant_id = tenant,
		    .actor_type = "smtp", .actor_id = session,
		    .action = "message.received", .target_type = "message",
		    .target_id = ids[n] };
		n++;
	}
	rc = store_messages_insert(db, rows, n, audits);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(rows);
	free(audits);
	return rc;
}

static void
hook_message(void *ctx, const struct smtp_envelope *env, const char *data,
    size_t len, struct smtp_reply *out)
{
	struct app *app = ctx;
	char session[32], *qid = ids_new("q");
	char *hdr = received_header(app, env, qid);
	struct buf raw = { 0 };
	struct mime_summary sum;
	int rc = STORE_OK;

	snprintf(session, sizeof(session), "%016" PRIx64, env->session_id);
	buf_append_str(&raw, hdr);
	buf_append(&raw, data, len);
	mime_summarize(raw.data, raw.len, &sum);
	/* Once per distinct tenant, in recipient order. */
	for (size_t i = 0; i < env->n_rcpts && rc == STORE_OK; i++) {
		const char *cookie = env->rcpts[i].cookie, *sp = strchr(cookie, ' ');
		bool seen = false;
		for (size_t k = 0; k < i; k++)
			seen |= strncmp(env->rcpts[k].cookie, cookie, (size_t)(sp - cookie + 1)) == 0;
		if (seen)
			continue;
		char *tenant = xstrndup(cookie, (size_t)(sp - cookie));
		rc = deliver_tenant(app, env, tenant, raw.data, raw.len, &sum, session);
		free(tenant);
	}
	if (rc == STORE_OK)
		smtp_reply_set(out, 250, "2.0.0 Ok: queued as %s", qid);
	else
		smtp_reply_set(out, 451, "4.3.0 Could not store the message; try again later");
	mime_summary_free(&sum);
	buf_free(&raw);
	free(hdr);
	free(qid);
}

struct smtp_hooks
inbound_hooks(struct app *app)
{
	struct smtp_hooks h = { .rcpt = hook_rcpt, .message = hook_message, .ctx = app };
	return h;
}
