/*
 * main.c - command line and wiring: load config, open the store, start
 * the HTTP front end on the libuv loop, drain on SIGTERM/SIGINT, reload
 * the TLS certificate and key (nothing else) on SIGHUP.
 */
#include <signal.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "gent/admin.h"
#include "gent/api.h"
#include "gent/app.h"
#include "gent/conf.h"
#include "gent/dns.h"
#include "gent/gent_dkim.h"
#include "gent/http.h"
#include "gent/inbound.h"
#include "gent/mime.h"
#include "gent/smtp.h"
#include "gent/tls.h"
#include "gent/expiry.h"
#include "gent/jobs.h"
#include "gent/relay.h"
#include "gent/webhook_dispatch.h"
#include "gent/log.h"
#include "gent/store.h"

static const char usage[] =
    "gentd " GENTD_VERSION " - mail platform for AI agents\n"
    "\n"
    "usage:\n"
    "  gentd serve [--config FILE]       run the daemon (embedded default\n"
    "                                    config when no file is given)\n"
    "  gentd check-config [--config FILE]\n"
    "%s"
    "  gentd --help | --version\n"
    "\n"
    "Every config key can be overridden with GENTD_<KEY> in the environment.\n";

struct daemon {
	uv_loop_t		*loop;
	struct app		 app;
	struct http_server	*http;
	struct smtp_server	*smtp;
	SSL_CTX			*tls;		/* the SMTP server's current one */
	int			 draining;	/* servers still draining */
	struct jobs		*jobs;
	struct expiry		*expiry;
	uv_signal_t		 sigterm, sigint, sighup;
	bool			 stopping;
	bool			 reloading;	/* a TLS load is on the threadpool */
	bool			 reload_again;	/* SIGHUP came during that load */
};

static void
on_drained(void *arg)
{
	struct daemon *d = arg;

	if (--d->draining > 0)
		return;
	log_info("main", NULL, "all connections closed; stopping");
	jobs_stop(&d->jobs);
	expiry_stop(&d->expiry);
	relay_stop(&d->app);
	webhook_dispatch_stop(&d->app);
	dns_resolver_stop(&d->app.dns);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (d->stopping)
		return;
	d->stopping = true;
	log_info("main", NULL, "received %s; draining connections",
	    signum == SIGTERM ? "SIGTERM" : "SIGINT");
	d->draining = 2;
	http_server_drain(d->http, d->app.conf->shutdown_grace, on_drained, d);
	smtp_server_drain(d->smtp, d->app.conf->shutdown_grace, on_drained, d);
}

static void start_reload(struct daemon *d);

/* On the loop: swap in the new context, or keep the old one. */
static void
on_reloaded(void *arg, SSL_CTX *ctx, const char *error)
{
	struct daemon *d = arg;
	char desc[512];

	d->reloading = false;
	if (d->stopping) {
		SSL_CTX_free(ctx);	/* no new sessions will need it */
		return;
	}
	if (!ctx) {
		log_error("main", NULL, "SIGHUP: TLS certificate not reloaded, "
		    "still serving the previous one: %s", error);
	} else {
		smtp_server_set_tls(d->smtp, ctx);
		SSL_CTX_free(d->tls);
		d->tls = ctx;
		tls_ctx_describe(ctx, desc, sizeof(desc));
		log_info("main", NULL, "SIGHUP: TLS certificate reloaded from %s "
		    "for new sessions: %s (only tls_cert and tls_key are re-read; "
		    "other config changes need a restart)",
		    d->app.conf->tls_cert, desc);
	}
	if (d->reload_again) {
		/* The files may have changed after that load read them. */
		d->reload_again = false;
		start_reload(d);
	}
}

static void
start_reload(struct daemon *d)
{
	const struct conf *conf = d->app.conf;
	int rc = tls_server_ctx_load(d->loop, conf->tls_cert, conf->tls_key,
	    on_reloaded, d);

	if (rc != 0) {
		log_error("main", NULL, "SIGHUP: TLS certificate not reloaded, "
		    "still serving the previous one: %s", uv_strerror(rc));
		return;
	}
	d->reloading = true;
}

