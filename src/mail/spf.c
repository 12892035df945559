/*
 * spf.c - check_host() of RFC 7208 (SPF) on the daemon's resolver.
 *
 * spf_check() sets up one evaluation (struct spf_eval: the client, the
 * identity, the counters of section 4.6.4) and runs check_host() on the
 * MAIL FROM domain, or on the HELO name for the null reverse-path (2.4).
 * check_host() selects the one "v=spf1" TXT record (4.5), parses all of
 * it (4.6), then evaluates its directives in order (section 5). include
 * and redirect recurse; each costs one of the 10 DNS terms, which also
 * bounds the depth. A DNS failure ends the check with temperror, except
 * where section 5.5 says to skip (PTR). A void answer (NXDOMAIN or no
 * records) to the query a term itself makes counts against the limit of 2;
 * the address lookups of MX hosts and PTR names do not, as 4.6.4 counts
 * terms (an IPv6 client must not turn "mx" into a permerror because the
 * MX hosts have no AAAA records).
 *
 * The explanation of a fail is fetched last, only for the record that
 * decided the top-level result (6.2); its lookups, like those of %{p},
 * never count against the limits nor change the result.
 *
 * A check that runs past SPF_TIME_LIMIT_MS asks no more questions and
 * ends with temperror (4.6.4). The text fields of the outcome hold
 * printable ASCII only, so callers may put them in headers and logs.
 *
 * Nothing here knows about loopback or private addresses: a client passes
 * only when the policy says so. Everything allocated is freed before
 * spf_check() returns; the caller's lookup function is the only I/O.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "spf_int.h"

/* How one step of the evaluation ends. */
enum spf_step {
	SPF_STEP_GO_ON,		/* lookup done, or no match: go on */
	SPF_STEP_MATCH,		/* the directive matches */
	SPF_STEP_TEMPERROR,	/* end the check with temperror */
	SPF_STEP_PERMERROR,	/* end the check with permerror */
};

struct spf_client {
	int		 family;		/* AF_INET also for IPv4-mapped IPv6 */
	unsigned char	 addr[16];		/* 4 or 16 bytes used */
	char		 i[72];			/* %{i}: dotted quad or 32 nibbles */
	char		 c[INET6_ADDRSTRLEN];	/* %{c} */
};

struct spf_eval {
	spf_lookup_fn		 lookup;
	void			*lookup_ctx;
	struct spf_client	 client;
	char			*sender;	/* %{s}: local@domain */
	char			*local;		/* %{l} */
	char			*sender_domain;	/* %{o}, and the first <domain> */
	const char		*helo;		/* %{h} */
	const char		*receiver;	/* %{r} */
	char			 now[24];	/* %{t} */
	int			 dns_terms;	/* DNS-querying terms so far */
	int			 voids;		/* void lookups so far */
	bool			 quiet;		/* exp= and %{p}: count nothing */
	bool			 expired;	/* past the time limit: stop */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	bool			 ptr_done;	/* ptr_names is filled */
	char			**ptr_names;	/* validated client names, %{p} */
	size_t			 n_ptr_names;
	struct spf_outcome	*out;
};

unsigned spf__time_limit_ms = SPF_TIME_LIMIT_MS;

static enum spf_result check_host(struct spf_eval *ev, const char *domain,
    bool top);

const char *
spf_result_name(enum spf_result r)
{
	static const char *const names[] = { "none", "neutral", "pass", "fail",
	    "softfail", "temperror", "permerror" };

	return r <= SPF_PERMERROR ? names[r] : "?";
}

/* The first reason wins: it is the one closest to the cause. */
__attribute__((format(printf, 2, 3)))
static void
set_problem(struct spf_eval *ev, const char *fmt, ...)
{
	va_list ap;

	if (ev->out->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(ev->out->problem, sizeof(ev->out->problem), fmt, ap);
	va_end(ap);
}

static enum spf_result
step_result(enum spf_step step)
{
	gent_assert(step == SPF_STEP_TEMPERROR || step == SPF_STEP_PERMERROR);
	return step == SPF_STEP_TEMPERROR ? SPF_TEMPERROR : SPF_PERMERROR;
}

static bool
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* A name DNS can carry: labels of 1 to 63 octets, 253 octets in all. */
static bool
name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len > SPF_NAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (name[i] != '.' && name[i] != '\0') {
			label++;
			continue;
		}
		if (label == 0 || label > SPF_LABEL_MAX)
			return false;
		label = 0;
	}
	return true;
}

