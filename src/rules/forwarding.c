/*
 * forwarding.c - forwarding decisions for one message.
 *
 * Conditions (case-insensitive):
 *   all              every message
 *   sender           the sender address equals the value
 *   domain           the sender's domain equals the value (a leading "@"
 *                    in the value is ignored)
 *   subject_keyword  the subject contains the value
 *
 * Loop detection compares whole addresses without regard to case, as
 * inbox addresses are stored lower-case (RFC 9228 leaves the matching to
 * the receiver; Postfix compares case-insensitively too).
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "gent/forwarding.h"
#include "gent/util.h"

bool
forwarding_enabled(const char *settings_json, char **default_address_r)
{
	json_t *s = json_loads(settings_json ? settings_json : "{}", 0, NULL);
	json_t *f = json_object_get(s, "forwarding");
	bool on = !f || json_is_true(json_object_get(f, "enabled"));

	*default_address_r = xstrdup(json_string_value(json_object_get(f,
	    "default_address")));
	json_decref(s);
	return on;
}

static bool
contains_nocase(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!hay || n == 0)
		return false;
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

bool
forwarding_rule_matches(const struct forwarding_rule_row *rule,
    const struct forward_facts *facts)
{
	const char *type = rule->condition_type, *v = rule->condition_value;
	const char *sender = facts->sender ? facts->sender : "";
	const char *at = strrchr(sender, '@');

	if (strcmp(type, "all") == 0)
		return true;
	if (!v || !*v)
		return false;
	if (strcmp(type, "sender") == 0)
		return strcasecmp(sender, v) == 0;
	if (strcmp(type, "domain") == 0)
		return at && strcasecmp(at + 1, v[0] == '@' ? v + 1 : v) == 0;
	if (strcmp(type, "subject_keyword") == 0)
		return contains_nocase(facts->subject, v);
	return false;
}

static bool
already(const struct forward_target *out, size_t n, const char *dest)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(out[i].destination, dest) == 0)
			return true;
	return false;
}

size_t
forwarding_targets(const char *default_address,
    const struct forwarding_rule_row *rules, int n_rules,
    const struct forward_facts *facts,
    bool (*is_suppressed)(void *ctx, const char *rule_id, const char *dest),
    void *ctx, struct forward_target *out, size_t cap)
{
	size_t n = 0;

	if (default_address && *default_address && cap > 0)
		out[n++] = (struct forward_target){ NULL, default_address, "default" };
	for (int i = 0; i < n_rules && n < cap; i++) {
		const struct forwarding_rule_row *r = &rules[i];
		if (!r->enabled || !forwarding_rule_matches(r, facts) ||
		    already(out, n, r->destination) ||
		    (is_suppressed && is_suppressed(ctx, r->id, r->destination)))
			continue;
		out[n++] = (struct forward_target){ r->id, r->destination,
		    r->condition_type };
	}
	return n;
}

const char *
forwarding_loop(const char *inbox_address, char *const *delivered_to, size_t n)
{
	if (!inbox_address || !*inbox_address)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (delivered_to[i] && strcasecmp(delivered_to[i], inbox_address) == 0)
			return delivered_to[i];
	return NULL;
}

size_t
forwarding_delivered_to(const char *inbox_address, char *const *orig,
    size_t n_orig, const char **out, size_t cap)
{
	size_t n = 0;

	if (cap > 0)
		out[n++] = inbox_address;
	for (size_t i = 0; i < n_orig && n < cap; i++)
		out[n++] = orig[i];
	return n;
}
