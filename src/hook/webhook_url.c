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

bool
webhook_addr_is_private(const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
		    (a[0] == 100 && (a[1] & 0xc0) == 64) ||
		    (a[0] == 169 && a[1] == 254) ||
		    (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		    (a[0] == 192 && a[1] == 168) || a[0] >= 224;
	if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char v4mapped[12] = { 0,0,0,0,0,0,0,0,0,0,0xff,0xff };
		static const unsigned char zero[16];
		if (memcmp(a, v4mapped, 12) == 0) {
			char v4[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, a + 12, v4, sizeof(v4));
			return webhook_addr_is_private(v4);
		}
		return memcmp(a, zero, 15) == 0 ||		/* :: and ::1 */
		    (a[0] & 0xfe) == 0xfc ||			/* fc00::/7 */
		    (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||	/* fe80::/10 */
		    a[0] == 0xff;				/* multicast */
	}
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