/* 4.3: a malformed or single-label <domain> gives "none" at once. */
static bool
domain_ok(const char *domain)
{
	return name_ok(domain) && strchr(domain, '.') && domain[0] != '[';
}

/* name is target or a subdomain of it (ASCII case-insensitive). */
static bool
name_within(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n < t || strcasecmp(name + n - t, target) != 0)
		return false;
	return n == t || name[n - t - 1] == '.';
}

/* A host name from an MX or PTR answer, without the final dot. */
static char *
host_name(const char *text)
{
	size_t len = strlen(text);

	if (len > 0 && text[len - 1] == '.')
		len--;
	return xstrndup(text, len);
}

static void
deadline_set(struct spf_eval *ev)
{
	clock_gettime(CLOCK_MONOTONIC, &ev->deadline);
	ev->deadline.tv_sec += spf__time_limit_ms / 1000;
	ev->deadline.tv_nsec += (long)(spf__time_limit_ms % 1000) * 1000000;
	if (ev->deadline.tv_nsec >= 1000000000) {
		ev->deadline.tv_sec++;
		ev->deadline.tv_nsec -= 1000000000;
	}
}

static bool
deadline_passed(struct spf_eval *ev)
{
	struct timespec now;

	if (ev->expired)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ev->expired = now.tv_sec > ev->deadline.tv_sec ||
	    (now.tv_sec == ev->deadline.tv_sec &&
	    now.tv_nsec >= ev->deadline.tv_nsec);
	if (ev->expired)
		set_problem(ev, "SPF check took over %u ms", spf__time_limit_ms);
	return ev->expired;
}

/*
 * Ask DNS. GO_ON with res holding the answer (no records unless DNS_OK),
 * or the step that ends the check: temperror on a DNS failure, permerror
 * past the void lookup limit when the answer counts. A name DNS cannot
 * carry is not asked.
 */
static enum spf_step
query(struct spf_eval *ev, const char *name, enum dns_type type,
    bool counts, struct dns_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!name_ok(name)) {
		res->status = DNS_BADNAME;
		return SPF_STEP_GO_ON;
	}
	if (deadline_passed(ev)) {
		res->status = DNS_TEMPFAIL;
		return SPF_STEP_TEMPERROR;
	}
	ev->lookup(ev->lookup_ctx, name, type, res);
	if (res->status != DNS_OK)
		dns_result_free(res);
	if (res->status == DNS_TEMPFAIL) {
		set_problem(ev, "DNS failure looking up %s", name);
		return SPF_STEP_TEMPERROR;
	}
	if (res->n_records > 0 || res->status == DNS_BADNAME || !counts ||
	    ev->quiet || ++ev->voids <= SPF_MAX_VOID)
		return SPF_STEP_GO_ON;
	set_problem(ev, "more than %d void lookups (at %s)", SPF_MAX_VOID, name);
	return SPF_STEP_PERMERROR;
}

/* Each include a mx ptr exists redirect costs one of ten (4.6.4). */
static int
dns_term(struct spf_eval *ev)
{
	if (++ev->dns_terms <= SPF_MAX_DNS_TERMS)
		return 0;
	set_problem(ev, "more than %d DNS lookups", SPF_MAX_DNS_TERMS);
	return -1;
}

static enum dns_type
addr_type(const struct spf_eval *ev)
{
	return ev->client.family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

static bool
prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return ((a[bytes] ^ b[bytes]) & mask) == 0;
}

/* Is the client within bits of any address record (A or AAAA text)? */
static bool
records_match(const struct spf_client *cl, const struct dns_result *res,
    unsigned bits)
{
	unsigned char a[16];

	for (size_t i = 0; i < res->n_records; i++)
		if (inet_pton(cl->family, res->records[i], a) == 1 &&
		    prefix_match(cl->addr, a, bits))
			return true;
	return false;
}

static unsigned
client_bits(const struct spf_eval *ev, const struct spf_directive *d)
{
	return ev->client.family == AF_INET ? d->cidr4 : d->cidr6;
}

/* The A or AAAA records of host, matched with the given prefix. */
static enum spf_step
host_match(struct spf_eval *ev, const char *host, unsigned bits, bool counts)
{
	struct dns_result res;
	enum spf_step step = query(ev, host, addr_type(ev), counts, &res);

	if (step == SPF_STEP_GO_ON && records_match(&ev->client, &res, bits))
		step = SPF_STEP_MATCH;
	dns_result_free(&res);
	return step;
}

