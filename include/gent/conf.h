/*
 * conf.h - the daemon's configuration.
 *
 * A config file is "key = value" lines; '#' starts a comment. Every key may
 * be overridden by the environment variable GENTD_<KEY> (upper case). An
 * unknown key or a bad value is an error that names its line.
 */
#ifndef GENT_CONF_H
#define GENT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf {
	char		*data_dir;		/* control.db and tenants/ live here */
	char		*hostname;		/* our name in SMTP and MX records */
	char		*public_url;		/* base URL of links in mail; NULL = http://http_listen */
	char		*http_listen;		/* host:port of the REST API */
	char		*smtp_listen;		/* host:port of inbound SMTP */
	char		*dns_servers;		/* "host:port,..."; NULL = system */
	uint64_t	 dns_timeout;		/* ms per DNS try */
	int64_t		 dns_tries;		/* tries per server */
	char		*tls_cert;		/* PEM path; NULL = no STARTTLS */
	char		*tls_key;		/* PEM path */
	uint64_t	 smtp_max_message;	/* bytes; SIZE */
	int64_t		 smtp_max_recipients;	/* per message */
	int64_t		 smtp_max_hops;		/* Received: fields; more get 554 */
	int64_t		 smtp_max_errors;	/* bad commands before 421 */
	int64_t		 smtp_max_connections;	/* sessions in all */
	int64_t		 smtp_max_per_ip;	/* sessions per client IP */
	uint64_t	 smtp_command_timeout;	/* ms for each command */
	uint64_t	 smtp_data_timeout;	/* ms for a whole DATA body */
	int64_t		 smtp_junk_command_limit; /* NOOP/RSET/VRFY/HELP between messages */
	uint64_t	 smtp_session_max;	/* ms a whole session may last */
	int		 log_level;		/* enum log_level */
	uint64_t	 http_max_body;		/* bytes; larger gets 413 */
	uint64_t	 http_max_header;	/* bytes of request line+headers; 431 */
	int64_t		 http_max_connections;	/* open HTTP connections at once */
	uint64_t	 http_header_timeout;	/* ms to receive a whole request head */
	uint64_t	 http_idle_timeout;	/* ms a keep-alive connection may idle */
	uint64_t	 http_body_timeout;	/* ms between body bytes */
	uint64_t	 shutdown_grace;	/* ms SIGTERM waits for open requests */
	uint64_t	 session_ttl;		/* ms a sign-in session lasts */
	uint64_t	 inbox_retention;	/* ms a closing inbox keeps its data */
	uint64_t	 expiry_interval;	/* ms between retention sweeps */
	uint64_t	 audit_retention;	/* ms audit entries are kept */
	int64_t		 worker_threads;	/* request handler threads */
	int64_t		 relay_port;		/* TCP port for delivery to MX hosts */
	char		*relay_host;		/* smarthost host:port; NULL = MX */
	char		*relay_user;		/* smarthost AUTH (over TLS only); NULL = none */
	char		*relay_password;	/* never logged */
	char		*relay_retry_schedule;	/* "5m,15m,1h,4h,12h" */
	uint64_t	 queue_lifetime;	/* ms before a message bounces */
	bool		 webhook_allow_private;	/* webhooks may reach loopback */
	uint64_t	 webhook_retry_delay;	/* ms: fixed backoff, first exponential */
	int64_t		 scrypt_log2n;		/* password hash cost (2^N) */
};

/** The configuration built into the binary, used when no file is given. */
extern const char conf_embedded_default[];

/** Fill c with built-in defaults. */
void conf_init(struct conf *c);
/** Parse config text; "origin" names it in errors. 0 or -1 with *error_r. */
int conf_parse_text(struct conf *c, const char *text, const char *origin,
    char **error_r);
/** Read and parse a file. 0 or -1 with *error_r (caller frees). */
int conf_load_file(struct conf *c, const char *path, char **error_r);
/** Apply GENTD_<KEY> environment overrides. 0 or -1 with *error_r. */
int conf_apply_env(struct conf *c, char **error_r);
/** Release the strings. */
void conf_free(struct conf *c);

/** Parse "30s", "5m", "2h", "5d", "250ms" or plain seconds into ms. */
int conf_parse_duration(const char *s, uint64_t *ms_r);
/** Parse "512", "32K", "25M", "1G" into bytes. */
int conf_parse_size(const char *s, uint64_t *bytes_r);
/** Check "host:port" (IPv4, name or [IPv6]); 0 when valid. */
int conf_check_hostport(const char *s);

#endif
