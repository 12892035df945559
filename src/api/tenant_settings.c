/*
 * tenant_settings.c - the tenant configuration options and defaults.
 *
 * A self-hosted installation has no plans: every feature tier defaults to
 * its highest value and an admin may lower it (for instance to forbid
 * token pause/resume) with PATCH /v1/tenants/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gent/store_accounts.h"
#include "gent/tenant_settings.h"
#include "gent/util.h"

static const char *const tiers[] = { "standard", "token_controls", "full", NULL };
static const char *const review_modes[] = { "hold", "skip", "fail",
    "auto_approve_delayed", NULL };
static const char *const review_keys[] = { "uncertain", "missing",
    "shape_changed", "risky", NULL };

static bool
in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static json_t *
defaults(void)
{
	return json_pack("{s:s, s:b, s:i, s:s, s:{s:s, s:s, s:s, s:s}}",
	    "governance_tier", "full",
	    "collaboration_enabled", 0,
	    "audit_retention_days", 90,
	    "default_timezone", "UTC",
	    "workflow_review_defaults", "uncertain", "hold", "missing", "hold",
	    "shape_changed", "hold", "risky", "hold");
}

json_t *
tenant_settings_effective(const char *settings_json)
{
	json_t *out = defaults();
	json_t *stored = settings_json ? json_loads(settings_json, 0, NULL) : NULL;

	if (json_is_object(stored))
		json_object_update(out, stored);
	json_decref(stored);
	return out;
}

char *
tenant_settings_governance_tier(struct store_db *control, const char *tenant_id)
{
	struct tenant_row t;
	char *tier;

	if (store_tenants_get(control, tenant_id, &t) != STORE_OK)
		return xstrdup("standard");
	json_t *s = tenant_settings_effective(t.settings_json);
	tier = xstrdup(json_string_value(json_object_get(s, "governance_tier")));
	json_decref(s);
	tenant_row_free(&t);
	return tier;
}

uint64_t
tenant_settings_audit_retention(struct store_db *control, const char *tenant_id,
    uint64_t fallback_ms)
{
	struct tenant_row t;
	uint64_t keep = fallback_ms;

	if (store_tenants_get(control, tenant_id, &t) != STORE_OK)
		return keep;
	/* The stored settings, not the effective ones: the default of 90
	 * days there stands for the installation's audit_retention. */
	json_t *stored = t.settings_json ? json_loads(t.settings_json, 0, NULL) : NULL;
	json_t *days = json_object_get(stored, "audit_retention_days");
	if (json_is_integer(days) && !tenant_settings_check("audit_retention_days", days))
		keep = (uint64_t)json_integer_value(days) * 24 * 3600 * 1000;
	json_decref(stored);
	tenant_row_free(&t);
	return keep;
}

bool
tenant_settings_tier_has_token_controls(const char *tier)
{
	return strcmp(tier, "token_controls") == 0 || strcmp(tier, "full") == 0;
}

/* A zone is a regular file in TZif format (RFC 8536), not a directory or
 * one of the tables beside the zones (zone.tab, iso3166.tab). */
static bool
is_tzif(const char *path)
{
	char magic[4];
	FILE *f = fopen(path, "rb");
	bool ok;

	if (!f)
		return false;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

static const char *
check_review_defaults(json_t *v)
{
	const char *k;
	json_t *mode;

	if (!json_is_object(v))
		return "must be an object";
	json_object_foreach(v, k, mode) {
		if (!in_list(k, review_keys))
			return "keys are uncertain, missing, shape_changed, risky";
		if (!in_list(json_string_value(mode), review_modes))
			return "values are hold, skip, fail, auto_approve_delayed";
	}
	return NULL;
}

const char *
tenant_settings_check(const char *key, json_t *v)
{
	if (strcmp(key, "governance_tier") == 0)
		return in_list(json_string_value(v), tiers) ? NULL :
		    "must be one of standard, token_controls, full";
	if (strcmp(key, "collaboration_enabled") == 0)
		return json_is_boolean(v) ? NULL : "must be a boolean";
	if (strcmp(key, "audit_retention_days") == 0)
		return json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= 3650 ? NULL :
		    "must be an integer from 1 to 3650";
	if (strcmp(key, "default_timezone") == 0) {
		const char *tz = json_string_value(v);
		char *path;
		bool ok;
		if (!tz || !*tz || strstr(tz, "..") || tz[0] == '/')
			return "must be an IANA time zone name";
		path = xasprintf("/usr/share/zoneinfo/%s", tz);
		ok = is_tzif(path) || strcmp(tz, "UTC") == 0;
		free(path);
		return ok ? NULL : "must be an IANA time zone name";
	}
	if (strcmp(key, "workflow_review_defaults") == 0)
		return check_review_defaults(v);
	return "unknown setting";
}

static json_t *
string_array(const char *const *list)
{
	json_t *a = json_array();

	for (; *list; list++)
		json_array_append_new(a, json_string(*list));
	return a;
}

json_t *
tenant_settings_reference(void)
{
	json_t *fields = json_array();

	json_array_append_new(fields, json_pack("{s:s, s:s}", "name", "name",
	    "type", "string"));
	json_array_append_new(fields, json_pack("{s:s, s:s, s:o, s:s}", "name",
	    "governance_tier", "type", "string", "values", string_array(tiers),
	    "description", "token_controls or higher allows token pause/resume"));
	json_array_append_new(fields, json_pack("{s:s, s:s}", "name",
	    "collaboration_enabled", "type", "boolean"));
	json_array_append_new(fields, json_pack("{s:s, s:s, s:i, s:i}", "name",
	    "audit_retention_days", "type", "integer", "min", 1, "max", 3650));
	json_array_append_new(fields, json_pack("{s:s, s:s}", "name",
	    "default_timezone", "type", "string"));
	json_array_append_new(fields, json_pack("{s:s, s:s, s:o, s:o}", "name",
	    "workflow_review_defaults", "type", "object", "keys",
	    string_array(review_keys), "values", string_array(review_modes)));
	return json_pack("{s:s, s:s, s:{s:{s:s, s:s}}, s:o, s:o}",
	    "version", "2026-06-06", "resource", "tenants",
	    "payload", "update_tenant", "method", "PATCH", "path", "/v1/tenants/",
	    "fields", fields, "defaults", defaults());
}
