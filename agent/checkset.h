/*
 * checkset.h: the configured checks, running, as the services see them.
 */
#ifndef HW_CHECKSET_H
#define HW_CHECKSET_H

#include <stddef.h>

struct hw;
struct checks;
struct chk;

/* Build one probe per conf check (not started). */
struct checks	*checks_new(struct hw *hw);
/* Carry over the state of checks of the same name and target. */
void		 checks_inherit(struct checks *cs, const struct checks *old);
void		 checks_start(struct checks *cs);
/* 1 up, 0 down, -1 not probed yet; *reason is the last probe's outcome. */
int		 checks_state(struct checks *cs, size_t idx, const char **reason);
size_t		 checks_count(const struct checks *cs);
const struct chk *checks_get(const struct checks *cs, size_t idx);
void		 checks_free(struct checks *cs);

#endif
