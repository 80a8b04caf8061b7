/*
 * main.c: command line, config check, start and stop.
 */
#include <stdio.h>

int
main(void)
{
	puts("hapwatch " HW_VERSION);
	return 0;
}
