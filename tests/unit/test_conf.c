/*
 * test_conf.c - src/core/conf.c: config text, environment overrides and
 * the value parsers (durations, sizes, host:port).
 *
 * Every table row is one Check test (tcase_add_loop_test), so a failure
 * names the row. The value parsers also run on exact-size heap copies of
 * every prefix of their inputs, so an over-read shows up under ASan.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gent/conf.h"
#include "gent/log.h"
#include "gent/util.h"

#define N(a) ((int)GENT_ARRAY_LEN(a))

/* Remove every GENTD_* variable so the caller's environment cannot leak
 * into conf_apply_env(). */
static void
clear_gentd_env(void)
{
	extern char **environ;

	for (;;) {
		char **e = environ;
		while (*e && strncmp(*e, "GENTD_", 6) != 0)
			e++;
		if (!*e)
			return;
		const char *eq = strchr(*e, '=');
		char *name = eq ? xstrndup(*e, (size_t)(eq - *e)) : xstrdup(*e);
		unsetenv(name);
		free(name);
	}
}

/* --- conf_parse_text: good files ------------------------------------ */

START_TEST(test_defaults)
{
	struct conf c;

	conf_init(&c);
	ck_assert_str_eq(c.data_dir, "./gentd-data");
	ck_assert_str_eq(c.http_listen, "127.0.0.1:8080");
	ck_assert_str_eq(c.smtp_listen, "127.0.0.1:2525");
	ck_assert_int_eq(c.smtp_max_hops, 50);
	ck_assert_ptr_null(c.dns_servers);
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_uint_eq(c.http_max_body, 25u * 1024 * 1024);
	ck_assert_int_eq(c.http_max_connections, 1024);
	ck_assert(!c.webhook_allow_private);
	ck_assert_int_eq(c.smtp_junk_command_limit, 100);
	ck_assert_uint_eq(c.smtp_session_max, 30u * 60 * 1000);
	conf_free(&c);
	ck_assert_ptr_null(c.data_dir);
	ck_assert_ptr_null(c.http_listen);
}
END_TEST

