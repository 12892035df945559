/*
 * dmarc.c - DMARC policy discovery, identifier alignment and disposition
 * (RFC 7489 sections 3, 6.3, 6.6).
 *
 * The organisational domain is the Public Suffix List's registrable
 * domain (libpsl, ICANN and private sections; the newest of its built-in
 * list and Debian's /usr/share/publicsuffix, loaded once). A domain that is itself a public
 * suffix has no registrable domain; it is then its own organisational
 * domain, so its _dmarc record is still honoured.
 *
 * Policy discovery (6.6.3): TXT at _dmarc.<From domain>; records that do
 * not start with "v=DMARC1" are discarded. None left: ask
 * _dmarc.<organisational domain>. Several left: DMARC is not applied
 * (result none). A DNS temporary failure in either query is temperror.
 *
 * A record without a valid p= (or with an invalid sp=) is, as 6.6.3 step
 * 6 says, read as p=none when its rua= holds a syntactically valid URI;
 * otherwise no policy is applied and the result is permerror, the RFC
 * 8601 / 7489 11.2 result for "a syntactically incorrect DMARC record"
 * (disposition none). Other bad tags fall back to their defaults (6.3):
 * adkim=r, aspf=r, pct=100.
 *
 * Alignment (3.1): relaxed compares organisational domains, strict the
 * exact domains. sp= applies when the record came from the organisational
 * domain and the From domain is below it. A failing message gets the
 * policy when sample < pct; otherwise its disposition is none ("apply
 * local message classification as normal", 6.6.4). Disposition is none
 * for every result but fail.
 *
 * Domains are compared in lower-case A-label form (domain_name_normalize);
 * a From domain that is not a valid DNS name is permerror.
 */
#include <ctype.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/dmarc.h"
#include "gent/domain_name.h"
#include "gent/util.h"

enum dmarc_policy {
	POLICY_ABSENT = -1,
	POLICY_INVALID = -2,
	POLICY_NONE = 0,
	POLICY_QUARANTINE,
	POLICY_REJECT,
};

/* The tags of one record that we act on. */
struct dmarc_record {
	int		 p, sp;		/* enum dmarc_policy */
	bool		 adkim_strict;
	bool		 aspf_strict;
	unsigned	 pct;		/* 0..100 */
	bool		 rua_ok;	/* rua= holds a syntactically valid URI */
};

/* How the lookup of one _dmarc name went. */
enum record_find {
	FIND_NONE,
	FIND_ONE,
	FIND_MANY,
	FIND_TEMPFAIL,
};

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl;	/* read-only once loaded; never freed */

static void
psl_load(void)
{
	const psl_ctx_t *latest = psl_latest(NULL);

	psl = latest != NULL ? latest : psl_builtin();
}

static const char *
policy_name(int p)
{
	switch (p) {
	case POLICY_NONE:
		return "none";
	case POLICY_QUARANTINE:
		return "quarantine";
	case POLICY_REJECT:
		return "reject";
	default:
		return "";
	}
}

int
dmarc_org_domain(const char *domain, char *out, size_t out_len)
{
	const char *why, *reg;
	char *norm;
	int rc = -1;

	pthread_once(&psl_once, psl_load);
	norm = domain_name_normalize(domain, &why);
	if (norm == NULL || psl == NULL)
		goto out;
	reg = psl_registrable_domain(psl, norm);
	if (reg != NULL && strlen(reg) < out_len) {
		memcpy(out, reg, strlen(reg) + 1);
		rc = 0;
	}
out:
	free(norm);
	return rc;
}

/* Organisational domain of a normalised domain; itself if it has none. */
static void
org_or_self(const char *norm, char *out, size_t out_len)
{
	if (dmarc_org_domain(norm, out, out_len) != 0)
		snprintf(out, out_len, "%s", norm);
}

/* Is domain (any form) aligned with the normalised From domain? */
static bool
aligned(const char *domain, const char *from, const char *from_org,
    bool strict)
{
	char org[256];
	const char *why;
	char *norm;
	bool ok;

	if (domain == NULL || *domain == '\0')
		return false;
	norm = domain_name_normalize(domain, &why);
	if (norm == NULL)
		return false;
	if (strict) {
		ok = strcmp(norm, from) == 0;
	} else {
		org_or_self(norm, org, sizeof(org));
		ok = strcmp(org, from_org) == 0;
	}
	free(norm);
	return ok;
}

static bool
dkim_aligned(const struct dmarc_input *in, const char *from,
    const char *from_org, bool strict)
{
	for (size_t i = 0; i < in->n_dkim_pass; i++) {
		if (aligned(in->dkim_pass_domains[i], from, from_org, strict))
			return true;
	}
	return false;
}

