/*
 * test_dmarc.c - DMARC decisions (RELIABILITY row 17) against a table of
 * fake _dmarc TXT answers: policy discovery (From domain, then the
 * organisational domain), relaxed and strict alignment, p=/sp=, pct= with
 * the caller's sample, DNS failures, several records, broken records; and
 * organisational domains from the Public Suffix List.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/dmarc.h"
#include "gent/util.h"

/* One fake answer: status and up to three TXT strings. */
struct fake_txt {
	const char		*name;
	enum dns_status		 status;
	const char		*txt[3];
};

struct fake_dns {
	const struct fake_txt	*rrs;
	int			 calls;
};

static void
fake_lookup(void *ctx, const char *name, enum dns_type type,
    struct dns_result *out)
{
	struct fake_dns *d = ctx;

	memset(out, 0, sizeof(*out));
	d->calls++;
	ck_assert_int_eq(type, DNS_T_TXT);
	out->status = DNS_NXDOMAIN;
	for (const struct fake_txt *t = d->rrs; t != NULL && t->name; t++) {
		if (strcasecmp(t->name, name) != 0)
			continue;
		out->status = t->status;
		while (t->status == DNS_OK && out->n_records < 3 &&
		    t->txt[out->n_records] != NULL)
			out->n_records++;
		out->records = xcalloc(out->n_records + 1, sizeof(char *));
		for (size_t i = 0; i < out->n_records; i++)
			out->records[i] = xstrdup(t->txt[i]);
		return;
	}
}

#define REC(n, ...) { n, DNS_OK, { __VA_ARGS__ } }
#define FAIL_DNS(n, st) { n, st, { NULL } }
#define END { NULL, DNS_OK, { NULL } }

static const struct fake_txt zone[] = {
	REC("_dmarc.reject.example", "v=DMARC1; p=reject; rua=mailto:d@reject.example"),
	REC("_dmarc.strictdkim.example", "v=DMARC1; p=reject; adkim=s"),
	REC("_dmarc.strictspf.example", "v=DMARC1; p=quarantine; aspf=s"),
	REC("_dmarc.orgonly.example", "v=DMARC1; p=reject; sp=quarantine"),
	REC("_dmarc.nosp.example", "v=DMARC1; p=reject"),
	REC("_dmarc.sub.own.example", "v=DMARC1; p=reject; sp=none"),
	REC("_dmarc.own.example", "v=DMARC1; p=none"),
	REC("_dmarc.pct0.example", "v=DMARC1; p=reject; pct=0"),
	REC("_dmarc.pct50.example", "v=DMARC1; p=reject; pct=50"),
	REC("_dmarc.badpct.example", "v=DMARC1; p=reject; pct=150"),
	FAIL_DNS("_dmarc.tempfail.example", DNS_TEMPFAIL),
	FAIL_DNS("_dmarc.orgtemp.example", DNS_TEMPFAIL),
	REC("_dmarc.two.example", "v=DMARC1; p=reject", "v=DMARC1; p=none"),
	REC("_dmarc.sub.twosub.example", "v=DMARC1; p=none", "v=DMARC1; p=none"),
	REC("_dmarc.twosub.example", "v=DMARC1; p=reject"),
	REC("_dmarc.mixed.example", "v=spf1 -all", "v=DMARC1; p=reject"),
	REC("_dmarc.version10.example", "v=DMARC10; p=reject"),
	REC("_dmarc.vlast.example", "p=reject; v=DMARC1"),
	REC("_dmarc.lowerv.example", "v=dmarc1; p=reject"),
	REC("_dmarc.spaces.example", " V = DMARC1 ;P = Reject ; ADKIM = s "),
	REC("_dmarc.badp.example", "v=DMARC1; p=block"),
	REC("_dmarc.nop.example", "v=DMARC1; aspf=r"),
	REC("_dmarc.badprua.example", "v=DMARC1; p=block; rua=mailto:dmarc@badprua.example"),
	REC("_dmarc.noprua.example", "v=DMARC1; rua=mailto:dmarc@noprua.example"),
	REC("_dmarc.badsp.example", "v=DMARC1; p=reject; sp=maybe"),
	REC("_dmarc.badrua.example", "v=DMARC1; p=block; rua=not a uri"),
	REC("_dmarc.example.co.uk", "v=DMARC1; p=quarantine"),
	END
};