/* 5.6: ip4 matches IPv4 clients only (IPv4-mapped included), ip6 IPv6. */
static enum spf_step
mech_net(const struct spf_eval *ev, const struct spf_directive *d)
{
	int family = d->mech == SPF_MECH_IP4 ? AF_INET : AF_INET6;

	if (ev->client.family == family &&
	    prefix_match(ev->client.addr, d->net, client_bits(ev, d)))
		return SPF_STEP_MATCH;
	return SPF_STEP_GO_ON;
}

/* 5.2: only pass matches; none is a permerror, errors carry through. */
static enum spf_step
mech_include(struct spf_eval *ev, const char *target)
{
	switch (check_host(ev, target, false)) {
	case SPF_PASS:
		return SPF_STEP_MATCH;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		return SPF_STEP_GO_ON;
	case SPF_TEMPERROR:
		return SPF_STEP_TEMPERROR;
	case SPF_NONE:
		set_problem(ev, "include:%s has no SPF record", target);
		return SPF_STEP_PERMERROR;
	case SPF_PERMERROR:
		break;
	}
	return SPF_STEP_PERMERROR;
}

/* 5.4: more than 10 MX names is a permerror; a null MX has no host. */
static enum spf_step
mech_mx(struct spf_eval *ev, const char *target, unsigned bits)
{
	struct dns_result mx;
	enum spf_step step = query(ev, target, DNS_T_MX, true, &mx);

	if (step == SPF_STEP_GO_ON && mx.n_records > SPF_MAX_MX) {
		set_problem(ev, "%s has more than %d MX records", target,
		    SPF_MAX_MX);
		step = SPF_STEP_PERMERROR;
	}
	for (size_t i = 0; step == SPF_STEP_GO_ON && i < mx.n_records; i++) {
		const char *sp = strchr(mx.records[i], ' ');
		char *host = host_name(sp ? sp + 1 : mx.records[i]);
		if (host[0] != '\0')
			step = host_match(ev, host, bits, false);
		free(host);
	}
	dns_result_free(&mx);
	return step;
}

/* 5.7: any A record at all, whatever the client's family. */
static enum spf_step
mech_exists(struct spf_eval *ev, const char *target)
{
	struct dns_result res;
	enum spf_step step = query(ev, target, DNS_T_A, true, &res);

	if (step == SPF_STEP_GO_ON && res.n_records > 0)
		step = SPF_STEP_MATCH;
	dns_result_free(&res);
	return step;
}

/* 5.5: a DNS error is skipped there, and so is no reason for the result. */
static enum spf_step
skip_dns_error(struct spf_eval *ev, enum spf_step step, bool had_problem)
{
	if (step != SPF_STEP_TEMPERROR || ev->expired)
		return step;
	if (!had_problem)
		ev->out->problem[0] = '\0';
	return SPF_STEP_GO_ON;
}

/* The PTR records of the client; a DNS error is just no names (5.5). */
static enum spf_step
ptr_query(struct spf_eval *ev, struct dns_result *res)
{
	const struct spf_client *cl = &ev->client;
	bool had_problem = ev->out->problem[0] != '\0';
	struct buf name = { 0 };
	enum spf_step step;

	if (cl->family == AF_INET) {
		buf_printf(&name, "%u.%u.%u.%u.in-addr.arpa", cl->addr[3],
		    cl->addr[2], cl->addr[1], cl->addr[0]);
	} else {
		for (int i = 15; i >= 0; i--)
			buf_printf(&name, "%x.%x.", cl->addr[i] & 15u,
			    cl->addr[i] >> 4);
		buf_append_str(&name, "ip6.arpa");
	}
	step = query(ev, name.data, DNS_T_PTR, true, res);
	buf_free(&name);
	return skip_dns_error(ev, step, had_problem);
}

/* Does name lead back to the client? A DNS error skips the name (5.5). */
static enum spf_step
ptr_validate(struct spf_eval *ev, const char *name)
{
	unsigned bits = ev->client.family == AF_INET ? 32 : 128;
	bool had_problem = ev->out->problem[0] != '\0';

	return skip_dns_error(ev, host_match(ev, name, bits, false),
	    had_problem);
}

