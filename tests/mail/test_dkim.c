/*
 * test_dkim.c - DKIM verification against shared/testdata/dkim (RELIABILITY
 * row 15): RFC 8463 ed25519 + rsa, Exim ed25519 and three real Gmail
 * messages pass; tampered body or header fails; bad key records, a bad d=
 * and rsa-sha1 do not pass; DNS failures map to temperror / permerror.
 *
 * Keys come from a fake lookup serving a table built from the key files.
 * Messages are converted from LF to CRLF first. A few signatures (rsa-sha1,
 * a 512-bit key, l=) are made here with OpenSSL over simple/simple, and the
 * same signer's rsa-sha256 output must pass, so a refusal is known to be
 * the policy and not a broken fixture.
 *
 * Usage: test_dkim <testdata/dkim directory>
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gent/gent_dkim.h"
#include "gent/util.h"

#define KEY_TEST "test._domainkey.football.example.com"
#define KEY_BRISBANE "brisbane._domainkey.football.example.com"

static const char *testdata;

/* One fake TXT answer. */
struct fake_rr {
	char			*name;
	char			*txt;	/* NULL with status != DNS_OK */
	enum dns_status		 status;
};

struct fake_dns {
	struct fake_rr		 rr[16];
	size_t			 n;
	const char		*wildcard;	/* served for any name, if set */
	enum dns_status		 all_status;	/* DNS_OK, or forced for every name */
	int			 calls;
};

/* ---- files ---- */

static char *
slurp(const char *rel)
{
	char *path = xasprintf("%s/%s", testdata, rel), *data;
	FILE *f = fopen(path, "rb");
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)n + 1);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	free(path);
	return data;
}

/* A key file's one record, without its line end. */
static char *
key_record(const char *rel)
{
	char *s = slurp(rel);

	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

/* The record for name from keys-query-file.txt ("<name> <TXT data>"). */
static char *
query_file_record(const char *name)
{
	char *all = slurp("keys-query-file.txt"), *save = NULL, *rec = NULL;
	size_t n = strlen(name);

	for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, name, n) == 0 && l[n] == ' ')
			rec = xstrdup(l + n + 1);
	}
	free(all);
	ck_assert_msg(rec != NULL, "no %s in keys-query-file.txt", name);
	return rec;
}

/* A PEM public key as a DKIM key record: its base64 body becomes p=. */
static char *
pem_to_record(const char *rel)
{
	char *pem = slurp(rel), *save = NULL;
	struct buf b = { 0 };

	buf_append_str(&b, "v=DKIM1; k=rsa; p=");
	for (char *l = strtok_r(pem, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		if (strncmp(l, "-----", 5) != 0)
			buf_append_str(&b, l);
	}
	free(pem);
	return b.data;
}

static char *
to_crlf(const char *s)
{
	struct buf b = { 0 };

	for (; *s; s++) {
		if (*s == '\n' && (b.len == 0 || b.data[b.len - 1] != '\r'))
			buf_append(&b, "\r", 1);
		buf_append(&b, s, 1);
	}
	return b.data;
}

static char *
message(const char *rel)
{
	char *raw = slurp(rel), *msg = to_crlf(raw);

	free(raw);
	return msg;
}

/* Replace the first from with to in s (a new string). */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	struct buf b = { 0 };

	ck_assert_msg(at != NULL, "'%s' not in message", from);
	buf_append(&b, s, (size_t)(at - s));
	buf_append_str(&b, to);
	buf_append_str(&b, at + strlen(from));
	return b.data;
}

/* ---- fake DNS ---- */

static void
dns_add(struct fake_dns *d, const char *name, char *txt, enum dns_status st)
{
	ck_assert_uint_lt(d->n, GENT_ARRAY_LEN(d->rr));
	d->rr[d->n].name = xstrdup(name);
	d->rr[d->n].txt = txt;
	d->rr[d->n].status = st;
	d->n++;
}

static void
dns_clear(struct fake_dns *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->rr[i].name);
		free(d->rr[i].txt);
	}
	d->n = 0;
}

