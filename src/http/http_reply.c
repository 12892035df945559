/*
 * http_reply.c - response serialisation and request header look-up.
 */
#include <string.h>

#include "gent/http.h"

const char *
http_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

const char *
http_request_header(const struct http_request *req, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < req->n_headers; i++)
		if (strlen(req->headers[i].name) == n &&
		    str_ncaseeq(req->headers[i].name, name, n) == 0)
			return req->headers[i].value;
	return NULL;
}

void
http_response_serialize(const struct http_response *resp,
    const char *request_id, bool keep_alive, bool head, struct buf *out)
{
	/* 204 and 304 carry no body, not even Content-Length (RFC 9110). */
	bool no_body = resp->status == 204 || resp->status == 304;

	buf_printf(out, "HTTP/1.1 %d %s\r\n", resp->status,
	    http_status_text(resp->status));
	if (!no_body)
		buf_printf(out, "Content-Type: %s\r\nContent-Length: %zu\r\n",
		    resp->content_type ? resp->content_type :
		    "application/json", resp->body.len);
	if (request_id)
		buf_printf(out, "X-Request-Id: %s\r\n", request_id);
	if (!keep_alive)
		buf_append_str(out, "Connection: close\r\n");
	buf_append_str(out, "Cache-Control: no-store\r\n");
	if (resp->headers.len)
		buf_append(out, resp->headers.data, resp->headers.len);
	buf_append_str(out, "\r\n");
	/* HEAD gets the headers GET would, Content-Length included (RFC 9110 9.3.2). */
	if (!no_body && !head && resp->body.len)
		buf_append(out, resp->body.data, resp->body.len);
}

void
http_response_free(struct http_response *resp)
{
	buf_free(&resp->body);
	buf_free(&resp->headers);
}