/* 5.5: a validated name of the client in target; first 10 names only. */
static enum spf_step
mech_ptr(struct spf_eval *ev, const char *target)
{
	struct dns_result ptr;
	enum spf_step step = ptr_query(ev, &ptr);
	size_t n = ptr.n_records < SPF_MAX_PTR ? ptr.n_records : SPF_MAX_PTR;

	for (size_t i = 0; step == SPF_STEP_GO_ON && i < n; i++) {
		char *name = host_name(ptr.records[i]);
		if (name_within(name, target))
			step = ptr_validate(ev, name);
		free(name);
	}
	dns_result_free(&ptr);
	return step;
}

static void
ptr_names_fill(struct spf_eval *ev)
{
	struct dns_result ptr;
	size_t n;

	ev->ptr_done = true;
	if (ptr_query(ev, &ptr) != SPF_STEP_GO_ON) {
		dns_result_free(&ptr);
		return;
	}
	n = ptr.n_records < SPF_MAX_PTR ? ptr.n_records : SPF_MAX_PTR;
	ev->ptr_names = xcalloc(n, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char *name = host_name(ptr.records[i]);
		if (ptr_validate(ev, name) == SPF_STEP_MATCH)
			ev->ptr_names[ev->n_ptr_names++] = name;
		else
			free(name);
	}
	dns_result_free(&ptr);
}

/*
 * %{p} (7.3): a validated name of the client, preferring <domain> itself,
 * then a subdomain of it, then the first; "unknown" when there is none.
 * Its lookups are made once per check and count against nothing.
 */
static const char *
ptr_macro(void *arg, const char *domain)
{
	struct spf_eval *ev = arg;
	const char *sub = NULL;
	bool quiet = ev->quiet;

	if (!ev->ptr_done) {
		ev->quiet = true;
		ptr_names_fill(ev);
		ev->quiet = quiet;
	}
	for (size_t i = 0; i < ev->n_ptr_names; i++) {
		if (strcasecmp(ev->ptr_names[i], domain) == 0)
			return ev->ptr_names[i];
		if (!sub && name_within(ev->ptr_names[i], domain))
			sub = ev->ptr_names[i];
	}
	if (sub)
		return sub;
	return ev->n_ptr_names > 0 ? ev->ptr_names[0] : "unknown";
}

static int
expand(struct spf_eval *ev, const char *domain, const char *s,
    enum spf_macro_use use, struct buf *out)
{
	const struct spf_macro_env env = {
		.sender = ev->sender,
		.local = ev->local,
		.sender_domain = ev->sender_domain,
		.domain = domain,
		.ip = ev->client.i,
		.ip_pretty = ev->client.c,
		.ip_version = ev->client.family == AF_INET ? "in-addr" : "ip6",
		.helo = ev->helo,
		.receiver = ev->receiver,
		.timestamp = ev->now,
		.ptr_name = ptr_macro,
		.ptr_arg = ev,
	};

	return spf__macro_expand(s, use, &env, out);
}

/* The target-name of a directive: its domain-spec expanded, or <domain>. */
static int
directive_target(struct spf_eval *ev, const char *domain,
    const struct spf_directive *d, struct buf *target)
{
	if (!d->target) {
		buf_append_str(target, domain);
		return 0;
	}
	if (expand(ev, domain, d->target, SPF_MACRO_DOMAIN, target) == 0)
		return 0;
	set_problem(ev, "bad macro in %s", d->text);
	return -1;
}

static enum spf_step
directive_eval(struct spf_eval *ev, const char *domain,
    const struct spf_directive *d)
{
	struct buf target = { 0 };
	enum spf_step step = SPF_STEP_PERMERROR;

	if (d->mech == SPF_MECH_ALL)
		return SPF_STEP_MATCH;
	if (d->mech == SPF_MECH_IP4 || d->mech == SPF_MECH_IP6)
		return mech_net(ev, d);
	if (dns_term(ev) != 0 || directive_target(ev, domain, d, &target) != 0)
		goto out;
	if (d->mech == SPF_MECH_INCLUDE)
		step = mech_include(ev, target.data);
	else if (d->mech == SPF_MECH_A)
		step = host_match(ev, target.data, client_bits(ev, d), true);
	else if (d->mech == SPF_MECH_MX)
		step = mech_mx(ev, target.data, client_bits(ev, d));
	else if (d->mech == SPF_MECH_PTR)
		step = mech_ptr(ev, target.data);
	else
		step = mech_exists(ev, target.data);
out:
	buf_free(&target);
	return step;
}

