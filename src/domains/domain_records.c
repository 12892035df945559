/*
 * domain_records.c - expected records and their verification.
 *
 * What counts as published:
 *   MX       any MX of the domain points at our hostname
 *   SPF      exactly one "v=spf1" TXT (two is a permerror, RFC 7208 4.5)
 *            that authorises us with "mx" or "a:<hostname>"
 *   DKIM     a TXT at <selector>._domainkey whose p= is our public key
 *   DMARC    exactly one "v=DMARC1" TXT at _dmarc whose p= is at least as
 *            strict as the chosen policy (none < quarantine < reject)
 *   owner    a TXT at _gent-verify equal to "gent-verify=<token>"
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/domain_records.h"
#include "gent/util.h"

enum { REC_MX, REC_SPF, REC_DKIM, REC_DMARC, REC_OWNER, REC_COUNT };

static const char *const rec_keys[REC_COUNT] = { "mx", "spf", "dkim", "dmarc", "ownership" };
static const char *const rec_purpose[REC_COUNT] = {
	"Routes incoming mail to your agent's inbox",
	"SPF: declares which servers may send on your behalf",
	"DKIM: cryptographically signs outgoing mail",
	"DMARC: tells receivers what to do with failing mail",
	"Ownership: proves you control this domain",
};

char *
domain_records_dmarc_value(const char *policy)
{
	return xasprintf("v=DMARC1; p=%s; adkim=r; aspf=r", policy);
}

/* host label ("@", "gent._domainkey", ...) and full name of record i. */
static void
rec_names(const struct domain_spec *d, int i, char **host_r, char **name_r)
{
	switch (i) {
	case REC_DKIM: *host_r = xasprintf("%s._domainkey", d->dkim_selector); break;
	case REC_DMARC: *host_r = xstrdup("_dmarc"); break;
	case REC_OWNER: *host_r = xstrdup("_gent-verify"); break;
	default: *host_r = xstrdup("@"); break;
	}
	*name_r = strcmp(*host_r, "@") == 0 ? xstrdup(d->name) :
	    xasprintf("%s.%s", *host_r, d->name);
}

static char *
rec_value(const struct domain_spec *d, int i)
{
	switch (i) {
	case REC_MX: return xstrdup(d->hostname);
	case REC_SPF: return xasprintf("v=spf1 mx a:%s ~all", d->hostname);
	case REC_DKIM: return xasprintf("v=DKIM1; k=rsa; p=%s", d->dkim_pubkey);
	case REC_DMARC: return domain_records_dmarc_value(d->dmarc_policy);
	default: return xasprintf("gent-verify=%s", d->verify_token);
	}
}

static json_t *
rec_json(const struct domain_spec *d, int i)
{
	char *host, *name, *value = rec_value(d, i);
	json_t *r;

	rec_names(d, i, &host, &name);
	r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "key", rec_keys[i],
	    "type", i == REC_MX ? "MX" : "TXT", "host", host, "name", name,
	    "value", value, "purpose", rec_purpose[i]);
	if (i == REC_MX)
		json_object_set_new(r, "priority", json_integer(10));
	free(host);
	free(name);
	free(value);
	return r;
}

json_t *
domain_records_expected(const struct domain_spec *d)
{
	json_t *a = json_array();

	for (int i = 0; i < REC_COUNT; i++)
		json_array_append_new(a, rec_json(d, i));
	return a;
}

/* Case-insensitive "starts with tag followed by space, ';' or end". */
static bool
has_version(const char *txt, const char *tag)
{
	size_t n = strlen(tag);

	return strncasecmp(txt, tag, n) == 0 &&
	    (txt[n] == '\0' || txt[n] == ' ' || txt[n] == ';');
}

/* Value of tag in a "k=v; k=v" record with spaces removed; caller frees. */
static char *
tag_value(const char *txt, const char *tag)
{
	size_t n = strlen(tag);
	const char *p = txt;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *q = p;
		while (q < p + len && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(p + len - q) > n && strncasecmp(q, tag, n) == 0) {
			const char *v = q + n;
			while (*v == ' ' || *v == '\t')
				v++;
			if (*v == '=') {
				struct buf out = { 0 };
				for (v++; v < p + len; v++)
					if (!isspace((unsigned char)*v))
						buf_append(&out, v, 1);
				return out.data ? out.data : xstrdup("");
			}
		}
		p += len;
	}
	return NULL;
}

