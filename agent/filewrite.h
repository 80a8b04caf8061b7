/*
 * filewrite.h: files written atomically (a temp file beside it, write,
 * fsync, rename, fsync the directory), so that a reader sees the old file
 * or the new one, never half of one. The disk may take its time, so the
 * daemon writes in a thread of its own, one per write (writes are rare),
 * which reports through the event loop.
 */
#ifndef HW_FILEWRITE_H
#define HW_FILEWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct filewrite;

/* The write is over: err 0, or the errno of the step that failed (the old
 * file, if any, is untouched then). */
typedef void filewrite_cb(void *arg, int err);

/* Write data (copied) to path with mode; cb(arg, err) runs from the loop
 * when done. NULL, with errno set, if no thread could start. */
struct filewrite *filewrite_start(struct event_base *base, const char *path,
		    const char *data, size_t len, mode_t mode, filewrite_cb *cb,
		    void *arg);
/* Wait for the write to end (it is not interrupted) and drop its cb. */
void		 filewrite_cancel(struct filewrite *w);
/* The same write, blocking: for tests and tools. false with errno set. */
bool		 filewrite_sync(const char *path, const char *data, size_t len,
		    mode_t mode) __attribute__((warn_unused_result));

#endif
