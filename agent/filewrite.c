/*
 * filewrite.c: atomic file writes, in a thread, reported through the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "filewrite.h"
#include "util.h"

struct filewrite {
	pthread_t	 thread;
	char		*path;
	char		*data;
	size_t		 len;
	mode_t		 mode;
	int		 err;		/* 0: written */
	int		 pipe[2];	/* the thread says it is done */
	struct event	*done_ev;
	filewrite_cb	*cb;
	void		*arg;
};

static bool
fsync_dir(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool	 ok = fd >= 0 && fsync(fd) == 0;

	if (fd >= 0)
		close(fd);
	free(copy);
	return ok;
}

bool
filewrite_sync(const char *path, const char *data, size_t len, mode_t mode)
{
	char	*tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, err;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return fsync_dir(path);
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = err;
	return false;
}

static void *
filewrite_thread(void *arg)
{
	struct filewrite	*w = arg;

	w->err = filewrite_sync(w->path, w->data, w->len, w->mode) ? 0 : errno;
	(void)!write(w->pipe[1], "x", 1);
	return NULL;
}

/* Wait for the thread (it has said it is done, or we are stopping). */
static void
filewrite_free(void *arg)
{
	struct filewrite	*w = arg;

	pthread_join(w->thread, NULL);
	event_free(w->done_ev);
	close(w->pipe[0]);
	close(w->pipe[1]);
	free(w->path);
	free(w->data);
	free(w);
}

static void
filewrite_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct filewrite	*w = arg;
	char			 b;

	(void)!read(fd, &b, 1);
	event_del(w->done_ev);
	w->cb(w->arg, w->err);
	/* Freed after this turn: its event's callback is running. */
	reap_later(filewrite_free, w);
}

struct filewrite *
filewrite_start(struct event_base *base, const char *path, const char *data,
    size_t len, mode_t mode, filewrite_cb *cb, void *arg)
{
	struct filewrite	*w = xcalloc(1, sizeof(*w));
	int			 rc;

	if (pipe2(w->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(w);
		return NULL;
	}
	w->path = xstrdup(path);
	w->data = xmalloc(len > 0 ? len : 1);
	memcpy(w->data, data, len);
	w->len = len;
	w->mode = mode;
	w->cb = cb;
	w->arg = arg;
	w->done_ev = event_new(base, w->pipe[0], EV_READ, filewrite_done_cb, w);
	event_add(w->done_ev, NULL);
	rc = pthread_create(&w->thread, NULL, filewrite_thread, w);
	if (rc != 0) {
		event_free(w->done_ev);
		close(w->pipe[0]);
		close(w->pipe[1]);
		free(w->path);
		free(w->data);
		free(w);
		errno = rc;
		return NULL;
	}
	return w;
}

void
filewrite_cancel(struct filewrite *w)
{
	if (w == NULL)
		return;
	event_del(w->done_ev);
	filewrite_free(w);
}