START_TEST(test_embedded_default_parses)
{
	struct conf c;
	char *err = NULL;

	conf_init(&c);
	ck_assert_int_eq(conf_parse_text(&c, conf_embedded_default, "embedded",
	    &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(c.hostname, "localhost");
	conf_free(&c);
}
END_TEST

START_TEST(test_parse_full_file)
{
	static const char text[] =
	    "# a comment line\n"
	    "\n"
	    "   \t  \n"
	    "data_dir = /var/lib/gentd\n"
	    "hostname=mx.example.com\n"
	    "  http_listen   =   0.0.0.0:9000   \n"
	    "\tsmtp_listen\t=\t[::1]:25\t\n"
	    "dns_servers = 1.1.1.1:53, 8.8.8.8:53\n"
	    "tls_cert = /etc/gentd/cert.pem # trailing comment\n"
	    "tls_key = /etc/gentd/key.pem\r\n"
	    "log_level = debug\n"
	    "http_max_body = 10M\n"
	    "http_max_header = 16K\n"
	    "http_max_connections = 1000000\n"
	    "http_header_timeout = 250ms\n"
	    "http_idle_timeout = 5m\n"
	    "http_body_timeout = 30s\n"
	    "shutdown_grace = 45\n"
	    "session_ttl = 2d\n"
	    "worker_threads = 128\n"
	    "relay_port = 587\n"
	    "smtp_max_hops = 7\n"
	    "relay_host = smarthost.example.net:2525\n"
	    "relay_retry_schedule = 1m, 10m,1h\n"
	    "queue_lifetime = 1h\n"
	    "webhook_allow_private = yes\n"
	    "scrypt_log2n = 10\n"
	    "smtp_junk_command_limit = 7\n"
	    "smtp_session_max = 90s\n"
	    "# no newline at the end\n"
	    "hostname = last.example.com";
	struct conf c;
	char *err = NULL;

	conf_init(&c);
	ck_assert_int_eq(conf_parse_text(&c, text, "full.conf", &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(c.data_dir, "/var/lib/gentd");
	ck_assert_str_eq(c.hostname, "last.example.com");
	ck_assert_str_eq(c.http_listen, "0.0.0.0:9000");
	ck_assert_str_eq(c.smtp_listen, "[::1]:25");
	ck_assert_str_eq(c.dns_servers, "1.1.1.1:53, 8.8.8.8:53");
	ck_assert_str_eq(c.tls_cert, "/etc/gentd/cert.pem");
	ck_assert_str_eq(c.tls_key, "/etc/gentd/key.pem");
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_uint_eq(c.http_max_body, 10u * 1024 * 1024);
	ck_assert_uint_eq(c.http_max_header, 16u * 1024);
	ck_assert_int_eq(c.http_max_connections, 1000000);
	ck_assert_uint_eq(c.http_header_timeout, 250);
	ck_assert_uint_eq(c.http_idle_timeout, 300000);
	ck_assert_uint_eq(c.http_body_timeout, 30000);
	ck_assert_uint_eq(c.shutdown_grace, 45000);
	ck_assert_uint_eq(c.session_ttl, 2ull * 24 * 3600 * 1000);
	ck_assert_int_eq(c.worker_threads, 128);
	ck_assert_int_eq(c.relay_port, 587);
	ck_assert_int_eq(c.smtp_max_hops, 7);
	ck_assert_str_eq(c.relay_host, "smarthost.example.net:2525");
	ck_assert_str_eq(c.relay_retry_schedule, "1m, 10m,1h");
	ck_assert_uint_eq(c.queue_lifetime, 3600000);
	ck_assert(c.webhook_allow_private);
	ck_assert_int_eq(c.scrypt_log2n, 10);
	ck_assert_int_eq(c.smtp_junk_command_limit, 7);
	ck_assert_uint_eq(c.smtp_session_max, 90000);
	conf_free(&c);
}
END_TEST

START_TEST(test_parse_empty_and_comments_only)
{
	static const char *const texts[] = {
		"", "\n", "\n\n\n", "# only\n#comments\n", "   \t\r\n", "#",
	};
	struct conf c;
	char *err = NULL;

	for (int i = 0; i < N(texts); i++) {
		conf_init(&c);
		ck_assert_msg(conf_parse_text(&c, texts[i], "e", &err) == 0,
		    "text %d rejected: %s", i, err ? err : "");
		ck_assert_str_eq(c.http_listen, "127.0.0.1:8080");
		conf_free(&c);
	}
}
END_TEST

START_TEST(test_bools)
{
	static const struct { const char *v; bool want; } cases[] = {
		{ "true", true }, { "yes", true }, { "1", true },
		{ "false", false }, { "no", false }, { "0", false },
	};
	struct conf c;
	char *err = NULL;

	for (int i = 0; i < N(cases); i++) {
		char *text = xasprintf("webhook_allow_private = %s\n", cases[i].v);
		conf_init(&c);
		c.webhook_allow_private = !cases[i].want;
		ck_assert_msg(conf_parse_text(&c, text, "b", &err) == 0, "%s", text);
		ck_assert_msg(c.webhook_allow_private == cases[i].want, "%s", text);
		conf_free(&c);
		free(text);
	}
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct { const char *v; int want; } cases[] = {
		{ "debug", LOG_DEBUG }, { "info", LOG_INFO },
		{ "warn", LOG_WARN }, { "error", LOG_ERROR },
	};
	struct conf c;
	char *err = NULL;

	for (int i = 0; i < N(cases); i++) {
		char *text = xasprintf("log_level = %s\n", cases[i].v);
		conf_init(&c);
		c.log_level = -1;
		ck_assert_msg(conf_parse_text(&c, text, "l", &err) == 0, "%s", text);
		ck_assert_int_eq(c.log_level, cases[i].want);
		conf_free(&c);
		free(text);
	}
}
END_TEST

/* --- conf_parse_text: errors ------------------------------------------ */

START_TEST(test_unknown_key)
{
	struct conf c;
	char *err = NULL;

	conf_init(&c);
	ck_assert_int_eq(conf_parse_text(&c,
	    "# header\nhostname = a.example\n\n  x = 1\nhostname = b\n",
	    "/etc/gentd.conf", &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "/etc/gentd.conf:4: unknown key 'x'") != NULL,
	    "error text: %s", err);
	/* Parsing stops at the bad line: line 5 was not applied. */
	ck_assert_str_eq(c.hostname, "a.example");
	free(err);
	conf_free(&c);
}
END_TEST

START_TEST(test_missing_equals)
{
	struct conf c;
	char *err = NULL;

	conf_init(&c);
	ck_assert_int_eq(conf_parse_text(&c, "hostname = a\nhostname\n", "f",
	    &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "f:2: expected 'key = value'") != NULL,
	    "error text: %s", err);
	free(err);
	conf_free(&c);
}
END_TEST

static const struct bad_value {
	const char	*text;
	const char	*key;
} bad_values[] = {
	/* strings */
	{ "hostname =", "hostname" },
	{ "data_dir =   # nothing", "data_dir" },
	/* host:port */
	{ "http_listen = localhost", "http_listen" },
	{ "http_listen = host:0", "http_listen" },
	{ "http_listen = host:65536", "http_listen" },
	{ "http_listen = :80", "http_listen" },
	{ "http_listen = host:", "http_listen" },
	{ "http_listen = ho st:80", "http_listen" },
	{ "smtp_listen = [::1]", "smtp_listen" },
	{ "relay_host = mx.example.com:25x", "relay_host" },
	{ "dns_servers = 1.1.1.1:53,nope", "dns_servers" },
	{ "dns_servers = ,", "dns_servers" },
	/* durations */
	{ "http_idle_timeout = 5x", "http_idle_timeout" },
	{ "http_idle_timeout =", "http_idle_timeout" },
	{ "http_idle_timeout = -5s", "http_idle_timeout" },
	{ "http_idle_timeout = 1.5h", "http_idle_timeout" },
	{ "session_ttl = 5 m", "session_ttl" },
	{ "queue_lifetime = 99999999999999999999d", "queue_lifetime" },
	{ "relay_retry_schedule = 5m,1x", "relay_retry_schedule" },
	{ "relay_retry_schedule =", "relay_retry_schedule" },
	/* durations with a range: smtp_session_max is 1s .. 1d */
	{ "smtp_session_max = 0", "smtp_session_max" },
	{ "smtp_session_max = 999ms", "smtp_session_max" },
	{ "smtp_session_max = 25h", "smtp_session_max" },
	{ "smtp_session_max = 2d", "smtp_session_max" },
	{ "smtp_session_max = 30x", "smtp_session_max" },
	{ "smtp_session_max =", "smtp_session_max" },
	/* sizes */
	{ "http_max_body = 32KB", "http_max_body" },
	{ "http_max_body = -1", "http_max_body" },
	{ "http_max_body = 1T", "http_max_body" },
	{ "http_max_body = M", "http_max_body" },
	{ "http_max_header =", "http_max_header" },
	/* integers with ranges */
	{ "http_max_connections = 0", "http_max_connections" },
	{ "http_max_connections = 1000001", "http_max_connections" },
	{ "http_max_connections = -1", "http_max_connections" },
	{ "http_max_connections = 12abc", "http_max_connections" },
	{ "http_max_connections =", "http_max_connections" },
	{ "http_max_connections = 99999999999999999999999", "http_max_connections" },
	{ "worker_threads = 129", "worker_threads" },
	{ "smtp_max_hops = 0", "smtp_max_hops" },
	{ "smtp_max_hops = 1001", "smtp_max_hops" },
	{ "smtp_max_hops = -1", "smtp_max_hops" },
	{ "smtp_max_hops = 5x", "smtp_max_hops" },
	{ "smtp_max_hops =", "smtp_max_hops" },
	{ "relay_port = 65536", "relay_port" },
	{ "scrypt_log2n = 9", "scrypt_log2n" },
	{ "scrypt_log2n = 21", "scrypt_log2n" },
	{ "smtp_junk_command_limit = 0", "smtp_junk_command_limit" },
	{ "smtp_junk_command_limit = 1000001", "smtp_junk_command_limit" },
	{ "smtp_junk_command_limit = -1", "smtp_junk_command_limit" },
	{ "smtp_junk_command_limit = 10x", "smtp_junk_command_limit" },
	/* bools */
	{ "webhook_allow_private = maybe", "webhook_allow_private" },
	{ "webhook_allow_private =", "webhook_allow_private" },
	/* log level */
	{ "log_level = verbose", "log_level" },
	{ "log_level =", "log_level" },
};

START_TEST(test_bad_value)
{
	const struct bad_value *b = &bad_values[_i];
	char *text = xasprintf("# first line\n%s\n", b->text);
	char *want = xasprintf("bad.conf:2: bad value for '%s': expected ", b->key);
	struct conf c, orig;
	char *err = NULL;

	conf_init(&c);
	conf_init(&orig);
	ck_assert_msg(conf_parse_text(&c, text, "bad.conf", &err) == -1,
	    "accepted: %s", b->text);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "for \"%s\": error text \"%s\" does not start with \"%s\"",
	    b->text, err, want);
	/* A rejected value leaves the previous one in place. */
	ck_assert_str_eq(c.http_listen, orig.http_listen);
	ck_assert_str_eq(c.hostname, orig.hostname);
	ck_assert_uint_eq(c.http_idle_timeout, orig.http_idle_timeout);
	ck_assert_uint_eq(c.http_max_body, orig.http_max_body);
	ck_assert_int_eq(c.http_max_connections, orig.http_max_connections);
	ck_assert_int_eq(c.worker_threads, orig.worker_threads);
	ck_assert_int_eq(c.smtp_max_hops, orig.smtp_max_hops);
	ck_assert_int_eq(c.log_level, orig.log_level);
	ck_assert(c.webhook_allow_private == orig.webhook_allow_private);
	ck_assert_int_eq(c.smtp_junk_command_limit, orig.smtp_junk_command_limit);
	ck_assert_uint_eq(c.smtp_session_max, orig.smtp_session_max);
	free(err);
	free(want);
	free(text);
	conf_free(&c);
	conf_free(&orig);
}
END_TEST

START_TEST(test_int_bounds_accepted)
{
	static const char *const texts[] = {
		"http_max_connections = 1", "http_max_connections = 1000000",
		"smtp_max_hops = 1", "smtp_max_hops = 1000",
		"worker_threads = 1", "relay_port = 65535", "scrypt_log2n = 20",
		"smtp_junk_command_limit = 1", "smtp_junk_command_limit = 1000000",
		"smtp_session_max = 1s", "smtp_session_max = 1000ms",
		"smtp_session_max = 24h", "smtp_session_max = 1d",
	};
	struct conf c;
	char *err = NULL;

	for (int i = 0; i < N(texts); i++) {
		conf_init(&c);
		ck_assert_msg(conf_parse_text(&c, texts[i], "i", &err) == 0,
		    "%s: %s", texts[i], err ? err : "");
		conf_free(&c);
	}
}
END_TEST

/* --- conf_apply_env ---------------------------------------------------- */

START_TEST(test_env_override)
{
	struct conf c;
	char *err = NULL;

	clear_gentd_env();
	conf_init(&c);
	ck_assert_int_eq(conf_parse_text(&c, "http_listen = 127.0.0.1:1\n", "f",
	    &err), 0);
	setenv("GENTD_HTTP_LISTEN", "10.1.2.3:8443", 1);
	setenv("GENTD_WORKER_THREADS", "3", 1);
	setenv("GENTD_HTTP_IDLE_TIMEOUT", "2m", 1);
	ck_assert_int_eq(conf_apply_env(&c, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(c.http_listen, "10.1.2.3:8443");
	ck_assert_int_eq(c.worker_threads, 3);
	ck_assert_uint_eq(c.http_idle_timeout, 120000);
	unsetenv("GENTD_HTTP_LISTEN");
	unsetenv("GENTD_WORKER_THREADS");
	unsetenv("GENTD_HTTP_IDLE_TIMEOUT");
	conf_free(&c);
}
END_TEST

START_TEST(test_env_no_vars)
{
	struct conf c;
	char *err = NULL;

	clear_gentd_env();
	setenv("NOT_GENTD_HTTP_LISTEN", "x", 1);
	setenv("GENTDX_HTTP_LISTEN", "x", 1);
	conf_init(&c);
	ck_assert_int_eq(conf_apply_env(&c, &err), 0);
	ck_assert_str_eq(c.http_listen, "127.0.0.1:8080");
	unsetenv("NOT_GENTD_HTTP_LISTEN");
	unsetenv("GENTDX_HTTP_LISTEN");
	conf_free(&c);
}
END_TEST

START_TEST(test_env_unknown_key)
{
	struct conf c;
	char *err = NULL;

	clear_gentd_env();
	setenv("GENTD_FOO", "1", 1);
	conf_init(&c);
	ck_assert_int_eq(conf_apply_env(&c, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "GENTD_FOO") != NULL &&
	    strstr(err, "unknown key") != NULL, "error text: %s", err);
	unsetenv("GENTD_FOO");
	free(err);
	conf_free(&c);
}
END_TEST

START_TEST(test_env_bad_value)
{
	struct conf c;
	char *err = NULL;

	clear_gentd_env();
	setenv("GENTD_HTTP_MAX_CONNECTIONS", "0", 1);
	conf_init(&c);
	ck_assert_int_eq(conf_apply_env(&c, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "GENTD_HTTP_MAX_CONNECTIONS") != NULL &&
	    strstr(err, "bad value") != NULL, "error text: %s", err);
	ck_assert_int_eq(c.http_max_connections, 1024);
	unsetenv("GENTD_HTTP_MAX_CONNECTIONS");
	free(err);
	conf_free(&c);
}
END_TEST

/* --- value parsers ----------------------------------------------------- */

static const struct duration_case {
	const char	*in;
	int		 rc;
	uint64_t	 ms;
} duration_cases[] = {
	{ "30s", 0, 30000 },
	{ "5m", 0, 300000 },
	{ "1h", 0, 3600000 },
	{ "2d", 0, 172800000 },
	{ "250ms", 0, 250 },
	{ "45", 0, 45000 },
	{ "0", 0, 0 },
	{ "0ms", 0, 0 },
	{ "007s", 0, 7000 },
	{ "213503982334d", 0, 213503982334ull * 86400000ull },
	{ "5x", -1, 0 },
	{ "", -1, 0 },
	{ "s", -1, 0 },
	{ "ms", -1, 0 },
	{ "-5s", -1, 0 },
	{ "+5s", -1, 0 },
	{ " 5s", -1, 0 },
	{ "5s ", -1, 0 },
	{ "5 s", -1, 0 },
	{ "5S", -1, 0 },
	{ "5M", -1, 0 },
	{ "5sec", -1, 0 },
	{ "5mss", -1, 0 },
	{ "1.5h", -1, 0 },
	{ "0x10", -1, 0 },
	{ "99999999999999999999", -1, 0 },
	{ "18446744073709551615d", -1, 0 },
	{ "213503982335d", -1, 0 },
};

START_TEST(test_parse_duration)
{
	const struct duration_case *d = &duration_cases[_i];
	uint64_t ms = 0xdeadbeef;
	int rc = conf_parse_duration(d->in, &ms);

	ck_assert_msg(rc == d->rc, "\"%s\": rc %d, want %d", d->in, rc, d->rc);
	if (d->rc == 0)
		ck_assert_msg(ms == d->ms, "\"%s\": %llu ms, want %llu", d->in,
		    (unsigned long long)ms, (unsigned long long)d->ms);
	else
		ck_assert_msg(ms == 0xdeadbeef, "\"%s\": output written on error",
		    d->in);
}
END_TEST

static const struct size_case {
	const char	*in;
	int		 rc;
	uint64_t	 bytes;
} size_cases[] = {
	{ "512", 0, 512 },
	{ "0", 0, 0 },
	{ "32K", 0, 32768 },
	{ "32k", 0, 32768 },
	{ "25M", 0, 25u * 1024 * 1024 },
	{ "25m", 0, 25u * 1024 * 1024 },
	{ "1G", 0, 1024u * 1024 * 1024 },
	{ "4g", 0, 4ull * 1024 * 1024 * 1024 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "", -1, 0 },
	{ "K", -1, 0 },
	{ "32KB", -1, 0 },
	{ "32 K", -1, 0 },
	{ " 32K", -1, 0 },
	{ "32K ", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ "1T", -1, 0 },
	{ "1.5M", -1, 0 },
	{ "1b", -1, 0 },
	{ "18446744073709551616", -1, 0 },
	{ "18014398509481984K", -1, 0 },
	{ "17179869184G", -1, 0 },
};

START_TEST(test_parse_size)
{
	const struct size_case *s = &size_cases[_i];
	uint64_t bytes = 0xdeadbeef;
	int rc = conf_parse_size(s->in, &bytes);

	ck_assert_msg(rc == s->rc, "\"%s\": rc %d, want %d", s->in, rc, s->rc);
	if (s->rc == 0)
		ck_assert_msg(bytes == s->bytes, "\"%s\": %llu, want %llu", s->in,
		    (unsigned long long)bytes, (unsigned long long)s->bytes);
	else
		ck_assert_msg(bytes == 0xdeadbeef, "\"%s\": output written on error",
		    s->in);
}
END_TEST

static const struct hostport_case {
	const char	*in;
	int		 rc;
} hostport_cases[] = {
	{ "127.0.0.1:8080", 0 },
	{ "0.0.0.0:1", 0 },
	{ "localhost:25", 0 },
	{ "mx-1.example.com:587", 0 },
	{ "host:65535", 0 },
	{ "[::1]:25", 0 },
	{ "[::]:8080", 0 },
	{ "[2001:db8::1]:65535", 0 },
	{ "host:0", -1 },
	{ "host:65536", -1 },
	{ "host:99999999999999999999", -1 },
	{ ":80", -1 },
	{ "host", -1 },
	{ "host:", -1 },
	{ "host:80x", -1 },
	{ "host:-1", -1 },
	{ "host:+80", -1 },
	{ "host: 80", -1 },
	{ "ho st:80", -1 },
	{ "host_name:80", -1 },
	{ "a:b:80", -1 },
	{ "::1:25", -1 },
	{ "", -1 },
	{ "[::1]", -1 },
	{ "[::1]25", -1 },
	{ "[::1]:", -1 },
	{ "[::1]:0", -1 },
	{ "[::1]:65536", -1 },
	{ "[]:25", -1 },
	{ "[::1:25", -1 },
};

START_TEST(test_check_hostport)
{
	const struct hostport_case *h = &hostport_cases[_i];
	int rc = conf_check_hostport(h->in);

	ck_assert_msg(rc == h->rc, "\"%s\": rc %d, want %d", h->in, rc, h->rc);
}
END_TEST

/* Every prefix of every table input, in a buffer of exactly its size: the
 * parsers must neither crash nor read past the NUL (ASan checks). */
START_TEST(test_parsers_prefixes)
{
	const char *inputs[N(duration_cases) + N(size_cases) + N(hostport_cases)];
	int n = 0;

	for (int i = 0; i < N(duration_cases); i++)
		inputs[n++] = duration_cases[i].in;
	for (int i = 0; i < N(size_cases); i++)
		inputs[n++] = size_cases[i].in;
	for (int i = 0; i < N(hostport_cases); i++)
		inputs[n++] = hostport_cases[i].in;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(inputs[i]);
		for (size_t k = 0; k <= len; k++) {
			char *p = xstrndup(inputs[i], k);
			uint64_t v;
			(void)conf_parse_duration(p, &v);
			(void)conf_parse_size(p, &v);
			(void)conf_check_hostport(p);
			free(p);
		}
	}
	/* Which prefixes are accepted is known for a few inputs. */
	static const char *const durs[] = { "", "2", "25", "250", "250m", "250ms" };
	static const int dur_ok[] = { -1, 0, 0, 0, 0, 0 };
	for (int i = 0; i < N(durs); i++) {
		char *p = xstrndup(durs[i], strlen(durs[i]));
		uint64_t v;
		ck_assert_msg(conf_parse_duration(p, &v) == dur_ok[i], "\"%s\"", p);
		free(p);
	}
	static const char hp[] = "[::1]:25";
	for (size_t k = 0; k <= strlen(hp); k++) {
		char *p = xstrndup(hp, k);
		ck_assert_msg(conf_check_hostport(p) == (k >= 7 ? 0 : -1), "\"%s\"", p);
		free(p);
	}
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("parse_text");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_embedded_default_parses);
	tcase_add_test(tc, test_parse_full_file);
	tcase_add_test(tc, test_parse_empty_and_comments_only);
	tcase_add_test(tc, test_bools);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_missing_equals);
	tcase_add_loop_test(tc, test_bad_value, 0, N(bad_values));
	tcase_add_test(tc, test_int_bounds_accepted);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_test(tc, test_env_override);
	tcase_add_test(tc, test_env_no_vars);
	tcase_add_test(tc, test_env_unknown_key);
	tcase_add_test(tc, test_env_bad_value);
	suite_add_tcase(s, tc);

	tc = tcase_create("values");
	tcase_add_loop_test(tc, test_parse_duration, 0, N(duration_cases));
	tcase_add_loop_test(tc, test_parse_size, 0, N(size_cases));
	tcase_add_loop_test(tc, test_check_hostport, 0, N(hostport_cases));
	tcase_add_test(tc, test_parsers_prefixes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
