/*
 * domain_records.h - the five DNS records a domain publishes for gentd,
 * and the checks that compare them with what DNS really says.
 *
 * Pure functions: the DNS look-up is passed in, so tests can feed answers.
 */
#ifndef GENT_DOMAIN_RECORDS_H
#define GENT_DOMAIN_RECORDS_H

#include <jansson.h>
#include <stdbool.h>

#include "gent/dns.h"

struct domain_spec {
	const char	*name;		/* normalised domain */
	const char	*hostname;	/* this server: the MX target */
	const char	*dkim_selector;	/* "gent" */
	const char	*dkim_pubkey;	/* base64 SubjectPublicKeyInfo */
	const char	*dmarc_policy;	/* none, quarantine, reject */
	const char	*verify_token;
};

/** Look up name/type into out (a zeroed struct the caller frees). */
typedef void (*domain_lookup_fn)(void *ctx, const char *name,
    enum dns_type type, struct dns_result *out);

/** The records to publish: [{key, type, host, name, value, priority?}]. */
json_t *domain_records_expected(const struct domain_spec *d);

/**
 * Check every record. Each entry of the returned array is the expected
 * record plus "status" (verified, missing, mismatch, error), "found" (what
 * DNS holds) and "detail". *all_ok_r: all five verified; *kept_ok_r: the
 * four records that must stay (all but ownership) verified.
 */
json_t *domain_records_check(const struct domain_spec *d,
    domain_lookup_fn lookup, void *ctx, bool *all_ok_r, bool *kept_ok_r);

/** The DMARC record value for a policy. Caller frees. */
char *domain_records_dmarc_value(const char *policy);

#endif