/*
 * 6.2: the TXT record named by exp=, expanded with c r t allowed. Any
 * trouble (DNS, not exactly one record, non-ASCII, bad macros) means no
 * explanation, never a different result.
 */
static void
explain(struct spf_eval *ev, const char *domain, const char *spec)
{
	struct buf name = { 0 }, text = { 0 };
	struct dns_result txt = { 0 };
	bool quiet = ev->quiet;

	ev->quiet = true;
	if (expand(ev, domain, spec, SPF_MACRO_DOMAIN, &name) == 0 &&
	    query(ev, name.data, DNS_T_TXT, false, &txt) == SPF_STEP_GO_ON &&
	    txt.n_records == 1 && is_ascii(txt.records[0]) &&
	    expand(ev, domain, txt.records[0], SPF_MACRO_EXPLAIN, &text) == 0)
		snprintf(ev->out->explanation, sizeof(ev->out->explanation),
		    "%s", text.data);
	ev->quiet = quiet;
	dns_result_free(&txt);
	buf_free(&name);
	buf_free(&text);
}

/* 6.1: no match, so the redirect target's whole result is ours. */
static enum spf_result
redirect(struct spf_eval *ev, const char *domain, const char *spec, bool top)
{
	struct buf target = { 0 };
	enum spf_result res = SPF_PERMERROR;

	if (dns_term(ev) != 0)
		return SPF_PERMERROR;
	if (expand(ev, domain, spec, SPF_MACRO_DOMAIN, &target) == 0)
		res = check_host(ev, target.data, top);
	if (res == SPF_NONE) {
		set_problem(ev, "redirect=%s has no SPF record", target.data);
		res = SPF_PERMERROR;
	}
	buf_free(&target);
	return res;
}

static enum spf_result
record_eval(struct spf_eval *ev, const char *domain,
    const struct spf_record *rec, bool top)
{
	for (size_t i = 0; i < rec->n_dirs; i++) {
		const struct spf_directive *d = &rec->dirs[i];
		enum spf_step step = directive_eval(ev, domain, d);
		if (step == SPF_STEP_GO_ON)
			continue;
		if (step != SPF_STEP_MATCH)
			return step_result(step);
		if (top) {
			snprintf(ev->out->mechanism,
			    sizeof(ev->out->mechanism), "%s", d->text);
			if (d->qualifier == SPF_FAIL && rec->exp)
				explain(ev, domain, rec->exp);
		}
		return d->qualifier;
	}
	if (rec->redirect)
		return redirect(ev, domain, rec->redirect, top);
	return SPF_NEUTRAL;
}

/* 4.5: exactly one TXT record starting "v=spf1"; 7-bit only (3.1). */
static int
record_select(struct spf_eval *ev, const char *domain,
    const struct dns_result *txt, const char **text)
{
	size_t n = 0;

	for (size_t i = 0; i < txt->n_records; i++) {
		if (!spf__is_spf1(txt->records[i]))
			continue;
		*text = txt->records[i];
		n++;
	}
	if (n > 1) {
		set_problem(ev, "%s has more than one SPF record", domain);
		return -1;
	}
	if (n == 1 && !is_ascii(*text)) {
		set_problem(ev, "the SPF record of %s is not ASCII", domain);
		return -1;
	}
	return 0;
}

static int
record_parse(struct spf_eval *ev, const char *domain, const char *text,
    struct spf_record *rec)
{
	char err[200];

	if (spf__record_parse(text, rec, err, sizeof(err)) == 0)
		return 0;
	set_problem(ev, "%s: %s", domain, err);
	return -1;
}

/* true with rec parsed; false with *res none, temperror or permerror. */
static bool
record_get(struct spf_eval *ev, const char *domain, struct spf_record *rec,
    enum spf_result *res)
{
	struct dns_result txt;
	enum spf_step step = query(ev, domain, DNS_T_TXT, true, &txt);
	const char *text = NULL;
	bool found = false;

	*res = SPF_NONE;
	if (step != SPF_STEP_GO_ON)
		*res = step_result(step);
	else if (record_select(ev, domain, &txt, &text) != 0)
		*res = SPF_PERMERROR;
	else if (text && record_parse(ev, domain, text, rec) != 0)
		*res = SPF_PERMERROR;
	else
		found = text != NULL;
	dns_result_free(&txt);
	return found;
}

