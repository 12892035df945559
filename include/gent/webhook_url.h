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

/** True for loopback, private, link-local, CGNAT, unspecified addresses. */
bool webhook_addr_is_private(const char *ip_text);

#endif