/*
 * SIGHUP reloads the certificate and key, as operators expect after a
 * renewal (postfix reload, nginx -s reload). The rest of the config is
 * not re-read: listeners, limits and the store are set up once.
 */
static void
on_sighup(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	(void)signum;
	if (d->stopping)
		return;
	if (!d->tls) {
		log_warn("main", NULL, "SIGHUP: no tls_cert configured, nothing "
		    "to reload (the config is not re-read)");
		return;
	}
	if (d->reloading) {
		d->reload_again = true;
		return;
	}
	start_reload(d);
}

static void
on_early_stop(void *arg)
{
	(void)arg;
}

static int
start_smtp(struct daemon *d, const struct conf *conf, char **err)
{
	struct smtp_limits limits = {
		.max_message = conf->smtp_max_message,
		.max_rcpts = (unsigned)conf->smtp_max_recipients,
		.max_errors = (unsigned)conf->smtp_max_errors,
		.max_connections = conf->smtp_max_connections,
		.max_per_ip = conf->smtp_max_per_ip,
		.command_timeout_ms = conf->smtp_command_timeout,
		.data_timeout_ms = conf->smtp_data_timeout,
		.max_junk = (unsigned)conf->smtp_junk_command_limit,
		.session_max_ms = conf->smtp_session_max,
	};
	struct smtp_hooks hooks = inbound_hooks(&d->app);

	if ((conf->tls_cert != NULL) != (conf->tls_key != NULL)) {
		*err = xasprintf("tls_cert and tls_key go together");
		return -1;
	}
	if (conf->tls_cert && !(d->tls = tls_server_ctx(conf->tls_cert,
	    conf->tls_key, err)))
		return -1;
	return smtp_server_start(&d->smtp, d->loop, conf->smtp_listen,
	    conf->hostname, &limits, &hooks, d->tls, err);
}

