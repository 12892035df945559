/*
 * relay.c - the relay's loop side: a timer and a wake-up (relay_kick)
 * start claim runs, one at a time; each claimed route is delivered
 * (relay_deliver.c); each item's outcome is recorded by a job on the
 * threadpool, which decides what the reply means:
 *   2xx             sent
 *   5xx             bounced: a report to the sending inbox, the address
 *                   suppressed when the reply refused the mailbox
 *   4xx, no answer  tried again on relay_retry_schedule, or, when
 *                   queue_lifetime is over, failed with a report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/ids.h"
#include "gent/log.h"
#include "gent/mime.h"
#include "gent/mime_send.h"
#include "gent/relay.h"
#include "gent/relay_retry.h"
#include "gent/timefmt.h"
#include "gent/tls.h"
#include "gent/util.h"
#include "relay_int.h"

#define RELAY_TICK_MS 1000

struct record_job {
	uv_work_t		 work;
	struct relay		*relay;
	struct relay_item	*item;
	int			 code;
	char			*text, *mx_host;
	bool			 tls;
};

static void on_tick(uv_timer_t *t);
static void start_claim(struct relay *r);

static void
claim_done(uv_work_t *w, int status)
{
	struct relay *r = w->data;
	struct relay_route *rt = r->claimed, *next;

	(void)status;
	r->claimed = NULL;
	r->claiming = false;
	bool again = r->backlog || r->kick_pending;
	for (; rt; rt = next) {
		next = rt->next;
		if (r->stopping) {	/* claimed during shutdown: leave them leased */
			rt->next = NULL;
			relay__route_free(&rt);
			continue;
		}
		rt->next = r->active;
		rt->prev = NULL;
		if (r->active)
			r->active->prev = rt;
		r->active = rt;
		r->routes++;
		relay__route_start(rt);
	}
	if (again)
		start_claim(r);
}

void
relay__route_finished(struct relay *r)
{
	r->routes--;
	if (r->backlog || r->kick_pending)
		start_claim(r);
}

static void
start_claim(struct relay *r)
{
	/* A wake-up during a run is kept for its end, never dropped. */
	if (r->claiming || r->routes >= RELAY_ROUTES_MAX) {
		r->kick_pending = true;
		return;
	}
	if (r->stopping)
		return;
	r->kick_pending = false;
	r->claiming = true;
	r->claim.data = r;
	uv_queue_work(r->loop, &r->claim, relay__claim_run, claim_done);
}

static void
on_tick(uv_timer_t *t)
{
	relay__idle_sweep(t->data, false);
	start_claim(t->data);
}

static void
on_kick(uv_async_t *a)
{
	start_claim(a->data);
}

/* The header block of a message (up to the blank line). */
static size_t
header_len(const char *raw, size_t len)
{
	const char *end = memmem(raw, len, "\r\n\r\n", 4);

	return end ? (size_t)(end - raw) + 2 : len;
}

/* The report for a bounce or an expiry, as a message for the inbox. */
static struct message_row *
make_dsn(struct app *app, const struct relay_item *it, int code, const char *text,
    const char *mx_host, bool failed_for_good, struct mime_summary *orig)
{
	struct message_row *m = xcalloc(1, sizeof(*m));
	char *id = ids_new("msg"), *mid = xasprintf("%s@%s", id, app->conf->hostname);
	char *diag = xasprintf("smtp; %d %s", code, text ? text : "");
	char status[16];
	size_t len;
	struct dsn_compose d = { .reporting_mta = app->conf->hostname,
	    .to = it->q.mail_from, .recipient = it->q.rcpt_to, .action = "failed",
	    .status = status, .diagnostic = diag, .remote_mta = mx_host,
	    .orig_headers = it->q.raw, .orig_headers_len = header_len(it->q.raw,
	    it->q.raw_len), .orig_subject = orig->subject,
	    .orig_message_id = orig->message_id, .message_id = mid };

	/* A refusal keeps its class and subject; an expiry is 4.4.7. */
	snprintf(status, sizeof(status), "%s", failed_for_good ? "4.4.7" :
	    code >= 550 && code <= 553 ? "5.1.1" : "5.0.0");
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->inbox_id, sizeof(m->inbox_id), "%s", it->q.inbox_id);
	snprintf(m->direction, sizeof(m->direction), "inbound");
	m->raw = mime_compose_dsn(&d, &len);
	m->raw_len = len;
	m->size = (int64_t)len;
	m->message_id_hdr = mid;
	m->mail_from = xstrdup("");
	m->rcpt_to = xstrdup(it->q.mail_from);
	m->received_at = time_now_ms();
	m->trace = xasprintf("{\"dsn\":{\"outbound_id\":\"%s\",\"recipient\":\"%s\","
	    "\"code\":%d}}", it->q.id, it->q.rcpt_to, code);
	free(diag);
	free(id);
	return m;
}

