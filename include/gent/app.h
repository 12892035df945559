/*
 * app.h - what request handlers share: the configuration and the store.
 */
#ifndef GENT_APP_H
#define GENT_APP_H

#include "gent/conf.h"
#include "gent/store.h"

struct dns_resolver;
struct relay;
struct webhook_dispatch;

struct app {
	const struct conf	*conf;
	struct store		*store;
	struct dns_resolver	*dns;	/* dns_lookup_sync() from handlers */
	unsigned char		 unsubscribe_key[32];	/* HMAC key of unsubscribe links */
	unsigned char		 seal_key[32];	/* seals stored webhook secrets (seal.h) */
	char			*public_url;	/* base of links in mail we write */
	struct relay		*relay;	/* outbound delivery; NULL until started */
	struct webhook_dispatch	*webhooks;	/* webhook delivery; NULL until started */
};

#endif
