/*
 * inbound_auth.c - who sent this message: SPF for the envelope sender (or
 * the HELO name for the null sender), DKIM for every signature, DMARC for
 * the From domain; all DNS through the daemon's resolver. The verdicts go
 * into an Authentication-Results header (RFC 8601) on the stored copy and
 * into the message's trace.
 *
 * Authentication-Results headers that arrive claiming our authserv-id
 * (the hostname) are removed first (RFC 8601 5): nobody outside may speak
 * for us.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/dmarc.h"
#include "gent/dns.h"
#include "gent/gent_dkim.h"
#include "gent/ids.h"
#include "gent/spf.h"
#include "gent/util.h"
#include "inbound_int.h"

static void
lookup(void *ctx, const char *name, enum dns_type type, struct dns_result *out)
{
	struct app *app = ctx;

	dns_lookup_sync(app->dns, name, type, 0, out);
}

static const char *
domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at ? at + 1 : NULL;
}

static int
disposition_rank(const char *d)
{
	return strcmp(d, "reject") == 0 ? 2 : strcmp(d, "quarantine") == 0 ? 1 : 0;
}

/*
 * DMARC for each distinct author domain. One author is the usual case;
 * with several (RFC 7489 6.6.1) every domain's policy is applied and the
 * strictest disposition wins, so adding a second author to a forged
 * From cannot dodge its domain's p=reject.
 */
static void
run_dmarc(struct app *app, const struct mime_summary *sum,
    const struct spf_outcome *spf, const struct gent_dkim_report *dkim,
    struct dmarc_outcome *out)
{
	const char *passing[64];
	struct dmarc_input in = { 0 };
	unsigned char r;
	size_t evaluated = 0;

	for (size_t i = 0; i < dkim->n_sigs && in.n_dkim_pass < 64; i++)
		if (dkim->sigs[i].result == GENT_DKIM_PASS)
			passing[in.n_dkim_pass++] = dkim->sigs[i].domain;
	ids_random_bytes(&r, 1);
	in.spf_domain = spf->domain;
	in.spf_pass = spf->result == SPF_PASS;
	in.dkim_pass_domains = passing;
	in.sample = r % 100;
	for (size_t i = 0; i < sum->n_authors; i++) {
		const char *dom = domain_of(sum->authors[i]);
		bool seen = false;
		struct dmarc_outcome one;
		for (size_t k = 0; k < i && dom; k++)
			seen |= domain_of(sum->authors[k]) &&
			    strcasecmp(domain_of(sum->authors[k]), dom) == 0;
		if (!dom || !*dom || seen)
			continue;
		in.from_domain = dom;
		dmarc_evaluate(lookup, app, &in, &one);
		if (evaluated++ == 0 || disposition_rank(one.disposition) >
		    disposition_rank(out->disposition))
			*out = one;
	}
	if (evaluated == 0) {	/* no usable author: DMARC's permerror */
		in.from_domain = NULL;
		dmarc_evaluate(lookup, app, &in, out);
	}
}

static json_t *
dkim_json(const struct gent_dkim_report *dkim)
{
	json_t *a = json_array();

	for (size_t i = 0; i < dkim->n_sigs; i++) {
		const struct gent_dkim_sig *s = &dkim->sigs[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}",
		    "result", gent_dkim_result_name(s->result), "domain", s->domain,
		    "selector", s->selector, "algorithm", s->algorithm,
		    "key_bits", (json_int_t)s->key_bits, "problem", s->problem));
	}
	return a;
}

static void
build_json(struct inbound_auth *a)
{
	a->json = json_pack("{s:{s:s, s:s, s:s, s:s}, s:o, s:{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s}}",
	    "spf", "result", spf_result_name(a->spf.result), "domain", a->spf.domain,
	    "mechanism", a->spf.mechanism, "problem", a->spf.problem,
	    "dkim", dkim_json(&a->dkim),
	    "dmarc", "result", dmarc_result_name(a->dmarc.result),
	    "record_domain", a->dmarc.record_domain, "org_domain", a->dmarc.org_domain,
	    "policy", a->dmarc.policy, "disposition", a->dmarc.disposition,
	    "spf_aligned", a->dmarc.spf_aligned, "dkim_aligned", a->dmarc.dkim_aligned,
	    "problem", a->dmarc.problem);
}

