/*
 * smtp_client_tx.c - one transaction on a ready connection: MAIL, RCPT,
 * DATA, the message, the final reply, and the result.
 *
 * Before anything is sent the transaction is checked here (addresses,
 * line lengths, SIZE, SMTPUTF8); a refusal is a synthetic 5xx result,
 * reported from the `later` timer. Otherwise, with PIPELINING (RFC 2920)
 * MAIL, every RCPT and DATA go in one write and the replies are taken in
 * order as they come; without it each command waits for the previous
 * reply. Every reply is looked at (RFC 2920 3.1): a 354 to DATA after
 * all recipients failed gets a lone ".", not the message.
 *
 * Deciding the result (struct smtp_send_result in smtp_client.h): the
 * first reply that settles the transaction is kept in result.reply and
 * never replaced, so a failure later (RSET refused, connection lost)
 * does not hide why the transaction failed. A transaction that ended
 * before its final dot is followed by RSET, and on_sent runs when RSET
 * is answered, so the connection is ready for the next one.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/log.h"
#include "smtp_client_int.h"

void
smtp_client__tx_free(struct smtp_client_tx **txp)
{
	struct smtp_client_tx *tx = *txp;

	if (!tx)
		return;
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		free(tx->rcpt_addrs[i]);
		smtp_client__reply_free(&tx->rcpts[i].reply);
	}
	free(tx->rcpt_addrs);
	free(tx->rcpts);
	free(tx->rcpt_ok);
	free(tx->rcpt_local);
	smtp_client__reply_free(&tx->result.reply);
	free(tx->mail_from);
	free(tx);
	*txp = NULL;
}

static const char *
outcome_name(enum smtp_send_outcome o)
{
	return o == SMTP_SEND_DELIVERED ? "delivered" :
	    o == SMTP_SEND_REJECTED ? "rejected" : "deferred";
}

void
smtp_client__tx_deliver(struct smtp_client *c)
{
	struct smtp_client_tx *tx = c->tx;

	if (!tx)
		return;
	gent_assert(tx->decided);
	/* Every recipient has a reply, as smtp_client.h promises. */
	for (size_t i = 0; i < tx->n_rcpts; i++)
		if (!tx->rcpts[i].reply.text)
			smtp_client__reply_copy(&tx->rcpts[i].reply,
			    &tx->result.reply);
	c->tx = NULL;	/* on_sent may start the next one */
	c->last_tx = tx->stats;
	log_info("relay", NULL, "%016" PRIx64 " smtp-client result %s "
	    "rcpts=%zu accepted=%zu size=%zu tls=%s outcome=%s reply=%d %s "
	    "%.200s", c->id, c->peer, tx->n_rcpts, tx->n_accepted,
	    tx->info.size, tx->result.tls ? "yes" : "no",
	    outcome_name(tx->result.outcome), tx->result.reply.code,
	    tx->result.reply.enhanced, tx->result.reply.text);
	if (!(c->flags & SMTP_CF_DETACHED))
		tx->cb(c, &tx->result, tx->arg);
	smtp_client__tx_free(&tx);
}

/* Keep the first deciding reply; final = the reply after the dot. */
static void
decide(struct smtp_client_tx *tx, const struct smtp_client_reply *r,
    bool final)
{
	if (tx->decided)
		return;
	tx->decided = true;
	smtp_client__reply_copy(&tx->result.reply, r);
	if (final && r->code / 100 == 2)
		tx->result.outcome = SMTP_SEND_DELIVERED;
	else if (r->code / 100 == 5)
		tx->result.outcome = SMTP_SEND_REJECTED;
	else
		tx->result.outcome = SMTP_SEND_DEFERRED;
}

enum rcpt_which {
	RCPT_SENT,		/* all not refused here */
	RCPT_ACCEPTED,		/* 2xx to RCPT */
	RCPT_UNANSWERED,	/* no reply yet */
};

static void
set_rcpts(struct smtp_client_tx *tx, const struct smtp_client_reply *r,
    enum rcpt_which which)
{
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		if (tx->rcpt_local[i] ||
		    (which == RCPT_ACCEPTED && !tx->rcpt_ok[i]) ||
		    (which == RCPT_UNANSWERED && tx->rcpts[i].reply.code != 0))
			continue;
		smtp_client__reply_copy(&tx->rcpts[i].reply, r);
	}
}

