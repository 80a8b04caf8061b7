/*
 * curlshim.c: libcurl, loaded only when it is used.
 *
 * libcurl drags some 30 libraries in (OpenSSL, GnuTLS, Kerberos, LDAP,
 * ...): linked at start, they cost ~8 MB of resident memory, five times
 * what the rest of hapwatch needs, in every hapwatch whose config has no
 * http check, webhook or stats page. So hapwatch is built against curl's
 * headers only, and these definitions of the libcurl functions it calls
 * load libcurl.so.4 with dlopen() the first time one is called, then pass
 * every call through. The varargs of curl_easy_setopt() and friends are
 * forwarded by the option's type, as curl encodes it in the option number.
 */
#define CURL_DISABLE_TYPECHECK	/* we define the functions themselves */
#include <curl/curl.h>

#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "curlshim.h"

#define CURL_SONAME	"libcurl.so.4"

static struct {
	void		*lib;
	bool		 tried;
	char		 err[256];
	CURL		*(*easy_init)(void);
	void		 (*easy_cleanup)(CURL *);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode	 (*easy_perform)(CURL *);
	void		 (*easy_reset)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	CURLcode	 (*global_init)(long);
	void		 (*global_cleanup)(void);
	CURLM		*(*multi_init)(void);
	CURLMcode	 (*multi_cleanup)(CURLM *);
	CURLMcode	 (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode	 (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode	 (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode	 (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMsg		*(*multi_info_read)(CURLM *, int *);
	CURLMcode	 (*multi_assign)(CURLM *, curl_socket_t, void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void		 (*slist_free_all)(struct curl_slist *);
} lc;

/* The table of what to resolve, by name. */
#define SYM(f)	{ "curl_" #f, (void **)(void *)&lc.f }
static const struct {
	const char	*name;
	void		**ptr;
} syms[] = {
	SYM(easy_init), SYM(easy_cleanup), SYM(easy_setopt), SYM(easy_getinfo),
	SYM(easy_perform), SYM(easy_reset), SYM(easy_strerror),
	SYM(global_init), SYM(global_cleanup), SYM(multi_init),
	SYM(multi_cleanup), SYM(multi_setopt), SYM(multi_add_handle),
	SYM(multi_remove_handle), SYM(multi_socket_action),
	SYM(multi_info_read), SYM(multi_assign), SYM(slist_append),
	SYM(slist_free_all),
};

bool
curlshim_load(char *err, size_t errlen)
{
	size_t	i;

	if (!lc.tried) {
		lc.tried = true;
		lc.lib = dlopen(CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
		if (lc.lib == NULL)
			snprintf(lc.err, sizeof(lc.err), "%s", dlerror());
		for (i = 0; lc.lib != NULL && i < sizeof(syms) / sizeof(syms[0]);
		    i++) {
			*syms[i].ptr = dlsym(lc.lib, syms[i].name);
			if (*syms[i].ptr == NULL) {
				snprintf(lc.err, sizeof(lc.err), "%s: no %s",
				    CURL_SONAME, syms[i].name);
				dlclose(lc.lib);
				lc.lib = NULL;
			}
		}
	}
	if (lc.lib == NULL && err != NULL)
		snprintf(err, errlen, "cannot load libcurl: %s", lc.err);
	return lc.lib != NULL;
}

/* Every entry point: load on first use; without libcurl, fail softly. */
#define NEED(fail)	do {					\
	if (lc.lib == NULL && !curlshim_load(NULL, 0))		\
		return fail;					\
} while (0)

CURL *
curl_easy_init(void)
{
	NEED(NULL);
	return lc.easy_init();
}

void
curl_easy_cleanup(CURL *h)
{
	if (lc.lib != NULL)
		lc.easy_cleanup(h);
}

/*
 * Forward the one vararg as the type its option number says: curl numbers
 * options from CURLOPTTYPE_LONG (0), OBJECTPOINT (10000), FUNCTIONPOINT
 * (20000), OFF_T (30000), BLOB (40000). A function pointer travels as a
 * void * (same size and passing convention on every target we build for).
 */
#define FORWARD(type, fn, h, opt)	do {				\
	va_list	ap;							\
	type	rc;							\
									\
	va_start(ap, opt);						\
	if ((long)(opt) < CURLOPTTYPE_OBJECTPOINT)			\
		rc = fn(h, opt, va_arg(ap, long));			\
	else if ((long)(opt) >= CURLOPTTYPE_OFF_T &&			\
	    (long)(opt) < CURLOPTTYPE_BLOB)				\
		rc = fn(h, opt, va_arg(ap, curl_off_t));		\
	else								\
		rc = fn(h, opt, va_arg(ap, void *));			\
	va_end(ap);							\
	return rc;							\
} while (0)

CURLcode
curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	NEED(CURLE_FAILED_INIT);
	FORWARD(CURLcode, lc.easy_setopt, h, opt);
}

CURLcode
curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list		ap;
	CURLcode	rc;

	NEED(CURLE_FAILED_INIT);
	va_start(ap, info);
	rc = lc.easy_getinfo(h, info, va_arg(ap, void *));	/* always a pointer */
	va_end(ap);
	return rc;
}

CURLcode
curl_easy_perform(CURL *h)
{
	NEED(CURLE_FAILED_INIT);
	return lc.easy_perform(h);
}

void
curl_easy_reset(CURL *h)
{
	if (lc.lib != NULL)
		lc.easy_reset(h);
}

const char *
curl_easy_strerror(CURLcode rc)
{
	NEED("libcurl is not available");
	return lc.easy_strerror(rc);
}

CURLcode
curl_global_init(long flags)
{
	NEED(CURLE_FAILED_INIT);
	return lc.global_init(flags);
}

void
curl_global_cleanup(void)
{
	if (lc.lib != NULL)
		lc.global_cleanup();
}

CURLM *
curl_multi_init(void)
{
	NEED(NULL);
	return lc.multi_init();
}

CURLMcode
curl_multi_cleanup(CURLM *m)
{
	NEED(CURLM_BAD_HANDLE);
	return lc.multi_cleanup(m);
}

CURLMcode
curl_multi_setopt(CURLM *m, CURLMoption opt, ...)
{
	NEED(CURLM_BAD_HANDLE);
	FORWARD(CURLMcode, lc.multi_setopt, m, opt);
}

CURLMcode
curl_multi_add_handle(CURLM *m, CURL *h)
{
	NEED(CURLM_BAD_HANDLE);
	return lc.multi_add_handle(m, h);
}

CURLMcode
curl_multi_remove_handle(CURLM *m, CURL *h)
{
	NEED(CURLM_BAD_HANDLE);
	return lc.multi_remove_handle(m, h);
}

CURLMcode
curl_multi_socket_action(CURLM *m, curl_socket_t s, int ev, int *running)
{
	NEED(CURLM_BAD_HANDLE);
	return lc.multi_socket_action(m, s, ev, running);
}

CURLMsg *
curl_multi_info_read(CURLM *m, int *left)
{
	NEED(NULL);
	return lc.multi_info_read(m, left);
}

CURLMcode
curl_multi_assign(CURLM *m, curl_socket_t s, void *p)
{
	NEED(CURLM_BAD_HANDLE);
	return lc.multi_assign(m, s, p);
}

struct curl_slist *
curl_slist_append(struct curl_slist *l, const char *s)
{
	NEED(NULL);
	return lc.slist_append(l, s);
}

void
curl_slist_free_all(struct curl_slist *l)
{
	if (lc.lib != NULL)
		lc.slist_free_all(l);
}
