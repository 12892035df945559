/*
 * conf.c - config file parsing, defaults and environment overrides.
 *
 * Keys are a table (name, type, field offset); adding a key is one row
 * plus a field in struct conf. Values are validated as they are read so a
 * bad line is reported with its number and nothing starts half-configured.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/conf.h"
#include "gent/log.h"
#include "gent/util.h"

const char conf_embedded_default[] =
    "# gentd default configuration (embedded in the binary)\n"
    "data_dir = ./gentd-data\n"
    "hostname = localhost\n"
    "http_listen = 127.0.0.1:8080\n"
    "smtp_listen = 127.0.0.1:2525\n"
    "log_level = info\n";

enum conf_type {
	CONF_STRING, CONF_HOSTPORT, CONF_HOSTPORT_LIST, CONF_DURATION,
	CONF_DURATION_LIST, CONF_SIZE, CONF_INT, CONF_BOOL, CONF_LOG_LEVEL,
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;
	int64_t		 min, max;	/* CONF_INT; CONF_DURATION in ms if max > 0 */
};

#define K(n, t) { #n, t, offsetof(struct conf, n), 0, 0 }
#define KI(n, lo, hi) { #n, CONF_INT, offsetof(struct conf, n), lo, hi }
#define KD(n, lo, hi) { #n, CONF_DURATION, offsetof(struct conf, n), lo, hi }

static const struct conf_key conf_keys[] = {
	K(data_dir, CONF_STRING),
	K(hostname, CONF_STRING),
	K(public_url, CONF_STRING),
	K(http_listen, CONF_HOSTPORT),
	K(smtp_listen, CONF_HOSTPORT),
	K(dns_servers, CONF_HOSTPORT_LIST),
	K(dns_timeout, CONF_DURATION),
	KI(dns_tries, 1, 10),
	K(tls_cert, CONF_STRING),
	K(tls_key, CONF_STRING),
	K(smtp_max_message, CONF_SIZE),
	KI(smtp_max_recipients, 1, 10000),
	KI(smtp_max_hops, 1, 1000),
	KI(smtp_max_errors, 1, 1000),
	KI(smtp_max_connections, 1, 1000000),
	KI(smtp_max_per_ip, 1, 1000000),
	K(smtp_command_timeout, CONF_DURATION),
	K(smtp_data_timeout, CONF_DURATION),
	KI(smtp_junk_command_limit, 1, 1000000),
	KD(smtp_session_max, 1000, 24ll * 3600 * 1000),
	K(log_level, CONF_LOG_LEVEL),
	K(http_max_body, CONF_SIZE),
	K(http_max_header, CONF_SIZE),
	KI(http_max_connections, 1, 1000000),
	K(http_header_timeout, CONF_DURATION),
	K(http_idle_timeout, CONF_DURATION),
	K(http_body_timeout, CONF_DURATION),
	K(shutdown_grace, CONF_DURATION),
	K(session_ttl, CONF_DURATION),
	K(inbox_retention, CONF_DURATION),
	K(expiry_interval, CONF_DURATION),
	K(audit_retention, CONF_DURATION),
	KI(worker_threads, 1, 128),
	KI(relay_port, 1, 65535),
	K(relay_host, CONF_HOSTPORT),
	K(relay_user, CONF_STRING),
	K(relay_password, CONF_STRING),
	K(relay_retry_schedule, CONF_DURATION_LIST),
	K(queue_lifetime, CONF_DURATION),
	K(webhook_allow_private, CONF_BOOL),
	K(webhook_retry_delay, CONF_DURATION),
	KI(scrypt_log2n, 10, 20),
};