/* Nobody accepted: a temporary refusal decides over a permanent one. */
static void
decide_no_rcpts(struct smtp_client_tx *tx)
{
	const struct smtp_client_reply *temp = NULL, *perm = NULL;

	for (size_t i = 0; i < tx->n_rcpts; i++) {
		const struct smtp_client_reply *r = &tx->rcpts[i].reply;
		if (r->code / 100 == 5) {
			if (!perm)
				perm = r;
		} else if (r->code != 0 && !temp) {
			temp = r;
		}
	}
	if (temp || perm) {
		decide(tx, temp ? temp : perm, false);
		return;
	}
	struct smtp_client_reply none = { 421, "4.5.0",
	    (char *)"no recipient was accepted" };
	decide(tx, &none, false);
}

/* Refused here: the synthetic reply for the result and every recipient. */
static void
refuse(struct smtp_client_tx *tx, int code, const char *enhanced,
    const char *fmt, ...)
{
	struct smtp_client_reply r = { .code = code };
	va_list ap;

	snprintf(r.enhanced, sizeof(r.enhanced), "%s", enhanced);
	va_start(ap, fmt);
	if (vasprintf(&r.text, fmt, ap) < 0)
		abort();
	va_end(ap);
	decide(tx, &r, false);
	set_rcpts(tx, &r, RCPT_SENT);
	free(r.text);
}

/*
 * A path we can put between < and > (RFC 5321 4.1.2) without changing
 * the command: no control characters, no angle brackets, at most 254
 * octets. Non-ASCII needs SMTPUTF8 (RFC 6531).
 */
static bool
valid_addr(const char *a, bool allow_empty, bool *utf8)
{
	size_t n = strlen(a);

	if ((n == 0 && !allow_empty) || n > SMTP_CLIENT_ADDR_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)a[i];
		if (ch < 0x20 || ch == 0x7f || ch == '<' || ch == '>')
			return false;
		if (ch >= 0x80)
			*utf8 = true;
	}
	return true;
}

/* true when the transaction was refused here. */
static bool
check_local(struct smtp_client *c, struct smtp_client_tx *tx)
{
	const struct smtp_client_caps *caps = &c->caps;
	bool utf8 = false;
	size_t n_local = 0;

	if (!valid_addr(tx->mail_from, true, &utf8)) {
		refuse(tx, 553, "5.1.7", "sender address is malformed");
		return true;
	}
	if (tx->info.longest > SMTP_CLIENT_LINE_MAX) {
		refuse(tx, 554, "5.6.0",
		    "message has lines longer than 998 octets");
		return true;
	}
	if ((caps->flags & SMTP_CAP_SIZE) && caps->size_max > 0 &&
	    tx->info.size > caps->size_max) {
		refuse(tx, 552, "5.3.4", "message size %zu exceeds the limit "
		    "of %" PRIu64 " octets of %s", tx->info.size,
		    caps->size_max, c->peer);
		return true;
	}
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		if (valid_addr(tx->rcpt_addrs[i], false, &utf8))
			continue;
		tx->rcpt_local[i] = true;
		n_local++;
		smtp_client__reply_set(&tx->rcpts[i].reply, 553, "5.1.3",
		    "recipient address is malformed");
	}
	tx->needs_utf8 = utf8 || tx->info.header_8bit;
	if (tx->needs_utf8 && !(caps->flags & SMTP_CAP_SMTPUTF8)) {
		refuse(tx, 553, "5.6.7", "SMTPUTF8 is needed (non-ASCII "
		    "address or header) but %s does not offer it", c->peer);
		return true;
	}
	if (n_local == tx->n_rcpts) {
		decide_no_rcpts(tx);
		return true;
	}
	return false;
}

/* "MAIL FROM:<a> SIZE=n BODY=8BITMIME SMTPUTF8" (RFC 1870, 6152, 6531). */
static char *
mail_line(struct smtp_client *c, struct smtp_client_tx *tx)
{
	struct buf b = { 0 };

	buf_printf(&b, "MAIL FROM:<%s>", tx->mail_from);
	if (c->caps.flags & SMTP_CAP_SIZE)
		buf_printf(&b, " SIZE=%zu", tx->info.size);
	if (tx->info.eight_bit && (c->caps.flags & SMTP_CAP_8BITMIME))
		buf_append_str(&b, " BODY=8BITMIME");
	if (tx->needs_utf8)
		buf_append_str(&b, " SMTPUTF8");
	return b.data;
}

static void
finish(struct smtp_client *c)
{
	smtp_client__set_state(c, SMTP_C_READY);
	smtp_client__tx_deliver(c);
}

/* The transaction stopped before its end: reset, then report. */
static void
finish_failed(struct smtp_client *c)
{
	smtp_client__set_state(c, SMTP_C_RSET);
	smtp_client__command(c, SMTP_CMD_RSET, 0, "RSET");
}

