/*
 * tenant_settings.h - the tenant configuration options of PATCH
 * /v1/tenants/ and their defaults, shared by the handlers that obey them.
 */
#ifndef GENT_TENANT_SETTINGS_H
#define GENT_TENANT_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

/** Settings with defaults filled in for keys the tenant never set (new ref). */
json_t *tenant_settings_effective(const char *settings_json);
/** The tenant's governance tier: "standard", "token_controls" or "full". */
char *tenant_settings_governance_tier(struct store_db *control,
    const char *tenant_id);
/**
 * How long the tenant's audit log, and its event and webhook delivery
 * logs, are kept, in ms: its audit_retention_days when it set one, else
 * fallback_ms (the installation's audit_retention).
 */
uint64_t tenant_settings_audit_retention(struct store_db *control,
    const char *tenant_id, uint64_t fallback_ms);
/** True when the tier includes token pause/resume. */
bool tenant_settings_tier_has_token_controls(const char *tier);
/** The reference document for GET /v1/tenants/reference/ (new ref). */
json_t *tenant_settings_reference(void);
/**
 * Validate one PATCH member; NULL when fine, else a static message.
 */
const char *tenant_settings_check(const char *key, json_t *value);

#endif
