/*
 * test_spf.c - the SPF evaluator (src/mail/spf*.c): the RFC 7208 test
 * suite (RELIABILITY row 13), loopback clients that must not pass for
 * being loopback (row 14), a macro expansion table, domain-spec syntax,
 * exp= explanations, void lookups, the time limit, hostile input, and
 * PTR answers read from raw DNS.
 *
 * The suite is shared/testdata/spf/rfc7208-tests.yml, turned into JSON at
 * build time by spf_suite.py; its path is argv[1]. A missing suite fails
 * the test. Each scenario's zone is served by a fake lookup that applies
 * the rules of the reference driver (pyspf test/testspf.py; see
 * shared/testdata/spf/README.txt) the way our resolver would answer:
 *  - SPF (type 99) data is served as TXT when the name has no TXT of its
 *    own (not even the word NONE); type 99 itself is never asked;
 *  - TIMEOUT in a name's list: a query of the name fails (DNS_TEMPFAIL)
 *    unless a record of the asked type comes before it in the list;
 *  - a TXT given as a list of strings is one record, the strings joined;
 *  - names are case-insensitive; a name with an empty label or one over
 *    63 octets is DNS_BADNAME; a name not in the zone is DNS_NXDOMAIN, a
 *    name without records of the type DNS_NODATA;
 *  - CNAMEs are followed as a recursive resolver would; a loop (a chain
 *    over CNAME_CHAIN_MAX) is DNS_TEMPFAIL, as SERVFAIL would be;
 *  - a NUL byte cannot travel in our C-string records, so a NUL inside a
 *    TXT string is served as DEL (0x7f), another byte no SPF grammar
 *    accepts, keeping such a record invalid (tests a-null, mx-null).
 * Every failing suite test is printed with what was expected and got.
 */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gent/dns.h"
#include "gent/spf.h"
#include "gent/util.h"
#include "spf_int.h"

#define SUITE_TESTS	203	/* release 2014.04 + 2019.08 additions */
#define ZONE_TIMEOUT	0	/* the word TIMEOUT in a name's list */
#define ZONE_CNAME	5
#define ZONE_SPF	99
#define CNAME_CHAIN_MAX	8

static const char *suite_path;	/* argv[1]: the JSON made by spf_suite.py */

struct zone_rr {
	int	 type;	/* DNS type number, or ZONE_TIMEOUT */
	char	*text;	/* as our resolver gives it; NULL for TIMEOUT */
};

struct zone_name {
	char		*name;	/* compared case-insensitively */
	struct zone_rr	*rrs;	/* in the order of the suite */
	size_t		 n_rrs;
};

struct zone {
	struct zone_name	*names;
	size_t			 n_names;
	int			 queries;	/* lookups answered */
};

static struct zone_name *
zone_find(struct zone *z, const char *name, size_t len)
{
	for (size_t i = 0; i < z->n_names; i++)
		if (strlen(z->names[i].name) == len &&
		    strncasecmp(z->names[i].name, name, len) == 0)
			return &z->names[i];
	return NULL;
}

static void
zone_add(struct zone *z, const char *name, int type, const char *text)
{
	struct zone_name *zn = zone_find(z, name, strlen(name));

	if (!zn) {
		z->names = xrealloc(z->names, (z->n_names + 1) * sizeof(*zn));
		zn = &z->names[z->n_names++];
		*zn = (struct zone_name){ .name = xstrdup(name) };
	}
	zn->rrs = xrealloc(zn->rrs, (zn->n_rrs + 1) * sizeof(*zn->rrs));
	zn->rrs[zn->n_rrs++] = (struct zone_rr){ type, xstrdup(text) };
}

static void
zone_free(struct zone *z)
{
	for (size_t i = 0; i < z->n_names; i++) {
		for (size_t j = 0; j < z->names[i].n_rrs; j++)
			free(z->names[i].rrs[j].text);
		free(z->names[i].rrs);
		free(z->names[i].name);
	}
	free(z->names);
	memset(z, 0, sizeof(*z));
}

