/*
 * gent_dkim.c - verify the DKIM signatures of one inbound message with
 * libopendkim (RFC 6376), and decide which of them we accept.
 *
 * One DKIM_LIB is made by gent_dkim_init() and shared; every call to
 * gent_dkim_verify() makes its own DKIM handle and frees it before
 * returning, so calls may run on many worker threads at once. The library
 * never queries DNS itself: its key lookup callback asks the caller's
 * lookup function (dkim_set_user_context() carries it per message), and
 * records how each fetch went so that a DNS failure becomes temperror and
 * a missing key permerror.
 *
 * A prescreen callback runs before any key is fetched and marks as
 * ignored the signatures we would refuse anyway, so they cost no DNS
 * query: rsa-sha1 (RFC 8301), a d= or s= that is not a DNS name (such as
 * "legitimate.com(.attacker.com", which libopendkim 2.11 alone lets
 * pass), and everything past the first GENT_DKIM_MAX_VERIFY signatures
 * (each costs a DNS query on a blocked worker). A signature that verifies
 * still only
 * passes when its RSA key has at least 1024 bits and, if it has an l=
 * tag, no body content was left outside it. ed25519-sha256 (RFC 8463) is
 * accepted. Key records are checked by libopendkim: v=, k=, s= (must
 * allow email), h= and p=. A key record must be one TXT record of at
 * most 1024 bytes (libopendkim's buffer; a 4096-bit RSA key needs ~740).
 *
 * Mapping to RFC 8601 results: a signature or body hash mismatch is fail;
 * what we refuse on principle is policy; a key lookup that failed for now
 * is temperror; bad signature syntax, a missing, malformed or
 * non-email key is permerror.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <dkim.h>

#include "gent/gent_dkim.h"
#include "gent/util.h"
#include "gent_dkim_int.h"

#define KEY_NAME_MAX 256	/* <s>._domainkey.<d> and its NUL */
#define MIN_RSA_BITS 1024	/* RFC 8301 section 3.2 */

/* How the key lookup of one signature went. */
enum fetch_status {
	FETCH_NONE,		/* no lookup made (ignored, or key reused) */
	FETCH_OK,
	FETCH_NOTFOUND,		/* NXDOMAIN, NODATA or an empty answer */
	FETCH_TEMPFAIL,
	FETCH_MULTIPLE,		/* several TXT records: undefined (3.6.2.2) */
	FETCH_TOOLONG,		/* does not fit libopendkim's buffer */
	FETCH_BADNAME,
};

struct key_fetch {
	const DKIM_SIGINFO	*sig;
	enum fetch_status	 status;
};

/* Per-message state, reached from callbacks via dkim_get_user_context(). */
struct verify_ctx {
	gent_dkim_lookup_fn	 lookup;
	void			*ctx;
	size_t			 n_fetch;
	struct key_fetch	 fetch[GENT_DKIM_MAX_VERIFY];
	bool			 broken;	/* libopendkim failed (memory, internal) */
};

static DKIM_LIB *gent_dkim_lib;

/* True for a DNS name of LDH (and '_') labels of 1-63 bytes. */
static bool
name_ok(const char *s, size_t max)
{
	size_t label = 0, n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return false;
			if (*p == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (++label > 63)
			return false;
	}
}

/* The raw value of signature tag t, or NULL. */
static const char *
sig_tag(DKIM_SIGINFO *sig, const char *t)
{
	return (const char *)dkim_sig_gettagvalue(sig, false,
	    (u_char *)(uintptr_t)t);
}

static bool
sig_names_ok(DKIM_SIGINFO *sig)
{
	const char *d = sig_tag(sig, "d"), *s = sig_tag(sig, "s");

	return d != NULL && s != NULL && name_ok(d, 253) && name_ok(s, 127) &&
	    strlen(d) + strlen(s) + sizeof("._domainkey.") <= KEY_NAME_MAX;
}

/*
 * The a= tag, when it names an algorithm we know. Not
 * dkim_sig_getsignalg(): it says rsa-sha1 (0) for signatures that failed
 * to parse.
 */
