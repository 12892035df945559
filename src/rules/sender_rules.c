/*
 * sender_rules.c - allowlist/blocklist decisions for inbound and outbound
 * mail. Patterns are stored lower-case by the API; addresses are compared
 * case-insensitively (local parts are case-sensitive in theory, but no
 * real mail system relies on it and a block list must not be dodged by
 * changing case).
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "gent/sender_rules.h"
#include "gent/util.h"

bool
sender_rules_match(const char *pattern, const char *addr)
{
	const char *at;

	if (!pattern || !addr || !*addr)
		return false;
	if (pattern[0] == '@') {
		at = strrchr(addr, '@');
		return at && strcasecmp(at, pattern) == 0;
	}
	return strcasecmp(pattern, addr) == 0;
}

bool
sender_rules_allows(const char *mode, const char *patterns_json,
    const char *const *candidates, size_t n, const char **matched_r,
    char **matched_copy_r)
{
	json_t *patterns, *p;
	bool any = false;
	size_t i;

	*matched_r = NULL;
	*matched_copy_r = NULL;
	if (!mode || strcmp(mode, "open") == 0)
		return true;
	patterns = json_loads(patterns_json ? patterns_json : "[]", 0, NULL);
	json_array_foreach(patterns, i, p) {
		for (size_t k = 0; k < n && !any; k++)
			any = sender_rules_match(json_string_value(p), candidates[k]);
		if (any) {
			*matched_copy_r = xstrdup(json_string_value(p));
			*matched_r = *matched_copy_r;
			break;
		}
	}
	json_decref(patterns);
	return strcmp(mode, "blocklist") == 0 ? !any : any;
}
