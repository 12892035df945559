/*
 * spf.h - Sender Policy Framework evaluation (RFC 7208) on our resolver.
 *
 * spf_check() is check_host() of RFC 7208 section 4: it fetches the
 * "v=spf1" TXT record of the MAIL FROM domain (or of the HELO name for the
 * null reverse-path), evaluates its mechanisms and modifiers in order, and
 * says whether the client address is authorised. Every DNS query goes
 * through the caller's lookup function; the module keeps no state between
 * calls and is safe to run on several worker threads at once.
 *
 * Nothing is special about loopback or private client addresses: a client
 * passes only when the domain's policy says so (RELIABILITY row 14).
 * The processing limits of section 4.6.4 bound the work: at most 10 terms
 * that query DNS, 10 MX and 10 PTR names each, 2 void lookups.
 */
#ifndef GENT_SPF_H
#define GENT_SPF_H

#include "gent/dns.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};

/**
 * Look up name/type into out (zeroed by the caller, freed by the caller
 * with dns_result_free).
 */
typedef void (*spf_lookup_fn)(void *ctx, const char *name, enum dns_type type,
    struct dns_result *out);

struct spf_request {
	const char	*client_ip;	/* text IPv4 or IPv6 */
	const char	*helo;		/* EHLO/HELO argument */
	const char	*mail_from;	/* envelope sender, "" for the null path (then postmaster@helo is checked, RFC 7208 2.4) */
	const char	*receiver;	/* our hostname, for the %{r} macro */
};

struct spf_outcome {
	enum spf_result	result;
	char		domain[256];		/* the domain checked (mail-from domain, or helo for null path) */
	char		mechanism[256];		/* the mechanism that matched, or "" (default result) */
	char		explanation[512];	/* exp= text for fail, else "" */
	char		problem[256];		/* why permerror/temperror, else "" */
};

/** check_host() of RFC 7208 section 4 for the request; never blocks except inside lookup. */
void spf_check(spf_lookup_fn lookup, void *ctx, const struct spf_request *req,
    struct spf_outcome *out);

/** "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *spf_result_name(enum spf_result r);

#endif
