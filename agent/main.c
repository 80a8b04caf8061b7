/*
 * main.c: command line, config check, start and stop.
 *
 * Exit status: 0 clean stop, 1 config error, 2 runtime failure at start.
 * No daemonizing: systemd (Type=notify) runs hapwatch in the foreground.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: hapwatch [-f FILE] [options]        run in the foreground\n"
	    "       hapwatch -c [-f FILE] [options]     check the config\n"
	    "       hapwatch ctl [-s SOCKET] status [--json]\n"
	    "       hapwatch ctl [-s SOCKET] drain [--wait [--timeout DUR]] "
	    "[--for DUR] [--by WHO] [SERVICE]\n"
	    "       hapwatch ctl [-s SOCKET] maint [--for DUR] [--by WHO] "
	    "[SERVICE]\n"
	    "       hapwatch ctl [-s SOCKET] ready [--if-by WHO] [--by WHO] "
	    "[SERVICE]\n"
	    "       hapwatch ctl [-s SOCKET] check SERVICE\n"
	    "       hapwatch ctl [-s SOCKET] save-state\n"
	    "       hapwatch ctl [-s SOCKET] events [--follow] [--json]\n"
	    "       hapwatch -V | --version, -h | --help\n"
	    "\n"
	    "options:\n"
	    "  -f, --config FILE     config file (default %s if it exists,\n"
	    "                        else the built-in default)\n"
	    "  -c, --check           check the config, print \"configuration OK\"\n"
	    "      --stats URL       HAProxy stats: unix:PATH, tcp:HOST:PORT or\n"
	    "                        http(s)://HOST:PORT/PATH\n"
	    "      --http ADDR       address of the health endpoint listener\n"
	    "      --agent ADDR      address of the agent-check listener\n"
	    "      --backend NAME    require this backend (repeatable)\n"
	    "      --log-level LVL   debug, info, notice, warning or error\n",
	    CONF_DEFAULT_PATH);
}

struct opts {
	const char		*file;
	bool			 check;
	enum log_level		 level;
	struct conf_overrides	 ov;
};

static int
parse_args(int argc, char **argv, struct opts *o)
{
	enum { OPT_STATS = 256, OPT_HTTP, OPT_AGENT, OPT_BACKEND, OPT_LEVEL };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'c' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "http", required_argument, NULL, OPT_HTTP },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	while ((ch = getopt_long(argc, argv, "f:cVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->file = optarg;
			break;
		case 'c':
			o->check = true;
			break;
		case 'V':
			printf("hapwatch %s\n", HW_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_STATS:
			o->ov.stats = optarg;
			break;
		case OPT_HTTP:
			o->ov.http = optarg;
			break;
		case OPT_AGENT:
			o->ov.agent = optarg;
			break;
		case OPT_BACKEND:
			o->ov.backends = xrealloc(o->ov.backends,
			    (o->ov.nbackends + 1) * sizeof(*o->ov.backends));
			o->ov.backends[o->ov.nbackends++] = optarg;
			break;
		case OPT_LEVEL:
			if (!log_level_parse(optarg, &o->level)) {
				log_line(LOG_LVL_ERR, "hapwatch: unknown log level "
				    "\"%s\"", optarg);
				return 1;
			}
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		log_line(LOG_LVL_ERR, "hapwatch: unexpected argument \"%s\"",
		    argv[optind]);
		usage(stderr);
		return 1;
	}
	return 0;
}

static struct conf *
load_or_report(const struct opts *o)
{
	struct conf_errors	 errs = { 0 };
	struct conf		*c = conf_load(o->file, &o->ov, &errs);
	size_t			 i;

	for (i = 0; i < errs.n; i++)
		log_line(LOG_LVL_ERR, "%s", errs.msgs[i]);
	conf_errors_free(&errs);
	return c;
}

int
main(int argc, char **argv)
{
	struct opts	 o = { .level = LOG_LVL_INFO };
	struct conf	*c;
	struct daemon	*d;
	int		 rc;

	if (argc > 1 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	log_init(LOG_LVL_INFO);
	if (parse_args(argc, argv, &o) != 0)
		return 1;
	log_set_level(o.level);
	c = load_or_report(&o);
	if (c == NULL || o.check) {
		if (c != NULL)
			printf("configuration OK\n");
		conf_free(c);
		free(o.ov.backends);
		return c == NULL ? 1 : 0;
	}
	/*
	 * No curl_global_init() here: curl_easy_init() does it on first use.
	 * A config without http checks, webhooks or a stats page then never
	 * initializes OpenSSL, which would cost ~3 MB of resident memory.
	 */
	d = daemon_new(c, o.file, &o.ov);
	free(o.ov.backends);
	if (d == NULL)
		return 2;
	rc = daemon_run(d);
	daemon_free(d);
	curl_global_cleanup();
	return rc;
}
