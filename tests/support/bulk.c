/* bulk.h: a verifying bulk-transfer application for TCP simulations. */
#include <string.h>

#include "support/bulk.h"

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint8_t bulk_byte(uint64_t seed, uint64_t offset)
{
	return (uint8_t)(mix(seed ^ (offset >> 3) * 0x2545f4914f6cdd1dull) >> (8 * (offset & 7)));
}

static void fail(struct bulk_end *e, int err)
{
	if (!e->err)
		e->err = err;
	if (e->fd >= 0) {
		tern_close(e->st, e->fd);
		e->fd = -1;
	}
	e->closed = true;
}

void bulk_connect(struct bulk_end *e, struct tern_stack *st, const struct tern_sockaddr *server,
		  uint64_t tx_total, uint64_t tx_seed, uint64_t rx_seed)
{
	memset(e, 0, sizeof(*e));
	e->st = st;
	e->tx_total = tx_total;
	e->tx_seed = tx_seed;
	e->rx_seed = rx_seed;
	e->chunk = 16384;
	e->fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM | TERN_SOCK_NONBLOCK, 0);
	if (e->fd < 0) {
		e->err = e->fd;
		e->closed = true;
		return;
	}
	int r = tern_connect(st, e->fd, server);
	if (r == -TERN_EINPROGRESS)
		e->connecting = true;
	else
		fail(e, r);
}

void bulk_accepted(struct bulk_end *e, struct tern_stack *st, int fd, uint64_t tx_total, uint64_t tx_seed,
		   uint64_t rx_seed)
{
	memset(e, 0, sizeof(*e));
	e->st = st;
	e->fd = fd;
	e->connected = true;
	e->tx_total = tx_total;
	e->tx_seed = tx_seed;
	e->rx_seed = rx_seed;
	e->chunk = 16384;
}

void bulk_step(struct bulk_end *e)
{
	uint8_t buf[16384];

	if (e->closed || e->fd < 0)
		return;
	if (e->connecting) {
		struct tern_pollfd p = { .fd = e->fd, .events = TERN_POLLOUT };
		if (tern_poll(e->st, &p, 1) == 0)
			return;
		int soerr = 0;
		size_t len = sizeof(soerr);
		tern_getsockopt(e->st, e->fd, TERN_SOL_SOCKET, TERN_SO_ERROR, &soerr, &len);
		e->connecting = false;
		if (soerr) {
			fail(e, -soerr);
			return;
		}
		e->connected = true;
	}
	/* Send what fits. */
	while (e->tx_done < e->tx_total) {
		size_t n = e->tx_total - e->tx_done;
		if (n > e->chunk)
			n = e->chunk;
		for (size_t i = 0; i < n; i++)
			buf[i] = bulk_byte(e->tx_seed, e->tx_done + i);
		ssize_t r = tern_send(e->st, e->fd, buf, n, 0);
		if (r == -TERN_EAGAIN)
			break;
		if (r < 0) {
			fail(e, (int)r);
			return;
		}
		e->tx_done += (uint64_t)r;
	}
	if (e->tx_done == e->tx_total && !e->wr_shut) {
		int r = tern_shutdown(e->st, e->fd, TERN_SHUT_WR);
		if (r < 0) {
			fail(e, r);
			return;
		}
		e->wr_shut = true;
	}
	/* Read everything there is, checking it. */
	for (;;) {
		ssize_t r = tern_recv(e->st, e->fd, buf, sizeof(buf), 0);
		if (r == -TERN_EAGAIN)
			break;
		if (r < 0) {
			fail(e, (int)r);
			return;
		}
		if (r == 0) {
			e->eof = true;
			break;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != bulk_byte(e->rx_seed, e->rx_done + (uint64_t)i))
				e->mismatches++;
		e->rx_done += (uint64_t)r;
	}
	if (e->eof && e->wr_shut) {
		tern_close(e->st, e->fd);
		e->fd = -1;
		e->closed = true;
	}
}
