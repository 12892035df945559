/*
 * api_domains.c - custom domains: add (records to publish, fresh DKIM
 * key), verify against live DNS, per-record check, list, delete, and DKIM
 * key rotation.
 *
 * DKIM rotation, without breaking signatures in flight:
 *   1. POST /v1/domains/{name}/dkim/rotate/  -> a pending key and the TXT
 *      record to publish at its new selector; the old key keeps signing.
 *   2. publish it; POST /v1/domains/{name}/dkim/activate/ checks DNS, then
 *      the new key signs and the old one is retired.
 *   3. leave the old selector's record in DNS for a few days (retired_at
 *      is shown) so mail signed before the switch still verifies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gent/api.h"
#include "gent/dkim_keys.h"
#include "gent/dns.h"
#include "gent/domain_name.h"
#include "gent/domain_records.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/store_domains.h"
#include "gent/timefmt.h"

static struct store_db *
control(struct api_ctx *ctx)
{
	return store_control(ctx->app->store);
}

static void
dns_lookup_fresh(void *arg, const char *name, enum dns_type type,
    struct dns_result *out)
{
	struct api_ctx *ctx = arg;

	dns_lookup_sync(ctx->app->dns, name, type, DNS_F_FRESH, out);
}

/* The active key (for records) of a domain; NULL when none. */
static struct dkim_key_row *
active_key(struct dkim_key_row *keys, int n, const char *status)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i].status, status) == 0)
			return &keys[i];
	return NULL;
}

static void
fill_spec(struct api_ctx *ctx, const struct domain_row *d,
    const struct dkim_key_row *k, struct domain_spec *spec)
{
	spec->name = d->name;
	spec->hostname = ctx->app->conf->hostname;
	spec->dkim_selector = k ? k->selector : "gent";
	spec->dkim_pubkey = k ? k->public_key : "";
	spec->dmarc_policy = d->dmarc_policy;
	spec->verify_token = d->verify_token;
}

static json_t *
domain_json(const struct domain_row *d, json_t *records)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
	    "id", d->id, "domain_id", d->id, "domain", d->name, "name", d->name,
	    "status", d->status, "domain_use", d->domain_use,
	    "dmarc_policy", d->dmarc_policy, "records", records,
	    "created_at", api_time(d->created_at), "updated_at", api_time(d->updated_at),
	    "verified_at", api_time(d->verified_at),
	    "last_checked_at", api_time(d->last_checked_at));
}

/* The last check's entry for an expected record, if it checked the same thing. */
static json_t *
last_result_for(json_t *last, json_t *rec)
{
	json_t *r;
	size_t i;

	json_array_foreach(last, i, r)
		if (json_equal(json_object_get(r, "name"), json_object_get(rec, "name")) &&
		    json_equal(json_object_get(r, "value"), json_object_get(rec, "value")))
			return r;
	return NULL;
}

/*
 * The records to publish now (the active DKIM key may have changed since
 * the last check), each with the last check's status when that check
 * looked at the same name and value, else status "unchecked".
 */
static json_t *
records_for(struct api_ctx *ctx, const struct domain_row *d)
{
	struct dkim_key_row *keys;
	struct domain_spec spec;
	json_t *last = json_loads(d->check_results ? d->check_results : "[]", 0, NULL);
	json_t *out, *rec;
	size_t i;
	int n;

	store_dkim_keys_list(control(ctx), d->id, &keys, &n);
	fill_spec(ctx, d, active_key(keys, n, "active"), &spec);
	out = domain_records_expected(&spec);
	json_array_foreach(out, i, rec) {
		json_t *seen = last_result_for(last, rec);
		if (!seen)
			json_object_set_new(rec, "status", json_string("unchecked"));
		else {
			json_object_set(rec, "status", json_object_get(seen, "status"));
			json_object_set(rec, "found", json_object_get(seen, "found"));
			json_object_set(rec, "detail", json_object_get(seen, "detail"));
		}
	}
	json_decref(last);
	dkim_key_rows_free(keys, n);
	return out;
}

