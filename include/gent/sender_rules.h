/*
 * sender_rules.h - the decision of a sender rule set (open, allowlist,
 * blocklist) for a set of candidate addresses. Pure: no I/O.
 */
#ifndef GENT_SENDER_RULES_H
#define GENT_SENDER_RULES_H

#include <stdbool.h>
#include <stddef.h>

/** True when pattern ("user@dom" exact, "@dom" whole domain) matches addr;
 *  comparison is case-insensitive. */
bool sender_rules_match(const char *pattern, const char *addr);

/**
 * Decide for a message whose sender is known by several addresses (the
 * envelope sender and the From header): open allows; blocklist refuses
 * when any candidate matches a pattern; allowlist allows only when some
 * candidate matches. *matched_r is the pattern that decided (or NULL).
 * patterns_json is the stored JSON array of patterns.
 */
bool sender_rules_allows(const char *mode, const char *patterns_json,
    const char *const *candidates, size_t n, const char **matched_r,
    char **matched_copy_r);

#endif