/* Labels of 1 to 63 octets; one final dot allowed. */
static bool
labels_ok(const char *name, size_t len)
{
	size_t label = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && name[i] != '.') {
			label++;
			continue;
		}
		if (label == 0 || label > 63)
			return false;
		label = 0;
	}
	return true;
}

static void
result_add(struct dns_result *out, const char *text)
{
	out->records = xrealloc(out->records,
	    (out->n_records + 1) * sizeof(char *));
	out->records[out->n_records++] = xstrdup(text);
}

static void
zone_answer(struct zone *z, const char *qname, int type,
    struct dns_result *out, int depth)
{
	size_t len = strlen(qname);
	const struct zone_name *zn;
	const char *cname = NULL;

	if (len > 0 && qname[len - 1] == '.')
		len--;
	if (!labels_ok(qname, len)) {
		out->status = DNS_BADNAME;
		return;
	}
	if (!(zn = zone_find(z, qname, len))) {
		out->status = DNS_NXDOMAIN;
		return;
	}
	for (size_t i = 0; i < zn->n_rrs; i++) {
		const struct zone_rr *rr = &zn->rrs[i];
		if (rr->type == ZONE_TIMEOUT && out->n_records > 0)
			break;
		if (rr->type == ZONE_TIMEOUT) {
			out->status = DNS_TEMPFAIL;
			return;
		}
		if (rr->type == ZONE_CNAME)
			cname = rr->text;
		if (rr->type == type)
			result_add(out, rr->text);
	}
	if (out->n_records == 0 && cname && depth < CNAME_CHAIN_MAX) {
		zone_answer(z, cname, type, out, depth + 1);
		return;
	}
	out->status = out->n_records > 0 ? DNS_OK :
	    cname ? DNS_TEMPFAIL : DNS_NODATA;
}

static void
fake_lookup(void *ctx, const char *name, enum dns_type type,
    struct dns_result *out)
{
	struct zone *z = ctx;

	ck_assert_msg(out->n_records == 0 && out->records == NULL,
	    "lookup result not zeroed by the caller");
	ck_assert(type == DNS_T_A || type == DNS_T_AAAA || type == DNS_T_MX ||
	    type == DNS_T_TXT || type == DNS_T_PTR);
	z->queries++;
	zone_answer(z, name, (int)type, out, 0);
}

/* ---- the suite's zone data (JSON from spf_suite.py) ---- */

/* One TXT record from its strings; NUL bytes served as DEL (see top). */
static char *
txt_join(json_t *strings)
{
	struct buf b = { 0 };
	size_t i;
	json_t *s;

	buf_append(&b, "", 0);
	json_array_foreach(strings, i, s) {
		size_t start = b.len;
		buf_append(&b, json_string_value(s), json_string_length(s));
		for (size_t k = start; k < b.len; k++)
			if (b.data[k] == '\0')
				b.data[k] = 0x7f;
	}
	return b.data;
}

/* Addresses as our resolver prints them (inet_ntop). */
static char *
addr_text(int family, const char *value)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	ck_assert_msg(inet_pton(family, value, a) == 1, "bad address %s", value);
	ck_assert(inet_ntop(family, a, text, sizeof(text)) != NULL);
	return xstrdup(text);
}

