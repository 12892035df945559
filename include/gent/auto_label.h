/*
 * auto_label.h - the auto-label rule language and its evaluation. Pure:
 * no I/O, so the receive path and the unit tests share one definition.
 *
 * A rule is {match: "all" | "any", conditions: [{type, value}, ...]}:
 *   sender_domain    the sender's domain equals value ("example.com"), or,
 *                    for "*.example.com", is a subdomain of it
 *   subject_pattern  the whole subject matches value, a case-insensitive
 *                    glob where "*" is any run and "?" one character
 *   recipient        some recipient (the envelope recipient, To or Cc)
 *                    matches value: "user@domain" exactly or "@domain"
 * Rules are tried in order; the first enabled rule that matches wins.
 */
#ifndef GENT_AUTO_LABEL_H
#define GENT_AUTO_LABEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AUTO_LABEL_CONDITIONS_MAX 20
#define AUTO_LABEL_VALUE_MAX 320

struct auto_label_facts {
	const char		*sender;	/* From address, else the envelope sender */
	const char		*subject;	/* decoded; NULL when absent */
	const char *const	*recipients;	/* envelope recipient, To, Cc */
	size_t			 n_recipients;
};

/* What evaluation needs of a stored rule. */
struct auto_label_rule {
	const char	*id;
	const char	*match;		/* "all" or "any" */
	const char	*conditions;	/* JSON array text, as validated */
	bool		 enabled;
};

/**
 * Check a conditions array from the API. Returns 0, or -1 with *error_r
 * set to a sentence naming the problem (static storage or *error_buf).
 */
int auto_label_conditions_check(const json_t *conditions, char *error_buf,
    size_t cap, const char **error_r);

/** True when the rule's conditions hold for facts (enabled or not). */
bool auto_label_rule_matches(const struct auto_label_rule *rule,
    const struct auto_label_facts *facts);

/**
 * Index of the first enabled rule that matches, or -1. *evaluated_r is
 * how many rules were looked at (for the message trace).
 */
int auto_label_first_match(const struct auto_label_rule *rules, size_t n,
    const struct auto_label_facts *facts, size_t *evaluated_r);

/** Case-insensitive (ASCII) glob: "*" any run, "?" one (UTF-8) character. */
bool auto_label_glob(const char *pattern, const char *text);

#endif