/* Load the domain named in the path; answers 404 itself. */
static int
load_domain(struct api_ctx *ctx, struct domain_row *d)
{
	const char *why;
	char *name = domain_name_normalize(api_param(ctx, "name"), &why);
	int rc;

	if (!name) {
		api_error(ctx, 404, "not_found", "domain not found");
		return -1;
	}
	rc = store_domains_get(control(ctx), ctx->who.tenant_id, name, d);
	free(name);
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_ERR_NOT_FOUND)
		api_error(ctx, 404, "not_found", "domain not found");
	else
		api_error_internal(ctx);
	return -1;
}

static int
check_create_fields(struct api_ctx *ctx, const char **use, const char **policy)
{
	*use = api_body_str(ctx, "domain_use");
	*policy = api_body_str(ctx, "dmarc_policy");
	if (!*use)
		*use = "existing_domain";
	if (strcmp(*use, "existing_domain") && strcmp(*use, "dedicated_subdomain")) {
		api_error_field(ctx, "domain_use", "'domain_use' must be existing_domain "
		    "or dedicated_subdomain");
		return -1;
	}
	if (!*policy)
		*policy = strcmp(*use, "dedicated_subdomain") == 0 ? "reject" : "quarantine";
	if (strcmp(*policy, "none") && strcmp(*policy, "quarantine") &&
	    strcmp(*policy, "reject")) {
		api_error_field(ctx, "dmarc_policy", "'dmarc_policy' must be none, "
		    "quarantine or reject");
		return -1;
	}
	return 0;
}

static char *
key_dir(struct api_ctx *ctx, const char *domain_id)
{
	return xasprintf("%s/dkim/%s", ctx->app->conf->data_dir, domain_id);
}

static void
domains_create(struct api_ctx *ctx)
{
	struct domain_row d = { 0 };
	struct dkim_key_row k = { 0 };
	const char *use, *policy, *why;
	char *name, *id = NULL, *kid = NULL, *dir = NULL, *err = NULL, *token;
	int rc;

	if (check_create_fields(ctx, &use, &policy) != 0)
		return;
	if (!(name = domain_name_normalize(api_body_str(ctx, "domain"), &why))) {
		api_error_field(ctx, "domain", "'domain' %s", why);
		return;
	}
	id = ids_new("dom");
	kid = ids_new("dk");
	token = ids_new("gv");
	dir = key_dir(ctx, id);
	snprintf(d.id, sizeof(d.id), "%s", id);
	snprintf(d.tenant_id, sizeof(d.tenant_id), "%s", ctx->who.tenant_id);
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.domain_use, sizeof(d.domain_use), "%s", use);
	snprintf(d.dmarc_policy, sizeof(d.dmarc_policy), "%s", policy);
	snprintf(d.status, sizeof(d.status), "pending");
	snprintf(d.verify_token, sizeof(d.verify_token), "%s", token + 3);
	d.created_at = d.updated_at = time_now_ms();
	snprintf(k.id, sizeof(k.id), "%s", kid);
	snprintf(k.domain_id, sizeof(k.domain_id), "%s", id);
	snprintf(k.selector, sizeof(k.selector), "gent");
	snprintf(k.status, sizeof(k.status), "active");
	k.created_at = k.activated_at = d.created_at;
	if (dkim_key_generate(dir, k.id, &k.key_path, &k.public_key, &err) != 0) {
		log_error("api", ctx->req->request_id, "dkim key: %s", err);
		api_error_internal(ctx);
		goto out;
	}
	struct store_audit a = api_audit(ctx, "domain.created", "domain", id);
	rc = store_domains_create(control(ctx), &d, &k, &a);
	if (rc == STORE_OK) {
		api_reply(ctx, 201, domain_json(&d, records_for(ctx, &d)));
	} else {
		dkim_key_remove(k.key_path);
		if (rc == STORE_ERR_CONFLICT)
			api_error(ctx, 409, "conflict", "domain %s is already registered", name);
		else
			api_error_internal(ctx);
	}
out:
	free(k.key_path);
	free(k.public_key);
	free(err);
	free(name);
	free(id);
	free(kid);
	free(token);
	free(dir);
}

