/*
 * core/stack.c: creating and destroying a stack, its clock, its secrets, its
 * counters and its log. The packet entry point (tern_stack_input) is in ip/ipv4.c;
 * this file is what every layer shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack.h"
#include "tcp/sock.h"
#include "tern/errors.h"

void tern_stack_config_init(struct tern_stack_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
}

/*
 * Key derivation. The driver hands in at least 32 bytes of secret (getrandom on a
 * real network); tests hand in none and the seed stands in for it, so a run replays.
 * The 32 bytes become two SipHash master keys, and each use's subkey is the pair of
 * master hashes of its label, so no two uses share a key and the secret itself is
 * never used directly.
 */
static struct tern_siphash_key derive_key(const struct tern_siphash_key master[2], uint32_t label)
{
	struct tern_siphash_key k;
	k.k0 = tern__siphash_2u32(&master[0], label, 0x7465726e); /* "tern" */
	k.k1 = tern__siphash_2u32(&master[1], label, 0x7465726e);
	return k;
}

enum { KEY_ISN = 1, KEY_TS_OFF, KEY_PORT, KEY_COOKIE0, KEY_COOKIE1 };

static void derive_secrets(struct tern_stack *st, const struct tern_stack_config *cfg)
{
	uint8_t raw[32];
	struct tern_siphash_key master[2];

	if (cfg->secret) {
		memcpy(raw, cfg->secret, sizeof(raw));
	} else {
		/* From the seed: a generator seeded apart from the stack's own PRNG. */
		struct tern_prng r;
		tern__prng_seed(&r, cfg->seed ^ 0x5ec7e75ec7e75ec7ull);
		for (size_t i = 0; i < sizeof(raw); i += 8) {
			uint64_t v = tern__prng_u64(&r);
			memcpy(raw + i, &v, 8);
		}
	}
	master[0] = tern__siphash_key(raw);
	master[1] = tern__siphash_key(raw + 16);
	st->secrets.isn = derive_key(master, KEY_ISN);
	st->secrets.ts_off = derive_key(master, KEY_TS_OFF);
	st->secrets.port = derive_key(master, KEY_PORT);
	st->secrets.cookie[0] = derive_key(master, KEY_COOKIE0);
	st->secrets.cookie[1] = derive_key(master, KEY_COOKIE1);
	memset(raw, 0, sizeof(raw));
}

int tern_stack_create(const struct tern_stack_config *cfg, struct tern_stack **out)
{
	if (!cfg || !out || !cfg->emit || cfg->addr.family != TERN_AF_INET || cfg->now < 0)
		return -TERN_EINVAL;
	if (cfg->secret && cfg->secret_len < 32)
		return -TERN_EINVAL;
	if (cfg->mtu && (cfg->mtu < 576 || cfg->mtu > 65535))
		return -TERN_EINVAL;

	struct tern_stack *st = calloc(1, sizeof(*st));
	if (!st)
		return -TERN_ENOMEM;

	st->now = cfg->now;
	st->now_ms = (uint64_t)cfg->now / TERN_NS_PER_MS;
	st->addrs[0] = cfg->addr;
	st->v4[0] = cfg->addr.u.v4;
	st->naddrs = 1;
	st->tx_csum_offload = cfg->tx_csum_offload;
	st->emit = cfg->emit;
	st->emit_ctx = cfg->emit_ctx;
	st->log = cfg->log;
	st->log_ctx = cfg->log_ctx;
	st->echo_reply = cfg->echo_reply;
	st->echo_reply_ctx = cfg->echo_reply_ctx;

	tern__sysctl_init(&st->sys);
	tern__prng_seed(&st->prng, cfg->seed);
	derive_secrets(st, cfg);
	tern__timers_init(&st->timers, cfg->now);
	st->ip_id = (uint16_t)tern__prng_u32(&st->prng);
	st->mtu = cfg->mtu ? cfg->mtu : 1500;

	int err = tern__tcp_init(st);
	if (err < 0) {
		free(st);
		return err;
	}
	*out = st;
	return 0;
}

void tern_stack_destroy(struct tern_stack *st)
{
	if (!st)
		return;
	tern__tcp_fini(st);
	free(st);
}

int tern_stack_add_addr(struct tern_stack *st, const struct tern_addr *addr)
{
	if (addr->family != TERN_AF_INET)
		return -TERN_EAFNOSUPPORT;
	for (unsigned i = 0; i < st->naddrs; i++)
		if (tern_addr_eq(&st->addrs[i], addr))
			return -TERN_EEXIST;
	if (st->naddrs == TERN_STACK_MAX_ADDRS)
		return -TERN_ENOSPC;
	st->v4[st->naddrs] = addr->u.v4;
	st->addrs[st->naddrs++] = *addr;
	return 0;
}

struct tern_addr tern_stack_addr(const struct tern_stack *st)
{
	return st->addrs[0];
}

void tern_stack_advance(struct tern_stack *st, tern_time now)
{
	tern__stack_set_time(st, now);
}

tern_time tern_stack_next_deadline(const struct tern_stack *st)
{
	return tern__timers_next(&st->timers);
}

tern_time tern_stack_now(const struct tern_stack *st)
{
	return st->now;
}

uint64_t tern_stack_counter(const struct tern_stack *st, enum tern_counter id)
{
	return (unsigned)id < TERN_CTR_COUNT ? st->counters[id] : 0;
}

void tern_stack_counters(const struct tern_stack *st, uint64_t *out)
{
	memcpy(out, st->counters, sizeof(st->counters));
}

void tern__log(struct tern_stack *st, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!st->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st->log(st->log_ctx, level, line);
}