/* The keys of the shipped vectors. */
static void
dns_vectors(struct fake_dns *d)
{
	dns_add(d, KEY_BRISBANE, query_file_record(KEY_BRISBANE), DNS_OK);
	dns_add(d, KEY_TEST, key_record("dkimpy/test.txt"), DNS_OK);
	dns_add(d, "sed._domainkey.test.ex", key_record("dkimpy/eximtest.dns"),
	    DNS_OK);
	dns_add(d, "20120113._domainkey.gmail.com",
	    pem_to_record("mimekit/gmail.pub"), DNS_OK);
}

static void
answer(struct dns_result *out, enum dns_status st, const char *txt)
{
	out->status = st;
	if (st != DNS_OK)
		return;
	out->records = xcalloc(1, sizeof(char *));
	out->records[0] = xstrdup(txt);
	out->n_records = 1;
	out->ttl = 300;
}

static void
fake_lookup(void *ctx, const char *name, enum dns_type type,
    struct dns_result *out)
{
	struct fake_dns *d = ctx;

	memset(out, 0, sizeof(*out));
	__atomic_fetch_add(&d->calls, 1, __ATOMIC_RELAXED);
	ck_assert_int_eq(type, DNS_T_TXT);
	if (d->all_status != DNS_OK) {
		answer(out, d->all_status, NULL);
		return;
	}
	if (d->wildcard != NULL) {
		answer(out, DNS_OK, d->wildcard);
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		if (strcasecmp(d->rr[i].name, name) == 0) {
			answer(out, d->rr[i].status, d->rr[i].txt);
			return;
		}
	}
	out->status = DNS_NXDOMAIN;
}

/* ---- helpers ---- */

static void
verify(struct fake_dns *d, const char *msg, struct gent_dkim_report *r)
{
	gent_dkim_verify(fake_lookup, d, msg, strlen(msg), r);
}

static void
verify_file(struct fake_dns *d, const char *rel, struct gent_dkim_report *r)
{
	char *msg = message(rel);

	verify(d, msg, r);
	free(msg);
}

static void
assert_sig(const struct gent_dkim_sig *s, enum gent_dkim_result want,
    const char *domain, const char *selector, const char *alg)
{
	ck_assert_msg(s->result == want, "%s/%s: got %s (%s), want %s",
	    s->domain, s->selector, gent_dkim_result_name(s->result),
	    s->problem, gent_dkim_result_name(want));
	ck_assert_str_eq(s->domain, domain);
	ck_assert_str_eq(s->selector, selector);
	ck_assert_str_eq(s->algorithm, alg);
	if (want == GENT_DKIM_PASS)
		ck_assert_str_eq(s->problem, "");
	else
		ck_assert_str_ne(s->problem, "");
}

/* ---- the shipped vectors ---- */

START_TEST(rfc8463_two_signatures_pass)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;

	dns_vectors(&d);
	verify_file(&d, "dkimpy/rfc6376.signed.msg", &r);
	ck_assert_uint_eq(r.n_sigs, 2);
	assert_sig(&r.sigs[0], GENT_DKIM_PASS, "football.example.com",
	    "brisbane", "ed25519-sha256");
	assert_sig(&r.sigs[1], GENT_DKIM_PASS, "football.example.com", "test",
	    "rsa-sha256");
	ck_assert_uint_eq(r.sigs[1].key_bits, 1024);
	gent_dkim_report_free(&r);
	ck_assert_ptr_null(r.sigs);
	dns_clear(&d);
}
END_TEST

static const struct {
	const char	*file;
	const char	*domain, *selector, *alg;
	unsigned	 bits;
} passing[] = {
	{ "dkimpy/rfc6376.signed.rsa.msg", "football.example.com", "test",
	    "rsa-sha256", 1024 },
	{ "dkimpy/ed25519test2.msg", "test.ex", "sed", "ed25519-sha256", 0 },
	{ "mimekit/gmail.msg", "gmail.com", "20120113", "rsa-sha256", 2048 },
	{ "mimekit/related.msg", "gmail.com", "20120113", "rsa-sha256", 2048 },
	{ "mimekit/multipart-no-end-boundary.msg", "gmail.com", "20120113",
	    "rsa-sha256", 2048 },
};