static void
domains_list(struct api_ctx *ctx)
{
	struct domain_row *rows;
	int limit, n;
	int64_t cursor_ms;
	char *cursor_id;
	bool more;

	if (api_list_params(ctx, &limit, &cursor_ms, &cursor_id) != 0)
		return;
	if (store_domains_list(control(ctx), ctx->who.tenant_id, limit, cursor_ms,
	    cursor_id, &rows, &n, &more) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		json_t *items = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(items, domain_json(&rows[i],
			    records_for(ctx, &rows[i])));
		api_list_reply(ctx, items, more, n ? rows[n - 1].created_at : 0,
		    n ? rows[n - 1].id : NULL);
	}
	domain_rows_free(rows, n);
	free(cursor_id);
}

static void
domains_get(struct api_ctx *ctx)
{
	struct domain_row d;

	if (load_domain(ctx, &d) != 0)
		return;
	api_reply(ctx, 200, domain_json(&d, records_for(ctx, &d)));
	domain_row_free(&d);
}

/* Run the five checks against live DNS. */
static json_t *
run_checks(struct api_ctx *ctx, const struct domain_row *d, bool *all_ok,
    bool *kept_ok)
{
	struct dkim_key_row *keys;
	struct domain_spec spec;
	json_t *results;
	int n;

	store_dkim_keys_list(control(ctx), d->id, &keys, &n);
	fill_spec(ctx, d, active_key(keys, n, "active"), &spec);
	results = domain_records_check(&spec, dns_lookup_fresh, ctx, all_ok, kept_ok);
	dkim_key_rows_free(keys, n);
	return results;
}

static void
domains_verify(struct api_ctx *ctx)
{
	struct domain_row d;
	bool all_ok, kept_ok, verified;
	json_t *results;
	char *text;

	if (load_domain(ctx, &d) != 0)
		return;
	results = run_checks(ctx, &d, &all_ok, &kept_ok);
	/* Ownership is proven once; afterwards the other four must hold. */
	verified = all_ok || (strcmp(d.status, "verified") == 0 && kept_ok);
	text = json_dumps(results, JSON_COMPACT);
	struct store_audit a = api_audit(ctx, "domain.verify_checked", "domain", d.id);
	a.detail_json = verified ? "{\"verified\":true}" : "{\"verified\":false}";
	if (store_domains_save_check(control(ctx), d.id, text, verified, &a) != STORE_OK) {
		api_error_internal(ctx);
	} else {
		struct domain_row fresh;
		if (store_domains_get(control(ctx), ctx->who.tenant_id, d.name, &fresh) == STORE_OK) {
			api_reply(ctx, 200, domain_json(&fresh, json_incref(results)));
			domain_row_free(&fresh);
		} else {
			api_error_internal(ctx);
		}
	}
	free(text);
	json_decref(results);
	domain_row_free(&d);
}

static void
domains_check(struct api_ctx *ctx)
{
	struct domain_row d;
	bool all_ok, kept_ok;
	json_t *results;

	if (load_domain(ctx, &d) != 0)
		return;
	results = run_checks(ctx, &d, &all_ok, &kept_ok);
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:b, s:o}", "domain", d.name,
	    "status", d.status, "all_records_verified", all_ok, "records", results));
	domain_row_free(&d);
}

static void
domains_delete(struct api_ctx *ctx)
{
	struct dkim_key_row *keys;
	struct domain_row d;
	int n, rc;

	if (load_domain(ctx, &d) != 0)
		return;
	store_dkim_keys_list(control(ctx), d.id, &keys, &n);
	struct store_audit a = api_audit(ctx, "domain.deleted", "domain", d.id);
	rc = store_domains_delete(control(ctx), ctx->who.tenant_id, d.id, &a);
	if (rc == STORE_OK) {
		for (int i = 0; i < n; i++)
			dkim_key_remove(keys[i].key_path);
		char *dir = key_dir(ctx, d.id);
		rmdir(dir);
		free(dir);
		api_reply(ctx, 204, NULL);
	} else if (rc == STORE_ERR_CONFLICT) {
		api_error(ctx, 409, "conflict", "domain has active inboxes; close "
		    "them first");
	} else {
		api_error_internal(ctx);
	}
	dkim_key_rows_free(keys, n);
	domain_row_free(&d);
}

