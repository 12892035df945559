/*
 * dns.h - the daemon's one DNS resolver: c-ares driven by the libuv loop.
 *
 * Every DNS need (domain verification, MX for outbound, SPF, DKIM and
 * DMARC for inbound) goes through it, so the `dns_servers` setting points
 * all of them at the same servers. Answers are cached for their TTL
 * (capped at DNS_CACHE_MAX_TTL; negative answers for DNS_NEGATIVE_TTL).
 *
 * dns_lookup() runs on the loop thread and calls back there.
 * dns_lookup_sync() is for worker threads: it hands the query to the loop
 * and blocks the calling thread (never the loop) until the answer.
 */
#ifndef GENT_DNS_H
#define GENT_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DNS_CACHE_MAX_TTL 3600		/* seconds */
#define DNS_NEGATIVE_TTL 5		/* seconds: a user fixing DNS retries soon */

enum dns_type {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_status {
	DNS_OK,		/* records holds the answer */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_NODATA,	/* the name exists, no records of this type */
	DNS_TEMPFAIL,	/* timeout, SERVFAIL, refused: try again later */
	DNS_BADNAME,	/* the query name itself is malformed */
};

struct dns_result {
	enum dns_status	 status;
	char		**records;	/* TXT: strings joined; MX: "10 host"; A/AAAA: text; PTR: host */
	size_t		 n_records;
	uint32_t	 ttl;		/* seconds, smallest of the answer RRs */
};

struct dns_resolver;

typedef void (*dns_cb)(void *arg, const struct dns_result *res);

/**
 * Create the resolver on loop. servers is "host:port,..." or NULL for the
 * system resolver; timeout_ms and tries bound each query.
 */
int dns_resolver_start(struct dns_resolver **r_out, uv_loop_t *loop,
    const char *servers, int timeout_ms, int tries, char **error_r);
/** Cancel pending queries (callbacks get DNS_TEMPFAIL) and close. Loop thread. */
void dns_resolver_stop(struct dns_resolver **r);
/** Free after the loop has run the close callbacks. Accepts NULL. */
void dns_resolver_free(struct dns_resolver **r);

#define DNS_F_FRESH 1u	/* skip the cache (still refresh it): verification */

/** Look up on the loop thread; cb runs on the loop thread (maybe at once). */
void dns_lookup(struct dns_resolver *r, const char *name, enum dns_type type,
    unsigned flags, dns_cb cb, void *arg);
/** Look up from a worker thread; blocks that thread. Fills *out. */
void dns_lookup_sync(struct dns_resolver *r, const char *name,
    enum dns_type type, unsigned flags, struct dns_result *out);

/** Deep copy of a result. */
void dns_result_copy(struct dns_result *dst, const struct dns_result *src);
/** Free the records of a result. */
void dns_result_free(struct dns_result *res);
/** "ok", "nxdomain", "nodata", "tempfail", "badname". */
const char *dns_status_name(enum dns_status s);

/* dns_answer.c: pure parsing of raw answers (fuzzed). */

/** Smallest TTL among answer records of a raw DNS message; 0 if none. */
uint32_t dns_answer_min_ttl(const unsigned char *msg, size_t len);
/** Parse a raw answer of the given type into res (status DNS_OK/NODATA). */
void dns_answer_parse(const unsigned char *msg, size_t len, enum dns_type type,
    struct dns_result *res);

#endif
