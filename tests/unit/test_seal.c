/*
 * test_seal.c - src/core/seal.c: sealed secrets open only with the same
 * key and purpose and unchanged bytes; unsealed text passes through.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/seal.h"

static const unsigned char KEY[SEAL_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const unsigned char OTHER[SEAL_KEY_LEN] = "fedcba9876543210fedcba9876543210";

START_TEST(test_round_trip)
{
	char *a = seal_text(KEY, "p", "whsec_dGVzdA=="), *b = seal_text(KEY, "p",
	    "whsec_dGVzdA=="), *plain;

	ck_assert_ptr_nonnull(a);
	ck_assert(seal_is_sealed(a));
	ck_assert_ptr_null(strstr(a, "whsec"));
	ck_assert_str_ne(a, b);			/* a fresh nonce each time */
	plain = unseal_text(KEY, "p", a);
	ck_assert_str_eq(plain, "whsec_dGVzdA==");
	free(plain);
	plain = unseal_text(KEY, "p", b);
	ck_assert_str_eq(plain, "whsec_dGVzdA==");
	free(plain);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_wrong_key_purpose_or_bytes)
{
	char *a = seal_text(KEY, "p", "a secret of some length");
	size_t n = strlen(a);

	ck_assert_ptr_null(unseal_text(OTHER, "p", a));
	ck_assert_ptr_null(unseal_text(KEY, "q", a));
	for (size_t i = strlen("sealed1:"); i < n; i += 7) {
		char saved = a[i];
		a[i] = a[i] == '0' ? '1' : '0';
		ck_assert_ptr_null(unseal_text(KEY, "p", a));
		a[i] = saved;
	}
	a[n - 1] = '\0';			/* odd length */
	ck_assert_ptr_null(unseal_text(KEY, "p", a));
	ck_assert_ptr_null(unseal_text(KEY, "p", "sealed1:zz"));
	ck_assert_ptr_null(unseal_text(KEY, "p", "sealed1:"));
	free(a);
}
END_TEST

START_TEST(test_unsealed_and_limits)
{
	char *plain = unseal_text(KEY, "p", "stored before sealing");
	char *big = malloc(5000);

	ck_assert_str_eq(plain, "stored before sealing");
	free(plain);
	ck_assert_ptr_null(unseal_text(KEY, "p", NULL));
	ck_assert(!seal_is_sealed("sealed"));
	memset(big, 'x', 4999);
	big[4999] = '\0';
	ck_assert_ptr_null(seal_text(KEY, "p", big));	/* over the limit */
	big[4096] = '\0';
	char *s = seal_text(KEY, "p", big);
	ck_assert_ptr_nonnull(s);
	plain = unseal_text(KEY, "p", s);
	ck_assert_str_eq(plain, big);
	free(plain);
	free(s);
	s = seal_text(KEY, "p", "");
	plain = unseal_text(KEY, "p", s);
	ck_assert_str_eq(plain, "");
	free(plain);
	free(s);
	free(big);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("seal");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_wrong_key_purpose_or_bytes);
	tcase_add_test(tc, test_unsealed_and_limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