static int
entry_type(const char *t)
{
	static const struct { const char *name; int type; } types[] = {
		{ "TIMEOUT", ZONE_TIMEOUT }, { "A", DNS_T_A },
		{ "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX }, { "TXT", DNS_T_TXT },
		{ "SPF", ZONE_SPF }, { "PTR", DNS_T_PTR }, { "CNAME", ZONE_CNAME },
	};

	for (size_t i = 0; i < GENT_ARRAY_LEN(types); i++)
		if (strcmp(t, types[i].name) == 0)
			return types[i].type;
	ck_abort_msg("unknown zone entry type %s", t);
	return -1;
}

static char *
entry_text(int type, json_t *e)
{
	switch (type) {
	case ZONE_TIMEOUT:
		return NULL;
	case DNS_T_TXT:
	case ZONE_SPF:
		return txt_join(json_object_get(e, "strings"));
	case DNS_T_MX:
		return xasprintf("%d %s",
		    (int)json_integer_value(json_object_get(e, "pref")),
		    json_string_value(json_object_get(e, "host")));
	case DNS_T_A:
	case DNS_T_AAAA:
		return addr_text(type == DNS_T_A ? AF_INET : AF_INET6,
		    json_string_value(json_object_get(e, "value")));
	}
	return xstrdup(json_string_value(json_object_get(e, "value")));
}

/* One name: its entries in order, then SPF copied to TXT if no TXT. */
static void
zone_load_name(struct zone *z, const char *name, json_t *entries)
{
	bool has_txt = false;
	struct zone_name *zn;
	size_t i, n;
	json_t *e;

	json_array_foreach(entries, i, e) {
		int type = entry_type(json_string_value(
		    json_object_get(e, "type")));
		has_txt |= type == DNS_T_TXT;
		if (json_is_true(json_object_get(e, "none")))
			continue;
		char *text = entry_text(type, e);
		zone_add(z, name, type, text);
		free(text);
	}
	if (has_txt || !(zn = zone_find(z, name, strlen(name))))
		return;
	n = zn->n_rrs;
	for (i = 0; i < n; i++) {
		zn = zone_find(z, name, strlen(name));	/* zone_add moves it */
		if (zn->rrs[i].type != ZONE_SPF)
			continue;
		char *text = xstrdup(zn->rrs[i].text);
		zone_add(z, name, DNS_T_TXT, text);
		free(text);
	}
}

static void
zone_load(struct zone *z, json_t *zone)
{
	const char *name;
	json_t *entries;

	memset(z, 0, sizeof(*z));
	json_object_foreach(zone, name, entries)
		zone_load_name(z, name, entries);
}

static const char *
str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	ck_assert_msg(s != NULL, "suite test without %s", key);
	return s;
}

static bool
result_expected(json_t *expected, enum spf_result got)
{
	size_t i;
	json_t *r;

	json_array_foreach(expected, i, r)
		if (strcmp(json_string_value(r), spf_result_name(got)) == 0)
			return true;
	return false;
}

/* The reference driver's default explanation "DEFAULT" is our "". */
static const char *
explanation_wanted(json_t *t)
{
	const char *want = json_string_value(json_object_get(t, "explanation"));

	return want && strcmp(want, "DEFAULT") == 0 ? "" : want;
}

static void
report_failure(json_t *t, const char *scenario, const struct spf_outcome *o)
{
	char *expected = json_dumps(json_object_get(t, "result"), JSON_COMPACT);
	const char *want_exp = explanation_wanted(t);

	fprintf(stderr, "FAIL %s (%s): expected %s, got %s; mechanism \"%s\" "
	    "problem \"%s\" explanation \"%s\"%s%s%s\n", str(t, "id"), scenario,
	    expected, spf_result_name(o->result), o->mechanism, o->problem,
	    o->explanation, want_exp ? " (wanted \"" : "",
	    want_exp ? want_exp : "", want_exp ? "\")" : "");
	free(expected);
}

static bool
suite_run_test(struct zone *z, json_t *t, const char *scenario)
{
	const struct spf_request req = {
		.client_ip = str(t, "host"),
		.helo = str(t, "helo"),
		.mail_from = str(t, "mailfrom"),
		.receiver = "mx.test.example",
	};
	const char *want_exp = explanation_wanted(t);
	struct spf_outcome out;
	bool ok;

	spf_check(fake_lookup, z, &req, &out);
	ok = result_expected(json_object_get(t, "result"), out.result) &&
	    (!want_exp || strcmp(want_exp, out.explanation) == 0);
	if (!ok)
		report_failure(t, scenario, &out);
	return ok;
}

