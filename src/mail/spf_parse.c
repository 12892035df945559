/*
 * spf_parse.c - an SPF record's text into directives and modifiers
 * (RFC 7208 sections 4.6.1, 5 and 6).
 *
 * The whole record is checked before anything is evaluated, so a syntax
 * error anywhere is a permerror even after a matching "all" (4.6). The
 * record has been selected as ASCII by the caller; control characters
 * and anything else out of grammar are errors here.
 *
 *   record     = version terms *SP
 *   version    = "v=spf1"
 *   terms      = *( 1*SP ( directive / modifier ) )
 *   directive  = [ qualifier ] mechanism
 *   qualifier  = "+" / "-" / "?" / "~"
 *   all        = "all"
 *   include    = "include" ":" domain-spec
 *   a          = "a"       [ ":" domain-spec ] [ dual-cidr-length ]
 *   mx         = "mx"      [ ":" domain-spec ] [ dual-cidr-length ]
 *   ptr        = "ptr"     [ ":" domain-spec ]
 *   ip4        = "ip4"     ":" ip4-network [ ip4-cidr-length ]
 *   ip6        = "ip6"     ":" ip6-network [ ip6-cidr-length ]
 *   exists     = "exists"  ":" domain-spec
 *   dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
 *   ip4-cidr-length  = "/" ( "0" / %x31-39 0*1DIGIT )   ; 0-32
 *   ip6-cidr-length  = "/" ( "0" / %x31-39 0*2DIGIT )   ; 0-128
 *   modifier   = redirect / explanation / unknown-modifier
 *   redirect   = "redirect" "=" domain-spec
 *   explanation = "exp" "=" domain-spec
 *   unknown-modifier = name "=" macro-string
 *   name       = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
 *
 * Names of mechanisms and modifiers are case-insensitive. "redirect" and
 * "exp" may appear once each (section 6).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spf_int.h"

#define SPF_CIDR_BIG 1000u	/* any prefix past this is simply too long */

static const struct {
	const char	*name;
	enum spf_mech	 mech;
} spf_mechs[] = {
	{ "all", SPF_MECH_ALL },
	{ "include", SPF_MECH_INCLUDE },
	{ "a", SPF_MECH_A },
	{ "mx", SPF_MECH_MX },
	{ "ptr", SPF_MECH_PTR },
	{ "ip4", SPF_MECH_IP4 },
	{ "ip6", SPF_MECH_IP6 },
	{ "exists", SPF_MECH_EXISTS },
};

bool
spf__is_spf1(const char *text)
{
	return str_ncaseeq(text, "v=spf1", 6) == 0 &&
	    (text[6] == ' ' || text[6] == '\0');
}

static int
syntax_error(char *err, size_t errlen, const char *why, const char *term)
{
	snprintf(err, errlen, "%s: %.100s", why, term);
	return -1;
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* name "=" at the start of t; *len gets the length of name. */
static bool
modifier_name(const char *t, size_t *len)
{
	size_t i = 0;

	if (!is_alpha(t[0]))
		return false;
	while (t[i] != '\0' &&
	    (is_alpha(t[i]) || is_digit(t[i]) || strchr("-_.", t[i])))
		i++;
	*len = i;
	return t[i] == '=';
}

/* redirect=, exp=: once each, and a non-empty domain-spec. */
static int
parse_known_modifier(char **slot, const char *value, const char *term,
    char *err, size_t errlen)
{
	if (*slot)
		return syntax_error(err, errlen, "modifier given twice", term);
	if (spf__domain_spec_check(value) != 0)
		return syntax_error(err, errlen, "bad domain-spec", term);
	*slot = xstrdup(value);
	return 0;
}

static int
parse_modifier(struct spf_record *rec, const char *term, size_t name_len,
    char *err, size_t errlen)
{
	const char *value = term + name_len + 1;

	if (name_len == 8 && str_ncaseeq(term, "redirect", 8) == 0)
		return parse_known_modifier(&rec->redirect, value, term, err,
		    errlen);
	if (name_len == 3 && str_ncaseeq(term, "exp", 3) == 0)
		return parse_known_modifier(&rec->exp, value, term, err, errlen);
	/* Unknown modifiers are ignored, but their macros must be valid. */
	if (spf__macro_check(value, SPF_MACRO_DOMAIN) != 0)
		return syntax_error(err, errlen, "bad macro", term);
	return 0;
}

/*
 * Cut a trailing "/N" (or "//N" when dual) off s; N is "0" or has no
 * leading zero. Returns false, leaving s alone, when there is none.
 */
static bool
cut_cidr(char *s, bool dual, unsigned *bits)
{
	size_t len = strlen(s), d = len;

	while (d > 0 && is_digit(s[d - 1]))
		d--;
	if (d == len || (s[d] == '0' && d + 1 < len))
		return false;
	if (d < 1 || s[d - 1] != '/')
		return false;
	if (dual && (d < 2 || s[d - 2] != '/'))
		return false;
	*bits = 0;
	for (size_t i = d; i < len; i++)
		if ((*bits = *bits * 10 + (unsigned)(s[i] - '0')) > SPF_CIDR_BIG)
			*bits = SPF_CIDR_BIG;
	s[d - 1 - dual] = '\0';
	return true;
}

/* [ ":" domain-spec ], required or not; target stays NULL when absent. */
static int
parse_target(struct spf_directive *d, const char *rest, bool required,
    char *err, size_t errlen)
{
	if (*rest == '\0' && !required)
		return 0;
	if (*rest != ':')
		return syntax_error(err, errlen, "bad mechanism", d->text);
	if (spf__domain_spec_check(rest + 1) != 0)
		return syntax_error(err, errlen, "bad domain-spec", d->text);
	d->target = xstrdup(rest + 1);
	return 0;
}

/* a, mx: [ ":" domain-spec ] [ "/" ip4-cidr ] [ "//" ip6-cidr ] */
static int
parse_dual(struct spf_directive *d, char *rest, char *err, size_t errlen)
{
	if (cut_cidr(rest, true, &d->cidr6) && d->cidr6 > 128)
		return syntax_error(err, errlen, "bad ip6 prefix", d->text);
	if (cut_cidr(rest, false, &d->cidr4) && d->cidr4 > 32)
		return syntax_error(err, errlen, "bad ip4 prefix", d->text);
	return parse_target(d, rest, false, err, errlen);
}

/* ip4: and ip6: take a network and a single prefix; never "//". */
static int
parse_net(struct spf_directive *d, char *rest, char *err, size_t errlen)
{
	bool v6 = d->mech == SPF_MECH_IP6;
	unsigned *bits = v6 ? &d->cidr6 : &d->cidr4, dual;

	if (*rest != ':' || cut_cidr(rest, true, &dual))
		return syntax_error(err, errlen, "bad mechanism", d->text);
	if (cut_cidr(rest, false, bits) && *bits > (v6 ? 128u : 32u))
		return syntax_error(err, errlen, "bad prefix", d->text);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, rest + 1, d->net) != 1)
		return syntax_error(err, errlen, "bad address", d->text);
	return 0;
}

