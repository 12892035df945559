/*
 * app.h - what request handlers share: the configuration and the store.
 */
#ifndef GENT_APP_H
#define GENT_APP_H

#include "gent/conf.h"
#include "gent/store.h"

struct app {
	const struct conf	*conf;
	struct store		*store;
};

#endif
