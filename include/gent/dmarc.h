/*
 * dmarc.h - DMARC evaluation (RFC 7489) of one inbound message, given the
 * From domain and the SPF and DKIM results already computed.
 *
 * Pure apart from the caller's lookup function and the Public Suffix List
 * (libpsl), which is loaded once on first use and shared read-only, so
 * calls may run on several worker threads at once.
 */
#ifndef GENT_DMARC_H
#define GENT_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "gent/dns.h"

/** Fetch TXT records of name into *out (the caller frees it). */
typedef void (*dmarc_lookup_fn)(void *ctx, const char *name,
    enum dns_type type, struct dns_result *out);

enum dmarc_result {
	DMARC_NONE,		/* no (usable) policy record */
	DMARC_PASS,		/* an aligned identifier passed */
	DMARC_FAIL,		/* a record exists and nothing aligned passed */
	DMARC_TEMPERROR,	/* DNS failed for now */
	DMARC_PERMERROR,	/* no usable From domain, or a broken record */
};

struct dmarc_input {
	const char		*from_domain;	/* RFC5322.From domain, already extracted; NULL/"" = no usable From -> permerror */
	const char		*spf_domain;	/* domain SPF checked (MAIL FROM domain or HELO) */
	bool			 spf_pass;
	const char *const	*dkim_pass_domains;	/* d= of signatures that passed */
	size_t			 n_dkim_pass;
	unsigned		 sample;	/* 0..99 from the caller's RNG; policy applies when sample < pct */
};

struct dmarc_outcome {
	enum dmarc_result	 result;
	char			 record_domain[256];	/* where the record was found ("" if none) */
	char			 org_domain[256];	/* organisational domain of from_domain */
	char			 policy[16];		/* p= or sp= that applies: none, quarantine, reject ("" if no record) */
	char			 disposition[16];	/* what to do: none, quarantine, reject (pct applied) */
	bool			 spf_aligned, dkim_aligned;	/* false unless a policy record applied */
	char			 problem[160];		/* why not pass, "" on pass */
};

/**
 * Evaluate DMARC for in: find the policy record (_dmarc.<From domain>, else
 * _dmarc.<organisational domain>), check identifier alignment and apply
 * p=/sp= and pct=. Blocks while lookup does; call from a worker thread.
 */
void dmarc_evaluate(dmarc_lookup_fn lookup, void *ctx,
    const struct dmarc_input *in, struct dmarc_outcome *out);
/** Organisational domain (PSL registrable domain) of domain into out; returns 0, or -1 if none. */
int dmarc_org_domain(const char *domain, char *out, size_t out_len);
/** "none", "pass", "fail", "temperror", "permerror" (RFC 8601 names). */
const char *dmarc_result_name(enum dmarc_result r);

#endif