START_TEST(single_signature_passes)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;

	dns_vectors(&d);
	verify_file(&d, passing[_i].file, &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	assert_sig(&r.sigs[0], GENT_DKIM_PASS, passing[_i].domain,
	    passing[_i].selector, passing[_i].alg);
	if (passing[_i].bits != 0)
		ck_assert_uint_eq(r.sigs[0].key_bits, passing[_i].bits);
	gent_dkim_report_free(&r);
	dns_clear(&d);
}
END_TEST

START_TEST(tampered_body_fails)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;
	char *orig = message("dkimpy/rfc6376.signed.msg");
	char *msg = replace(orig, "We lost the game.", "We won the game.");

	dns_vectors(&d);
	verify(&d, msg, &r);
	ck_assert_uint_eq(r.n_sigs, 2);
	for (size_t i = 0; i < 2; i++) {
		ck_assert_int_eq(r.sigs[i].result, GENT_DKIM_FAIL);
		ck_assert_msg(strstr(r.sigs[i].problem, "body hash") != NULL,
		    "problem: %s", r.sigs[i].problem);
	}
	gent_dkim_report_free(&r);
	free(msg);
	free(orig);
	dns_clear(&d);
}
END_TEST

START_TEST(tampered_header_fails)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;
	char *orig = message("mimekit/gmail.msg");
	char *msg = replace(orig, "\r\nSubject: ", "\r\nSubject: Re: ");

	dns_vectors(&d);
	verify(&d, msg, &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	assert_sig(&r.sigs[0], GENT_DKIM_FAIL, "gmail.com", "20120113",
	    "rsa-sha256");
	gent_dkim_report_free(&r);
	free(msg);
	free(orig);
	dns_clear(&d);
}
END_TEST

/* Key records served for s=test that must not verify email. */
static const struct {
	const char		*file;
	enum gent_dkim_result	 want;
} bad_keys[] = {
	{ "dkimpy/badk.txt", GENT_DKIM_PERMERROR },	  /* k=ed25519-sha256 */
	{ "dkimpy/badversion.txt", GENT_DKIM_PERMERROR }, /* "v=DKIM1:" */
	{ "dkimpy/test_bad.txt", GENT_DKIM_PERMERROR },  /* corrupted p= */
	{ "dkimpy/test_tlsrpt.txt", GENT_DKIM_PERMERROR }, /* s=tlsrpt */
};

START_TEST(bad_key_records_do_not_pass)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;

	dns_add(&d, KEY_TEST, key_record(bad_keys[_i].file), DNS_OK);
	verify_file(&d, "dkimpy/rfc6376.signed.rsa.msg", &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	assert_sig(&r.sigs[0], bad_keys[_i].want, "football.example.com",
	    "test", "rsa-sha256");
	gent_dkim_report_free(&r);
	dns_clear(&d);
}
END_TEST

/* d="legitimate.com(.attacker.com": never looked up, never passes, and the
 * bad name is not copied into the report (it ends up in headers). */
START_TEST(bad_domain_rejected)
{
	char *key = key_record("dkimpy/test.txt");
	struct fake_dns d = { .wildcard = key };
	struct gent_dkim_report r;

	verify_file(&d, "dkimpy/test.message.baddomain", &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	ck_assert_int_eq(r.sigs[0].result, GENT_DKIM_PERMERROR);
	ck_assert_str_eq(r.sigs[0].domain, "");
	ck_assert_int_eq(d.calls, 0);
	gent_dkim_report_free(&r);
	free(key);
}
END_TEST

START_TEST(edited_to_rsa_sha1_not_pass)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;
	char *orig = message("dkimpy/rfc6376.signed.rsa.msg");
	char *msg = replace(orig, "a=rsa-sha256", "a=rsa-sha1");

	dns_vectors(&d);
	verify(&d, msg, &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	assert_sig(&r.sigs[0], GENT_DKIM_POLICY, "football.example.com", "test",
	    "rsa-sha1");
	ck_assert_int_eq(d.calls, 0);
	gent_dkim_report_free(&r);
	free(msg);
	free(orig);
	dns_clear(&d);
}
END_TEST

START_TEST(unsigned_message_has_no_signatures)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;

	verify_file(&d, "dkimpy/rfc6376.msg", &r);
	ck_assert_uint_eq(r.n_sigs, 0);
	ck_assert_ptr_null(r.sigs);
	ck_assert_int_eq(d.calls, 0);
	gent_dkim_report_free(&r);
}
END_TEST