static const char *
skip_wsp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* dmarc-version = "v" *WSP "=" *WSP %x44.4d.41.52.43.31 (6.4), first. */
static bool
record_is_dmarc(const char *s)
{
	const char *p = skip_wsp(s);

	if (*p != 'v' && *p != 'V')
		return false;
	p = skip_wsp(p + 1);
	if (*p != '=')
		return false;
	p = skip_wsp(p + 1);
	if (strncmp(p, "DMARC1", 6) != 0)
		return false;
	p = skip_wsp(p + 6);
	return *p == ';' || *p == '\0';
}

/* Look up _dmarc.<domain>; on FIND_ONE *rec_r is the record (free it). */
static enum record_find
record_fetch(dmarc_lookup_fn lookup, void *ctx, const char *domain,
    char **rec_r)
{
	struct dns_result res = { 0 };
	enum record_find r = FIND_NONE;
	char name[300];
	size_t found = 0;

	*rec_r = NULL;
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	lookup(ctx, name, DNS_T_TXT, &res);
	if (res.status == DNS_TEMPFAIL)
		r = FIND_TEMPFAIL;
	for (size_t i = 0; res.status == DNS_OK && i < res.n_records; i++) {
		if (res.records[i] == NULL || !record_is_dmarc(res.records[i]))
			continue;
		if (found++ == 0)
			*rec_r = xstrdup(res.records[i]);
	}
	if (found == 1)
		r = FIND_ONE;
	else if (found > 1)
		r = FIND_MANY;
	if (found > 1)
		xfree(rec_r);
	dns_result_free(&res);
	return r;
}

static int
parse_policy(const char *v)
{
	if (strcasecmp(v, "none") == 0)
		return POLICY_NONE;
	if (strcasecmp(v, "quarantine") == 0)
		return POLICY_QUARANTINE;
	if (strcasecmp(v, "reject") == 0)
		return POLICY_REJECT;
	return POLICY_INVALID;
}

/* pct: 1*3DIGIT, 0..100; anything else keeps the default. */
static void
parse_pct(const char *v, unsigned *pct)
{
	char *end;
	unsigned long n;

	if (!isdigit((unsigned char)*v) || strlen(v) > 3)
		return;
	n = strtoul(v, &end, 10);
	if (*end == '\0' && n <= 100)
		*pct = (unsigned)n;
}

/* dmarc-uri = URI: a scheme ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ),
 * ':' and something after it, in any of the comma-separated entries. */
static bool
rua_valid(const char *v)
{
	for (const char *p = v; *p != '\0';) {
		const char *q = skip_wsp(p);
		size_t n = 0;

		if (isalpha((unsigned char)*q)) {
			while (isalnum((unsigned char)q[n]) || q[n] == '+' ||
			    q[n] == '-' || q[n] == '.')
				n++;
			if (q[n] == ':' && q[n + 1] != '\0' && q[n + 1] != ',' &&
			    q[n + 1] != ' ')
				return true;
		}
		p = strchr(q, ',');
		if (p == NULL)
			break;
		p++;
	}
	return false;
}