START_TEST(rfc7208_suite)
{
	json_error_t jerr;
	json_t *root = json_load_file(suite_path, JSON_ALLOW_NUL, &jerr);
	json_t *scenario, *t;
	size_t i, j;
	int total = 0, passed = 0;

	ck_assert_msg(root != NULL, "cannot load %s: %s", suite_path, jerr.text);
	ck_assert_msg(!json_object_get(root, "error"), "RFC 7208 suite: %s",
	    json_string_value(json_object_get(root, "error")));
	json_array_foreach(json_object_get(root, "scenarios"), i, scenario) {
		const char *desc = str(scenario, "description");
		struct zone z;
		zone_load(&z, json_object_get(scenario, "zone"));
		json_array_foreach(json_object_get(scenario, "tests"), j, t) {
			total++;
			passed += suite_run_test(&z, t, desc);
		}
		zone_free(&z);
	}
	fprintf(stderr, "rfc7208 suite: %d/%d tests pass\n", passed, total);
	ck_assert_int_eq(total,
	    (int)json_integer_value(json_object_get(root, "count")));
	ck_assert_int_eq(total, SUITE_TESTS);
	ck_assert_int_eq(passed, total);
	json_decref(root);
}
END_TEST

/* ---- our own cases ---- */

static void
check_one(struct zone *z, const char *ip, const char *from, const char *helo,
    struct spf_outcome *out)
{
	const struct spf_request req = { .client_ip = ip, .helo = helo,
	    .mail_from = from, .receiver = "mx.test.example" };

	spf_check(fake_lookup, z, &req, out);
}

