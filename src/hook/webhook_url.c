/*
 * webhook_url.c - webhook target checks, using libcurl's URL parser so the
 * URL is read exactly as libcurl will later use it.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gent/webhook_url.h"

/* Loopback, private, shared (CGNAT), link-local (cloud metadata
 * 169.254.169.254 included), "this network", IETF-reserved, benchmark,
 * documentation, multicast, reserved and broadcast. */
static bool
v4_private(const unsigned char *a)
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
	    (a[0] == 100 && (a[1] & 0xc0) == 64) ||		/* 100.64/10 */
	    (a[0] == 169 && a[1] == 254) ||
	    (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) ||
	    (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) ||
	    (a[0] == 198 && (a[1] & 0xfe) == 18) ||		/* 198.18/15 */
	    (a[0] == 198 && a[1] == 51 && a[2] == 100) ||
	    (a[0] == 203 && a[1] == 0 && a[2] == 113) ||
	    a[0] >= 224;				/* 224/4, 240/4 */
}

static bool
prefix_is(const unsigned char *a, const unsigned char *p, size_t n)
{
	return memcmp(a, p, n) == 0;
}

/* IPv6 forms that reach an IPv4 address are judged by that address:
 * IPv4-compatible ::a.b.c.d (so :: and ::1 too), mapped ::ffff:a.b.c.d,
 * SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 and 6to4 2002:aabb:ccdd::/48.
 * Teredo 2001::/32 and local NAT64 64:ff9b:1::/48 hide or translate
 * addresses we cannot judge, so they are refused whole. */
static bool
v6_private(const unsigned char *a)
{
	static const unsigned char compat[12], mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
	    siit[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 },
	    nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 },
	    nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 },
	    teredo[4] = { 0x20, 0x01, 0, 0 },
	    discard[8] = { 0x01, 0, 0, 0, 0, 0, 0, 0 },
	    doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };

	if (prefix_is(a, compat, 12) || prefix_is(a, mapped, 12) ||
	    prefix_is(a, siit, 12) || prefix_is(a, nat64, 12))
		return v4_private(a + 12);
	if (a[0] == 0x20 && a[1] == 0x02)			/* 6to4 */
		return v4_private(a + 2);
	return prefix_is(a, nat64_local, 6) || prefix_is(a, teredo, 4) ||
	    prefix_is(a, discard, 8) || prefix_is(a, doc, 4) ||
	    (a[0] & 0xfe) == 0xfc ||		/* fc00::/7, fd00:ec2::254 */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||	/* fe80::/10 */
	    (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) ||	/* fec0::/10 */
	    a[0] == 0xff;				/* multicast */
}

bool
webhook_addr_is_private(const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return v4_private(a);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return v6_private(a);
	return false;
}

/* Host without brackets (IPv6) and without a trailing dot, lower-case. */
static void
bare_host(const char *host, char *out, size_t cap)
{
	size_t n = strlen(host);

	if (host[0] == '[' && n > 2)
		snprintf(out, cap, "%.*s", (int)(n - 2), host + 1);
	else
		snprintf(out, cap, "%s", host);
	n = strlen(out);
	if (n && out[n - 1] == '.')
		out[n - 1] = '\0';
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 32;
}

/* Loopback or private by its literal form ("localhost" names included,
 * RFC 6761). Names resolving to such addresses are caught at delivery. */
static bool
host_is_private(const char *h)
{
	size_t n = strlen(h);

	return webhook_addr_is_private(h) || strcmp(h, "localhost") == 0 ||
	    (n > 10 && strcmp(h + n - 10, ".localhost") == 0);
}

static const char *
check_parts(CURLU *u, bool allow_private)
{
	char *scheme = NULL, *host = NULL, *user = NULL, bare[256];
	const char *why = NULL;

	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	bare_host(host ? host : "", bare, sizeof(bare));
	if (!scheme || !bare[0])
		why = "must be an absolute URL with a host";
	else if (user)
		why = "must not carry credentials";
	else if (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)
		why = "must be HTTPS";
	else if (host_is_private(bare) && !allow_private)
		why = "must not point at a loopback or private address";
	/* Plain HTTP only for local test targets, when the config allows them. */
	else if (strcasecmp(scheme, "http") == 0 && !(allow_private && host_is_private(bare)))
		why = "must be HTTPS";
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	return why;
}

const char *
webhook_url_check(const char *url, bool allow_private)
{
	CURLU *u;
	const char *why;

	if (!url || strlen(url) > WEBHOOK_URL_MAX)
		return "must be at most 2048 characters";
	if (!(u = curl_url()))
		return "cannot be parsed";
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		why = "is not a valid URL";
	else
		why = check_parts(u, allow_private);
	curl_url_cleanup(u);
	return why;
}
