/*
 * core/stats.c: names and descriptions of the counters declared in tern/stats.h.
 * The counters themselves are an array in struct tern_stack, indexed by
 * enum tern_counter, and incremented with tern__count().
 */
#include <string.h>

#include "tern/stats.h"

static const char *const counter_names[TERN_CTR_COUNT] = {
#define NAME(group, name, doc) #group #name,
	TERN_COUNTER_TABLE(NAME)
#undef NAME
};

static const char *const counter_groups[TERN_CTR_COUNT] = {
#define GROUP(group, name, doc) #group,
	TERN_COUNTER_TABLE(GROUP)
#undef GROUP
};

static const char *const counter_docs[TERN_CTR_COUNT] = {
#define DOC(group, name, doc) doc,
	TERN_COUNTER_TABLE(DOC)
#undef DOC
};

const char *tern_counter_name(enum tern_counter id)
{
	return (unsigned)id < TERN_CTR_COUNT ? counter_names[id] : NULL;
}

const char *tern_counter_group(enum tern_counter id)
{
	return (unsigned)id < TERN_CTR_COUNT ? counter_groups[id] : NULL;
}

const char *tern_counter_doc(enum tern_counter id)
{
	return (unsigned)id < TERN_CTR_COUNT ? counter_docs[id] : NULL;
}

int tern_counter_lookup(const char *name)
{
	for (int i = 0; i < TERN_CTR_COUNT; i++)
		if (strcmp(counter_names[i], name) == 0)
			return i;
	return -1;
}
