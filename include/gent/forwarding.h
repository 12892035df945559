/*
 * forwarding.h - which copies of an incoming message to forward. Pure.
 *
 * Forwarding is additive: the original stays in the inbox. When the
 * inbox's forwarding is enabled, the default address gets every message
 * and every enabled rule whose condition matches forwards too, in
 * priority order; a destination gets at most one copy. Destinations that
 * unsubscribed from a rule are skipped for that rule.
 *
 * Loops (RFC 9228): every copy carries a Delivered-To field naming the
 * inbox that forwards it, above those the original carried; a message
 * that arrives with one naming the receiving inbox has been round once
 * and is not forwarded again.
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

/**
 * The Delivered-To value (one of delivered_to[0..n)) equal to
 * inbox_address, case-insensitively, or NULL: a message carrying it has
 * already been forwarded by this inbox, so it must not be forwarded again.
 */
const char *forwarding_loop(const char *inbox_address, char *const *delivered_to,
    size_t n);

/**
 * The Delivered-To fields of a copy forwarded by inbox_address, top
 * first: the inbox, then the original's in their order, at most cap in
 * all (the oldest are dropped). Fills out with pointers to the arguments;
 * returns the count.
 */
size_t forwarding_delivered_to(const char *inbox_address, char *const *orig,
    size_t n_orig, const char **out, size_t cap);

#endif