static const char *
alg_name(DKIM_SIGINFO *sig)
{
	static const char *const known[] = {
		"rsa-sha1", "rsa-sha256", "ed25519-sha256",
	};
	const char *a = sig_tag(sig, "a");

	for (size_t i = 0; a != NULL && i < GENT_ARRAY_LEN(known); i++) {
		if (strcasecmp(a, known[i]) == 0)
			return known[i];
	}
	return "";
}

static bool
sig_is_sha1(DKIM_SIGINFO *sig)
{
	return strcmp(alg_name(sig), "rsa-sha1") == 0;
}

/* Ignore what we would refuse anyway, before any key is fetched. */
static DKIM_CBSTAT
prescreen_cb(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	for (int i = 0; i < nsigs; i++) {
		if (i >= GENT_DKIM_MAX_VERIFY || !sig_names_ok(sigs[i]) ||
		    sig_is_sha1(sigs[i]))
			dkim_sig_ignore(sigs[i]);
	}
	return DKIM_CBSTAT_CONTINUE;
}

static void
note_fetch(struct verify_ctx *vc, const DKIM_SIGINFO *sig,
    enum fetch_status st)
{
	if (vc->n_fetch < GENT_ARRAY_LEN(vc->fetch)) {
		vc->fetch[vc->n_fetch].sig = sig;
		vc->fetch[vc->n_fetch].status = st;
		vc->n_fetch++;
	}
}

static enum fetch_status
fetch_result(const struct verify_ctx *vc, const DKIM_SIGINFO *sig)
{
	for (size_t i = 0; i < vc->n_fetch; i++) {
		if (vc->fetch[i].sig == sig)
			return vc->fetch[i].status;
	}
	return FETCH_NONE;
}

/* Copy the one TXT record of res into buf, or say why not. */
static enum fetch_status
fetch_copy(const struct dns_result *res, u_char *buf, size_t buflen)
{
	switch (res->status) {
	case DNS_OK:
		break;
	case DNS_TEMPFAIL:
		return FETCH_TEMPFAIL;
	case DNS_BADNAME:
		return FETCH_BADNAME;
	default:
		return FETCH_NOTFOUND;
	}
	if (res->n_records == 0)
		return FETCH_NOTFOUND;
	if (res->n_records > 1)
		return FETCH_MULTIPLE;
	if (strlen(res->records[0]) >= buflen)
		return FETCH_TOOLONG;
	memcpy(buf, res->records[0], strlen(res->records[0]) + 1);
	return FETCH_OK;
}

/* libopendkim asks for the key record of sig: TXT at <s>._domainkey.<d>. */
static DKIM_CBSTAT
key_lookup_cb(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct verify_ctx *vc = dkim_get_user_context(dkim);
	struct dns_result res = { 0 };
	enum fetch_status st;
	char name[KEY_NAME_MAX];

	if (vc == NULL || !sig_names_ok(sig))
		return DKIM_CBSTAT_ERROR;
	snprintf(name, sizeof(name), "%s._domainkey.%s", sig_tag(sig, "s"),
	    sig_tag(sig, "d"));
	vc->lookup(vc->ctx, name, DNS_T_TXT, &res);
	st = fetch_copy(&res, buf, buflen);
	dns_result_free(&res);
	note_fetch(vc, sig, st);
	/*
	 * TRYAGAIN or ERROR would make libopendkim abandon the whole message
	 * (keys are fetched at end of headers); NOTFOUND fails only this
	 * signature, and sig_judge_fetch() tells the cases apart.
	 */
	return st == FETCH_OK ? DKIM_CBSTAT_CONTINUE : DKIM_CBSTAT_NOTFOUND;
}

DKIM_LIB *
gent_dkim__lib(void)
{
	return gent_dkim_lib;
}