/* RFC 8601 header: one resinfo per method, each on its own folded line. */
static void
build_header(struct app *app, const struct smtp_envelope *env,
    const struct mime_summary *sum, struct inbound_auth *a)
{
	struct buf h = { 0 };

	buf_printf(&h, "Authentication-Results: %s;\r\n\tspf=%s %s=%s",
	    app->conf->hostname, spf_result_name(a->spf.result),
	    env->mail_from[0] ? "smtp.mailfrom" : "smtp.helo",
	    env->mail_from[0] ? env->mail_from : env->helo);
	if (a->dkim.n_sigs == 0)
		buf_append_str(&h, ";\r\n\tdkim=none");
	for (size_t i = 0; i < a->dkim.n_sigs; i++)
		buf_printf(&h, ";\r\n\tdkim=%s header.d=%s header.s=%s header.a=%s",
		    gent_dkim_result_name(a->dkim.sigs[i].result),
		    a->dkim.sigs[i].domain, a->dkim.sigs[i].selector,
		    a->dkim.sigs[i].algorithm[0] ? a->dkim.sigs[i].algorithm : "unknown");
	if (a->dmarc.result == DMARC_NONE && !domain_of(sum->from_addr))
		buf_append_str(&h, ";\r\n\tdmarc=none");
	else
		buf_printf(&h, ";\r\n\tdmarc=%s (p=%s dis=%s) header.from=%s",
		    dmarc_result_name(a->dmarc.result),
		    a->dmarc.policy[0] ? a->dmarc.policy : "none",
		    a->dmarc.disposition[0] ? a->dmarc.disposition : "none",
		    domain_of(sum->from_addr) ? domain_of(sum->from_addr) : "unknown");
	buf_append_str(&h, "\r\n");
	a->header = h.data;
}

void
inbound__authenticate(struct app *app, const struct smtp_envelope *env,
    const struct mime_summary *sum, const char *data, size_t len,
    struct inbound_auth *out)
{
	struct spf_request req = { env->client_ip, env->helo, env->mail_from,
	    app->conf->hostname };

	memset(out, 0, sizeof(*out));
	spf_check(lookup, app, &req, &out->spf);
	gent_dkim_verify(lookup, app, data, len, &out->dkim);
	run_dmarc(app, sum, &out->spf, &out->dkim, &out->dmarc);
	build_json(out);
	build_header(app, env, sum, out);
}

void
inbound__auth_free(struct inbound_auth *a)
{
	gent_dkim_report_free(&a->dkim);
	json_decref(a->json);
	free(a->header);
	memset(a, 0, sizeof(*a));
}

/* Does this header line start an Authentication-Results for authserv_id? */
static bool
is_our_results(const char *line, size_t len, const char *authserv_id)
{
	static const char name[] = "Authentication-Results:";
	size_t n = sizeof(name) - 1, id = strlen(authserv_id);
	const char *p;

	if (len < n || strncasecmp(line, name, n) != 0)
		return false;
	for (p = line + n; p < line + len && (*p == ' ' || *p == '\t'); p++)
		;
	return (size_t)(line + len - p) >= id && strncasecmp(p, authserv_id, id) == 0 &&
	    (p + id == line + len || p[id] == ';' || p[id] == ' ' || p[id] == '\r');
}

char *
inbound__strip_forged_results(const char *data, size_t len,
    const char *authserv_id, size_t *len_r)
{
	struct buf out = { 0 };
	size_t i = 0;
	bool dropping = false, in_headers = true;

	while (i < len) {
		const char *eol = memchr(data + i, '\n', len - i);
		size_t n = eol ? (size_t)(eol - (data + i)) + 1 : len - i;
		const char *line = data + i;
		if (in_headers && (n <= 2 && (line[0] == '\r' || line[0] == '\n')))
			in_headers = false;	/* the blank line: headers end */
		if (in_headers && (line[0] == ' ' || line[0] == '\t')) {
			/* continuation of the previous header */
		} else if (in_headers) {
			dropping = is_our_results(line, n, authserv_id);
		} else {
			dropping = false;
		}
		if (!dropping)
			buf_append(&out, line, n);
		i += n;
	}
	*len_r = out.len;
	return out.data ? out.data : xstrdup("");
}
