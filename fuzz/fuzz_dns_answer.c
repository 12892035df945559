/*
 * fuzz_dns_answer.c - src/dns/dns_answer.c on hostile DNS responses: the
 * input is one raw response, parsed as the resolver would for each type
 * it asks (A, AAAA, MX, TXT, PTR), plus the TTL walk that feeds the
 * cache.
 *
 * Oracle besides the sanitizers: status is DNS_OK exactly when records
 * were found, at most 64 records (DNS_MAX_RECORDS), every record a
 * non-NULL string, A/AAAA records parse back as addresses, MX records
 * look like "<preference> <host>", and the TTL reported by
 * dns_answer_parse() is the one dns_answer_min_ttl() computes.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok, enum dns_type type, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_dns_answer: ORACLE (type %d): %s\n",
		    (int)type, what);
		abort();
	}
}

static void
check_record(enum dns_type type, const char *rec)
{
	unsigned char addr[16];
	char *end;

	check(rec != NULL, type, "NULL record");
	switch (type) {
	case DNS_T_A:
		check(inet_pton(AF_INET, rec, addr) == 1, type, "A record text");
		break;
	case DNS_T_AAAA:
		check(inet_pton(AF_INET6, rec, addr) == 1, type, "AAAA record text");
		break;
	case DNS_T_MX:
		check(strtoul(rec, &end, 10) <= 65535 && end != rec && *end == ' ',
		    type, "MX record is not \"<pref> <host>\"");
		break;
	case DNS_T_PTR:	/* "" is the root name, valid on the wire */
	case DNS_T_TXT:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
	    DNS_T_TXT, DNS_T_PTR };
	uint32_t ttl = dns_answer_min_ttl(data, size);

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		struct dns_result res;

		dns_answer_parse(data, size, types[t], &res);
		check((res.status == DNS_OK) == (res.n_records > 0), types[t],
		    "status does not match the record count");
		check(res.status == DNS_OK || res.status == DNS_NODATA, types[t],
		    "status other than ok/nodata");
		check(res.n_records <= 64, types[t], "more than 64 records");
		check(res.n_records == 0 || res.records != NULL, types[t],
		    "records missing");
		for (size_t i = 0; i < res.n_records; i++)
			check_record(types[t], res.records[i]);
		/* The parser caps the length at 65535 (a UDP/TCP message). */
		check(res.ttl == (size <= 65535 ? ttl :
		    dns_answer_min_ttl(data, 65535)), types[t], "ttl differs");
		dns_result_free(&res);
	}
	return 0;
}
