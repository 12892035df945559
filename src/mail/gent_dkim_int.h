/*
 * gent_dkim_int.h - private to src/mail/: the libopendkim handle that
 * verification and signing share.
 */
#ifndef GENT_GENT_DKIM_INT_H
#define GENT_GENT_DKIM_INT_H

#include <dkim.h>

/* The handle gent_dkim_init() made (NULL before). */
DKIM_LIB *gent_dkim__lib(void);

#endif
