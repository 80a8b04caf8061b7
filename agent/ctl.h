/*
 * ctl.h: "hapwatch ctl", the operator's client of the admin listener.
 */
#ifndef HW_CTL_H
#define HW_CTL_H

#define CTL_DEFAULT_SOCKET	"/run/hapwatch/admin.sock"

/* argv[0] is "ctl". Returns the process exit status. */
int	ctl_main(int argc, char **argv);

#endif