static int
parse_mechanism(struct spf_directive *d, char *rest, char *err, size_t errlen)
{
	switch (d->mech) {
	case SPF_MECH_ALL:
		if (*rest != '\0')
			return syntax_error(err, errlen, "bad all", d->text);
		return 0;
	case SPF_MECH_INCLUDE:
	case SPF_MECH_EXISTS:
		return parse_target(d, rest, true, err, errlen);
	case SPF_MECH_PTR:
		return parse_target(d, rest, false, err, errlen);
	case SPF_MECH_A:
	case SPF_MECH_MX:
		return parse_dual(d, rest, err, errlen);
	case SPF_MECH_IP4:
	case SPF_MECH_IP6:
		return parse_net(d, rest, err, errlen);
	}
	return syntax_error(err, errlen, "bad mechanism", d->text);
}

static enum spf_result
qualifier(const char **p)
{
	static const char quals[] = "+-?~";
	static const enum spf_result results[] = { SPF_PASS, SPF_FAIL,
	    SPF_NEUTRAL, SPF_SOFTFAIL };
	const char *q = **p ? strchr(quals, **p) : NULL;

	if (!q)
		return SPF_PASS;
	(*p)++;
	return results[q - quals];
}

static int
parse_directive(struct spf_record *rec, const char *term, char *err,
    size_t errlen)
{
	struct spf_directive d = { .text = term, .cidr4 = 32, .cidr6 = 128 };
	const char *p = term;
	size_t n;
	char *rest;
	int rc;

	d.qualifier = qualifier(&p);
	n = strcspn(p, ":/");
	for (size_t i = 0; i < GENT_ARRAY_LEN(spf_mechs); i++) {
		if (strlen(spf_mechs[i].name) != n ||
		    str_ncaseeq(p, spf_mechs[i].name, n) != 0)
			continue;
		d.mech = spf_mechs[i].mech;
		rest = xstrdup(p + n);
		rc = parse_mechanism(&d, rest, err, errlen);
		free(rest);
		if (rc != 0)
			return rc;
		rec->dirs = xrealloc(rec->dirs, (rec->n_dirs + 1) * sizeof(d));
		rec->dirs[rec->n_dirs++] = d;
		return 0;
	}
	return syntax_error(err, errlen, "unknown mechanism", term);
}

static int
parse_term(struct spf_record *rec, const char *term, char *err, size_t errlen)
{
	size_t name_len;

	if (modifier_name(term, &name_len))
		return parse_modifier(rec, term, name_len, err, errlen);
	return parse_directive(rec, term, err, errlen);
}

int
spf__record_parse(const char *text, struct spf_record *rec, char *err,
    size_t errlen)
{
	char *term, *save = NULL;

	gent_assert(spf__is_spf1(text));
	memset(rec, 0, sizeof(*rec));
	rec->buf = xstrdup(text + 6);
	/* Terms are separated by one or more SP, and only SP (4.6.1). */
	for (term = strtok_r(rec->buf, " ", &save); term;
	    term = strtok_r(NULL, " ", &save)) {
		if (parse_term(rec, term, err, errlen) != 0) {
			spf__record_free(rec);
			return -1;
		}
	}
	return 0;
}

void
spf__record_free(struct spf_record *rec)
{
	for (size_t i = 0; i < rec->n_dirs; i++)
		free(rec->dirs[i].target);
	free(rec->dirs);
	free(rec->buf);
	free(rec->redirect);
	free(rec->exp);
	memset(rec, 0, sizeof(*rec));
}