START_TEST(dns_tempfail_is_temperror)
{
	struct fake_dns d = { .all_status = DNS_TEMPFAIL };
	struct gent_dkim_report r;

	verify_file(&d, "dkimpy/rfc6376.signed.msg", &r);
	ck_assert_uint_eq(r.n_sigs, 2);
	assert_sig(&r.sigs[0], GENT_DKIM_TEMPERROR, "football.example.com",
	    "brisbane", "ed25519-sha256");
	assert_sig(&r.sigs[1], GENT_DKIM_TEMPERROR, "football.example.com",
	    "test", "rsa-sha256");
	gent_dkim_report_free(&r);
}
END_TEST

START_TEST(missing_key_is_permerror)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;

	dns_add(&d, KEY_BRISBANE, query_file_record(KEY_BRISBANE), DNS_OK);
	dns_add(&d, KEY_TEST, NULL, DNS_NODATA);
	verify_file(&d, "dkimpy/rfc6376.signed.msg", &r);
	ck_assert_uint_eq(r.n_sigs, 2);
	assert_sig(&r.sigs[0], GENT_DKIM_PASS, "football.example.com",
	    "brisbane", "ed25519-sha256");
	assert_sig(&r.sigs[1], GENT_DKIM_PERMERROR, "football.example.com",
	    "test", "rsa-sha256");
	ck_assert_str_eq(r.sigs[1].problem, "no key record");
	gent_dkim_report_free(&r);
	dns_clear(&d);
}
END_TEST

/* ---- signatures made here: simple/simple over From, To, Subject ---- */

#define HDRS "From: Joe SixPack <joe@football.example.com>\r\n" \
	"To: Suzie Q <suzie@shopping.example.net>\r\n" \
	"Subject: Is dinner ready?\r\n"
#define BODY "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n"

static char *
b64(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static EVP_PKEY *
load_test_key(void)
{
	char *pem = slurp("dkimpy/test.private");
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

	ck_assert_ptr_nonnull(key);
	BIO_free(bio);
	free(pem);
	return key;
}

/* The key record (p= is the SubjectPublicKeyInfo) of key. */
static char *
record_of(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	char *p, *rec;

	ck_assert_int_gt(n, 0);
	p = b64(der, (size_t)n);
	rec = xasprintf("v=DKIM1; k=rsa; p=%s", p);
	OPENSSL_free(der);
	free(p);
	return rec;
}

/* HDRS + BODY (+ extra after the body, unsigned) signed with key. l= set
 * when signed_len > 0. */
static char *
sign_simple(EVP_PKEY *key, const char *alg, const char *selector,
    size_t signed_len, const char *extra)
{
	const EVP_MD *md = strcmp(alg, "rsa-sha1") == 0 ? EVP_sha1() : EVP_sha256();
	size_t blen = signed_len ? signed_len : strlen(BODY), siglen = 0;
	unsigned char hash[EVP_MAX_MD_SIZE], sig[1024];
	unsigned int hlen = 0;
	char *bh, *b, *value, *text, *msg, ltag[32] = "";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_Digest(BODY, blen, hash, &hlen, md, NULL);
	bh = b64(hash, hlen);
	if (signed_len)
		snprintf(ltag, sizeof(ltag), " l=%zu;", signed_len);
	value = xasprintf("v=1; a=%s; c=simple/simple; d=football.example.com;"
	    " s=%s; h=from:to:subject;%s bh=%s; b=", alg, selector, ltag, bh);
	text = xasprintf("%sDKIM-Signature: %s", HDRS, value);
	ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, md, NULL, key), 1);
	ck_assert_int_eq(EVP_DigestSign(ctx, NULL, &siglen,
	    (unsigned char *)text, strlen(text)), 1);
	ck_assert_uint_le(siglen, sizeof(sig));
	ck_assert_int_eq(EVP_DigestSign(ctx, sig, &siglen,
	    (unsigned char *)text, strlen(text)), 1);
	b = b64(sig, siglen);
	msg = xasprintf("DKIM-Signature: %s%s\r\n%s\r\n%s%s", value, b, HDRS,
	    BODY, extra ? extra : "");
	EVP_MD_CTX_free(ctx);
	free(bh);
	free(b);
	free(value);
	free(text);
	return msg;
}

