/*
 * core/errors.c: names and messages for tern's error codes (include/tern/errors.h).
 *
 * Everything is generated from the one X-macro table in the header, so a value, its
 * name and its message cannot drift apart. The messages are glibc's strerror()
 * texts on Linux (checked at run time by tests/unit/test_errors.c).
 *
 * glibc says "Unknown error N" for a value outside its table; tern says "Unknown
 * error" without the number, since building that text would need a buffer owned
 * by someone and the core keeps no mutable global state (DESIGN.md §1).
 */
#include "tern/errors.h"

#include <limits.h>
#include <string.h>

/* The magnitude of an error given either way round; -1 for INT_MIN, which has no
 * positive counterpart and is no error code anyway. */
static int err_magnitude(int err)
{
	if (err == INT_MIN)
		return -1;
	return err < 0 ? -err : err;
}

const char *tern_strerror(int err)
{
	switch (err_magnitude(err)) {
	case 0:
		return "Success";
#define TERN_ERRNO_MSG(name, value, msg) \
	case value: \
		return msg;
		TERN_ERRNO_TABLE(TERN_ERRNO_MSG)
#undef TERN_ERRNO_MSG
	default:
		return "Unknown error";
	}
}

const char *tern_errname(int err)
{
	switch (err_magnitude(err)) {
#define TERN_ERRNO_NAME(name, value, msg) \
	case value: \
		return #name;
		TERN_ERRNO_TABLE(TERN_ERRNO_NAME)
#undef TERN_ERRNO_NAME
	default:
		return NULL;
	}
}

int tern_errno_from_name(const char *name)
{
	if (!name)
		return 0;
#define TERN_ERRNO_LOOKUP(ename, value, msg) \
	if (strcmp(name, #ename) == 0) \
		return value;
	TERN_ERRNO_TABLE(TERN_ERRNO_LOOKUP)
#undef TERN_ERRNO_LOOKUP
	/* Linux spells EAGAIN this way too; same value. */
	if (strcmp(name, "EWOULDBLOCK") == 0)
		return TERN_EWOULDBLOCK;
	return 0;
}
