/*
 * test_webhook_url.c - the SSRF classifier webhook_addr_is_private() and
 * the URL policy webhook_url_check(), as tables (RELIABILITY row 20; the
 * address cases follow stripe/smokescreen's classifier tests plus the
 * IPv6 forms that embed an IPv4 address).
 */
#include <check.h>
#include <stdlib.h>

#include "gent/util.h"
#include "gent/webhook_url.h"

static const struct {
	const char	*ip;
	bool		 private;
} addrs[] = {
	/* IPv4 */
	{ "127.0.0.1", true }, { "127.255.255.254", true },
	{ "10.0.0.1", true }, { "172.16.0.1", true },
	{ "172.31.255.255", true },
	{ "172.32.0.1", false }, { "192.168.1.1", true },
	{ "169.254.169.254", true },			/* cloud metadata */
	{ "169.254.0.1", true },
	{ "100.64.0.1", true }, { "100.127.255.255", true },	/* CGNAT */
	{ "100.63.255.255", false }, { "100.128.0.0", false },
	{ "0.0.0.0", true }, { "0.1.2.3", true },		/* 0/8 */
	{ "224.0.0.1", true }, { "239.255.255.250", true },	/* multicast */
	{ "240.0.0.1", true }, { "255.255.255.255", true },	/* broadcast */
	{ "192.0.0.8", true }, { "192.0.2.1", true },
	{ "198.18.0.1", true }, { "198.19.255.255", true },
	{ "198.51.100.7", true }, { "203.0.113.9", true },
	{ "8.8.8.8", false }, { "1.1.1.1", false }, { "93.184.216.34", false },
	{ "192.0.3.1", false }, { "198.20.0.1", false },
	/* IPv6 native */
	{ "::1", true }, { "::", true },
	{ "fe80::1", true }, { "febf::1", true }, { "fec0::1", true },
	{ "fc00::1", true }, { "fd12:3456::1", true },
	{ "fd00:ec2::254", true },			/* AWS metadata v6 */
	{ "ff02::1", true }, { "ff05::2", true },
	{ "2001:db8::1", true }, { "100::1", true },
	{ "2606:4700:4700::1111", false }, { "2a00:1450:4001::200e", false },
	/* IPv4-mapped and IPv4-compatible */
	{ "::ffff:127.0.0.1", true }, { "::ffff:7f00:1", true },
	{ "::ffff:169.254.169.254", true }, { "::ffff:10.1.2.3", true },
	{ "::ffff:8.8.8.8", false },
	{ "::127.0.0.1", true }, { "::10.0.0.1", true }, { "::8.8.8.8", false },
	{ "::ffff:0:127.0.0.1", true },			/* SIIT */
	/* NAT64 */
	{ "64:ff9b::127.0.0.1", true }, { "64:ff9b::a9fe:a9fe", true },
	{ "64:ff9b::192.168.0.1", true }, { "64:ff9b::8.8.8.8", false },
	{ "64:ff9b:1::1", true },			/* local-use NAT64 */
	/* 6to4 */
	{ "2002:7f00:1::", true }, { "2002:a9fe:a9fe::1", true },
	{ "2002:c0a8:101::1", true }, { "2002:808:808::1", false },
	/* Teredo */
	{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", true },
	/* not addresses */
	{ "example.com", false }, { "", false }, { "127.1", false },
};

START_TEST(test_addr_table)
{
	for (size_t i = 0; i < GENT_ARRAY_LEN(addrs); i++)
		ck_assert_msg(webhook_addr_is_private(addrs[i].ip) ==
		    addrs[i].private, "%s: expected %s", addrs[i].ip,
		    addrs[i].private ? "private" : "public");
}
END_TEST

static const struct {
	const char	*url;
	bool		 allow_private;
	bool		 ok;
} urls[] = {
	{ "https://hooks.example.com/x", false, true },
	{ "https://hooks.example.com:8443/x?a=b", false, true },
	{ "http://hooks.example.com/x", false, false },	/* HTTPS required */
	{ "http://hooks.example.com/x", true, false },	/* even when private */
	{ "ftp://hooks.example.com/x", true, false },
	{ "https://user:pw@hooks.example.com/", false, false },
	{ "https://127.0.0.1/", false, false },
	{ "https://[::1]/", false, false },
	{ "https://[::ffff:127.0.0.1]/", false, false },
	{ "https://[64:ff9b::a9fe:a9fe]/", false, false },
	{ "https://169.254.169.254/latest/meta-data/", false, false },
	{ "https://localhost/", false, false },
	{ "https://a.localhost./", false, false },
	{ "http://127.0.0.1:8080/hook", true, true },
	{ "http://localhost:8080/hook", true, true },
	{ "not a url", false, false },
	{ "/relative", false, false },
};

START_TEST(test_url_table)
{
	for (size_t i = 0; i < GENT_ARRAY_LEN(urls); i++) {
		const char *why = webhook_url_check(urls[i].url,
		    urls[i].allow_private);

		ck_assert_msg((why == NULL) == urls[i].ok,
		    "%s (private %d): %s", urls[i].url,
		    urls[i].allow_private, why ? why : "accepted");
	}
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("webhook_url");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_addr_table);
	tcase_add_test(tc, test_url_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