static enum gent_dkim_result
verify_one(struct fake_dns *d, const char *msg, struct gent_dkim_sig *sig_r)
{
	struct gent_dkim_report r;

	verify(d, msg, &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	*sig_r = r.sigs[0];
	gent_dkim_report_free(&r);
	return sig_r->result;
}

START_TEST(own_signer_rsa_sha256_passes)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_sig s;
	EVP_PKEY *key = load_test_key();
	char *msg = sign_simple(key, "rsa-sha256", "test", 0, NULL);

	dns_vectors(&d);
	ck_assert_int_eq(verify_one(&d, msg, &s), GENT_DKIM_PASS);
	free(msg);
	EVP_PKEY_free(key);
	dns_clear(&d);
}
END_TEST

/* A cryptographically valid rsa-sha1 signature is refused (RFC 8301). */
START_TEST(valid_rsa_sha1_is_policy)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_sig s;
	EVP_PKEY *key = load_test_key();
	char *msg = sign_simple(key, "rsa-sha1", "test", 0, NULL);

	dns_vectors(&d);
	ck_assert_int_eq(verify_one(&d, msg, &s), GENT_DKIM_POLICY);
	ck_assert_str_eq(s.algorithm, "rsa-sha1");
	ck_assert_ptr_nonnull(strstr(s.problem, "8301"));
	free(msg);
	EVP_PKEY_free(key);
	dns_clear(&d);
}
END_TEST

START_TEST(rsa_512_bits_is_policy)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_sig s;
	EVP_PKEY *key = EVP_RSA_gen(512);
	char *msg;

	ck_assert_ptr_nonnull(key);
	msg = sign_simple(key, "rsa-sha256", "small", 0, NULL);
	dns_add(&d, "small._domainkey.football.example.com", record_of(key),
	    DNS_OK);
	ck_assert_int_eq(verify_one(&d, msg, &s), GENT_DKIM_POLICY);
	ck_assert_ptr_nonnull(strstr(s.problem, "1024"));
	free(msg);
	EVP_PKEY_free(key);
	dns_clear(&d);
}
END_TEST

/* l= covers the body as signed; text appended after it is unsigned. */
START_TEST(body_length_tag)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_sig s;
	EVP_PKEY *key = load_test_key();
	char *whole = sign_simple(key, "rsa-sha256", "test", strlen(BODY), NULL);
	char *more = sign_simple(key, "rsa-sha256", "test", strlen(BODY),
	    "Click here: http://attacker.example/\r\n");

	dns_vectors(&d);
	ck_assert_int_eq(verify_one(&d, whole, &s), GENT_DKIM_PASS);
	ck_assert_int_eq(verify_one(&d, more, &s), GENT_DKIM_POLICY);
	ck_assert_ptr_nonnull(strstr(s.problem, "l="));
	free(whole);
	free(more);
	EVP_PKEY_free(key);
	dns_clear(&d);
}
END_TEST