static void
send_data(struct smtp_client *c, struct smtp_client_tx *tx)
{
	tx->stats.data_sent = true;
	tx->stats.envelope_writes++;
	smtp_client__command(c, SMTP_CMD_DATA, 0, "DATA");
}

/* Unpipelined: the next recipient, or DATA, or RSET when none took. */
static void
send_next_rcpt(struct smtp_client *c, struct smtp_client_tx *tx)
{
	while (tx->next_rcpt < tx->n_rcpts && tx->rcpt_local[tx->next_rcpt])
		tx->next_rcpt++;
	if (tx->next_rcpt < tx->n_rcpts) {
		size_t i = tx->next_rcpt++;
		tx->stats.envelope_writes++;
		smtp_client__command(c, SMTP_CMD_RCPT, i, "RCPT TO:<%s>",
		    tx->rcpt_addrs[i]);
	} else if (tx->n_accepted > 0) {
		send_data(c, tx);
	} else {
		decide_no_rcpts(tx);
		finish_failed(c);
	}
}

static void
batch_add(struct smtp_client *c, struct buf *b, enum smtp_client_cmd cmd,
    size_t rcpt, const char *line)
{
	log_debug("relay", NULL, "%016" PRIx64 " smtp-client C: %s", c->id,
	    line);
	buf_printf(b, "%s\r\n", line);
	smtp_client__push(c, cmd, rcpt);
}

static void
start(struct smtp_client *c, struct smtp_client_tx *tx)
{
	char *mail = mail_line(c, tx);
	struct buf b = { 0 };

	smtp_client__set_state(c, SMTP_C_ENVELOPE);
	tx->stats.envelope_writes = 1;
	if (!(c->caps.flags & SMTP_CAP_PIPELINING) || c->avoid_pipelining) {
		smtp_client__command(c, SMTP_CMD_MAIL, 0, "%s", mail);
		free(mail);
		return;
	}
	/* RFC 2920 3.1: DATA ends the command group. */
	tx->stats.pipelined = true;
	tx->stats.data_sent = true;
	batch_add(c, &b, SMTP_CMD_MAIL, 0, mail);
	free(mail);
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		char *line;
		if (tx->rcpt_local[i])
			continue;
		line = xasprintf("RCPT TO:<%s>", tx->rcpt_addrs[i]);
		batch_add(c, &b, SMTP_CMD_RCPT, i, line);
		free(line);
	}
	batch_add(c, &b, SMTP_CMD_DATA, 0, "DATA");
	smtp_client__write(c, b.data, b.len);
	buf_free(&b);
}

int
smtp_client_send(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t n_rcpts, const char *msg, size_t len,
    smtp_client_sent_cb on_sent, void *arg)
{
	struct smtp_client_tx *tx;

	if (!smtp_client_usable(c) || !mail_from || !rcpts || n_rcpts == 0 ||
	    n_rcpts > SMTP_CLIENT_MAX_RCPTS || !on_sent || (!msg && len > 0))
		return -1;
	for (size_t i = 0; i < n_rcpts; i++)
		if (!rcpts[i])
			return -1;
	tx = xcalloc(1, sizeof(*tx));
	tx->mail_from = xstrdup(mail_from);
	tx->n_rcpts = n_rcpts;
	tx->rcpt_addrs = xcalloc(n_rcpts, sizeof(*tx->rcpt_addrs));
	tx->rcpts = xcalloc(n_rcpts, sizeof(*tx->rcpts));
	tx->rcpt_ok = xcalloc(n_rcpts, sizeof(*tx->rcpt_ok));
	tx->rcpt_local = xcalloc(n_rcpts, sizeof(*tx->rcpt_local));
	for (size_t i = 0; i < n_rcpts; i++) {
		tx->rcpt_addrs[i] = xstrdup(rcpts[i]);
		tx->rcpts[i].rcpt = tx->rcpt_addrs[i];
	}
	tx->result.rcpts = tx->rcpts;
	tx->result.n_rcpts = n_rcpts;
	tx->result.tls = (c->flags & SMTP_CF_TLS) != 0;
	tx->cb = on_sent;
	tx->arg = arg;
	smtp_client__body_scan(msg ? msg : "", len, &tx->info);
	smtp_client__body_start(&tx->enc, msg ? msg : "", len);
	c->tx = tx;
	if (check_local(c, tx)) {
		tx->stats.local = true;
		smtp_client__report_later(c);
		return 0;
	}
	start(c, tx);
	return 0;
}

/* --- replies --- */

