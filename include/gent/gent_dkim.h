/*
 * gent_dkim.h - DKIM signature verification (RFC 6376, 8301, 8463) for
 * inbound mail, on top of libopendkim.
 *
 * One library handle is shared by every thread; each gent_dkim_verify()
 * call makes its own DKIM handle, so calls may run on several worker
 * threads at once. Keys are fetched through the caller's lookup function
 * (TXT at <s>._domainkey.<d>), never by libopendkim's own resolver.
 *
 * Every DKIM-Signature header field of the message gets one entry in the
 * report, in header order. Only pass counts as authentication: rsa-sha1
 * (RFC 8301), RSA keys under 1024 bits and l= tags that leave body content
 * unsigned are reported as "policy" even when the cryptography checks out.
 */
#ifndef GENT_GENT_DKIM_H
#define GENT_GENT_DKIM_H

#include <stddef.h>

#include "gent/dns.h"

/* Signatures verified per message; later ones are reported, not checked. */
#define GENT_DKIM_MAX_VERIFY 8
/* Signatures reported per message; later ones are dropped. */
#define GENT_DKIM_MAX_REPORT 64

/** Fetch TXT records of name into *out (the caller frees it). */
typedef void (*gent_dkim_lookup_fn)(void *ctx, const char *name,
    enum dns_type type, struct dns_result *out);

enum gent_dkim_result {
	GENT_DKIM_PASS,
	GENT_DKIM_FAIL,		/* signature or body hash does not match */
	GENT_DKIM_NEUTRAL,
	GENT_DKIM_POLICY,	/* valid or not, we do not accept it */
	GENT_DKIM_TEMPERROR,	/* key lookup failed for now */
	GENT_DKIM_PERMERROR,	/* bad signature syntax, no key, bad key */
};

struct gent_dkim_sig {
	enum gent_dkim_result	 result;
	char			 domain[256];	/* d= ("" if unusable) */
	char			 selector[128];	/* s= ("" if unusable) */
	char			 algorithm[32];	/* "rsa-sha256", "ed25519-sha256", "rsa-sha1" */
	unsigned		 key_bits;	/* 0 when no key was loaded */
	char			 problem[160];	/* why not pass, "" on pass */
};

struct gent_dkim_report {
	struct gent_dkim_sig	*sigs;		/* n_sigs entries, header order */
	size_t			 n_sigs;	/* 0: result "none" */
};

/** Create the shared library handle once at start-up (returns -1 on failure). */
int gent_dkim_init(void);
/** Release it at exit. */
void gent_dkim_shutdown(void);
/**
 * Verify every DKIM-Signature of msg (CRLF lines, as received); keys are
 * fetched through lookup (TXT at <s>._domainkey.<d>). Blocks while lookup
 * does; call from a worker thread. Free *out with gent_dkim_report_free().
 */
void gent_dkim_verify(gent_dkim_lookup_fn lookup, void *ctx, const char *msg,
    size_t len, struct gent_dkim_report *out);
/**
 * The DKIM-Signature field ("DKIM-Signature: ...\r\n", to put on top of
 * msg) for msg (CRLF lines): rsa-sha256, relaxed/relaxed, d=domain,
 * s=selector, key_pem the PEM private key. NULL with *error_r set.
 */
char *gent_dkim_sign(const char *msg, size_t len, const char *domain,
    const char *selector, const char *key_pem, const char **error_r);
/** Free the entries of r and reset it to empty. Accepts NULL. */
void gent_dkim_report_free(struct gent_dkim_report *r);
/** "pass", "fail", "neutral", "policy", "temperror", "permerror" (RFC 8601). */
const char *gent_dkim_result_name(enum gent_dkim_result r);

#endif