void
conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->data_dir = xstrdup("./gentd-data");
	c->hostname = xstrdup("localhost");
	c->http_listen = xstrdup("127.0.0.1:8080");
	c->smtp_listen = xstrdup("127.0.0.1:2525");
	c->log_level = LOG_INFO;
	c->dns_timeout = 2000;
	c->dns_tries = 2;
	c->http_max_body = 25 * 1024 * 1024;
	c->smtp_max_message = 25 * 1024 * 1024;
	c->smtp_max_recipients = 100;
	c->smtp_max_hops = 50;	/* Postfix hopcount_limit */
	c->smtp_max_errors = 20;	/* Postfix smtpd_hard_error_limit */
	c->smtp_max_connections = 500;
	c->smtp_max_per_ip = 20;
	c->smtp_command_timeout = 5 * 60 * 1000;	/* RFC 5321 4.5.3.2 */
	c->smtp_data_timeout = 10 * 60 * 1000;
	c->smtp_junk_command_limit = 100;	/* Postfix smtpd_junk_command_limit */
	c->smtp_session_max = 30 * 60 * 1000;	/* Stalwart session duration */
	c->http_max_header = 32 * 1024;
	c->http_max_connections = 1024;
	c->http_header_timeout = 10 * 1000;
	c->http_idle_timeout = 60 * 1000;
	c->http_body_timeout = 30 * 1000;
	c->shutdown_grace = 10 * 1000;
	c->session_ttl = 7ull * 24 * 3600 * 1000;
	c->inbox_retention = 30ull * 24 * 3600 * 1000;
	c->expiry_interval = 3600ull * 1000;
	c->audit_retention = 90ull * 24 * 3600 * 1000;
	c->worker_threads = 8;
	c->relay_port = 25;
	c->relay_retry_schedule = xstrdup("5m,15m,1h,4h,12h");
	c->queue_lifetime = 5ull * 24 * 3600 * 1000;
	c->webhook_allow_private = false;
	c->webhook_retry_delay = 30 * 1000;
	c->scrypt_log2n = 15;
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < GENT_ARRAY_LEN(conf_keys); i++) {
		const struct conf_key *k = &conf_keys[i];
		if (k->type == CONF_STRING || k->type == CONF_HOSTPORT ||
		    k->type == CONF_HOSTPORT_LIST || k->type == CONF_DURATION_LIST)
			xfree((char *)c + k->offset);
	}
}

int
conf_parse_duration(const char *s, uint64_t *ms_r)
{
	char *end;
	uint64_t mult;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(end, "h") == 0)
		mult = 3600 * 1000;
	else if (strcmp(end, "d") == 0)
		mult = 24ull * 3600 * 1000;
	else
		return -1;
	if (v > UINT64_MAX / mult)
		return -1;
	*ms_r = v * mult;
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *bytes_r)
{
	char *end;
	uint64_t mult = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024 * 1024; end++; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
	default: return -1;
	}
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -1;
	*bytes_r = v * mult;
	return 0;
}

static int
check_port(const char *p)
{
	char *end;

	if (!isdigit((unsigned char)*p))
		return -1;
	long v = strtol(p, &end, 10);
	return (*end == '\0' && v >= 1 && v <= 65535) ? 0 : -1;
}

int
conf_check_hostport(const char *s)
{
	const char *colon;

	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close == s + 1 || close[1] != ':')
			return -1;
		return check_port(close + 2);
	}
	colon = strrchr(s, ':');
	if (!colon || colon == s)
		return -1;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return -1;
	return check_port(colon + 1);
}

/* Apply fn to each comma-separated item of s; -1 at the first bad one. */
static int
check_list(const char *s, int (*fn)(const char *))
{
	char *copy = xstrdup(s), *save = NULL, *item;
	int rc = 0, n = 0;

	for (item = strtok_r(copy, ",", &save); item;
	    item = strtok_r(NULL, ",", &save)) {
		while (*item == ' ')
			item++;
		size_t len = strlen(item);
		while (len && item[len - 1] == ' ')
			item[--len] = '\0';
		if (fn(item) != 0) {
			rc = -1;
			break;
		}
		n++;
	}
	free(copy);
	return (rc == 0 && n > 0) ? 0 : -1;
}

static int
check_duration(const char *s)
{
	uint64_t ms;
	return conf_parse_duration(s, &ms);
}

static int
parse_bool(const char *s, bool *b)
{
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1"))
		*b = true;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0"))
		*b = false;
	else
		return -1;
	return 0;
}

static int
parse_int(const char *s, const struct conf_key *k, int64_t *v)
{
	char *end;

	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno || end == s || *end != '\0' || n < k->min || n > k->max)
		return -1;
	*v = n;
	return 0;
}

/* A duration, within [min, max] ms when the key has a range; NULL or
 * what was expected. */