static void
on_mail(struct smtp_client *c, struct smtp_client_tx *tx,
    const struct smtp_client_reply *r)
{
	if (r->code / 100 == 2) {
		tx->mail_ok = true;
		if (!tx->stats.pipelined)
			send_next_rcpt(c, tx);
		return;
	}
	decide(tx, r, false);
	set_rcpts(tx, r, RCPT_SENT);
	/* Pipelined: the RCPT and DATA replies are still to come. */
	if (!tx->stats.pipelined)
		finish_failed(c);
}

static void
on_rcpt(struct smtp_client *c, struct smtp_client_tx *tx, size_t i,
    const struct smtp_client_reply *r)
{
	if (tx->mail_ok) {
		smtp_client__reply_copy(&tx->rcpts[i].reply, r);
		if (r->code / 100 == 2) {
			tx->rcpt_ok[i] = true;
			tx->n_accepted++;
		}
	}
	if (!tx->stats.pipelined)
		send_next_rcpt(c, tx);
}

static void
on_data(struct smtp_client *c, struct smtp_client_tx *tx,
    const struct smtp_client_reply *r)
{
	if (r->code == 354 && !tx->decided && tx->n_accepted > 0) {
		smtp_client__set_state(c, SMTP_C_BODY);
		smtp_client__tx_pump(c);
		return;
	}
	if (!tx->decided) {
		if (tx->n_accepted == 0) {
			decide_no_rcpts(tx);
		} else {
			decide(tx, r, false);
			set_rcpts(tx, r, RCPT_ACCEPTED);
		}
	}
	if (r->code == 354) {
		/* RFC 2920 3.1: DATA was accepted though nothing is to be
		 * sent; end it at once with an empty message. */
		smtp_client__command(c, SMTP_CMD_DOT_EMPTY, 0, ".");
		return;
	}
	finish_failed(c);
}

void
smtp_client__tx_reply(struct smtp_client *c,
    const struct smtp_client_pending *p, const struct smtp_client_reply *r)
{
	struct smtp_client_tx *tx = c->tx;

	if (!tx) {
		smtp_client__fail(c, 421, "4.5.0", "reply from %s outside a "
		    "transaction", c->peer);
		return;
	}
	switch (p->cmd) {
	case SMTP_CMD_MAIL:
		on_mail(c, tx, r);
		break;
	case SMTP_CMD_RCPT:
		on_rcpt(c, tx, p->rcpt, r);
		break;
	case SMTP_CMD_DATA:
		on_data(c, tx, r);
		break;
	case SMTP_CMD_DOT:
		decide(tx, r, true);
		set_rcpts(tx, r, RCPT_ACCEPTED);
		finish(c);
		break;
	case SMTP_CMD_DOT_EMPTY:
		finish(c);
		break;
	case SMTP_CMD_RSET:
		if (r->code / 100 == 2)
			finish(c);
		else
			smtp_client__fail(c, 421, "4.5.0", "%s refused RSET: "
			    "%d", c->peer, r->code);
		break;
	default:
		smtp_client__fail(c, 421, "4.5.0", "reply from %s out of order",
		    c->peer);
		break;
	}
}

void
smtp_client__tx_pump(struct smtp_client *c)
{
	struct smtp_client_tx *tx = c->tx;

	while (tx && c->state == SMTP_C_BODY && !c->handles_closing &&
	    c->writing < SMTP_CLIENT_BLOCK) {
		struct buf chunk = { 0 };

		if (smtp_client__body_encode(&tx->enc, &chunk,
		    SMTP_CLIENT_BLOCK)) {
			/* The last block: now the final reply is due. */
			smtp_client__set_state(c, SMTP_C_DOT);
			smtp_client__push(c, SMTP_CMD_DOT, 0);
		} else {
			smtp_client__arm(c, c->t_data_block);
		}
		smtp_client__write(c, chunk.data, chunk.len);
		buf_free(&chunk);
	}
}

void
smtp_client__tx_early_reply(struct smtp_client *c,
    const struct smtp_client_reply *r)
{
	struct smtp_client_tx *tx = c->tx;

	if (tx && !tx->decided) {
		decide(tx, r, false);
		set_rcpts(tx, r, RCPT_ACCEPTED);
	}
	smtp_client__fail(c, 421, "4.5.0", "%s replied %d before the end of "
	    "the message", c->peer, r->code);
}

void
smtp_client__tx_conn_failed(struct smtp_client *c,
    const struct smtp_client_reply *why)
{
	struct smtp_client_tx *tx = c->tx;

	if (!tx)
		return;
	if (!tx->decided) {
		decide(tx, why, false);
		set_rcpts(tx, why, RCPT_ACCEPTED);
	}
	set_rcpts(tx, why, RCPT_UNANSWERED);
}
