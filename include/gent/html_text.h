/*
 * html_text.h - the readable text of an HTML body, for the search index
 * of HTML-only mail. Not a renderer: tags go, script and style contents
 * go, the common entities are decoded, runs of white space become one.
 */
#ifndef GENT_HTML_TEXT_H
#define GENT_HTML_TEXT_H

/** Text of html (caller frees); NULL in, NULL out. */
char *html_text(const char *html);

#endif
