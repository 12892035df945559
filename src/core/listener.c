/*
 * listener.c - parse a listen address and open the socket; shared by the
 * HTTP and SMTP servers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/listener.h"
#include "gent/util.h"

static int
parse_listen(const char *addr, struct sockaddr_storage *ss)
{
	char host[256];
	const char *colon;
	int port;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':' || (size_t)(close - addr - 1) >= sizeof(host))
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(close - addr - 1), addr + 1);
		port = (int)strtol(close + 2, NULL, 10);
		return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss);
	}
	colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	port = (int)strtol(colon + 1, NULL, 10);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	return uv_ip4_addr(host, port, (struct sockaddr_in *)ss);
}

int
listener_open(uv_tcp_t *tcp, uv_loop_t *loop, const char *what,
    const char *addr, uv_connection_cb on_connection, void *data,
    char **error_r)
{
	struct sockaddr_storage ss;
	int rc;

	if (parse_listen(addr, &ss) != 0) {
		*error_r = xasprintf("%s %s: not an IP address and port", what, addr);
		return -1;
	}
	uv_tcp_init(loop, tcp);
	tcp->data = data;
	if ((rc = uv_tcp_bind(tcp, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)tcp, 511, on_connection)) != 0) {
		*error_r = xasprintf("%s %s: %s", what, addr, uv_strerror(rc));
		uv_close((uv_handle_t *)tcp, NULL);
		return -1;
	}
	return 0;
}