static int
serve(const struct conf *conf)
{
	struct daemon d = { 0 };
	struct http_limits limits = {
		.max_header = conf->http_max_header,
		.max_body = conf->http_max_body,
		.max_connections = conf->http_max_connections,
		.header_timeout_ms = conf->http_header_timeout,
		.idle_timeout_ms = conf->http_idle_timeout,
		.body_timeout_ms = conf->http_body_timeout,
	};
	char threads[16], *err = NULL;
	int rc = 1;

	/* Must be set before the loop first uses its threadpool. */
	snprintf(threads, sizeof(threads), "%lld", (long long)conf->worker_threads);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	/* A peer that resets while we write must cost a write error, not the
	 * process: libuv writes with write(2), which raises SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	d.loop = uv_default_loop();
	mime_init();
	if (gent_dkim_init() != 0) {
		log_error("main", NULL, "cannot initialise libopendkim");
		return 1;
	}
	d.app.conf = conf;
	if (store_open(&d.app.store, conf->data_dir, &err) != 0) {
		log_error("main", NULL, "store: %s", err);
		free(err);
		return 1;
	}
	if (store_secret(store_control(d.app.store), "unsubscribe_hmac",
	    d.app.unsubscribe_key, sizeof(d.app.unsubscribe_key)) != STORE_OK ||
	    store_secret(store_control(d.app.store), "webhook_seal",
	    d.app.seal_key, sizeof(d.app.seal_key)) != STORE_OK) {
		log_error("main", NULL, "cannot read or create the server keys");
		goto out;
	}
	d.app.public_url = conf->public_url ? xstrdup(conf->public_url) :
	    xasprintf("http://%s", conf->http_listen);
	if (dns_resolver_start(&d.app.dns, d.loop, conf->dns_servers,
	    (int)conf->dns_timeout, (int)conf->dns_tries, &err) != 0) {
		log_error("main", NULL, "%s", err);
		free(err);
		goto out;
	}
	if (http_server_start(&d.http, d.loop, conf->http_listen, &limits,
	    api_handle, &d.app, &err) != 0) {
		log_error("main", NULL, "%s", err);
		free(err);
		goto out;
	}
	if (start_smtp(&d, conf, &err) != 0) {
		log_error("main", NULL, "%s", err);
		free(err);
		goto out;
	}
	d.jobs = jobs_start(d.loop, &d.app);
	d.expiry = expiry_start(d.loop, &d.app);
	if (relay_start(d.loop, &d.app, &err) != 0) {
		log_error("main", NULL, "relay: %s", err);
		free(err);
		goto out;
	}
	if (webhook_dispatch_start(d.loop, &d.app, &err) != 0) {
		log_error("main", NULL, "webhooks: %s", err);
		free(err);
		goto out;
	}
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_init(d.loop, &d.sighup);
	d.sigterm.data = d.sigint.data = d.sighup.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sighup, on_sighup, SIGHUP);
	log_info("main", NULL, "gentd %s listening on http://%s and smtp://%s%s "
	    "(data_dir %s)", GENTD_VERSION, conf->http_listen, conf->smtp_listen,
	    d.tls ? " (STARTTLS)" : "", conf->data_dir);
	uv_run(d.loop, UV_RUN_DEFAULT);
	rc = 0;
out:
	if (rc != 0) {
		/* Start-up failed: close whatever did start so the loop ends. */
		if (d.http)
			http_server_drain(d.http, 0, on_early_stop, &d);
		if (d.smtp)
			smtp_server_drain(d.smtp, 0, on_early_stop, &d);
		jobs_stop(&d.jobs);
		expiry_stop(&d.expiry);
		relay_stop(&d.app);
		webhook_dispatch_stop(&d.app);
		dns_resolver_stop(&d.app.dns);
		uv_run(d.loop, UV_RUN_DEFAULT);
	}
	http_server_free(&d.http);
	smtp_server_free(&d.smtp);
	SSL_CTX_free(d.tls);
	relay_free(&d.app);
	webhook_dispatch_free(&d.app);
	dns_resolver_free(&d.app.dns);
	free(d.app.public_url);
	OPENSSL_cleanse(d.app.seal_key, sizeof(d.app.seal_key));
	OPENSSL_cleanse(d.app.unsubscribe_key, sizeof(d.app.unsubscribe_key));
	gent_dkim_shutdown();
	store_close(&d.app.store);
	if (uv_loop_close(d.loop) != 0)
		log_warn("main", NULL, "event loop closed with handles still open");
	log_info("main", NULL, "stopped");
	return rc;
}

/* Find "--config FILE" or "--config=FILE" anywhere in argv. */
static const char *
config_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}

static int
load_config(struct conf *conf, int argc, char **argv)
{
	const char *path = config_arg(argc, argv);
	char *err = NULL;
	int rc;

	conf_init(conf);
	rc = path ? conf_load_file(conf, path, &err) :
	    conf_parse_text(conf, conf_embedded_default, "embedded default", &err);
	if (rc == 0)
		rc = conf_apply_env(conf, &err);
	if (rc != 0) {
		fprintf(stderr, "gentd: config: %s\n", err);
		free(err);
		conf_free(conf);
		return -1;
	}
	log_set_level((enum log_level)conf->log_level);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf conf;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf(usage, admin_usage);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("gentd %s\n", GENTD_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "serve") && strcmp(argv[1], "admin") &&
	    strcmp(argv[1], "check-config")) {
		fprintf(stderr, "gentd: unknown command '%s'\n", argv[1]);
		fprintf(stderr, usage, admin_usage);
		return 2;
	}
	/* Keys, databases and spool files are for this user only. */
	umask(077);
	if (load_config(&conf, argc, argv) != 0)
		return 1;
	if (strcmp(argv[1], "serve") == 0)
		rc = serve(&conf);
	else if (strcmp(argv[1], "admin") == 0)
		rc = admin_main(&conf, argc - 2, argv + 2);
	else
		rc = (printf("config ok\n"), 0);
	conf_free(&conf);
	return rc;
}
