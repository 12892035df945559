/*
 * dns_answer.c - read what we need from a raw DNS response: the records of
 * the asked type as text, and the smallest TTL (for the cache).
 *
 * c-ares parses the records; the TTL walk is ours, because c-ares does not
 * report TTLs for TXT and MX. Wire format (RFC 1035 4.1):
 *   header 12 bytes (QDCOUNT at 4, ANCOUNT at 6)
 *   question: NAME QTYPE(2) QCLASS(2)
 *   answer RR: NAME TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA
 * Every read is bounds-checked: the bytes come from the network.
 */
#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/dns.h"
#include "gent/util.h"

#define DNS_MAX_RECORDS 64

/* Skip a (possibly compressed) name; returns new offset or 0 on error. */
static size_t
skip_name(const unsigned char *msg, size_t len, size_t off)
{
	for (int labels = 0; off < len && labels < 128; labels++) {
		unsigned char c = msg[off];
		if (c == 0)
			return off + 1;
		if ((c & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (c & 0xc0)
			return 0;
		off += 1 + (size_t)c;
	}
	return 0;
}

static unsigned
get16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

uint32_t
dns_answer_min_ttl(const unsigned char *msg, size_t len)
{
	size_t off = 12;
	unsigned qd, an;
	uint32_t min = 0;
	bool any = false;

	if (len < 12)
		return 0;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	for (unsigned i = 0; i < qd; i++) {
		if (!(off = skip_name(msg, len, off)) || off + 4 > len)
			return 0;
		off += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		if (!(off = skip_name(msg, len, off)) || off + 10 > len)
			break;
		uint32_t ttl = (uint32_t)msg[off + 4] << 24 | (uint32_t)msg[off + 5] << 16 |
		    (uint32_t)msg[off + 6] << 8 | msg[off + 7];
		size_t rdlen = get16(msg + off + 8);
		if (off + 10 + rdlen > len)
			break;
		if (!any || ttl < min)
			min = ttl;
		any = true;
		off += 10 + rdlen;
	}
	return min;
}

static void
add_record(struct dns_result *res, char *text)
{
	if (res->n_records == DNS_MAX_RECORDS) {
		free(text);
		return;
	}
	res->records = xrealloc(res->records, (res->n_records + 1) * sizeof(char *));
	res->records[res->n_records++] = text;
}

/* TXT: the character-strings of one record are joined (RFC 7208 3.3). */
static void
parse_txt(const unsigned char *msg, int len, struct dns_result *res)
{
	struct ares_txt_ext *txt = NULL;
	struct buf cur = { 0 };

	if (ares_parse_txt_reply_ext(msg, len, &txt) != ARES_SUCCESS)
		return;
	for (struct ares_txt_ext *t = txt; t; t = t->next) {
		if (t->record_start && cur.data) {
			add_record(res, cur.data);
			cur = (struct buf){ 0 };
		}
		/* A NUL cannot live in our C strings; 0x7F keeps the record
		 * invalid instead of silently cut short. */
		for (size_t k = 0; k < t->length; k++)
			buf_append(&cur, t->txt[k] ? (const char *)&t->txt[k] : "\x7f", 1);
		if (!cur.data)
			buf_append(&cur, "", 0);
	}
	if (cur.data)
		add_record(res, cur.data);
	ares_free_data(txt);
}

static void
parse_mx(const unsigned char *msg, int len, struct dns_result *res)
{
	struct ares_mx_reply *mx = NULL;

	if (ares_parse_mx_reply(msg, len, &mx) != ARES_SUCCESS)
		return;
	for (struct ares_mx_reply *m = mx; m; m = m->next)
		add_record(res, xasprintf("%u %s", m->priority, m->host));
	ares_free_data(mx);
}

/* PTR: one record per name; c-ares lists every PTR name in h_aliases. */
static void
parse_ptr(const unsigned char *msg, int len, struct dns_result *res)
{
	static const unsigned char any_addr[4];	/* c-ares copies it; unused */
	struct hostent *host = NULL;

	if (ares_parse_ptr_reply(msg, len, any_addr, sizeof(any_addr), AF_INET,
	    &host) != ARES_SUCCESS)
		return;
	for (char **a = host->h_aliases; a && *a; a++)
		add_record(res, xstrdup(*a));
	ares_free_hostent(host);
}

static void
parse_addr(const unsigned char *msg, int len, enum dns_type type,
    struct dns_result *res)
{
	char text[INET6_ADDRSTRLEN];

	if (type == DNS_T_A) {
		struct ares_addrttl a[DNS_MAX_RECORDS];
		int n = DNS_MAX_RECORDS;
		if (ares_parse_a_reply(msg, len, NULL, a, &n) != ARES_SUCCESS)
			return;
		for (int i = 0; i < n; i++)
			if (inet_ntop(AF_INET, &a[i].ipaddr, text, sizeof(text)))
				add_record(res, xstrdup(text));
	} else {
		struct ares_addr6ttl a[DNS_MAX_RECORDS];
		int n = DNS_MAX_RECORDS;
		if (ares_parse_aaaa_reply(msg, len, NULL, a, &n) != ARES_SUCCESS)
			return;
		for (int i = 0; i < n; i++)
			if (inet_ntop(AF_INET6, &a[i].ip6addr, text, sizeof(text)))
				add_record(res, xstrdup(text));
	}
}

void
dns_answer_parse(const unsigned char *msg, size_t len, enum dns_type type,
    struct dns_result *res)
{
	memset(res, 0, sizeof(*res));
	if (len > 65535)
		len = 65535;
	if (type == DNS_T_TXT)
		parse_txt(msg, (int)len, res);
	else if (type == DNS_T_MX)
		parse_mx(msg, (int)len, res);
	else if (type == DNS_T_PTR)
		parse_ptr(msg, (int)len, res);
	else
		parse_addr(msg, (int)len, type, res);
	res->status = res->n_records ? DNS_OK : DNS_NODATA;
	res->ttl = dns_answer_min_ttl(msg, len);
}

void
dns_result_copy(struct dns_result *dst, const struct dns_result *src)
{
	*dst = *src;
	dst->records = src->n_records ? xcalloc(src->n_records, sizeof(char *)) : NULL;
	for (size_t i = 0; i < src->n_records; i++)
		dst->records[i] = xstrdup(src->records[i]);
}

void
dns_result_free(struct dns_result *res)
{
	for (size_t i = 0; i < res->n_records; i++)
		free(res->records[i]);
	free(res->records);
	res->records = NULL;
	res->n_records = 0;
}

const char *
dns_status_name(enum dns_status s)
{
	static const char *const names[] = { "ok", "nxdomain", "nodata",
	    "tempfail", "badname" };
	return s <= DNS_BADNAME ? names[s] : "?";
}