/* Every signature is reported; past GENT_DKIM_MAX_VERIFY none is checked. */
START_TEST(too_many_signatures)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;
	char *one = message("dkimpy/rfc6376.signed.rsa.msg");
	const char *from = strstr(one, "From: ");
	struct buf b = { 0 };
	size_t n = GENT_DKIM_MAX_VERIFY + 2;

	for (size_t i = 0; i < n; i++)
		buf_append(&b, one, (size_t)(from - one));
	buf_append_str(&b, from);
	dns_vectors(&d);
	verify(&d, b.data, &r);
	ck_assert_uint_eq(r.n_sigs, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(r.sigs[i].result, i < GENT_DKIM_MAX_VERIFY ?
		    GENT_DKIM_PASS : GENT_DKIM_POLICY);
	gent_dkim_report_free(&r);
	buf_free(&b);
	free(one);
	dns_clear(&d);
}
END_TEST

/* At most GENT_DKIM_MAX_REPORT entries, however many headers there are. */
START_TEST(report_is_capped)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;
	char *one = message("dkimpy/rfc6376.signed.rsa.msg");
	const char *from = strstr(one, "From: ");
	struct buf b = { 0 };

	for (size_t i = 0; i < GENT_DKIM_MAX_REPORT + 6; i++)
		buf_append(&b, one, (size_t)(from - one));
	buf_append_str(&b, from);
	dns_vectors(&d);
	verify(&d, b.data, &r);
	ck_assert_uint_eq(r.n_sigs, GENT_DKIM_MAX_REPORT);
	ck_assert_int_le(d.calls, GENT_DKIM_MAX_VERIFY);
	gent_dkim_report_free(&r);
	buf_free(&b);
	free(one);
	dns_clear(&d);
}
END_TEST

/* Broken DKIM-Signature fields: one entry each, never pass, no crash. */
static const char *const malformed[] = {
	"DKIM-Signature: garbage\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; d=football.example.com\r\n",
	"DKIM-Signature: v=1; a=hmac-sha256; c=simple/simple; "
	    "d=football.example.com; s=test; h=from; bh=AAAA; b=AAAA\r\n",
	"DKIM-Signature: v=2; a=rsa-sha256; c=simple/simple; "
	    "d=football.example.com; s=test; h=from; bh=AAAA; b=AAAA\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; "
	    "d=football.example.com; s=test; h=to; bh=AAAA; b=AAAA\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; "
	    "d=football.example.com; s=te st; h=from; bh=AAAA; b=AAAA\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; "
	    "d=.example.com; s=test; h=from; bh=AAAA; b=AAAA\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; c=bogus; "
	    "d=football.example.com; s=test; h=from; bh=AAAA; b=AAAA\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; "
	    "d=football.example.com; s=test; h=from; bh=AAAA; b=AAAA; "
	    "i=joe@attacker.example\r\n",
	"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; "
	    "d=football.example.com; s=test; h=from; bh=AAAA; b=AAAA; "
	    "x=1000000000\r\n",
};

START_TEST(malformed_signature_not_pass)
{
	struct fake_dns d = { 0 };
	struct gent_dkim_report r;
	char *body = message("dkimpy/rfc6376.msg");
	char *msg = xasprintf("%s%s", malformed[_i], body);

	dns_vectors(&d);
	verify(&d, msg, &r);
	ck_assert_uint_eq(r.n_sigs, 1);
	ck_assert_msg(r.sigs[0].result == GENT_DKIM_PERMERROR ||
	    r.sigs[0].result == GENT_DKIM_FAIL, "got %s (%s)",
	    gent_dkim_result_name(r.sigs[0].result), r.sigs[0].problem);
	ck_assert_str_ne(r.sigs[0].problem, "");
	gent_dkim_report_free(&r);
	free(msg);
	free(body);
	dns_clear(&d);
}
END_TEST

/* Every byte of the signed RFC 8463 message replaced in turn: no crash,
 * and whatever passes still names a valid domain (run under ASan). */