/* Fill the report's parsed fields and thread it under the original. */
static void
summarize_dsn(struct message_row *m, struct mime_summary *sum, char **parent)
{
	mime_summarize(m->raw, m->raw_len, sum);
	m->subject = sum->subject;
	m->from_addr = sum->from;
	m->to_addrs = sum->to;
	m->date_hdr = sum->date;
	m->text_body = sum->text_body;
	m->attachments = sum->attachments;
	m->n_attachments = (int64_t)sum->n_attachments;
	m->parents = parent;
	m->n_parents = *parent != NULL;
}

static void
dsn_free(struct message_row *m)
{
	if (!m)
		return;
	free(m->raw);
	free(m->message_id_hdr);
	free(m->mail_from);
	free(m->rcpt_to);
	free(m->trace);
	free(m);
}

static enum queue_outcome
decide(const struct app *app, const struct record_job *j, int64_t *next_r)
{
	bool expired = false;

	if (j->code >= 200 && j->code < 300)
		return QUEUE_SENT;
	if (j->code >= 500)
		return QUEUE_BOUNCED;
	*next_r = relay_retry_at(app->conf->relay_retry_schedule, j->item->q.attempts + 1,
	    time_now_ms(), j->item->q.created_at, app->conf->queue_lifetime, &expired);
	return expired ? QUEUE_FAILED : QUEUE_RETRY;
}

static void
record_run(uv_work_t *w)
{
	struct record_job *j = w->data;
	struct app *app = j->relay->app;
	struct queue_report rep = { .id = j->item->q.id, .code = j->code,
	    .text = j->text, .mx_host = j->mx_host, .tls = j->tls };
	struct mime_summary orig = { 0 }, sum = { 0 };
	struct store_db *db;
	char *err = NULL, *parent = NULL;

	rep.outcome = decide(app, j, &rep.next_attempt_at);
	if (rep.outcome == QUEUE_BOUNCED || rep.outcome == QUEUE_FAILED) {
		mime_summarize(j->item->q.raw, j->item->q.raw_len, &orig);
		rep.dsn = make_dsn(app, j->item, j->code, j->text, j->mx_host,
		    rep.outcome == QUEUE_FAILED, &orig);
		parent = orig.message_id;
		summarize_dsn(rep.dsn, &sum, &parent);
	}
	if (store_tenant(app->store, j->item->tenant_id, &db, &err) != 0 ||
	    store_queue_record(db, &rep) != STORE_OK)
		log_error("relay", NULL, "recording %s failed (%s); the lease expires "
		    "and it is tried again", j->item->q.id, err ? err : "store");
	log_info("relay", NULL, "%s to=<%s> via=%s code=%d status=%s", j->item->q.id,
	    j->item->q.rcpt_to, j->mx_host ? j->mx_host : "-", j->code,
	    rep.outcome == QUEUE_SENT ? "sent" : rep.outcome == QUEUE_RETRY ? "deferred" :
	    rep.outcome == QUEUE_BOUNCED ? "bounced" : "expired");
	free(err);
	dsn_free(rep.dsn);
	mime_summary_free(&sum);
	mime_summary_free(&orig);
}

void
relay__item_free(struct relay_item **itp)
{
	struct relay_item *it = *itp;

	if (!it)
		return;
	*itp = NULL;
	queue_item_clear(&it->q);
	free(it->wire);
	free(it);
}

static void
record_done(uv_work_t *w, int status)
{
	struct record_job *j = w->data;

	(void)status;
	j->relay->records--;
	relay__item_free(&j->item);
	free(j->text);
	free(j->mx_host);
	free(j);
}

void
relay__item_done(struct relay *r, struct relay_item *it, int code,
    const char *text, const char *mx_host, bool tls)
{
	struct record_job *j = xcalloc(1, sizeof(*j));

	j->relay = r;
	j->item = it;
	j->code = code;
	j->text = xstrdup(text);
	j->mx_host = xstrdup(mx_host);
	j->tls = tls;
	j->work.data = j;
	r->records++;
	uv_queue_work(r->loop, &j->work, record_run, record_done);
}

int
relay_start(uv_loop_t *loop, struct app *app, char **error_r)
{
	struct relay *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	r->app = app;
	if (!(r->tls = tls_client_ctx(error_r))) {
		free(r);
		return -1;
	}
	uv_timer_init(loop, &r->timer);
	uv_async_init(loop, &r->kick, on_kick);
	r->timer.data = r->kick.data = r;
	uv_timer_start(&r->timer, on_tick, RELAY_TICK_MS, RELAY_TICK_MS);
	app->relay = r;
	return 0;
}

void
relay_kick(struct app *app)
{
	if (app->relay)
		uv_async_send(&app->relay->kick);
}

static void
on_closed(uv_handle_t *h)
{
	struct relay *r = h->data;

	r->closed++;
}

void
relay_stop(struct app *app)
{
	struct relay *r = app->relay;

	if (!r || r->stopping)
		return;
	r->stopping = true;
	/* Rows in flight stay leased: they are tried again after the lease. */
	while (r->active)
		relay__route_abort(r->active);
	relay__idle_sweep(r, true);
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_closed);
	uv_close((uv_handle_t *)&r->kick, on_closed);
}

void
relay_free(struct app *app)
{
	struct relay *r = app->relay;

	if (!r)
		return;
	app->relay = NULL;
	SSL_CTX_free(r->tls);
	free(r);
}