static json_t *
keys_json(const struct dkim_key_row *keys, int n, const char *domain)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		char *value = dkim_key_record(keys[i].public_key);
		char *name = xasprintf("%s._domainkey.%s", keys[i].selector, domain);
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
		    "id", keys[i].id, "selector", keys[i].selector, "status", keys[i].status,
		    "name", name, "value", value,
		    "created_at", api_time(keys[i].created_at),
		    "activated_at", api_time(keys[i].activated_at),
		    "retired_at", api_time(keys[i].retired_at)));
		free(value);
		free(name);
	}
	return a;
}

static void
reply_keys(struct api_ctx *ctx, int status, const struct domain_row *d)
{
	struct dkim_key_row *keys;
	int n;

	if (store_dkim_keys_list(control(ctx), d->id, &keys, &n) != STORE_OK) {
		api_error_internal(ctx);
		return;
	}
	api_reply(ctx, status, json_pack("{s:s, s:o}", "domain", d->name,
	    "keys", keys_json(keys, n, d->name)));
	dkim_key_rows_free(keys, n);
}

static void
dkim_list(struct api_ctx *ctx)
{
	struct domain_row d;

	if (load_domain(ctx, &d) != 0)
		return;
	reply_keys(ctx, 200, &d);
	domain_row_free(&d);
}

static void
dkim_rotate(struct api_ctx *ctx)
{
	struct dkim_key_row k = { 0 }, *keys;
	struct domain_row d;
	char *kid, *dir, *err = NULL;
	int n, rc;

	if (load_domain(ctx, &d) != 0)
		return;
	store_dkim_keys_list(control(ctx), d.id, &keys, &n);
	/* Cheap early answer; the store re-checks inside its transaction. */
	if (active_key(keys, n, "pending")) {
		api_error(ctx, 409, "conflict", "a rotation is already pending; "
		    "activate it first");
		dkim_key_rows_free(keys, n);
		domain_row_free(&d);
		return;
	}
	kid = ids_new("dk");
	dir = key_dir(ctx, d.id);
	snprintf(k.id, sizeof(k.id), "%s", kid);
	snprintf(k.domain_id, sizeof(k.domain_id), "%s", d.id);
	/* Selectors gent, gent2, gent3, ...: never reused, so old records stay valid. */
	snprintf(k.selector, sizeof(k.selector), "gent%d", n + 1);
	snprintf(k.status, sizeof(k.status), "pending");
	k.created_at = time_now_ms();
	dkim_key_rows_free(keys, n);
	if (dkim_key_generate(dir, k.id, &k.key_path, &k.public_key, &err) != 0) {
		log_error("api", ctx->req->request_id, "dkim key: %s", err);
		api_error_internal(ctx);
	} else {
		struct store_audit a = api_audit(ctx, "domain.dkim_rotated", "domain", d.id);
		rc = store_dkim_keys_add_pending(control(ctx), &k, &a);
		if (rc == STORE_OK) {
			reply_keys(ctx, 201, &d);
		} else {
			dkim_key_remove(k.key_path);
			if (rc == STORE_ERR_CONFLICT)
				api_error(ctx, 409, "conflict", "a rotation is already "
				    "pending; activate it first");
			else
				api_error_internal(ctx);
		}
	}
	free(k.key_path);
	free(k.public_key);
	free(err);
	free(kid);
	free(dir);
	domain_row_free(&d);
}

static void
dkim_activate(struct api_ctx *ctx)
{
	struct dkim_key_row *keys, *pending;
	struct domain_row d;
	int n;

	if (load_domain(ctx, &d) != 0)
		return;
	store_dkim_keys_list(control(ctx), d.id, &keys, &n);
	if (!(pending = active_key(keys, n, "pending"))) {
		api_error(ctx, 409, "conflict", "no pending DKIM key; rotate first");
	} else {
		struct domain_spec spec;
		bool all_ok, kept_ok;
		fill_spec(ctx, &d, pending, &spec);
		json_t *results = domain_records_check(&spec, dns_lookup_fresh, ctx,
		    &all_ok, &kept_ok);
		json_t *dkim = json_array_get(results, 2);
		if (strcmp(json_string_value(json_object_get(dkim, "status")), "verified") != 0) {
			api_error(ctx, 409, "dkim_not_published", "publish %s first",
			    json_string_value(json_object_get(dkim, "name")));
		} else {
			struct store_audit a = api_audit(ctx, "domain.dkim_activated",
			    "domain", d.id);
			if (store_dkim_keys_activate(control(ctx), d.id, &a) != STORE_OK)
				api_error_internal(ctx);
			else
				reply_keys(ctx, 200, &d);
		}
		json_decref(results);
	}
	dkim_key_rows_free(keys, n);
	domain_row_free(&d);
}