static const char *const none_dkim[] = { NULL };
static const char *const dkim_sub[] = { "mail.strictdkim.example" };
static const char *const dkim_exact[] = { "strictdkim.example" };
static const char *const dkim_two[] = { "other.example", "Mail.Reject.Example." };
static const char *const dkim_reject_sub[] = { "news.reject.example" };

struct dmarc_case {
	const char		*from, *spf_domain;
	bool			 spf_pass;
	const char *const	*dkim;
	size_t			 n_dkim;
	unsigned		 sample;
	enum dmarc_result	 result;
	const char		*record_domain, *org, *policy, *disposition;
	bool			 spf_aligned, dkim_aligned;
	int			 calls;	/* DNS queries expected; -1: don't check */
};

static const struct dmarc_case cases[] = {
	/* no record anywhere: none; one query when From is the org domain */
	{ "norecord.example", "norecord.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "norecord.example", "", "none", false, false, 1 },
	/* ...and two when it is below it */
	{ "a.b.norecord.example", "norecord.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "norecord.example", "", "none", false, false, 2 },
	/* p=reject, aligned SPF pass */
	{ "reject.example", "reject.example", true, none_dkim, 0, 0,
	    DMARC_PASS, "reject.example", "reject.example", "reject", "none",
	    true, false, 1 },
	/* relaxed SPF: a subdomain of the From domain aligns */
	{ "reject.example", "bounce.reject.example", true, none_dkim, 0, 0,
	    DMARC_PASS, "reject.example", "reject.example", "reject", "none",
	    true, false, 1 },
	/* unaligned SPF pass, no DKIM: fail, reject */
	{ "reject.example", "mailer.other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "reject.example", "reject.example", "reject", "reject",
	    false, false, 1 },
	/* aligned SPF that did not pass does not count */
	{ "reject.example", "reject.example", false, none_dkim, 0, 0,
	    DMARC_FAIL, "reject.example", "reject.example", "reject", "reject",
	    false, false, 1 },
	/* relaxed DKIM, second signer aligns (case and trailing dot ignored) */
	{ "reject.example", NULL, false, dkim_two, 2, 0,
	    DMARC_PASS, "reject.example", "reject.example", "reject", "none",
	    false, true, 1 },
	/* relaxed DKIM: signer below From aligns */
	{ "reject.example", NULL, false, dkim_reject_sub, 1, 0,
	    DMARC_PASS, "reject.example", "reject.example", "reject", "none",
	    false, true, 1 },
	/* adkim=s: a subdomain signer does not align */
	{ "strictdkim.example", NULL, false, dkim_sub, 1, 0,
	    DMARC_FAIL, "strictdkim.example", "strictdkim.example", "reject",
	    "reject", false, false, 1 },
	/* adkim=s: the exact domain does */
	{ "strictdkim.example", NULL, false, dkim_exact, 1, 0,
	    DMARC_PASS, "strictdkim.example", "strictdkim.example", "reject",
	    "none", false, true, 1 },
	/* aspf=s: a subdomain MAIL FROM does not align */
	{ "strictspf.example", "bounce.strictspf.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "strictspf.example", "strictspf.example", "quarantine",
	    "quarantine", false, false, 1 },
	/* record only at the org domain: sp= applies to a subdomain From */
	{ "news.orgonly.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "orgonly.example", "orgonly.example", "quarantine",
	    "quarantine", false, false, 2 },
	/* ...but the org domain itself gets p= */
	{ "orgonly.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "orgonly.example", "orgonly.example", "reject",
	    "reject", false, false, 1 },
	/* no sp=: p= applies to subdomains too */
	{ "x.nosp.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "nosp.example", "nosp.example", "reject", "reject",
	    false, false, 2 },
	/* a record at the subdomain itself: its p=, never its sp= */
	{ "sub.own.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "sub.own.example", "own.example", "reject", "reject",
	    false, false, 1 },
	/* pct=0, sample 50: policy reject, nothing done */
	{ "pct0.example", "other.example", true, none_dkim, 0, 50,
	    DMARC_FAIL, "pct0.example", "pct0.example", "reject", "none",
	    false, false, 1 },
	/* pct=0, sample 0: still nothing */
	{ "pct0.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "pct0.example", "pct0.example", "reject", "none",
	    false, false, 1 },
	/* pct=50: samples 0..49 get the policy, 50..99 do not */
	{ "pct50.example", "other.example", true, none_dkim, 0, 49,
	    DMARC_FAIL, "pct50.example", "pct50.example", "reject", "reject",
	    false, false, 1 },
	{ "pct50.example", "other.example", true, none_dkim, 0, 50,
	    DMARC_FAIL, "pct50.example", "pct50.example", "reject", "none",
	    false, false, 1 },
	/* pct=150 is invalid: default 100 */
	{ "badpct.example", "other.example", true, none_dkim, 0, 99,
	    DMARC_FAIL, "badpct.example", "badpct.example", "reject", "reject",
	    false, false, 1 },
	/* DNS temporary failure at the From domain... */
	{ "tempfail.example", "tempfail.example", true, none_dkim, 0, 0,
	    DMARC_TEMPERROR, "", "tempfail.example", "", "none", false, false, 1 },
	/* ...and at the org domain after NXDOMAIN below it */
	{ "mail.orgtemp.example", "orgtemp.example", true, none_dkim, 0, 0,
	    DMARC_TEMPERROR, "", "orgtemp.example", "", "none", false, false, 2 },
	/* two DMARC records: no policy */
	{ "two.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "two.example", "", "none", false, false, 1 },
	/* two at the From domain: stop, even though the org domain has one */
	{ "sub.twosub.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "twosub.example", "", "none", false, false, 1 },
	/* other TXT records at _dmarc are discarded */
	{ "mixed.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "mixed.example", "mixed.example", "reject", "reject",
	    false, false, 1 },
	/* not DMARC1, v= not first, version in lower case: no record */
	{ "version10.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "version10.example", "", "none", false, false, 1 },
	{ "vlast.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "vlast.example", "", "none", false, false, 1 },
	{ "lowerv.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_NONE, "", "lowerv.example", "", "none", false, false, 1 },
	/* spaces around '=' and ';', tag names and values in any case */
	{ "spaces.example", NULL, false, none_dkim, 0, 0,
	    DMARC_FAIL, "spaces.example", "spaces.example", "reject", "reject",
	    false, false, 1 },
	/* invalid or missing p=, no rua=: permerror, no policy applied */
	{ "badp.example", "badp.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "badp.example", "badp.example", "", "none",
	    false, false, 1 },
	{ "nop.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "nop.example", "nop.example", "", "none",
	    false, false, 1 },
	{ "badsp.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "badsp.example", "badsp.example", "", "none",
	    false, false, 1 },
	{ "badrua.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "badrua.example", "badrua.example", "", "none",
	    false, false, 1 },
	/* invalid or missing p= with a valid rua=: read as p=none */
	{ "badprua.example", "other.example", true, none_dkim, 0, 0,
	    DMARC_FAIL, "badprua.example", "badprua.example", "none", "none",
	    false, false, 1 },
	{ "noprua.example", "noprua.example", true, none_dkim, 0, 0,
	    DMARC_PASS, "noprua.example", "noprua.example", "none", "none",
	    true, false, 1 },
	/* PSL: a From below example.co.uk finds the record there */
	{ "Mail.Example.CO.UK.", "example.co.uk", true, none_dkim, 0, 0,
	    DMARC_PASS, "example.co.uk", "example.co.uk", "quarantine", "none",
	    true, false, 2 },
	/* ...and another registrant under co.uk does not align with it */
	{ "mail.example.co.uk", "evil.co.uk", true, none_dkim, 0, 0,
	    DMARC_FAIL, "example.co.uk", "example.co.uk", "quarantine",
	    "quarantine", false, false, 2 },
	/* no usable From domain */
	{ "", "x.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "", "", "", "none", false, false, 0 },
	{ NULL, "x.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "", "", "", "none", false, false, 0 },
	{ "exa mple.example", "x.example", true, none_dkim, 0, 0,
	    DMARC_PERMERROR, "", "", "", "none", false, false, 0 },
};

START_TEST(dmarc_table)
{
	const struct dmarc_case *c = &cases[_i];
	struct fake_dns d = { .rrs = zone };
	struct dmarc_input in = {
		.from_domain = c->from, .spf_domain = c->spf_domain,
		.spf_pass = c->spf_pass, .dkim_pass_domains = c->dkim,
		.n_dkim_pass = c->n_dkim, .sample = c->sample,
	};
	struct dmarc_outcome out;

	dmarc_evaluate(fake_lookup, &d, &in, &out);
	ck_assert_msg(out.result == c->result, "case %d (%s): got %s (%s)", _i,
	    c->from ? c->from : "NULL", dmarc_result_name(out.result),
	    out.problem);
	ck_assert_str_eq(out.record_domain, c->record_domain);
	ck_assert_str_eq(out.org_domain, c->org);
	ck_assert_str_eq(out.policy, c->policy);
	ck_assert_str_eq(out.disposition, c->disposition);
	ck_assert_int_eq(out.spf_aligned, c->spf_aligned);
	ck_assert_int_eq(out.dkim_aligned, c->dkim_aligned);
	if (c->result == DMARC_PASS)
		ck_assert_str_eq(out.problem, "");
	else
		ck_assert_str_ne(out.problem, "");
	if (c->calls >= 0)
		ck_assert_int_eq(d.calls, c->calls);
}
END_TEST

static const struct {
	const char	*domain, *org;	/* org NULL: none */
} orgs[] = {
	{ "mail.example.co.uk", "example.co.uk" },
	{ "a.b.example.com", "example.com" },
	{ "example.com", "example.com" },
	{ "MAIL.Example.COM.", "example.com" },
	{ "www.city.kawasaki.jp", "city.kawasaki.jp" },
	{ "foo.bar.github.io", "bar.github.io" },
	{ "com", NULL },
	{ "co.uk", NULL },
	{ "", NULL },
	{ "bad..example.com", NULL },
};

START_TEST(org_domain_table)
{
	char out[256];
	int rc = dmarc_org_domain(orgs[_i].domain, out, sizeof(out));

	if (orgs[_i].org == NULL) {
		ck_assert_msg(rc == -1, "%s: got %s", orgs[_i].domain, out);
		return;
	}
	ck_assert_msg(rc == 0, "%s: no org domain", orgs[_i].domain);
	ck_assert_str_eq(out, orgs[_i].org);
}
END_TEST

START_TEST(org_domain_small_buffer)
{
	char out[8];

	ck_assert_int_eq(dmarc_org_domain("a.example.com", out, sizeof(out)), -1);
	ck_assert_int_eq(dmarc_org_domain("a.b.ex.com", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "ex.com");
}
END_TEST

START_TEST(result_names)
{
	ck_assert_str_eq(dmarc_result_name(DMARC_NONE), "none");
	ck_assert_str_eq(dmarc_result_name(DMARC_PASS), "pass");
	ck_assert_str_eq(dmarc_result_name(DMARC_FAIL), "fail");
	ck_assert_str_eq(dmarc_result_name(DMARC_TEMPERROR), "temperror");
	ck_assert_str_eq(dmarc_result_name(DMARC_PERMERROR), "permerror");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dmarc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, dmarc_table, 0, (int)GENT_ARRAY_LEN(cases));
	tcase_add_loop_test(tc, org_domain_table, 0, (int)GENT_ARRAY_LEN(orgs));
	tcase_add_test(tc, org_domain_small_buffer);
	tcase_add_test(tc, result_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