static int
dmarc_rank(const char *p)
{
	if (!p)
		return -1;
	if (strcasecmp(p, "none") == 0)
		return 0;
	if (strcasecmp(p, "quarantine") == 0)
		return 1;
	if (strcasecmp(p, "reject") == 0)
		return 2;
	return -1;
}

static bool
spf_authorises(const char *rec, const char *hostname)
{
	char *copy = xstrdup(rec), *save = NULL, *tok;
	bool ok = false;

	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (*tok == '+')
			tok++;
		if (strcasecmp(tok, "mx") == 0 ||
		    (strncasecmp(tok, "a:", 2) == 0 && strcasecmp(tok + 2, hostname) == 0))
			ok = true;
	}
	free(copy);
	return ok;
}

/* Decide one record's status from the DNS answer. */
static const char *
judge(const struct domain_spec *d, int i, const struct dns_result *res,
    const char **detail)
{
	size_t matches = 0, versioned = 0;

	*detail = NULL;
	if (res->status == DNS_TEMPFAIL) {
		*detail = "DNS look-up failed; try again";
		return "error";
	}
	if (res->status != DNS_OK)
		return "missing";
	for (size_t k = 0; k < res->n_records; k++) {
		const char *r = res->records[k];
		switch (i) {
		case REC_MX: {
			const char *host = strchr(r, ' ');
			char *h = xstrdup(host ? host + 1 : r);
			size_t n = strlen(h);
			if (n && h[n - 1] == '.')
				h[n - 1] = '\0';
			matches += strcasecmp(h, d->hostname) == 0;
			free(h);
			break;
		}
		case REC_SPF:
			if (has_version(r, "v=spf1")) {
				versioned++;
				matches += spf_authorises(r, d->hostname);
			}
			break;
		case REC_DKIM: {
			char *p = tag_value(r, "p");
			matches += p && strcmp(p, d->dkim_pubkey) == 0;
			versioned += p != NULL;
			free(p);
			break;
		}
		case REC_DMARC:
			if (has_version(r, "v=DMARC1")) {
				char *p = tag_value(r, "p");
				versioned++;
				matches += dmarc_rank(p) >= dmarc_rank(d->dmarc_policy);
				free(p);
			}
			break;
		default: {
			char *want = xasprintf("gent-verify=%s", d->verify_token);
			matches += strcmp(r, want) == 0;
			free(want);
		}
		}
	}
	if ((i == REC_SPF || i == REC_DMARC) && versioned > 1) {
		*detail = "more than one record of this kind; receivers treat that as an error";
		return "mismatch";
	}
	if (matches)
		return "verified";
	if ((i == REC_SPF || i == REC_DMARC || i == REC_DKIM) && versioned == 0)
		return "missing";
	if (i == REC_DMARC)
		*detail = "p= is weaker than the chosen policy";
	return "mismatch";
}

static json_t *
found_json(const struct dns_result *res)
{
	json_t *a = json_array();

	for (size_t k = 0; k < res->n_records; k++)
		json_array_append_new(a, json_string(res->records[k]));
	return a;
}

json_t *
domain_records_check(const struct domain_spec *d, domain_lookup_fn lookup,
    void *ctx, bool *all_ok_r, bool *kept_ok_r)
{
	json_t *out = json_array();

	*all_ok_r = *kept_ok_r = true;
	for (int i = 0; i < REC_COUNT; i++) {
		json_t *r = rec_json(d, i);
		struct dns_result res = { 0 };
		const char *detail, *status;

		lookup(ctx, json_string_value(json_object_get(r, "name")),
		    i == REC_MX ? DNS_T_MX : DNS_T_TXT, &res);
		status = judge(d, i, &res, &detail);
		json_object_set_new(r, "status", json_string(status));
		json_object_set_new(r, "found", found_json(&res));
		json_object_set_new(r, "detail", detail ? json_string(detail) : json_null());
		if (strcmp(status, "verified") != 0) {
			*all_ok_r = false;
			if (i != REC_OWNER)
				*kept_ok_r = false;
		}
		dns_result_free(&res);
		json_array_append_new(out, r);
	}
	return out;
}
