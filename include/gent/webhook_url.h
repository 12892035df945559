/*
 * webhook_url.h - what a webhook target URL may be.
 */
#ifndef GENT_WEBHOOK_URL_H
#define GENT_WEBHOOK_URL_H

#include <stdbool.h>

#define WEBHOOK_URL_MAX 2048

/**
 * NULL when url is an acceptable webhook target, else a static reason.
 * It must be an absolute https URL with a host and no user:password.
 * With allow_private (config webhook_allow_private, for tests and
 * private networks) http is allowed and loopback or private addresses
 * too; without it, literal loopback, private, link-local and unspecified
 * addresses and "localhost" are refused. Names that resolve to such
 * addresses are refused again at delivery time.
 */
const char *webhook_url_check(const char *url, bool allow_private);

/**
 * True when ip_text (an IPv4 or IPv6 literal) must not be a webhook
 * target: loopback, private, CGNAT, link-local and cloud metadata,
 * unspecified, documentation, benchmark, multicast, broadcast and other
 * reserved ranges, and IPv6 forms embedding such an IPv4 address
 * (compatible, mapped, SIIT, NAT64, 6to4) or hiding one (Teredo, local
 * NAT64). False for anything else, text that is not an address included.
 */
bool webhook_addr_is_private(const char *ip_text);

#endif
