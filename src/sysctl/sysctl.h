/*
 * sysctl/sysctl.h: where knob values live inside the stack (st->sys) and how the
 * layers read them: plain fields named after the knob's last path component
 * (st->sys.tcp_syncookies, st->sys.tcp_rmem[1], st->sys.somaxconn). Word-valued
 * knobs are stored as the index of their word. The table that ties names to fields
 * is src/sysctl/table.h.
 *
 * Every field is an int64_t (a vector is an int64_t array), whatever Linux's own
 * type, so one parser and one printer serve all knobs and a value such as
 * tcp_notsent_lowat's UINT_MAX fits without casts. The struct below is expanded from
 * table.h, so a knob added there appears here with no second edit. The values are
 * always within the table's bounds: only tern__sysctl_init and tern_sysctl_set
 * write them.
 */
#ifndef TERN_SYSCTL_SYSCTL_H
#define TERN_SYSCTL_SYSCTL_H

#include <stdint.h>

/* Word indexes of net.ipv4.tcp_congestion_control, in table.h's order. */
enum tern_cc_choice {
	TERN_CC_RENO,
	TERN_CC_CUBIC,
};

/* Word indexes of tern.kernel_profile (spec §1.2): which Linux release's rule to
 * follow where 4.4-6.12 and 6.13+ differ. */
enum tern_kernel_profile {
	TERN_PROFILE_6_13,      /* "6.13": SYN queue full when qlen > backlog' */
	TERN_PROFILE_4_4,       /* "4.4":  SYN queue full when qlen >= backlog' */
};

struct tern_sysctls {
#define TERN_KNOB(name, field, unit, min, max, def, doc) int64_t field;
#define TERN_KNOB_VEC(name, field, count, unit, min, max, flags, defs, doc) int64_t field[count];
#define TERN_KNOB_WORDS(name, field, def, words, doc) int64_t field;
#include "sysctl/table.h"
};

/* Fills every knob with its default. */
void tern__sysctl_init(struct tern_sysctls *sys);

#endif
