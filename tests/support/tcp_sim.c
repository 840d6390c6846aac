/* tcp_sim.h: two tern stacks on a simulated link, driven in virtual time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/tcp_sim.h"

void tcp_sim_init(struct tcp_sim *ts, uint64_t seed, const struct tern_link_params *params)
{
	struct tern_stack_config cfg;
	struct tern_link_params wire = { .delay = TERN_NS_PER_MS };

	assert_int_equal(tern_sim_create(seed, &ts->sim), 0);
	tern_stack_config_init(&cfg);
	cfg.addr = tern_addr_v4(10, 0, 0, 1);
	cfg.seed = seed * 2 + 1;
	ts->client_node = tern_sim_add_stack(ts->sim, &cfg, &ts->client);
	cfg.addr = tern_addr_v4(10, 0, 0, 2);
	cfg.seed = seed * 2 + 2;
	ts->server_node = tern_sim_add_stack(ts->sim, &cfg, &ts->server);
	assert_true(ts->client_node >= 0 && ts->server_node >= 0);
	if (!params)
		params = &wire;
	ts->link = tern_sim_link(ts->sim, ts->client_node, ts->server_node, params, params);
	assert_true(ts->link >= 0);
}

void tcp_sim_fini(struct tcp_sim *ts)
{
	tern_sim_destroy(ts->sim);
}

void tcp_sim_sync(struct tcp_sim *ts)
{
	tern_time now = tern_sim_now(ts->sim);
	tern_stack_advance(ts->client, now);
	tern_stack_advance(ts->server, now);
}

bool tcp_sim_run(struct tcp_sim *ts, tern_time limit, bool (*done)(void *), void (*step)(void *), void *ctx)
{
	tern_time end = tern_sim_now(ts->sim) + limit;

	tcp_sim_sync(ts);
	if (step)
		step(ctx);
	while (!done(ctx)) {
		if (!tern_sim_step(ts->sim, end))
			return done(ctx);
		tcp_sim_sync(ts);
		if (step)
			step(ctx);
	}
	return true;
}