START_TEST(mutated_message_no_crash)
{
	static const char subst[] = { '(', ';', '=', ' ', '\r', '\n', 'x', '\0' };
	struct fake_dns d = { 0 };
	char *orig = message("dkimpy/rfc6376.signed.msg");
	size_t len = strlen(orig);

	dns_vectors(&d);
	for (size_t i = 0; i < len; i++) {
		struct gent_dkim_report r;
		char saved = orig[i];

		orig[i] = subst[i % sizeof(subst)];
		gent_dkim_verify(fake_lookup, &d, orig, len, &r);
		for (size_t k = 0; k < r.n_sigs; k++) {
			ck_assert_int_le(r.sigs[k].result, GENT_DKIM_PERMERROR);
			if (r.sigs[k].result == GENT_DKIM_PASS)
				ck_assert_str_eq(r.sigs[k].domain,
				    "football.example.com");
		}
		gent_dkim_report_free(&r);
		orig[i] = saved;
	}
	free(orig);
	dns_clear(&d);
}
END_TEST

/* ---- threads: one library handle, many verifications at once ---- */

struct worker {
	struct fake_dns		*dns;
	const char		*msg;
	int			 passes;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 20; i++) {
		struct gent_dkim_report r;

		verify(w->dns, w->msg, &r);
		if (r.n_sigs == 2 && r.sigs[0].result == GENT_DKIM_PASS &&
		    r.sigs[1].result == GENT_DKIM_PASS)
			w->passes++;
		gent_dkim_report_free(&r);
	}
	return NULL;
}

START_TEST(concurrent_verification)
{
	struct fake_dns d = { 0 };
	struct worker w[8];
	pthread_t t[8];
	char *msg = message("dkimpy/rfc6376.signed.msg");

	dns_vectors(&d);
	for (size_t i = 0; i < 8; i++) {
		w[i] = (struct worker){ .dns = &d, .msg = msg };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (size_t i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(w[i].passes, 20);
	}
	free(msg);
	dns_clear(&d);
}
END_TEST

START_TEST(result_names)
{
	ck_assert_str_eq(gent_dkim_result_name(GENT_DKIM_PASS), "pass");
	ck_assert_str_eq(gent_dkim_result_name(GENT_DKIM_FAIL), "fail");
	ck_assert_str_eq(gent_dkim_result_name(GENT_DKIM_NEUTRAL), "neutral");
	ck_assert_str_eq(gent_dkim_result_name(GENT_DKIM_POLICY), "policy");
	ck_assert_str_eq(gent_dkim_result_name(GENT_DKIM_TEMPERROR), "temperror");
	ck_assert_str_eq(gent_dkim_result_name(GENT_DKIM_PERMERROR), "permerror");
}
END_TEST

int
main(int argc, char **argv)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s testdata/dkim-directory\n", argv[0]);
		return EXIT_FAILURE;
	}
	testdata = argv[1];
	if (gent_dkim_init() != 0) {
		fprintf(stderr, "gent_dkim_init failed\n");
		return EXIT_FAILURE;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, rfc8463_two_signatures_pass);
	tcase_add_loop_test(tc, single_signature_passes, 0,
	    (int)GENT_ARRAY_LEN(passing));
	tcase_add_test(tc, tampered_body_fails);
	tcase_add_test(tc, tampered_header_fails);
	tcase_add_loop_test(tc, bad_key_records_do_not_pass, 0,
	    (int)GENT_ARRAY_LEN(bad_keys));
	tcase_add_test(tc, bad_domain_rejected);
	tcase_add_test(tc, edited_to_rsa_sha1_not_pass);
	tcase_add_test(tc, unsigned_message_has_no_signatures);
	tcase_add_test(tc, dns_tempfail_is_temperror);
	tcase_add_test(tc, missing_key_is_permerror);
	tcase_add_test(tc, own_signer_rsa_sha256_passes);
	tcase_add_test(tc, valid_rsa_sha1_is_policy);
	tcase_add_test(tc, rsa_512_bits_is_policy);
	tcase_add_test(tc, body_length_tag);
	tcase_add_test(tc, too_many_signatures);
	tcase_add_test(tc, report_is_capped);
	tcase_add_loop_test(tc, malformed_signature_not_pass, 0,
	    (int)GENT_ARRAY_LEN(malformed));
	tcase_add_test(tc, mutated_message_no_crash);
	tcase_add_test(tc, concurrent_verification);
	tcase_add_test(tc, result_names);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	gent_dkim_shutdown();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