/* top: the result of this record is the check's (not inside include). */
static enum spf_result
check_host(struct spf_eval *ev, const char *domain, bool top)
{
	struct spf_record rec;
	enum spf_result res;

	if (!record_get(ev, domain, &rec, &res))
		return res;
	res = record_eval(ev, domain, &rec, top);
	spf__record_free(&rec);
	return res;
}

static void
client_names(struct spf_client *cl)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = cl->i;

	inet_ntop(cl->family, cl->addr, cl->c, sizeof(cl->c));
	if (cl->family == AF_INET) {
		snprintf(cl->i, sizeof(cl->i), "%s", cl->c);
		return;
	}
	/* 7.3: IPv6 %{i} is dot-separated nibbles, most significant first. */
	for (int k = 0; k < 16; k++) {
		*p++ = hex[cl->addr[k] >> 4];
		*p++ = '.';
		*p++ = hex[cl->addr[k] & 15];
		*p++ = k < 15 ? '.' : '\0';
	}
}

/* 5: an IPv4-mapped IPv6 client is an IPv4 client. */
static int
client_parse(struct spf_client *cl, const char *text)
{
	struct in6_addr a6;

	if (!text)
		return -1;
	if (inet_pton(AF_INET, text, cl->addr) == 1) {
		cl->family = AF_INET;
	} else if (inet_pton(AF_INET6, text, &a6) != 1) {
		return -1;
	} else if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		cl->family = AF_INET;
		memcpy(cl->addr, a6.s6_addr + 12, 4);
	} else {
		cl->family = AF_INET6;
		memcpy(cl->addr, a6.s6_addr, 16);
	}
	client_names(cl);
	return 0;
}

/*
 * 4.3: <sender> is MAIL FROM, or postmaster@HELO for the null path; an
 * empty local-part becomes "postmaster". The last '@' splits, as a
 * quoted local-part may hold one.
 */
static void
identity_init(struct spf_eval *ev, const struct spf_request *req)
{
	const char *from = req->mail_from ? req->mail_from : "";
	const char *at = strrchr(from, '@');
	size_t len;

	ev->helo = req->helo ? req->helo : "";
	ev->receiver = req->receiver && *req->receiver ? req->receiver :
	    "unknown";
	if (from[0] == '\0' || !at || at == from)
		ev->local = xstrdup("postmaster");
	else
		ev->local = xstrndup(from, (size_t)(at - from));
	if (from[0] == '\0')
		ev->sender_domain = xstrdup(ev->helo);
	else
		ev->sender_domain = xstrdup(at ? at + 1 : from);
	len = strlen(ev->sender_domain);
	if (len > 0 && ev->sender_domain[len - 1] == '.')
		ev->sender_domain[len - 1] = '\0';
	ev->sender = xasprintf("%s@%s", ev->local, ev->sender_domain);
	snprintf(ev->now, sizeof(ev->now), "%lld", (long long)time(NULL));
}

/* Printable ASCII only: the fields may end up in headers and logs. */
static void
printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void
eval_free(struct spf_eval *ev)
{
	for (size_t i = 0; i < ev->n_ptr_names; i++)
		free(ev->ptr_names[i]);
	free(ev->ptr_names);
	free(ev->sender);
	free(ev->local);
	free(ev->sender_domain);
}

void
spf_check(spf_lookup_fn lookup, void *ctx, const struct spf_request *req,
    struct spf_outcome *out)
{
	struct spf_eval ev = { .lookup = lookup, .lookup_ctx = ctx, .out = out };

	memset(out, 0, sizeof(*out));
	if (client_parse(&ev.client, req->client_ip) != 0) {
		out->result = SPF_PERMERROR;
		snprintf(out->problem, sizeof(out->problem),
		    "client address is not an IP address");
		return;
	}
	identity_init(&ev, req);
	deadline_set(&ev);
	snprintf(out->domain, sizeof(out->domain), "%s", ev.sender_domain);
	out->result = SPF_NONE;
	if (domain_ok(ev.sender_domain))
		out->result = check_host(&ev, ev.sender_domain, true);
	/* Reasons of errors that were skipped (PTR, exp=) are not reasons. */
	if (out->result != SPF_TEMPERROR && out->result != SPF_PERMERROR)
		out->problem[0] = '\0';
	printable(out->domain);
	printable(out->mechanism);
	printable(out->explanation);
	printable(out->problem);
	eval_free(&ev);
}