/* RELIABILITY 14: libspf2 passes any 127/8 client; we never do. */
START_TEST(loopback_not_trusted)
{
	static const char *const clients[] = { "127.0.0.1", "::1",
	    "::ffff:127.0.0.1", "127.1.2.3" };
	struct zone z = { 0 };
	struct spf_outcome out;

	zone_add(&z, "deny.example", DNS_T_TXT, "v=spf1 -all");
	zone_add(&z, "unsure.example", DNS_T_TXT, "v=spf1 ?all");
	zone_add(&z, "lo.example", DNS_T_TXT, "v=spf1 ip4:127.0.0.1 -all");
	for (size_t i = 0; i < GENT_ARRAY_LEN(clients); i++) {
		check_one(&z, clients[i], "a@deny.example", "h.example", &out);
		ck_assert_msg(out.result == SPF_FAIL, "%s got %s", clients[i],
		    spf_result_name(out.result));
		ck_assert_str_eq(out.mechanism, "-all");
		check_one(&z, clients[i], "a@unsure.example", "h.example", &out);
		ck_assert_int_eq(out.result, SPF_NEUTRAL);
		check_one(&z, clients[i], "a@nothing.example", "h.example",
		    &out);
		ck_assert_int_eq(out.result, SPF_NONE);
	}
	/* Loopback passes only when the policy lists it. */
	check_one(&z, "127.0.0.1", "a@lo.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_PASS);
	check_one(&z, "::1", "a@lo.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_FAIL);
	zone_free(&z);
}
END_TEST

static const char *
fixed_ptr(void *arg, const char *domain)
{
	(void)domain;
	return arg;
}

/* RFC 7208 section 7.4 examples, plus the corner cases of 7.1-7.3. */
static const struct macro_case {
	const char		*in;
	enum spf_macro_use	 use;
	const char		*want;	/* NULL: syntax error */
} macro_cases[] = {
	{ "%{s}", SPF_MACRO_DOMAIN, "strong-bad@email.example.com" },
	{ "%{o}", SPF_MACRO_DOMAIN, "email.example.com" },
	{ "%{d}", SPF_MACRO_DOMAIN, "email.example.com" },
	{ "%{d4}", SPF_MACRO_DOMAIN, "email.example.com" },
	{ "%{d3}", SPF_MACRO_DOMAIN, "email.example.com" },
	{ "%{d2}", SPF_MACRO_DOMAIN, "example.com" },
	{ "%{d1}", SPF_MACRO_DOMAIN, "com" },
	{ "%{dr}", SPF_MACRO_DOMAIN, "com.example.email" },
	{ "%{d2r}", SPF_MACRO_DOMAIN, "example.email" },
	{ "%{l}", SPF_MACRO_DOMAIN, "strong-bad" },
	{ "%{l-}", SPF_MACRO_DOMAIN, "strong.bad" },
	{ "%{lr}", SPF_MACRO_DOMAIN, "strong-bad" },
	{ "%{lr-}", SPF_MACRO_DOMAIN, "bad.strong" },
	{ "%{l1r-}", SPF_MACRO_DOMAIN, "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN,
	    "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", SPF_MACRO_DOMAIN,
	    "bad.strong.lp._spf.example.com" },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", SPF_MACRO_DOMAIN,
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", SPF_MACRO_DOMAIN,
	    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "%{d2}.trusted-domains.example.net", SPF_MACRO_DOMAIN,
	    "example.com.trusted-domains.example.net" },
	{ "%{p}.%{p2}.%{h}", SPF_MACRO_DOMAIN,
	    "mx.example.org.example.org.helo.example.org" },
	{ "%{D2}.%{L}", SPF_MACRO_DOMAIN, "example.com.strong-bad" },
	{ "%{l=}", SPF_MACRO_DOMAIN, "strong-bad" },
	{ "%{d2+-=}", SPF_MACRO_DOMAIN, "email.example.com" },
	{ "%{d2.-}", SPF_MACRO_DOMAIN, "example.com" },
	{ "%{d99}", SPF_MACRO_DOMAIN, "email.example.com" },
	{ "x%%y%_z%-w", SPF_MACRO_DOMAIN, "x%y z%20w" },
	{ "trailing.dot.", SPF_MACRO_DOMAIN, "trailing.dot" },
	{ "trailing.dot.", SPF_MACRO_EXPLAIN, "trailing.dot." },
	{ "%{c} via %{r} at %{t}", SPF_MACRO_EXPLAIN,
	    "192.0.2.3 via mail.example.net at 1234567890" },
	{ "%{C}/%{S}", SPF_MACRO_EXPLAIN,
	    "192.0.2.3/strong-bad%40email.example.com" },
	{ "%{L}", SPF_MACRO_DOMAIN, "strong-bad" },
	{ "%{c}", SPF_MACRO_DOMAIN, NULL },
	{ "%{r}", SPF_MACRO_DOMAIN, NULL },
	{ "%{t}", SPF_MACRO_DOMAIN, NULL },
	{ "two words", SPF_MACRO_DOMAIN, NULL },
	{ "%{x}", SPF_MACRO_EXPLAIN, NULL },
	{ "%{d0}", SPF_MACRO_DOMAIN, NULL },
	{ "%{d", SPF_MACRO_DOMAIN, NULL },
	{ "%{}", SPF_MACRO_DOMAIN, NULL },
	{ "%{d2r!}", SPF_MACRO_DOMAIN, NULL },
	{ "%(d)", SPF_MACRO_DOMAIN, NULL },
	{ "50%", SPF_MACRO_DOMAIN, NULL },
	{ "%a", SPF_MACRO_DOMAIN, NULL },
	{ "tab\there", SPF_MACRO_EXPLAIN, NULL },
	{ "caf\xc3\xa9", SPF_MACRO_EXPLAIN, NULL },
};

static void
macro_env_rfc(struct spf_macro_env *env)
{
	*env = (struct spf_macro_env){
		.sender = "strong-bad@email.example.com",
		.local = "strong-bad",
		.sender_domain = "email.example.com",
		.domain = "email.example.com",
		.ip = "192.0.2.3",
		.ip_pretty = "192.0.2.3",
		.ip_version = "in-addr",
		.helo = "helo.example.org",
		.receiver = "mail.example.net",
		.timestamp = "1234567890",
		.ptr_name = fixed_ptr,
		.ptr_arg = (void *)"mx.example.org",
	};
}

START_TEST(macro_table)
{
	const struct macro_case *c = &macro_cases[_i];
	struct spf_macro_env env;
	struct buf out = { 0 };
	int rc;

	macro_env_rfc(&env);
	rc = spf__macro_expand(c->in, c->use, &env, &out);
	ck_assert_int_eq(spf__macro_check(c->in, c->use), c->want ? 0 : -1);
	if (!c->want)
		ck_assert_msg(rc == -1, "%s expanded to %s", c->in, out.data);
	else
		ck_assert_msg(rc == 0 && strcmp(out.data, c->want) == 0,
		    "%s: got %s, want %s", c->in, out.data, c->want);
	buf_free(&out);
}
END_TEST

START_TEST(macro_ip6_and_length)
{
	struct spf_macro_env env;
	struct buf out = { 0 }, in = { 0 };

	macro_env_rfc(&env);
	env.ip = "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "C.B.0.1";
	env.ip_version = "ip6";
	ck_assert_int_eq(spf__macro_expand("%{ir}.%{v}._spf.%{d2}",
	    SPF_MACRO_DOMAIN, &env, &out), 0);
	ck_assert_str_eq(out.data, "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
	buf_free(&out);
	/* Over 253 octets: labels go from the left until it fits (7.3). */
	buf_append_str(&in, "first");
	for (int i = 0; i < 30; i++)
		buf_append_str(&in, ".%{d}");
	ck_assert_int_eq(spf__macro_expand(in.data, SPF_MACRO_DOMAIN, &env,
	    &out), 0);
	ck_assert_uint_le(out.len, 253);
	ck_assert_uint_gt(out.len, 253 - 18);
	ck_assert_str_eq(out.data + out.len - 17, "email.example.com");
	ck_assert(strncmp(out.data, "example.com.", 12) == 0 ||
	    strncmp(out.data, "email.", 6) == 0 ||
	    strncmp(out.data, "com.", 4) == 0);
	buf_free(&out);
	buf_free(&in);
}
END_TEST

static const struct {
	const char	*spec;
	bool		 ok;
} domain_specs[] = {
	{ "foo.example.com", true },
	{ "foo.example.com.", true },
	{ "%{d}", true },
	{ "_spf.%{d2}", true },
	{ "%{ir}.%{v}._spf.%{d2}", true },
	{ "a.xn--zckzah", true },
	{ "a.123-45", true },
	{ "foo:bar/baz.example.com", true },
	{ "foo%%", true },
	{ "foo-bar", false },
	{ "museum", false },
	{ "museum.", false },
	{ "abc.123", false },
	{ "111.222.33.44", false },
	{ "example.-com", false },
	{ "example.com-", false },
	{ "example.com:8080", false },
	{ "example.com..", false },
	{ "%{d}com", false },
	{ "%{d}.", false },
	{ "%{c}.example.com", false },
	{ "foo.example.com\r", false },
	{ "", false },
};

START_TEST(domain_spec_table)
{
	ck_assert_msg((spf__domain_spec_check(domain_specs[_i].spec) == 0) ==
	    domain_specs[_i].ok, "%s", domain_specs[_i].spec);
}
END_TEST

START_TEST(explanation_text)
{
	struct zone z = { 0 };
	struct spf_outcome out;

	zone_add(&z, "example.org", DNS_T_TXT,
	    "v=spf1 mx -all exp=explain._spf.%{d}");
	zone_add(&z, "explain._spf.example.org", DNS_T_TXT,
	    "%{i} is not one of %{d}'s designated mail servers.");
	zone_add(&z, "crt.example.org", DNS_T_TXT,
	    "v=spf1 -all exp=crt-exp.example.org");
	zone_add(&z, "crt-exp.example.org", DNS_T_TXT,
	    "%{c} said %{h} to %{r} at %{t}; see %{S}");
	zone_add(&z, "soft.example.org", DNS_T_TXT,
	    "v=spf1 ~all exp=explain._spf.example.org");

	check_one(&z, "192.0.2.3", "someone@example.org", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_FAIL);
	ck_assert_str_eq(out.domain, "example.org");
	ck_assert_str_eq(out.mechanism, "-all");
	ck_assert_str_eq(out.explanation, "192.0.2.3 is not one of "
	    "example.org's designated mail servers.");

	check_one(&z, "2001:db8::1", "", "crt.example.org", &out);
	ck_assert_int_eq(out.result, SPF_FAIL);
	ck_assert_str_eq(out.domain, "crt.example.org");
	const char *head = "2001:db8::1 said crt.example.org to mx.test.example "
	    "at ";
	ck_assert_msg(strncmp(out.explanation, head, strlen(head)) == 0, "%s",
	    out.explanation);
	ck_assert_msg(strstr(out.explanation,
	    "; see postmaster%40crt.example.org") != NULL, "%s",
	    out.explanation);

	/* Only a fail has an explanation. */
	check_one(&z, "192.0.2.3", "someone@soft.example.org", "h.example",
	    &out);
	ck_assert_int_eq(out.result, SPF_SOFTFAIL);
	ck_assert_str_eq(out.explanation, "");
	zone_free(&z);
}
END_TEST

START_TEST(outcome_fields)
{
	struct zone z = { 0 };
	struct spf_outcome out;

	zone_add(&z, "bad.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.1 frob -all");
	zone_add(&z, "slow.example", ZONE_TIMEOUT, NULL);
	zone_add(&z, "ok.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 -all");

	check_one(&z, "192.0.2.1", "x@bad.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_PERMERROR);
	ck_assert_msg(strstr(out.problem, "frob") != NULL, "%s", out.problem);
	check_one(&z, "192.0.2.1", "x@slow.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_TEMPERROR);
	ck_assert_msg(strstr(out.problem, "slow.example") != NULL, "%s",
	    out.problem);
	check_one(&z, "192.0.2.9", "x@ok.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_PASS);
	ck_assert_str_eq(out.mechanism, "ip4:192.0.2.0/24");
	ck_assert_str_eq(out.problem, "");
	check_one(&z, "not-an-ip", "x@ok.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_PERMERROR);
	ck_assert_str_eq(spf_result_name(SPF_SOFTFAIL), "softfail");
	ck_assert_str_eq(spf_result_name(SPF_TEMPERROR), "temperror");
	zone_free(&z);
}
END_TEST

/* 4.6.4 counts terms: MX hosts without AAAA are no void lookups. */
START_TEST(mx_hosts_not_void)
{
	struct zone z = { 0 };
	struct spf_outcome out;

	zone_add(&z, "v4mx.example", DNS_T_TXT, "v=spf1 mx a -all");
	for (int i = 1; i <= 4; i++) {
		char *host = xasprintf("mx%d.v4mx.example", i);
		char *mx = xasprintf("%d %s", i * 10, host);
		zone_add(&z, "v4mx.example", DNS_T_MX, mx);
		zone_add(&z, host, DNS_T_A, "192.0.2.10");
		free(mx);
		free(host);
	}
	check_one(&z, "2001:db8::25", "a@v4mx.example", "h.example", &out);
	ck_assert_msg(out.result == SPF_FAIL, "%s: %s",
	    spf_result_name(out.result), out.problem);
	check_one(&z, "192.0.2.10", "a@v4mx.example", "h.example", &out);
	ck_assert_int_eq(out.result, SPF_PASS);
	ck_assert_str_eq(out.mechanism, "mx");
	zone_free(&z);
}
END_TEST

static void
slow_lookup(void *ctx, const char *name, enum dns_type type,
    struct dns_result *out)
{
	const struct timespec pause = { 0, 20 * 1000 * 1000 };

	nanosleep(&pause, NULL);
	fake_lookup(ctx, name, type, out);
}

/* 4.6.4: past the time limit, no more lookups and temperror. */
START_TEST(time_limit)
{
	const struct spf_request req = { .client_ip = "192.0.2.1",
	    .helo = "h.example", .mail_from = "a@slow.example",
	    .receiver = "mx.test.example" };
	unsigned saved = spf__time_limit_ms;
	struct zone z = { 0 };
	struct spf_outcome out;

	zone_add(&z, "slow.example", DNS_T_TXT, "v=spf1 a:h1.slow.example "
	    "a:h2.slow.example a:h3.slow.example a:h4.slow.example "
	    "a:h5.slow.example a:h6.slow.example -all");
	for (int i = 1; i <= 6; i++) {
		char *host = xasprintf("h%d.slow.example", i);
		zone_add(&z, host, DNS_T_A, "198.51.100.1");
		free(host);
	}
	spf__time_limit_ms = 50;
	spf_check(slow_lookup, &z, &req, &out);
	spf__time_limit_ms = saved;
	ck_assert_int_eq(out.result, SPF_TEMPERROR);
	ck_assert_msg(strstr(out.problem, "50 ms") != NULL, "%s", out.problem);
	ck_assert_int_lt(z.queries, 7);
	zone_free(&z);
}
END_TEST

/* Outcome text is printable ASCII; expansions are bounded. */
START_TEST(hostile_input)
{
	struct zone z = { 0 };
	struct spf_outcome out;
	struct buf big = { 0 }, from = { 0 };

	zone_add(&z, "expl.example", DNS_T_TXT, "v=spf1 -all exp=why.example");
	zone_add(&z, "why.example", DNS_T_TXT, "no %{l} here");
	check_one(&z, "192.0.2.1", "x\ty\r\n@expl.example", "h.example",
	    &out);
	ck_assert_int_eq(out.result, SPF_FAIL);
	ck_assert_str_eq(out.explanation, "no x?y?? here");
	check_one(&z, "192.0.2.1", "x@bad\x01.example", "h.example", &out);
	ck_assert_str_eq(out.domain, "bad?.example");

	buf_append_str(&big, "v=spf1 exists:");
	for (int i = 0; i < 60; i++)
		buf_append_str(&big, "%{S}");
	buf_append_str(&big, ".example -all");
	zone_add(&z, "big.example", DNS_T_TXT, big.data);
	for (int i = 0; i < 200; i++)
		buf_append_str(&from, "x");
	buf_append_str(&from, "@big.example");
	check_one(&z, "192.0.2.1", from.data, "h.example", &out);
	ck_assert_int_eq(out.result, SPF_PERMERROR);
	buf_free(&big);
	buf_free(&from);
	zone_free(&z);
}
END_TEST

/* A raw PTR answer (RFC 1035 4.1) with two names: two records. */
START_TEST(ptr_answer_parse)
{
	static const unsigned char msg[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		1, '4', 1, '3', 1, '2', 1, '1', 7, 'i', 'n', '-', 'a', 'd',
		'd', 'r', 4, 'a', 'r', 'p', 'a', 0, 0, 12, 0, 1,
		0xc0, 12, 0, 12, 0, 1, 0, 0, 1, 44, 0, 11,
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 200, 0, 11,
		1, 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	};
	struct dns_result res;

	dns_answer_parse(msg, sizeof(msg), DNS_T_PTR, &res);
	ck_assert_int_eq(res.status, DNS_OK);
	ck_assert_uint_eq(res.n_records, 2);
	ck_assert_str_eq(res.records[0], "a.example");
	ck_assert_str_eq(res.records[1], "b.example");
	ck_assert_uint_eq(res.ttl, 200);
	dns_result_free(&res);
}
END_TEST

static Suite *
spf_suite(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("spf");

	tcase_add_test(tc, rfc7208_suite);
	tcase_add_test(tc, loopback_not_trusted);
	tcase_add_loop_test(tc, macro_table, 0, GENT_ARRAY_LEN(macro_cases));
	tcase_add_test(tc, macro_ip6_and_length);
	tcase_add_loop_test(tc, domain_spec_table, 0,
	    GENT_ARRAY_LEN(domain_specs));
	tcase_add_test(tc, explanation_text);
	tcase_add_test(tc, outcome_fields);
	tcase_add_test(tc, ptr_answer_parse);
	tcase_add_test(tc, mx_hosts_not_void);
	tcase_add_test(tc, time_limit);
	tcase_add_test(tc, hostile_input);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	suite_path = argc > 1 ? argv[1] : "rfc7208-tests.json";
	sr = srunner_create(spf_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