int
gent_dkim_init(void)
{
	/* Signing: a From, Subject or To added later cannot pass as signed.
	 * (libopendkim takes the array itself, sized as one pointer.) */
	static const char *oversign[] = { "from", "subject", "to", "cc", "date",
	    "message-id", "reply-to", NULL };
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int minbits = MIN_RSA_BITS;

	if (gent_dkim_lib != NULL)
		return 0;
	gent_dkim_lib = dkim_init(NULL, NULL);
	if (gent_dkim_lib == NULL)
		return -1;
	/* BADSIGHANDLES: signatures with syntax errors still get an entry. */
	if (dkim_options(gent_dkim_lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS,
	    &flags, sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(gent_dkim_lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS,
	    &minbits, sizeof(minbits)) != DKIM_STAT_OK ||
	    dkim_options(gent_dkim_lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)oversign, sizeof(const char **)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(gent_dkim_lib, key_lookup_cb) != DKIM_STAT_OK ||
	    dkim_set_prescreen(gent_dkim_lib, prescreen_cb) != DKIM_STAT_OK) {
		gent_dkim_shutdown();
		return -1;
	}
	return 0;
}

void
gent_dkim_shutdown(void)
{
	if (gent_dkim_lib != NULL)
		dkim_close(gent_dkim_lib);
	gent_dkim_lib = NULL;
}

/* d=, s= (only when they are DNS names: they end up in headers), a=, bits. */
static void
sig_copy_names(DKIM_SIGINFO *sig, struct gent_dkim_sig *out)
{
	unsigned int bits = 0;

	if (sig_names_ok(sig)) {
		snprintf(out->domain, sizeof(out->domain), "%s", sig_tag(sig, "d"));
		snprintf(out->selector, sizeof(out->selector), "%s",
		    sig_tag(sig, "s"));
		str_lower(out->domain);
	}
	snprintf(out->algorithm, sizeof(out->algorithm), "%s", alg_name(sig));
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		out->key_bits = bits;
}

static enum gent_dkim_result
set_problem(struct gent_dkim_sig *out, enum gent_dkim_result r,
    const char *why)
{
	snprintf(out->problem, sizeof(out->problem), "%s", why);
	return r;
}

/* True when an l= tag left body content outside the signature. */
static bool
sig_body_truncated(DKIM *dkim, DKIM_SIGINFO *sig)
{
	ssize_t msglen = 0, canonlen = 0, signlen = -1;

	if (sig_tag(sig, "l") == NULL)
		return false;
	if (dkim_sig_getcanonlen(dkim, sig, &msglen, &canonlen,
	    &signlen) != DKIM_STAT_OK)
		return true;
	return canonlen < msglen;
}

/* The signature verified; do we accept it? */
static enum gent_dkim_result
sig_judge_valid(DKIM *dkim, DKIM_SIGINFO *sig, struct gent_dkim_sig *out)
{
	if (strcmp(out->algorithm, "ed25519-sha256") != 0 &&
	    out->key_bits < MIN_RSA_BITS)
		return set_problem(out, GENT_DKIM_POLICY,
		    "RSA key shorter than 1024 bits");
	if (sig_body_truncated(dkim, sig))
		return set_problem(out, GENT_DKIM_POLICY,
		    "l= leaves part of the body unsigned");
	return GENT_DKIM_PASS;
}

/* Why the key could not be used, from our own record of the lookup. */
static enum gent_dkim_result
sig_judge_fetch(enum fetch_status st, struct gent_dkim_sig *out)
{
	switch (st) {
	case FETCH_TEMPFAIL:
		return set_problem(out, GENT_DKIM_TEMPERROR,
		    "key lookup failed temporarily");
	case FETCH_NOTFOUND:
		return set_problem(out, GENT_DKIM_PERMERROR, "no key record");
	case FETCH_MULTIPLE:
		return set_problem(out, GENT_DKIM_PERMERROR,
		    "several key records");
	case FETCH_TOOLONG:
		return set_problem(out, GENT_DKIM_PERMERROR,
		    "key record too long");
	case FETCH_BADNAME:
		return set_problem(out, GENT_DKIM_PERMERROR,
		    "key name is not a valid DNS name");
	default:
		return GENT_DKIM_NEUTRAL;	/* not a lookup problem */
	}
}

/* The signature did not verify: fail, or an error, and why. */
static enum gent_dkim_result
sig_judge_failed(DKIM_SIGINFO *sig, const struct verify_ctx *vc,
    struct gent_dkim_sig *out)
{
	enum gent_dkim_result r = sig_judge_fetch(fetch_result(vc, sig), out);
	int err = dkim_sig_geterror(sig);
	const char *why;

	if (r != GENT_DKIM_NEUTRAL)
		return r;
	if (err == DKIM_SIGERROR_KEYTOOSMALL)
		return set_problem(out, GENT_DKIM_POLICY,
		    "RSA key shorter than 1024 bits");
	if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_PROCESSED) != 0 &&
	    dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
		return set_problem(out, GENT_DKIM_FAIL,
		    "body hash does not match");
	if (err == DKIM_SIGERROR_BADSIG)
		return set_problem(out, GENT_DKIM_FAIL,
		    "signature does not verify");
	if (err != DKIM_SIGERROR_OK) {
		why = dkim_sig_geterrorstr(err);
		return set_problem(out, GENT_DKIM_PERMERROR,
		    why != NULL ? why : "unusable signature");
	}
	if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_PROCESSED) == 0)
		return vc->broken ?
		    set_problem(out, GENT_DKIM_TEMPERROR, "verifier error") :
		    set_problem(out, GENT_DKIM_PERMERROR,
		    "message could not be processed");
	return set_problem(out, GENT_DKIM_FAIL, "signature does not verify");
}

