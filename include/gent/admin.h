/*
 * admin.h - operator commands: `gentd admin <command> ...`.
 */
#ifndef GENT_ADMIN_H
#define GENT_ADMIN_H

#include "gent/conf.h"

/** Run an admin command (argv[0] is the command name); returns exit code. */
int admin_main(const struct conf *conf, int argc, char **argv);
/** Usage text of the admin commands. */
extern const char admin_usage[];

#endif
