/*
 * auto_label.c - auto-label rule conditions: validation and matching.
 *
 * The conditions are kept as the JSON text the API validated, so the
 * stored form, the API answer and what is evaluated are the same thing.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gent/auto_label.h"
#include "gent/sender_rules.h"
#include "gent/util.h"

static const char *const condition_types[] = { "sender_domain",
    "subject_pattern", "recipient", NULL };

bool
auto_label_glob(const char *p, const char *t)
{
	const char *star = NULL, *resume = NULL;

	/* Greedy match with one backtrack point: linear in practice and
	 * O(len(p) * len(t)) at worst, never exponential. */
	while (*t) {
		if (*p == '*') {
			star = p++;
			resume = t;
		} else if (*p == '?') {
			/* One character: a UTF-8 sequence counts once. */
			p++;
			t++;
			while ((*t & 0xC0) == 0x80)
				t++;
		} else if (*p && tolower((unsigned char)*p) == tolower((unsigned char)*t)) {
			p++;
			t++;
		} else if (star) {
			p = star + 1;
			t = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static bool
domain_matches(const char *want, const char *sender)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	const char *dom = at ? at + 1 : NULL;
	size_t dl, wl;

	if (!dom || !*dom)
		return false;
	if (strncmp(want, "*.", 2) != 0)
		return strcasecmp(dom, want) == 0;
	want += 1;	/* ".example.com": a proper suffix at a label boundary */
	dl = strlen(dom);
	wl = strlen(want);
	return dl > wl && strcasecmp(dom + dl - wl, want) == 0;
}

static bool
recipient_matches(const char *want, const struct auto_label_facts *f)
{
	for (size_t i = 0; i < f->n_recipients; i++)
		if (f->recipients[i] && sender_rules_match(want, f->recipients[i]))
			return true;
	return false;
}

static bool
condition_holds(const json_t *c, const struct auto_label_facts *f)
{
	const char *type = json_string_value(json_object_get(c, "type"));
	const char *value = json_string_value(json_object_get(c, "value"));

	if (!type || !value)
		return false;
	if (strcmp(type, "sender_domain") == 0)
		return domain_matches(value, f->sender);
	if (strcmp(type, "subject_pattern") == 0)
		return auto_label_glob(value, f->subject ? f->subject : "");
	if (strcmp(type, "recipient") == 0)
		return recipient_matches(value, f);
	return false;
}

bool
auto_label_rule_matches(const struct auto_label_rule *rule,
    const struct auto_label_facts *facts)
{
	json_t *conds = json_loads(rule->conditions ? rule->conditions : "[]", 0, NULL);
	bool any = rule->match && strcmp(rule->match, "any") == 0;
	size_t i, n = json_array_size(conds);
	json_t *c;
	bool result = !any && n > 0;

	json_array_foreach(conds, i, c) {
		bool holds = condition_holds(c, facts);
		if (any && holds) {
			result = true;
			break;
		}
		if (!any && !holds) {
			result = false;
			break;
		}
	}
	json_decref(conds);
	return result;
}

int
auto_label_first_match(const struct auto_label_rule *rules, size_t n,
    const struct auto_label_facts *facts, size_t *evaluated_r)
{
	*evaluated_r = 0;
	for (size_t i = 0; i < n; i++) {
		if (!rules[i].enabled)
			continue;
		(*evaluated_r)++;
		if (auto_label_rule_matches(&rules[i], facts))
			return (int)i;
	}
	return -1;
}

static bool
type_ok(const char *t)
{
	for (const char *const *p = condition_types; t && *p; p++)
		if (strcmp(*p, t) == 0)
			return true;
	return false;
}

/* Is value a sensible operand for type? */
static bool
value_ok(const char *type, const char *v)
{
	if (strcmp(type, "recipient") == 0) {
		const char *at = strrchr(v, '@');
		return at && at[1] && !strchr(v, ' ') && at == strchr(v, '@');
	}
	if (strcmp(type, "sender_domain") == 0) {
		const char *d = strncmp(v, "*.", 2) == 0 ? v + 2 : v;
		return *d && !strchr(d, '@') && !strchr(d, '*') && !strchr(d, ' ');
	}
	return true;
}

int
auto_label_conditions_check(const json_t *conditions, char *buf, size_t cap,
    const char **error_r)
{
	size_t i, n = json_array_size(conditions);
	json_t *c;

	if (!json_is_array(conditions) || n == 0 || n > AUTO_LABEL_CONDITIONS_MAX) {
		snprintf(buf, cap, "'conditions' must be an array of 1 to %d "
		    "{type, value} objects", AUTO_LABEL_CONDITIONS_MAX);
		*error_r = buf;
		return -1;
	}
	json_array_foreach(conditions, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *value = json_string_value(json_object_get(c, "value"));
		if (!json_is_object(c) || json_object_size(c) != 2 || !type_ok(type)) {
			snprintf(buf, cap, "conditions[%zu] must be {\"type\": sender_domain "
			    "| subject_pattern | recipient, \"value\": string}", i);
		} else if (!value || !*value || str_chars(value) > AUTO_LABEL_VALUE_MAX) {
			snprintf(buf, cap, "conditions[%zu].value must be 1 to %d characters",
			    i, AUTO_LABEL_VALUE_MAX);
		} else if (!value_ok(type, value)) {
			snprintf(buf, cap, "conditions[%zu].value '%.100s' is not a valid %s "
			    "(%s)", i, value, type, strcmp(type, "recipient") == 0 ?
			    "user@domain or @domain" : "example.com or *.example.com");
		} else {
			continue;
		}
		*error_r = buf;
		return -1;
	}
	return 0;
}
