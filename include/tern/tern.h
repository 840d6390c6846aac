/* tern/tern.h: the whole public API of libtern. */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include "tern/diag.h"
#include "tern/errors.h"
#include "tern/pcap.h"
#include "tern/sim.h"
#include "tern/stack.h"
#include "tern/socket.h"
#include "tern/stats.h"
#include "tern/sysctl.h"
#include "tern/tun.h"
#include "tern/types.h"
#include "tern/wire.h"

#endif
