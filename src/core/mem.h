/*
 * core/mem.h: memory for the tables that grow with the number of connections
 * (core/mem.c says why they are allocated differently).
 */
#ifndef TERN_CORE_MEM_H
#define TERN_CORE_MEM_H

#include <stddef.h>

/* `bytes` of zeroed memory for a table read at random, backed by huge pages where
 * the system offers them; given back with free(). NULL when out of memory. */
void *tern__table_zalloc(size_t bytes);

#endif
