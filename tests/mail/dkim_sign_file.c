/*
 * dkim_sign_file.c - sign one message with gent_dkim_sign(), for tests
 * that check the signature with other DKIM implementations
 * (test_dkim_interop.py, RELIABILITY.md row 16).
 *
 * usage: dkim_sign_file KEY.pem DOMAIN SELECTOR < message > signed
 *
 * The message is read as it is (CRLF lines are the caller's job, as they
 * are the relay's: src/relay/relay_claim.c). On success the output is the
 * DKIM-Signature field followed by the unchanged message, exit 0. When
 * gent_dkim_sign() refuses, nothing is written to stdout, its reason goes
 * to stderr and the exit status is 1; 2 is a usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/gent_dkim.h"
#include "gent/util.h"

#define INPUT_MAX (64u << 20)	/* the corpus tops out near 1.2 MB */

/* All of f, NUL-terminated (a PEM key is a string); NULL on error or when
 * it exceeds INPUT_MAX. */
static char *
slurp(FILE *f, size_t *len_r)
{
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;

	buf_append(&b, "", 0);	/* data is never NULL, even for empty input */
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > INPUT_MAX) {
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, chunk, n);
	}
	if (ferror(f)) {
		buf_free(&b);
		return NULL;
	}
	*len_r = b.len;
	return b.data;
}

int
main(int argc, char **argv)
{
	const char *why = NULL;
	char *key, *msg, *sig;
	size_t key_len, len;
	FILE *kf;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: %s KEY.pem DOMAIN SELECTOR < msg > signed\n",
		    argv[0]);
		return 2;
	}
	kf = fopen(argv[1], "rb");
	key = kf ? slurp(kf, &key_len) : NULL;
	if (kf)
		fclose(kf);
	msg = slurp(stdin, &len);
	if (key == NULL || msg == NULL) {
		fprintf(stderr, "%s: cannot read %s\n", argv[0],
		    key == NULL ? argv[1] : "the message");
		free(key);
		free(msg);
		return 2;
	}
	if (gent_dkim_init() != 0) {
		fprintf(stderr, "%s: gent_dkim_init failed\n", argv[0]);
		free(key);
		free(msg);
		return 2;
	}
	sig = gent_dkim_sign(msg, len, argv[2], argv[3], key, &why);
	if (sig == NULL) {
		fprintf(stderr, "%s: not signed: %s\n", argv[0], why ? why : "?");
	} else if (fwrite(sig, 1, strlen(sig), stdout) != strlen(sig) ||
	    fwrite(msg, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "%s: write error\n", argv[0]);
		rc = 2;
	} else {
		rc = 0;
	}
	free(sig);
	free(key);
	free(msg);
	gent_dkim_shutdown();
	return rc;
}