static const char *
parse_duration(const char *s, const struct conf_key *k, uint64_t *ms_r)
{
	uint64_t ms;

	if (conf_parse_duration(s, &ms) != 0)
		return "a duration (30s, 5m, 1h, 1d)";
	if (k->max > 0 && (ms < (uint64_t)k->min || ms > (uint64_t)k->max))
		return "a duration in range";
	*ms_r = ms;
	return NULL;
}

/* Store one value; returns a static description of what was expected. */
static const char *
conf_set(struct conf *c, const struct conf_key *k, const char *value)
{
	void *field = (char *)c + k->offset;
	int level;

	switch (k->type) {
	case CONF_STRING:
		if (*value == '\0')
			return "a non-empty string";
		break;
	case CONF_HOSTPORT:
		if (conf_check_hostport(value) != 0)
			return "host:port";
		break;
	case CONF_HOSTPORT_LIST:
		if (check_list(value, conf_check_hostport) != 0)
			return "a comma-separated list of host:port";
		break;
	case CONF_DURATION_LIST:
		if (check_list(value, check_duration) != 0)
			return "a comma-separated list of durations (30s, 5m, 1h, 1d)";
		break;
	case CONF_DURATION:
		return parse_duration(value, k, field);
	case CONF_SIZE:
		return conf_parse_size(value, field) ? "a size (512, 32K, 25M, 1G)" : NULL;
	case CONF_INT:
		return parse_int(value, k, field) ? "an integer in range" : NULL;
	case CONF_BOOL:
		return parse_bool(value, field) ? "true or false" : NULL;
	case CONF_LOG_LEVEL:
		if ((level = log_level_parse(value)) < 0)
			return "one of debug, info, warn, error";
		*(int *)field = level;
		return NULL;
	}
	xfree(field);
	*(char **)field = xstrdup(value);
	return NULL;
}

static const struct conf_key *
conf_find(const char *name)
{
	for (size_t i = 0; i < GENT_ARRAY_LEN(conf_keys); i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static char *
trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int
conf_parse_line(struct conf *c, char *line, const char *origin, int lineno,
    char **error_r)
{
	char *hash = strchr(line, '#'), *eq, *key, *value;
	const struct conf_key *k;
	const char *expected;

	if (hash)
		*hash = '\0';
	line = trim(line);
	if (*line == '\0')
		return 0;
	if (!(eq = strchr(line, '='))) {
		*error_r = xasprintf("%s:%d: expected 'key = value'", origin, lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!(k = conf_find(key))) {
		*error_r = xasprintf("%s:%d: unknown key '%s'", origin, lineno, key);
		return -1;
	}
	if ((expected = conf_set(c, k, value)) != NULL) {
		*error_r = xasprintf("%s:%d: bad value for '%s': expected %s",
		    origin, lineno, key, expected);
		return -1;
	}
	return 0;
}

int
conf_parse_text(struct conf *c, const char *text, const char *origin,
    char **error_r)
{
	char *copy = xstrdup(text), *p = copy;
	int lineno = 0, rc = 0;

	while (p && rc == 0) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		rc = conf_parse_line(c, p, origin, ++lineno, error_r);
		p = nl ? nl + 1 : NULL;
	}
	free(copy);
	return rc;
}

int
conf_load_file(struct conf *c, const char *path, char **error_r)
{
	FILE *f = fopen(path, "r");
	struct buf text = { 0 };
	char chunk[4096];
	size_t n;

	if (!f) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&text, chunk, n);
	fclose(f);
	int rc = conf_parse_text(c, text.data ? text.data : "", path, error_r);
	buf_free(&text);
	return rc;
}

int
conf_apply_env(struct conf *c, char **error_r)
{
	extern char **environ;

	for (char **e = environ; *e; e++) {
		if (strncmp(*e, "GENTD_", 6) != 0)
			continue;
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		char *key = xstrndup(*e + 6, (size_t)(eq - *e - 6));
		str_lower(key);
		const struct conf_key *k = conf_find(key);
		const char *expected = k ? conf_set(c, k, eq + 1) : "a known key";
		if (expected) {
			*error_r = xasprintf("environment GENTD_%.*s: %s: expected %s",
			    (int)(eq - *e - 6), *e + 6,
			    k ? "bad value" : "unknown key", expected);
			free(key);
			return -1;
		}
		free(key);
	}
	return 0;
}
