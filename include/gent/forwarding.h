/*
 * forwarding.h - which copies of an incoming message to forward. Pure.
 *
 * Forwarding is additive: the original stays in the inbox. When the
 * inbox's forwarding is enabled, the default address gets every message
 * and every enabled rule whose condition matches forwards too, in
 * priority order; a destination gets at most one copy. Destinations that
 * unsubscribed from a rule are skipped for that rule.
 */
#ifndef GENT_FORWARDING_H
#define GENT_FORWARDING_H

#include <stdbool.h>
#include <stddef.h>

#include "gent/store_inbox_settings.h"

struct forward_facts {
	const char	*sender;	/* envelope sender or From address */
	const char	*subject;	/* decoded, may be NULL */
};

struct forward_target {
	const char	*rule_id;	/* NULL for the default address */
	const char	*destination;
	const char	*reason;	/* "default", "all", "sender", ... */
};

/** True when forwarding is switched on in the inbox settings. */
bool forwarding_enabled(const char *settings_json, char **default_address_r);

/**
 * Fill out (capacity cap) with the targets, in order; returns the count.
 * is_suppressed(ctx, rule_id, destination) reports unsubscribed pairs.
 */
size_t forwarding_targets(const char *default_address,
    const struct forwarding_rule_row *rules, int n_rules,
    const struct forward_facts *facts,
    bool (*is_suppressed)(void *ctx, const char *rule_id, const char *dest),
    void *ctx, struct forward_target *out, size_t cap);

/** True when rule's condition matches the facts (enabled or not). */
bool forwarding_rule_matches(const struct forwarding_rule_row *rule,
    const struct forward_facts *facts);

#endif