static void
trim(char *s)
{
	size_t n = strlen(s);
	char *p = (char *)skip_wsp(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	memmove(s, p, strlen(p) + 1);
}

static void
record_tag(struct dmarc_record *r, const char *name, const char *v)
{
	if (strcasecmp(name, "p") == 0)
		r->p = parse_policy(v);
	else if (strcasecmp(name, "sp") == 0)
		r->sp = parse_policy(v);
	else if (strcasecmp(name, "adkim") == 0)
		r->adkim_strict = strcasecmp(v, "s") == 0;
	else if (strcasecmp(name, "aspf") == 0)
		r->aspf_strict = strcasecmp(v, "s") == 0;
	else if (strcasecmp(name, "pct") == 0)
		parse_pct(v, &r->pct);
	else if (strcasecmp(name, "rua") == 0)
		r->rua_ok = rua_valid(v);
}

/* dmarc-record = dmarc-version dmarc-sep *(dmarc-tag dmarc-sep) (6.4). */
static void
record_parse(const char *text, struct dmarc_record *r)
{
	char *copy = xstrdup(text), *save = NULL, *tag, *eq;

	r->p = r->sp = POLICY_ABSENT;
	r->adkim_strict = r->aspf_strict = false;
	r->pct = 100;
	r->rua_ok = false;
	for (tag = strtok_r(copy, ";", &save); tag != NULL;
	    tag = strtok_r(NULL, ";", &save)) {
		eq = strchr(tag, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		trim(tag);
		trim(eq + 1);
		record_tag(r, tag, eq + 1);
	}
	free(copy);
}

static void
set_text(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s);
}

/* Find the record: From domain first, then the organisational domain. */
static enum record_find
discover(dmarc_lookup_fn lookup, void *ctx, const char *from,
    const char *org, char **rec_r, struct dmarc_outcome *out)
{
	enum record_find f = record_fetch(lookup, ctx, from, rec_r);

	if (f == FIND_NONE && strcmp(from, org) != 0) {
		f = record_fetch(lookup, ctx, org, rec_r);
		if (f == FIND_ONE)
			set_text(out->record_domain, sizeof(out->record_domain), org);
	} else if (f == FIND_ONE) {
		set_text(out->record_domain, sizeof(out->record_domain), from);
	}
	return f;
}

/* The p= or sp= that applies, after the 6.6.3 step 6 fallback. */
static int
applicable_policy(const struct dmarc_record *r, const char *from,
    const char *org, const char *record_domain)
{
	bool sub = strcmp(from, org) != 0 && strcmp(record_domain, org) == 0;

	if (r->p < 0 || r->sp == POLICY_INVALID)
		return r->rua_ok ? POLICY_NONE : POLICY_INVALID;
	if (sub && r->sp != POLICY_ABSENT)
		return r->sp;
	return r->p;
}

static void
apply_record(const char *text, const struct dmarc_input *in,
    const char *from, struct dmarc_outcome *out)
{
	struct dmarc_record r;
	int policy;

	record_parse(text, &r);
	policy = applicable_policy(&r, from, out->org_domain,
	    out->record_domain);
	if (policy == POLICY_INVALID) {
		out->result = DMARC_PERMERROR;
		set_text(out->problem, sizeof(out->problem),
		    "DMARC record has no valid p= (or an invalid sp=)");
		return;
	}
	out->spf_aligned = in->spf_pass && aligned(in->spf_domain, from,
	    out->org_domain, r.aspf_strict);
	out->dkim_aligned = dkim_aligned(in, from, out->org_domain,
	    r.adkim_strict);
	set_text(out->policy, sizeof(out->policy), policy_name(policy));
	if (out->spf_aligned || out->dkim_aligned) {
		out->result = DMARC_PASS;
		return;
	}
	out->result = DMARC_FAIL;
	set_text(out->problem, sizeof(out->problem),
	    "no aligned SPF or DKIM pass");
	if (in->sample < r.pct)
		set_text(out->disposition, sizeof(out->disposition),
		    policy_name(policy));
}

static void
evaluate_domain(dmarc_lookup_fn lookup, void *ctx,
    const struct dmarc_input *in, const char *from, struct dmarc_outcome *out)
{
	char *rec = NULL;

	org_or_self(from, out->org_domain, sizeof(out->org_domain));
	switch (discover(lookup, ctx, from, out->org_domain, &rec, out)) {
	case FIND_TEMPFAIL:
		out->result = DMARC_TEMPERROR;
		set_text(out->problem, sizeof(out->problem),
		    "DMARC record lookup failed temporarily");
		break;
	case FIND_MANY:
		set_text(out->problem, sizeof(out->problem),
		    "several DMARC records: no policy applies");
		break;
	case FIND_NONE:
		set_text(out->problem, sizeof(out->problem), "no DMARC record");
		break;
	case FIND_ONE:
		apply_record(rec, in, from, out);
		break;
	}
	free(rec);
}

void
dmarc_evaluate(dmarc_lookup_fn lookup, void *ctx,
    const struct dmarc_input *in, struct dmarc_outcome *out)
{
	const char *why;
	char *from;

	memset(out, 0, sizeof(*out));
	out->result = DMARC_NONE;
	set_text(out->disposition, sizeof(out->disposition), "none");
	if (in->from_domain == NULL || *in->from_domain == '\0') {
		out->result = DMARC_PERMERROR;
		set_text(out->problem, sizeof(out->problem),
		    "no usable RFC5322.From domain");
		return;
	}
	from = domain_name_normalize(in->from_domain, &why);
	if (from == NULL) {
		out->result = DMARC_PERMERROR;
		snprintf(out->problem, sizeof(out->problem),
		    "From domain %s", why);
		return;
	}
	evaluate_domain(lookup, ctx, in, from, out);
	free(from);
}

const char *
dmarc_result_name(enum dmarc_result r)
{
	switch (r) {
	case DMARC_NONE:
		return "none";
	case DMARC_PASS:
		return "pass";
	case DMARC_FAIL:
		return "fail";
	case DMARC_TEMPERROR:
		return "temperror";
	case DMARC_PERMERROR:
		return "permerror";
	}
	return "permerror";
}
