/*
 * search_query.h - the q= of message search, turned into an FTS5 query
 * that can never be a syntax error (user text is only ever quoted).
 *
 * Grammar of q (whitespace separates words):
 *   word        messages containing the word (diacritics and case ignored)
 *   "a phrase"  the words next to each other
 *   word*       words starting with "word"
 *   -word       messages without the word (also -"a phrase")
 * Every positive word must match (AND). At least one positive word is
 * needed: FTS5 cannot list "everything except".
 */
#ifndef GENT_SEARCH_QUERY_H
#define GENT_SEARCH_QUERY_H

#include <stddef.h>

#define SEARCH_QUERY_MAX 500	/* bytes of q */
#define SEARCH_TERMS_MAX 32

/**
 * The FTS5 MATCH text for q (caller frees), or NULL with *error_r set to
 * a sentence for the client.
 */
char *search_query_to_fts(const char *q, const char **error_r);

#endif
