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

static const char *
check_parts(CURLU *u, bool allow_private)
{
	char *scheme = NULL, *host = NULL, *user = NULL;
	const char *why = NULL;

	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_HOST, &host, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if (!scheme || !host || !*host)
		why = "must be an absolute URL with a host";
	else if (user)
		why = "must not carry credentials";
	else if (strcasecmp(scheme, "https") != 0 &&
	    !(allow_private && strcasecmp(scheme, "http") == 0))
		why = "must be HTTPS";
	else if (!allow_private) {
		char bare[64];
		size_t n = strlen(host);
		/* IPv6 literals come back bracketed. */
		if (host[0] == '[' && n > 2 && n - 2 < sizeof(bare)) {
			memcpy(bare, host + 1, n - 2);
			bare[n - 2] = '\0';
		} else {
			snprintf(bare, sizeof(bare), "%s", host);
		}
		if (webhook_addr_is_private(bare) || strcasecmp(host, "localhost") == 0)
			why = "must not point at a loopback or private address";
	}
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
