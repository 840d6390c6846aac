/*
 * A server that closes first holds every TIME-WAIT entry on one local port (spec
 * §6.5). Each entry sits on that port's bind() chain, so removing one must not walk
 * the chain: expiring N entries costs a bounded number of chain links per entry
 * (the stack's hash_probes work counter), not N/2 each. Also checks that all N
 * leave at 60 s, none earlier, and that a FIN-WAIT-2 entry made behind a
 * TIME-WAIT entry still leaves at its own, earlier time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support/tcp_sim.h"
#include "tcp/sock.h"
#include "tcp/tw.h"

#define NCONN 4000

struct run {
	struct tcp_sim ts;
	int lfd;
	int cfd[NCONN];
	int accepted, client_closed;
	bool cdone[NCONN];
};

/* Server: accept and close at once (the active close). Clients: close on EOF. */
static void step(void *ctx)
{
	struct run *r = ctx;
	int fd;

	while ((fd = tern_accept(r->ts.server, r->lfd, NULL, TERN_SOCK_NONBLOCK)) >= 0) {
		assert_int_equal(tern_close(r->ts.server, fd), 0);
		r->accepted++;
	}
	for (int i = 0; i < NCONN; i++) {
		char b;
		if (r->cdone[i] || tern_recv(r->ts.client, r->cfd[i], &b, 1, 0) != 0)
			continue;
		assert_int_equal(tern_close(r->ts.client, r->cfd[i]), 0);
		r->cdone[i] = true;
		r->client_closed++;
	}
}

static bool all_closed(void *ctx)
{
	struct run *r = ctx;
	return r->client_closed == NCONN;
}

static void server_close_first(void **state)
{
	(void)state;
	static struct run r;
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = 80 };
	struct tern_sockaddr server = { .addr = tern_addr_v4(10, 0, 0, 2), .port = 80 };

	memset(&r, 0, sizeof(r));
	tcp_sim_init(&r.ts, 11, NULL);
	assert_int_equal(tern_sysctl_set(r.ts.client, "net.ipv4.ip_local_port_range", "10000 60000"), 0);
	r.lfd = tern_socket(r.ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_bind(r.ts.server, r.lfd, &any), 0);
	assert_int_equal(tern_listen(r.ts.server, r.lfd, 4096), 0);
	for (int i = 0; i < NCONN; i++) {
		r.cfd[i] = tern_socket(r.ts.client, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
		assert_true(r.cfd[i] >= 0);
		assert_int_equal(tern_connect(r.ts.client, r.cfd[i], &server), -TERN_EINPROGRESS);
	}
	assert_true(tcp_sim_run(&r.ts, 10 * TERN_NS_PER_SEC, all_closed, step, &r));
	assert_int_equal(r.accepted, NCONN);
	/* The clients' FINs are still on the wire: let them arrive. */
	tern_sim_run_until(r.ts.sim, tern_sim_now(r.ts.sim) + 100 * TERN_NS_PER_MS);
	tcp_sim_sync(&r.ts);
	assert_int_equal(tern__tw_count(r.ts.server), NCONN);
	assert_int_equal(r.ts.server->tcp->ehash_count, 0);
	tern_time last_entry = tern_sim_now(r.ts.sim);

	/* Just before 60 s after the first entry: all still there. The entries were
	 * made within the few milliseconds of the run, so one second of margin. */
	tern_sim_run_until(r.ts.sim, last_entry + 59 * TERN_NS_PER_SEC);
	tcp_sim_sync(&r.ts);
	assert_int_equal(tern__tw_count(r.ts.server), NCONN);

	uint64_t before = r.ts.server->tcp->hash_probes;
	tern_sim_run_until(r.ts.sim, last_entry + 61 * TERN_NS_PER_SEC);
	tcp_sim_sync(&r.ts);
	uint64_t probes = r.ts.server->tcp->hash_probes - before;
	print_message("expiring %d TIME-WAIT entries on one port: %llu chain links\n", NCONN,
		      (unsigned long long)probes);
	assert_int_equal(tern__tw_count(r.ts.server), 0);
	/* The 4-tuple hash keeps chains short (it grows with the count); a walk of
	 * the port's chain would cost about NCONN / 2 links per entry. */
	assert_true(probes <= 4 * (uint64_t)NCONN);

	assert_int_equal(tern_close(r.ts.server, r.lfd), 0);
	tcp_sim_fini(&r.ts);
}

