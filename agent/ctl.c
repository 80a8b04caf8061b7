/*
 * ctl.c: "hapwatch ctl" (placeholder until the admin client lands).
 */
#include <stdio.h>

#include "ctl.h"

int
ctl_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "hapwatch ctl: not available yet\n");
	return 2;
}