static void
domains_reference(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:s, s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}, "
	    "s:[s,s], s:[s,s,s], s:{s:s, s:s}, s:s}",
	    "version", "2026-06-06", "resource", "domains",
	    "payload", "create_domain", "method", "POST", "path", "/v1/domains/",
	    "verify_domain", "method", "POST", "path", "/v1/domains/{name}/verify/",
	    "domain_use", "existing_domain", "dedicated_subdomain",
	    "dmarc_policies", "none", "quarantine", "reject",
	    "default_dmarc_policy", "existing_domain", "quarantine",
	    "dedicated_subdomain", "reject",
	    "guidance", "Use p=reject for a customer-owned subdomain when all "
	    "legitimate mail for it is sent by Gent; use p=quarantine for existing "
	    "or root domains until reports show legitimate senders are aligned."));
}

static void
domains_record_types(struct api_ctx *ctx)
{
	api_reply(ctx, 200, json_pack("{s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}", "data",
	    "key", "mx", "type", "MX", "host", "@", "purpose", "Routes incoming mail to your agent's inbox",
	    "key", "spf", "type", "TXT", "host", "@", "purpose", "SPF: declares which servers may send on your behalf",
	    "key", "dkim", "type", "TXT", "host", "gent._domainkey", "purpose", "DKIM: cryptographically signs outgoing mail",
	    "key", "dmarc", "type", "TXT", "host", "_dmarc", "purpose", "DMARC: tells receivers what to do with failing mail",
	    "key", "ownership", "type", "TXT", "host", "_gent-verify", "purpose", "Ownership: proves you control this domain"));
}

static const struct api_field create_fields[] = {
	{ "domain", API_T_STRING, true, false, "e.g. mail.example.com" },
	{ "domain_use", API_T_STRING, false, false, "existing_domain | dedicated_subdomain" },
	{ "dmarc_policy", API_T_STRING, false, false, "none | quarantine | reject" },
	{ 0 },
};

static const struct api_field empty_fields[] = { { 0 } };

const struct api_route api_domains_routes[] = {
	{ "GET", "/v1/domains/reference/", API_AUTH_USER, NULL, domains_reference,
	  NULL, 200, "List domain setup contract" },
	{ "GET", "/v1/domains/dns-record-types/", API_AUTH_USER, NULL,
	  domains_record_types, NULL, 200, "List DNS record types" },
	{ "POST", "/v1/domains/", API_AUTH_USER, NULL, domains_create, create_fields,
	  201, "Add a domain; returns the records to publish" },
	{ "GET", "/v1/domains/", API_AUTH_USER, NULL, domains_list, NULL, 200,
	  "List the tenant's domains" },
	{ "GET", "/v1/domains/{name}/", API_AUTH_USER, NULL, domains_get, NULL, 200,
	  "Retrieve a domain" },
	{ "DELETE", "/v1/domains/{name}/", API_AUTH_USER, NULL, domains_delete, NULL,
	  204, "Remove a domain; 409 while active inboxes exist" },
	{ "POST", "/v1/domains/{name}/verify/", API_AUTH_USER, NULL, domains_verify,
	  empty_fields, 200, "Run DNS verification; returns the updated domain" },
	{ "GET", "/v1/domains/{name}/check/", API_AUTH_USER, NULL, domains_check,
	  NULL, 200, "Per-record verification status; changes nothing" },
	{ "GET", "/v1/domains/{name}/dkim/", API_AUTH_USER, NULL, dkim_list, NULL,
	  200, "List DKIM keys and their records" },
	{ "POST", "/v1/domains/{name}/dkim/rotate/", API_AUTH_USER, NULL, dkim_rotate,
	  empty_fields, 201, "Create a pending DKIM key at a new selector" },
	{ "POST", "/v1/domains/{name}/dkim/activate/", API_AUTH_USER, NULL,
	  dkim_activate, empty_fields, 200, "Switch signing to the pending key once published" },
	{ 0 },
};