/* Opens one connection to the server and has the server accept and close it; the
 * client closes too when `client_closes`. Returns the client's descriptor. */
static int open_and_server_close(struct tcp_sim *ts, int lfd, bool client_closes)
{
	struct tern_sockaddr server = { .addr = tern_addr_v4(10, 0, 0, 2), .port = 80 };
	int fd = tern_socket(ts->client, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_connect(ts->client, fd, &server), -TERN_EINPROGRESS);
	tern_sim_run_until(ts->sim, tern_sim_now(ts->sim) + 10 * TERN_NS_PER_MS);
	tcp_sim_sync(ts);
	int child = tern_accept(ts->server, lfd, NULL, TERN_SOCK_NONBLOCK);
	assert_true(child >= 0);
	assert_int_equal(tern_close(ts->server, child), 0);
	tern_sim_run_until(ts->sim, tern_sim_now(ts->sim) + 10 * TERN_NS_PER_MS);
	tcp_sim_sync(ts);
	if (client_closes) {
		char b;
		assert_int_equal(tern_recv(ts->client, fd, &b, 1, 0), 0);
		assert_int_equal(tern_close(ts->client, fd), 0);
		tern_sim_run_until(ts->sim, tern_sim_now(ts->sim) + 10 * TERN_NS_PER_MS);
		tcp_sim_sync(ts);
	}
	return fd;
}

/* TIME-WAIT and FIN-WAIT-2 entries wait in two lists and one wheel timer follows
 * the earlier of their heads. An orphaned FIN-WAIT-2 entry (tcp_fin_timeout 5 s,
 * spec §6.4) made while a TIME-WAIT entry waits for its 60 s becomes the head of
 * its own list, earlier than the timer: it must leave at 5 s, not with the
 * TIME-WAIT entry. */
/* The server's TIME-WAIT and FIN-WAIT-2 entries once the simulation reaches `t`. */
static uint32_t server_entries_at(struct tcp_sim *ts, tern_time t)
{
	tern_sim_run_until(ts->sim, t);
	tcp_sim_sync(ts);
	return tern__tw_count(ts->server);
}

static void fin_wait2_behind_time_wait(void **state)
{
	(void)state;
	struct tcp_sim ts;
	struct tern_sockaddr any = { .addr = { .family = TERN_AF_INET }, .port = 80 };

	tcp_sim_init(&ts, 12, NULL);
	assert_int_equal(tern_sysctl_set(ts.server, "net.ipv4.tcp_fin_timeout", "5"), 0);
	int lfd = tern_socket(ts.server, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	assert_int_equal(tern_bind(ts.server, lfd, &any), 0);
	assert_int_equal(tern_listen(ts.server, lfd, 16), 0);

	open_and_server_close(&ts, lfd, true);
	assert_int_equal(tern__tw_count(ts.server), 1);       /* TIME-WAIT, 60 s */
	tern_sim_run_until(ts.sim, tern_sim_now(ts.sim) + 1 * TERN_NS_PER_SEC);
	int held = open_and_server_close(&ts, lfd, false);
	assert_int_equal(tern__tw_count(ts.server), 2);       /* and FIN-WAIT-2, 5 s */
	assert_int_equal(ts.server->tcp->ehash_count, 0);
	tern_time fw2_made = tern_sim_now(ts.sim);

	assert_int_equal(server_entries_at(&ts, fw2_made + 4 * TERN_NS_PER_SEC), 2);
	assert_int_equal(server_entries_at(&ts, fw2_made + 6 * TERN_NS_PER_SEC), 1);
	/* The TIME-WAIT entry still leaves at its own 60 s. */
	assert_int_equal(server_entries_at(&ts, fw2_made + 58 * TERN_NS_PER_SEC), 1);
	assert_int_equal(server_entries_at(&ts, fw2_made + 61 * TERN_NS_PER_SEC), 0);

	assert_int_equal(tern_close(ts.client, held), 0);
	assert_int_equal(tern_close(ts.server, lfd), 0);
	tcp_sim_fini(&ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(server_close_first),
		cmocka_unit_test(fin_wait2_behind_time_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