static enum gent_dkim_result
sig_judge(DKIM *dkim, DKIM_SIGINFO *sig, size_t index,
    const struct verify_ctx *vc, struct gent_dkim_sig *out)
{
	if (sig_tag(sig, "d") == NULL || sig_tag(sig, "s") == NULL)
		return set_problem(out, GENT_DKIM_PERMERROR,
		    "signature syntax error (d= or s= missing)");
	if (!sig_names_ok(sig))
		return set_problem(out, GENT_DKIM_PERMERROR,
		    "d= or s= is not a valid domain name");
	if (index >= GENT_DKIM_MAX_VERIFY)
		return set_problem(out, GENT_DKIM_POLICY,
		    "not verified: too many signatures");
	if (sig_is_sha1(sig))
		return set_problem(out, GENT_DKIM_POLICY,
		    "rsa-sha1 is not accepted (RFC 8301)");
	if (DKIM_SIG_CHECK(sig))
		return sig_judge_valid(dkim, sig, out);
	return sig_judge_failed(sig, vc, out);
}

void
gent_dkim_report_free(struct gent_dkim_report *r)
{
	if (r == NULL)
		return;
	xfree(&r->sigs);
	r->n_sigs = 0;
}

static void
report_fill(DKIM *dkim, const struct verify_ctx *vc,
    struct gent_dkim_report *out)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	size_t n;

	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0)
		return;
	n = (size_t)nsigs;
	if (n > GENT_DKIM_MAX_REPORT)
		n = GENT_DKIM_MAX_REPORT;
	out->sigs = xcalloc(n, sizeof(*out->sigs));
	out->n_sigs = n;
	for (size_t i = 0; i < n; i++) {
		sig_copy_names(sigs[i], &out->sigs[i]);
		out->sigs[i].result = sig_judge(dkim, sigs[i], i, vc,
		    &out->sigs[i]);
	}
}

void
gent_dkim_verify(gent_dkim_lookup_fn lookup, void *ctx, const char *msg,
    size_t len, struct gent_dkim_report *out)
{
	struct verify_ctx vc = { .lookup = lookup, .ctx = ctx };
	DKIM_STAT st = DKIM_STAT_OK;
	DKIM *dkim;

	gent_assert(gent_dkim_lib != NULL);
	out->sigs = NULL;
	out->n_sigs = 0;
	dkim = dkim_verify(gent_dkim_lib, (const u_char *)"gentd", NULL, &st);
	if (dkim == NULL)
		return;
	dkim_set_user_context(dkim, &vc);
	/* libopendkim only reads the buffer; its prototype is not const. */
	st = dkim_chunk(dkim, (u_char *)(uintptr_t)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(dkim, NULL, 0);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(dkim, NULL);
	vc.broken = st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL;
	report_fill(dkim, &vc, out);
	dkim_free(dkim);
}

const char *
gent_dkim_result_name(enum gent_dkim_result r)
{
	switch (r) {
	case GENT_DKIM_PASS:
		return "pass";
	case GENT_DKIM_FAIL:
		return "fail";
	case GENT_DKIM_NEUTRAL:
		return "neutral";
	case GENT_DKIM_POLICY:
		return "policy";
	case GENT_DKIM_TEMPERROR:
		return "temperror";
	case GENT_DKIM_PERMERROR:
		return "permerror";
	}
	return "permerror";
}
