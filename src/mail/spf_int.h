/*
 * spf_int.h - what the three files of the SPF evaluator share.
 *
 *   spf_parse.c   record text -> struct spf_record (syntax, section 4.6)
 *   spf_macro.c   macro syntax checks and expansion (section 7)
 *   spf.c         check_host(): DNS, limits, results (sections 4, 5, 6)
 *
 * A parsed record owns every string it points to; spf__record_free()
 * releases them. Names are spf__*: internal to src/mail/spf*.c and the
 * unit test.
 */
#ifndef GENT_SPF_INT_H
#define GENT_SPF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "gent/spf.h"
#include "gent/util.h"

#define SPF_MAX_DNS_TERMS	10	/* include a mx ptr exists redirect (4.6.4) */
#define SPF_MAX_VOID		2	/* NXDOMAIN or empty answers (4.6.4) */
#define SPF_MAX_MX		10	/* MX names per "mx" (4.6.4) */
#define SPF_MAX_PTR		10	/* PTR names per "ptr" or %{p} (4.6.4) */
#define SPF_NAME_MAX		253	/* a domain name, without the final dot */
#define SPF_LABEL_MAX		63
#define SPF_EXPAND_MAX		8192	/* octets of one macro expansion */
#define SPF_TIME_LIMIT_MS	20000	/* one check, then temperror (4.6.4) */

/** The time limit in force; tests lower it, nothing else writes it. */
extern unsigned spf__time_limit_ms;

enum spf_mech {
	SPF_MECH_ALL,
	SPF_MECH_INCLUDE,
	SPF_MECH_A,
	SPF_MECH_MX,
	SPF_MECH_PTR,
	SPF_MECH_IP4,
	SPF_MECH_IP6,
	SPF_MECH_EXISTS,
};

/* One directive: [ qualifier ] mechanism. */
struct spf_directive {
	enum spf_mech	 mech;
	enum spf_result	 qualifier;	/* the result when it matches */
	const char	*text;		/* the term as written (in record->buf) */
	char		*target;	/* domain-spec; NULL means <domain> */
	unsigned	 cidr4;		/* prefix for IPv4 clients, 0..32 */
	unsigned	 cidr6;		/* prefix for IPv6 clients, 0..128 */
	unsigned char	 net[16];	/* ip4: first 4 bytes; ip6: all 16 */
};

struct spf_record {
	char			*buf;		/* the record text, cut into terms */
	struct spf_directive	*dirs;		/* in record order */
	size_t			 n_dirs;
	char			*redirect;	/* domain-spec, or NULL */
	char			*exp;		/* domain-spec, or NULL */
};

/* spf_parse.c */

/** True when text is an SPF version 1 record: "v=spf1" then SP or end. */
bool spf__is_spf1(const char *text);
/**
 * Parse a whole record (text must satisfy spf__is_spf1()). 0 on success;
 * -1 on a syntax error, with the reason in err.
 */
int spf__record_parse(const char *text, struct spf_record *rec, char *err,
    size_t errlen);
/** Free what a parse allocated. Accepts a zeroed record. */
void spf__record_free(struct spf_record *rec);

/* spf_macro.c */

enum spf_macro_use {
	SPF_MACRO_DOMAIN,	/* domain-spec or modifier value: no SP, no c r t */
	SPF_MACRO_EXPLAIN,	/* explanation TXT: SP and c r t allowed */
};

/* The values the macro letters stand for (section 7.2). */
struct spf_macro_env {
	const char	*sender;	/* s */
	const char	*local;		/* l */
	const char	*sender_domain;	/* o */
	const char	*domain;	/* d: the current <domain> */
	const char	*ip;		/* i: dotted quad, or 32 dotted nibbles */
	const char	*ip_pretty;	/* c: the usual text form */
	const char	*ip_version;	/* v: "in-addr" or "ip6" */
	const char	*helo;		/* h */
	const char	*receiver;	/* r */
	const char	*timestamp;	/* t: seconds since the epoch */
	/* p: the validated client name for domain; called only when used. */
	const char	*(*ptr_name)(void *arg, const char *domain);
	void		*ptr_arg;
};

/** 0 when s is a valid macro-string (explain-string for EXPLAIN), else -1. */
int spf__macro_check(const char *s, enum spf_macro_use use);
/** 0 when s is a valid domain-spec (macro-string domain-end), else -1. */
int spf__domain_spec_check(const char *s);
/**
 * Expand s into out, which must be empty (out->data is set even when the
 * expansion is). An expansion over SPF_EXPAND_MAX octets is an error.
 * DOMAIN results lose one trailing dot and are cut to 253 octets from the
 * left, label by label (section 7.3). -1 on a syntax error.
 */
int spf__macro_expand(const char *s, enum spf_macro_use use,
    const struct spf_macro_env *env, struct buf *out);

#endif
