/*
 * test_dkim_sign.c - signatures we make verify with our own verifier
 * (and fail once the message changes); the field is CRLF-folded.
 * (The relay's integration tests verify them with dkimpy as well.)
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gent/dkim_keys.h"
#include "gent/gent_dkim.h"
#include "gent/util.h"

static char *record;	/* the TXT record of the test key */

static void
lookup(void *ctx, const char *name, enum dns_type type, struct dns_result *out)
{
	(void)ctx;
	(void)type;
	memset(out, 0, sizeof(*out));
	if (strcmp(name, "gent._domainkey.example.test") != 0) {
		out->status = DNS_NXDOMAIN;
		return;
	}
	out->status = DNS_OK;
	out->records = xcalloc(1, sizeof(char *));
	out->records[0] = xstrdup(record);
	out->n_records = 1;
	out->ttl = 60;
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = xcalloc(1, 16384);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, 16383, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char MSG[] = "From: Agent <agent@example.test>\r\n"
    "To: someone@else.test\r\nSubject: Hello there\r\n"
    "Date: Wed, 02 Dec 2026 12:00:00 +0000\r\nMessage-ID: <a1@example.test>\r\n"
    "\r\nBody line one.\r\n\r\nBody line two.\r\n";

static enum gent_dkim_result
verify(const char *sig, const char *msg)
{
	struct gent_dkim_report r;
	char *all = xasprintf("%s%s", sig, msg);
	enum gent_dkim_result res;

	gent_dkim_verify(lookup, NULL, all, strlen(all), &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	res = r.sigs[0].result;
	ck_assert_str_eq(r.sigs[0].domain, "example.test");
	ck_assert_str_eq(r.sigs[0].algorithm, "rsa-sha256");
	gent_dkim_report_free(&r);
	free(all);
	return res;
}

START_TEST(sign_then_verify)
{
	char dir[] = "/tmp/gentd-dkim-sign-XXXXXX", *path, *pub, *err = NULL, *pem, *sig;
	const char *why;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(dkim_key_generate(dir, "k1", &path, &pub, &err), 0);
	record = dkim_key_record(pub);
	pem = read_file(path);
	ck_assert_int_eq(gent_dkim_init(), 0);
	sig = gent_dkim_sign(MSG, strlen(MSG), "example.test", "gent", pem, &why);
	ck_assert_msg(sig != NULL, "sign: %s", why ? why : "?");
	ck_assert(strncmp(sig, "DKIM-Signature: ", 16) == 0);
	ck_assert(strstr(sig, "c=relaxed/relaxed") != NULL);
	ck_assert(strstr(sig, "s=gent") && strstr(sig, "d=example.test"));
	/* Only CRLF line ends, and it ends with one. */
	for (const char *p = sig; *p; p++)
		ck_assert(*p != '\n' || (p > sig && p[-1] == '\r'));
	ck_assert(strcmp(sig + strlen(sig) - 2, "\r\n") == 0);
	ck_assert_int_eq(verify(sig, MSG), GENT_DKIM_PASS);
	/* Relaxed canonicalization: more white space still verifies; other
	 * words do not. */
	char *spaced = xstrdup(MSG), *p = strstr(spaced, "Hello there");
	p[5] = '\t';
	ck_assert_int_eq(verify(sig, spaced), GENT_DKIM_PASS);
	memcpy(p, "Jello", 5);
	ck_assert_int_eq(verify(sig, spaced), GENT_DKIM_FAIL);
	char *body = xstrdup(MSG);
	body[strlen(body) - 5] = 'X';
	ck_assert_int_eq(verify(sig, body), GENT_DKIM_FAIL);
	/* A bad key is an error, not a crash. */
	ck_assert_ptr_null(gent_dkim_sign(MSG, strlen(MSG), "example.test", "gent",
	    "not a key", &why));
	ck_assert_ptr_nonnull(why);
	dkim_key_remove(path);
	rmdir(dir);
	free(spaced);
	free(body);
	free(sig);
	free(pem);
	free(path);
	free(pub);
	free(record);
	gent_dkim_shutdown();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("dkim_sign");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sign_then_verify);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
