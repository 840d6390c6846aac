/*
 * tests/unit/test_tools_fmt.c: tern's ss, nstat and sysctl (tools/) print what
 * iproute2 and procps print, and the control socket carries them to a shim.
 *
 * The expected texts were taken from the real tools (iproute2 6.1, procps-ng
 * 4.0.2) on Linux 6.18 for the same situations; tests/shell/tools_vs_kernel.sh
 * redoes that comparison live. It drives this program as
 *
 *     test_tools_fmt --emit DIR 'ss -ltn' 'nstat -saz TcpActiveOpens' ...
 *
 * which builds the kernel test's situation on two tern stacks and writes what each
 * command prints for the server stack to DIR/N.out, DIR/N.err and DIR/N.rc.
 *
 * The situation (server 10.0.0.2, client 10.0.0.1, both in virtual time): a
 * listener on 0.0.0.0:8080 with backlog 10 holding two connections nobody accepted
 * (client ports 40001, 40002); an accepted connection on 9090 from 40003 with 100
 * unread bytes and SO_KEEPALIVE; a connection on 7070 from 40004 that the server
 * closed first, now in TIME-WAIT; and a connect from 10.0.0.2:40010 to the absent
 * 10.0.0.3:80, stuck in SYN-SENT.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "support/tcp_sim.h"
#include "tern.h"

/* ------------------------------------------------------------ the situation */

struct twin {
	struct tcp_sim ts;
	int listener, queued[2], data_client, data_server, tw_client, syn_sent;
};

static void run_for(struct tcp_sim *ts, tern_time dt)
{
	tern_sim_run_until(ts->sim, tern_sim_now(ts->sim) + dt);
	tcp_sim_sync(ts);
}

static int bound_socket(struct tern_stack *st, struct tern_addr addr, uint16_t port)
{
	int one = 1;
	int fd = tern_socket(st, TERN_AF_INET, TERN_SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(tern_setsockopt(st, fd, TERN_SOL_SOCKET, TERN_SO_REUSEADDR, &one, sizeof(one)), 0);
	struct tern_sockaddr sa = { .addr = addr, .port = port };
	assert_int_equal(tern_bind(st, fd, &sa), 0);
	return fd;
}

static int listener(struct tern_stack *st, struct tern_addr addr, uint16_t port, int backlog)
{
	int fd = bound_socket(st, addr, port);
	assert_int_equal(tern_listen(st, fd, backlog), 0);
	return fd;
}

static int connector(struct tern_stack *st, uint16_t lport, struct tern_addr to, uint16_t port)
{
	int fd = bound_socket(st, tern_stack_addr(st), lport);
	struct tern_sockaddr sa = { .addr = to, .port = port };
	assert_int_equal(tern_connect(st, fd, &sa), -TERN_EINPROGRESS);
	return fd;
}

static void twin_build(struct twin *w)
{
	struct tcp_sim *ts = &w->ts;
	struct tern_addr srv = tern_addr_v4(10, 0, 0, 2), any = { .family = TERN_AF_INET };
	static const char payload[100];
	int one = 1;

	tcp_sim_init(ts, 7, NULL);
	w->listener = listener(ts->server, any, 8080, 10);
	int l9090 = listener(ts->server, srv, 9090, 1);
	int l7070 = listener(ts->server, srv, 7070, 1);
	w->queued[0] = connector(ts->client, 40001, srv, 8080);
	w->queued[1] = connector(ts->client, 40002, srv, 8080);
	w->data_client = connector(ts->client, 40003, srv, 9090);
	w->tw_client = connector(ts->client, 40004, srv, 7070);
	run_for(ts, 50 * TERN_NS_PER_MS);

	w->data_server = tern_accept(ts->server, l9090, NULL, 0);
	assert_true(w->data_server >= 0);
	assert_int_equal(tern_close(ts->server, l9090), 0);
	assert_int_equal(tern_setsockopt(ts->server, w->data_server, TERN_SOL_SOCKET, TERN_SO_KEEPALIVE,
					 &one, sizeof(one)), 0);
	assert_int_equal(tern_send(ts->client, w->data_client, payload, sizeof(payload), 0), 100);

	/* The kernel side closes the server end first and the client 200 ms later.
	 * tern, as of this writing, leaves that server end in FIN-WAIT-2 when the
	 * client's FIN arrives (tern__tcp_enter_time_wait keeps FIN-WAIT-2), so here
	 * both ends close at once: a simultaneous close, which reaches TIME-WAIT
	 * through CLOSING and leaves the server with the same entry. */
	int tw = tern_accept(ts->server, l7070, NULL, 0);
	assert_true(tw >= 0);
	assert_int_equal(tern_close(ts->server, l7070), 0);
	assert_int_equal(tern_close(ts->server, tw), 0);
	assert_int_equal(tern_close(ts->client, w->tw_client), 0);
	run_for(ts, 250 * TERN_NS_PER_MS);

	w->syn_sent = connector(ts->server, 40010, tern_addr_v4(10, 0, 0, 3), 80);
	run_for(ts, 500 * TERN_NS_PER_MS);
}

/* ------------------------------------------------------------ running a tool */

struct result {
	int rc;
	char *out, *err;
};

static void result_free(struct result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* Runs one command line (words separated by single blanks; a word may not hold
 * a blank) against `st`, with nstat history `hist` (NULL: none). */
static struct result run_hist(struct tern_stack *st, struct tern_nstat_history *hist, const char *cmd)
{
	char *copy = strdup(cmd), *argv[64], *save = NULL;
	int argc = 0;
	assert_non_null(copy);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(argc < 63);
		argv[argc++] = w;
	}
	argv[argc] = NULL;

	struct result r = { 0 };
	size_t olen, elen;
	FILE *out = open_memstream(&r.out, &olen), *err = open_memstream(&r.err, &elen);
	assert_non_null(out);
	assert_non_null(err);
	if (!strcmp(argv[0], "nstat"))
		r.rc = tern_tool_nstat(st, hist, argc, argv, out, err);
	else
		r.rc = tern_tool_run(st, argc, argv, out, err);
	fclose(out);
	fclose(err);
	free(copy);
	return r;
}

static struct result run(struct tern_stack *st, const char *cmd)
{
	return run_hist(st, NULL, cmd);
}

/* Asserts the exact stdout (and an empty stderr, status 0). */
static void expect_out(struct tern_stack *st, const char *cmd, const char *want)
{
	struct result r = run(st, cmd);
	if (strcmp(r.out, want) || r.rc != 0 || *r.err) {
		print_error("%s: status %d\n--- got\n%s--- want\n%s--- stderr\n%s", cmd, r.rc, r.out,
			    want, r.err);
		fail();
	}
	result_free(&r);
}

static void expect_fail(struct tern_stack *st, const char *cmd, int rc, const char *err_prefix)
{
	struct result r = run(st, cmd);
	if (r.rc != rc || strncmp(r.err, err_prefix, strlen(err_prefix)) || *r.out) {
		print_error("%s: status %d (want %d)\n--- stderr\n%s--- want prefix\n%s\n--- stdout\n%s",
			    cmd, r.rc, rc, r.err, err_prefix, r.out);
		fail();
	}
	result_free(&r);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int count_rows(struct tern_stack *st, const char *cmd)
{
	struct result r = run(st, cmd);
	assert_int_equal(r.rc, 0);
	int n = count_lines(r.out);
	result_free(&r);
	return n;
}

/* ------------------------------------------------------------ ss */

/* Kernel: the same listener, `ss -ltn` and `ss -ltnH 'sport = :8080'`. */
static void test_ss_listener(void **state)
{
	struct twin w;
	(void)state;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;

	expect_out(st, "ss -ltn",
		   "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
		   "LISTEN 2      10           0.0.0.0:8080      0.0.0.0:*          \n");
	expect_out(st, "ss -ltnH sport = :8080", "LISTEN 2      10     0.0.0.0:8080 0.0.0.0:*\n");
	expect_out(st, "ss -tanH state listening", "2      10     0.0.0.0:8080 0.0.0.0:*\n");
	/* Long options, clusters split apart, and the service name without -n. */
	expect_out(st, "ss --listening --tcp -n --no-header",
		   "LISTEN 2      10     0.0.0.0:8080 0.0.0.0:*\n");
	expect_out(st, "ss -l -t -H", "LISTEN 2      10     0.0.0.0:http-alt 0.0.0.0:*\n");
	tcp_sim_fini(&w.ts);
}

/* Layout and selection against the kernel's output for the whole situation; the
 * rows are in tern's order (the kernel's follows its hash), which moves nothing
 * but the -o quirk: the last line's timer does not widen its column. */
static void test_ss_situation(void **state)
{
	struct twin w;
	(void)state;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;

	struct result r = run(st, "ss -tan");
	assert_int_equal(r.rc, 0);
	/* Header and the widths the kernel gives the same sockets. */
	assert_non_null(strstr(r.out, "State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n"));
	assert_non_null(strstr(r.out, "\nLISTEN    2      10           0.0.0.0:8080       0.0.0.0:*           \n"));
	assert_non_null(strstr(r.out, "\nESTAB     100    0           10.0.0.2:9090      10.0.0.1:40003       \n"));
	assert_non_null(strstr(r.out, "\nESTAB     0      0           10.0.0.2:8080      10.0.0.1:40001       \n"));
	assert_non_null(strstr(r.out, "\nESTAB     0      0           10.0.0.2:8080      10.0.0.1:40002       \n"));
	assert_non_null(strstr(r.out, "\nTIME-WAIT 0      0           10.0.0.2:7070      10.0.0.1:40004       \n"));
	assert_non_null(strstr(r.out, "10.0.0.2:40010     10.0.0.3:80          \n"));
	assert_int_equal(count_lines(r.out), 7);
	result_free(&r);

	expect_out(st, "ss -tanH state time-wait", "0      0      10.0.0.2:7070 10.0.0.1:40004\n");
	expect_out(st, "ss -tan state time-wait",
		   "Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
		   "0      0           10.0.0.2:7070     10.0.0.1:40004       \n");

	/* The default leaves out LISTEN, TIME-WAIT and SYN-RECV. */
	assert_int_equal(count_rows(st, "ss -tnH"), 4);
	assert_int_equal(count_rows(st, "ss -tanH"), 6);
	assert_int_equal(count_rows(st, "ss -tnH state established"), 3);
	assert_int_equal(count_rows(st, "ss -tnH state connected"), 5);
	assert_int_equal(count_rows(st, "ss -tnH state all"), 6);
	assert_int_equal(count_rows(st, "ss -tnH state bucket"), 1);
	assert_int_equal(count_rows(st, "ss -tnH state big"), 5);
	assert_int_equal(count_rows(st, "ss -tnH state synchronized"), 4);
	assert_int_equal(count_rows(st, "ss -tnH state established state time-wait"), 4);
	assert_int_equal(count_rows(st, "ss -tnH exclude established"), 3);
	assert_int_equal(count_rows(st, "ss -tnH state syn-recv"), 0);
	assert_int_equal(count_rows(st, "ss -tnH state SYN-SENT"), 1);
	assert_int_equal(count_rows(st, "ss -tnH state unconnected"), 0);

	/* With -o: a timer on a line that is not the last widens the column
	 * ("Process" padded), the last line's own timer does not. */
	r = run(st, "ss -tano");
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "10.0.0.1:40004 timer:(timewait,59sec,0)"));
	assert_non_null(strstr(r.out, "10.0.0.1:40003 timer:(keepalive,119min,0)"));
	assert_non_null(strstr(r.out, "10.0.0.3:80    timer:(on,"));
	result_free(&r);
	tcp_sim_fini(&w.ts);
}

/* The -o layout rule on lines in a known order, as the kernel printed them. */
static void test_ss_timer_column(void **state)
{
	struct tcp_sim ts;
	(void)state;
	tcp_sim_init(&ts, 3, NULL);
	struct tern_addr srv = tern_addr_v4(10, 0, 0, 2);
	int l = listener(ts.server, srv, 7070, 4);
	int c = connector(ts.client, 40004, srv, 7070);
	run_for(&ts, 10 * TERN_NS_PER_MS);
	int a = tern_accept(ts.server, l, NULL, 0);
	assert_true(a >= 0);
	assert_int_equal(tern_close(ts.server, a), 0);   /* simultaneous close: see twin_build */
	assert_int_equal(tern_close(ts.client, c), 0);
	run_for(&ts, 1000 * TERN_NS_PER_MS);

	/* One TIME-WAIT line, the last: its timer sticks out past "Process". */
	expect_out(ts.server, "ss -tao state time-wait",
		   "Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
		   "0      0           10.0.0.2:7070     10.0.0.1:40004 timer:(timewait,59sec,0)\n");
	expect_out(ts.server, "ss -tanoH state time-wait",
		   "0      0      10.0.0.2:7070 10.0.0.1:40004 timer:(timewait,59sec,0)\n");
	/* Listener first, TIME-WAIT last: the listener line pads "Process" only. */
	expect_out(ts.server, "ss -tano",
		   "State     Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
		   "LISTEN    0      4           10.0.0.2:7070      0.0.0.0:*           \n"
		   "TIME-WAIT 0      0           10.0.0.2:7070     10.0.0.1:40004 timer:(timewait,59sec,0)\n");
	tcp_sim_fini(&ts);
}

static void test_ss_expressions(void **state)
{
	struct twin w;
	(void)state;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;

	assert_int_equal(count_rows(st, "ss -tanH sport = :8080"), 3);
	assert_int_equal(count_rows(st, "ss -tanH sport == 8080"), 3);
	assert_int_equal(count_rows(st, "ss -tanH sport eq :http-alt"), 3);
	assert_int_equal(count_rows(st, "ss -tanH sport = :0x1f90"), 3);
	assert_int_equal(count_rows(st, "ss -tanH sport != :8080"), 3);
	assert_int_equal(count_rows(st, "ss -tanH dport = :40001"), 1);
	assert_int_equal(count_rows(st, "ss -tanH dport = :40001 or dport = :40002"), 2);
	assert_int_equal(count_rows(st, "ss -tanH ( dport = :40001 || dport = :40002 ) and sport = :8080"), 2);
	assert_int_equal(count_rows(st, "ss -tanH sport = :8080 dport = :40002"), 1);
	assert_int_equal(count_rows(st, "ss -tanH not sport = :8080"), 3);
	assert_int_equal(count_rows(st, "ss -tanH ! ( sport = :8080 )"), 3);
	assert_int_equal(count_rows(st, "ss -tanH sport gt :8080"), 2);
	assert_int_equal(count_rows(st, "ss -tanH sport > :8080"), 2);
	assert_int_equal(count_rows(st, "ss -tanH sport >= :8080"), 5);
	assert_int_equal(count_rows(st, "ss -tanH sport lt :8080"), 1);
	assert_int_equal(count_rows(st, "ss -tanH sport le :8080"), 4);
	assert_int_equal(count_rows(st, "ss -tanH dport ge :40002"), 3);
	assert_int_equal(count_rows(st, "ss -tanH dst 10.0.0.3"), 1);
	assert_int_equal(count_rows(st, "ss -tanH dst 10.0.0.0/24"), 5);
	assert_int_equal(count_rows(st, "ss -tanH dst 10.0.0.1:40003"), 1);
	assert_int_equal(count_rows(st, "ss -tanH src 10.0.0.2:*"), 5);
	assert_int_equal(count_rows(st, "ss -tanH src *:8080"), 3);
	assert_int_equal(count_rows(st, "ss -tanH src 0.0.0.0"), 1);
	assert_int_equal(count_rows(st, "ss -tanH src :7070"), 1);
	assert_int_equal(count_rows(st, "ss -tanH autobound"), 1);
	/* A quoted expression arrives as one word and is split on blanks. */
	const char *argv[] = { "ss", "-tnH", "state", "established", "( sport = :8080 )", NULL };
	char *out = NULL, *err = NULL;
	size_t ol, el;
	FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
	assert_int_equal(tern_tool_run(st, 5, (char **)argv, fo, fe), 0);
	fclose(fo);
	fclose(fe);
	assert_int_equal(count_lines(out), 2);
	assert_string_equal(err, "");
	free(out);
	free(err);
	tcp_sim_fini(&w.ts);
}

/* Errors: iproute2's messages and statuses. */
static void test_ss_errors(void **state)
{
	struct twin w;
	(void)state;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;

	expect_fail(st, "ss -tn state foo", 255, "ss: wrong state name: foo\n");
	expect_fail(st, "ss -tn state listen", 255, "ss: wrong state name: listen\n");
	expect_fail(st, "ss -tn state", 255, "Command line is not complete. Try option \"help\"\n");
	expect_fail(st, "ss -tnQ", 255, "ss: invalid option -- 'Q'\nUsage: ss [ OPTIONS ]\n");
	expect_fail(st, "ss --frobnicate", 255, "ss: unrecognized option '--frobnicate'\nUsage: ss");
	expect_fail(st, "ss -tn sport = :abc", 1,
		    "Error: \"abc\" does not look like a port.\nCannot parse dst/src address.\n");
	expect_fail(st, "ss -tn foo", 1,
		    "Error: an inet prefix is expected rather than \"foo\".\nCannot parse dst/src address.\n");
	expect_fail(st, "ss -tn !(sport", 1, "Error: an inet prefix is expected rather than \"!(sport\".");
	expect_fail(st, "ss -tn sport = :8080 state", 1, "Error: \"state\" does not look like a port.");
	expect_fail(st, "ss -tn sport =", 255,
		    "ss: bison bellows (while parsing filter): \"syntax error!\" Sorry.\nUsage: ss");
	expect_fail(st, "ss -tn 10.0.0.1", 255, "ss: bison bellows");
	expect_fail(st, "ss -tn ( sport = :80", 255, "ss: bison bellows");
	expect_fail(st, "ss -tn sport = :80 )", 255, "ss: bison bellows");
	expect_fail(st, "ss -f foo", 255, "ss: \"foo\" is invalid family\nUsage: ss");
	expect_fail(st, "ss -A tcp,foo", 255, "ss: \"foo\" is illegal socket table id\nUsage: ss");
	expect_fail(st, "ss -tp", 1, "ss: option '-p' is not supported by tern\n");
	expect_fail(st, "ss -f", 255, "ss: option requires an argument -- 'f'\n");

	/* Other tables: empty in tern, but the Netid column appears as in ss. */
	expect_out(st, "ss -x", "Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n");
	expect_out(st, "ss -t -f inet6", "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n");
	expect_out(st, "ss -xH", "");
	struct result r = run(st, "ss -ta -A !tcp");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "ss: no socket tables to show with such filter.\n");
	result_free(&r);
	r = run(st, "ss -na");   /* every table: Netid shown, tcp rows */
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "Netid State "));
	assert_non_null(strstr(r.out, "\ntcp   LISTEN "));
	result_free(&r);
	r = run(st, "ss -h");
	assert_int_equal(r.rc, 0);
	assert_true(!strncmp(r.out, "Usage: ss [ OPTIONS ]\n       ss [ OPTIONS ] [ FILTER ]\n", 53));
	result_free(&r);
	tcp_sim_fini(&w.ts);
}

/* ------------------------------------------------------------ nstat */

static void test_nstat(void **state)
{
	struct twin w;
	(void)state;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;

	expect_out(st, "nstat -saz TcpActiveOpens TcpExtListenOverflows",
		   "#kernel\n"
		   "TcpActiveOpens                  1                  0.0\n"
		   "TcpExtListenOverflows           0                  0.0\n");
	/* Kernel order whatever the order asked; globs and case do not matter. */
	expect_out(st, "nstat -saz TcpExtListenOverflows tcpactiveopens",
		   "#kernel\n"
		   "TcpActiveOpens                  1                  0.0\n"
		   "TcpExtListenOverflows           0                  0.0\n");
	expect_out(st, "nstat -saz TcpExtListen*",
		   "#kernel\n"
		   "TcpExtListenOverflows           0                  0.0\n"
		   "TcpExtListenDrops               0                  0.0\n");
	/* Not a prefix match; unknown names and gauges print nothing. */
	expect_out(st, "nstat -saz TcpExtListen", "#kernel\n");
	expect_out(st, "nstat -saz TcpExtNoSuchCounter TcpCurrEstab", "#kernel\n");
	/* Without -z only what is not zero. */
	expect_out(st, "nstat -sa TcpExtListenOverflows TcpActiveOpens",
		   "#kernel\nTcpActiveOpens                  1                  0.0\n");
	/* A wide value widens its column, as printf's %-16 does. */
	struct result r = run(st, "nstat -saz");
	assert_int_equal(r.rc, 0);
	assert_true(!strncmp(r.out, "#kernel\nIpInReceives  ", 22));
	assert_null(strstr(r.out, "TcpCurrEstab"));
	assert_non_null(strstr(r.out, "\nTcpExtTW "));
	/* Kernel groups in the kernel's order; tern's own counters last. */
	char *ip = strstr(r.out, "\nIpInReceives"), *icmp = strstr(r.out, "\nIcmpInMsgs");
	char *tcp = strstr(r.out, "\nTcpActiveOpens"), *ext = strstr(r.out, "\nTcpExtEmbryonicRsts");
	char *ipext = strstr(r.out, "\nIpExtInTruncatedPkts"), *tern = strstr(r.out, "\nTernIpTooShort");
	assert_true(ip && icmp && tcp && ext && ipext && tern);
	assert_true(ip < icmp && icmp < tcp && tcp < ext && ext < ipext && ipext < tern);
	/* TcpExtTW comes early in TcpExt, as in /proc/net/netstat. */
	assert_true(strstr(r.out, "\nTcpExtTW ") < strstr(r.out, "\nTcpExtListenOverflows"));
	result_free(&r);

	expect_out(st, "nstat -saj TcpActiveOpens TcpPassiveOpens",
		   "{\"kernel\":{\"TcpActiveOpens\":1,\"TcpPassiveOpens\":4}}\n");
	expect_out(st, "nstat -sajp TcpActiveOpens TcpPassiveOpens",
		   "{\n    \"kernel\": {\n        \"TcpActiveOpens\": 1,\n"
		   "        \"TcpPassiveOpens\": 4\n    }\n}\n");
	expect_out(st, "nstat -sajp Nothing", "{\n    \"kernel\": {}\n}\n");
	expect_out(st, "nstat -saj Nothing", "{\"kernel\":{}}\n");

	expect_fail(st, "nstat -q", 255, "nstat: invalid option -- 'q'\nUsage: nstat [OPTION]");
	expect_fail(st, "nstat -h", 255, "Usage: nstat [OPTION] [ PATTERN [ PATTERN ] ]\n");
	expect_fail(st, "nstat -d", 255, "nstat: option requires an argument -- 'd'\n");
	expect_fail(st, "nstat -d 5", 1, "nstat: option '-d' (the sampling daemon) is not supported");
	tcp_sim_fini(&w.ts);
}

/* The history: what nstat prints without -a, and what -s, -n, -r do to it. */
static void test_nstat_history(void **state)
{
	struct twin w;
	struct tern_nstat_history h = { .valid = false };
	(void)state;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;
	struct result r;

#define EXPECT_NSTAT(cmd, want)                                  \
	do {                                                     \
		r = run_hist(st, &h, cmd);                       \
		assert_int_equal(r.rc, 0);                       \
		assert_string_equal(r.out, want);                \
		result_free(&r);                                 \
	} while (0)
#define ACTIVE(n) "#kernel\nTcpActiveOpens                  " #n "                  0.0\n"

	EXPECT_NSTAT("nstat TcpActiveOpens", ACTIVE(1));        /* no history: absolute */
	EXPECT_NSTAT("nstat TcpActiveOpens", "#kernel\n");       /* nothing new */
	EXPECT_NSTAT("nstat -z TcpActiveOpens", ACTIVE(0));
	int fd = connector(st, 40011, tern_addr_v4(10, 0, 0, 3), 80);
	(void)fd;
	EXPECT_NSTAT("nstat -s TcpActiveOpens", ACTIVE(1));     /* -s: not saved */
	EXPECT_NSTAT("nstat -a TcpActiveOpens", ACTIVE(2));     /* absolute, saved */
	EXPECT_NSTAT("nstat TcpActiveOpens", "#kernel\n");
	connector(st, 40012, tern_addr_v4(10, 0, 0, 3), 80);
	EXPECT_NSTAT("nstat -n TcpActiveOpens", "");             /* saved, silent */
	EXPECT_NSTAT("nstat -z TcpActiveOpens", ACTIVE(0));
	EXPECT_NSTAT("nstat -rs TcpActiveOpens", ACTIVE(3));    /* forgotten, not saved */
	EXPECT_NSTAT("nstat TcpActiveOpens", ACTIVE(3));
	EXPECT_NSTAT("nstat -z TcpActiveOpens", ACTIVE(0));
#undef EXPECT_NSTAT
#undef ACTIVE
	tcp_sim_fini(&w.ts);
}

/* ------------------------------------------------------------ sysctl */

static void test_sysctl_tool(void **state)
{
	struct tcp_sim ts;
	(void)state;
	tcp_sim_init(&ts, 1, NULL);
	struct tern_stack *st = ts.server;

	expect_out(st, "sysctl net.ipv4.tcp_syncookies", "net.ipv4.tcp_syncookies = 1\n");
	/* A write through the tool changes the live stack. */
	expect_out(st, "sysctl -q -w net.ipv4.tcp_syncookies=2 net.ipv4.tcp_sack=0", "");
	char v[64];
	assert_true(tern_sysctl_get(st, "net.ipv4.tcp_syncookies", v, sizeof(v)) > 0);
	assert_string_equal(v, "2");
	expect_out(st, "sysctl -n net.ipv4.tcp_sack net.ipv4.tcp_syncookies", "0\n2\n");
	expect_out(st, "sysctl -bn net.ipv4.tcp_sack", "0");
	expect_out(st, "sysctl -b net.ipv4.tcp_sack net.ipv4.tcp_syncookies", "02");
	expect_fail(st, "sysctl net.ipv4.nope", 1,
		    "sysctl: cannot stat /proc/sys/net/ipv4/nope: No such file or directory\n");
	expect_fail(st, "sysctl -q -w net.ipv4.nope=1", 1, "sysctl: cannot stat /proc/sys/net/ipv4/nope:");
	expect_fail(st, "sysctl -w net.ipv4.tcp_syncookies=7", 1,
		    "sysctl: setting key \"net.ipv4.tcp_syncookies\": Invalid argument\n");
	expect_fail(st, "sysctl -w", 1, "sysctl: no variables specified\n"
					"Try `sysctl --help' for more information.\n");
	expect_fail(st, "sysctl", 1, "\nUsage:\n sysctl [options] [variable[=value] ...]\n");
	/* procps answers a bad option with its help on stdout and status 0. */
	struct result r = run(st, "sysctl -Q");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "sysctl: invalid option -- 'Q'\n");
	assert_true(!strncmp(r.out, "\nUsage:\n sysctl [options]", strlen("\nUsage:\n sysctl [options]")));
	result_free(&r);
	r = run(st, "sysctl -p");
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.err, "sysctl: option '-p' is not supported by tern\n");
	result_free(&r);
	/* The tool must match the name. */
	r = run(st, "netstat -s");
	assert_int_equal(r.rc, 127);
	assert_non_null(strstr(r.err, "'netstat' is not a tool"));
	result_free(&r);
	tcp_sim_fini(&ts);
}

/* ------------------------------------------------------------ the control socket */

static void tmp_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("TERN_TEST_TMPDIR");
	if (!dir || strlen(dir) > 60)
		dir = "/tmp";
	snprintf(buf, len, "%s/%s.%d", dir, name, (int)getpid());
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads an answer; returns the status, or -1000 if the server just closed. */
static int read_answer(int fd, char *out, size_t outcap, char *err, size_t errcap)
{
	uint8_t buf[65536];
	size_t n = 0;
	ssize_t k;
	while ((k = read(fd, buf + n, sizeof(buf) - n)) > 0)
		n += (size_t)k;
	if (n == 0)
		return -1000;
	assert_true(n >= 12);
	uint32_t status = buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24;
	uint32_t ol = buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t)buf[7] << 24;
	assert_true(8 + ol + 4 <= n && ol < outcap);
	memcpy(out, buf + 8, ol);
	out[ol] = '\0';
	uint8_t *e = buf + 8 + ol;
	uint32_t el = e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24;
	assert_true(12 + ol + el == n && el < errcap);
	memcpy(err, e + 4, el);
	err[el] = '\0';
	return (int)status;
}

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Requests made by hand: a good one, and every kind of bad one. */
static void test_ctl_protocol(void **state)
{
	struct tcp_sim ts;
	struct tern_ctl_server *srv;
	char path[128], out[4096], err[4096];
	uint8_t req[256];
	(void)state;

	tcp_sim_init(&ts, 1, NULL);
	tmp_path(path, sizeof(path), "ctl");
	assert_int_equal(tern_ctl_listen(path, &srv), 0);
	assert_true(tern_ctl_fd(srv) >= 0);

	/* A second server on a live socket is refused; a plain file is not replaced. */
	struct tern_ctl_server *other;
	assert_int_equal(tern_ctl_listen(path, &other), -EADDRINUSE);
	char file[160];
	tmp_path(file, sizeof(file), "ctl-file");
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(tern_ctl_listen(file, &other), -EEXIST);
	unlink(file);
	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(tern_ctl_listen(longp, &other), -ENAMETOOLONG);

	/* Nothing pending: serve returns at once. */
	int64_t t0 = mono_ms();
	tern_ctl_serve(srv, ts.server);
	assert_true(mono_ms() - t0 < 100);

	/* A good request: "sysctl -n net.ipv4.tcp_sack". */
	const char *words[] = { "sysctl", "-n", "net.ipv4.tcp_sack" };
	size_t n = 4;
	put32(req, 3);
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(words[i]) + 1;
		put32(req + n, (uint32_t)len);
		memcpy(req + n + 4, words[i], len);
		n += 4 + len;
	}
	int fd = ctl_connect(path);
	assert_int_equal(write(fd, req, n), (ssize_t)n);
	tern_ctl_serve(srv, ts.server);
	assert_int_equal(read_answer(fd, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "1\n");
	assert_string_equal(err, "");
	close(fd);

	/* Malformed requests: an error answer or a closed connection, never a
	 * crash, and the server keeps serving. */
	struct { const char *what; uint8_t bytes[32]; size_t len; } bad[] = {
		{ "argc 0", { 0, 0, 0, 0 }, 4 },
		{ "argc huge", { 0xff, 0xff, 0xff, 0x7f }, 4 },
		{ "length 0", { 1, 0, 0, 0, 0, 0, 0, 0 }, 8 },
		{ "length huge", { 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, 8 },
		{ "no NUL", { 1, 0, 0, 0, 2, 0, 0, 0, 's', 's' }, 10 },
		{ "inner NUL", { 1, 0, 0, 0, 3, 0, 0, 0, 's', 0, 0 }, 11 },
		{ "truncated", { 2, 0, 0, 0, 3, 0, 0, 0, 's', 's', 0 }, 11 },
		{ "short header", { 1, 0 }, 2 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = ctl_connect(path);
		assert_int_equal(write(fd, bad[i].bytes, bad[i].len), (ssize_t)bad[i].len);
		shutdown(fd, SHUT_WR);
		tern_ctl_serve(srv, ts.server);
		int rc = read_answer(fd, out, sizeof(out), err, sizeof(err));
		if (rc != -1000) {
			assert_int_equal(rc, 2);
			if (!strstr(err, "malformed control request")) {
				print_error("%s: %s\n", bad[i].what, err);
				fail();
			}
		}
		close(fd);
	}

	/* A client that connects and says nothing holds serve only briefly. */
	int silent = ctl_connect(path);
	t0 = mono_ms();
	tern_ctl_serve(srv, ts.server);
	assert_true(mono_ms() - t0 < 1500);
	close(silent);

	/* Still answering. */
	fd = ctl_connect(path);
	assert_int_equal(write(fd, req, n), (ssize_t)n);
	tern_ctl_serve(srv, ts.server);
	assert_int_equal(read_answer(fd, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "1\n");
	close(fd);

	tern_ctl_close(srv);
	struct stat sb;
	assert_int_equal(stat(path, &sb), -1);   /* the socket file is gone */
	tern_ctl_close(NULL);
	tcp_sim_fini(&ts);
}

/* Runs `shim args...` with TERN_CTL=ctl (NULL: unset) while serving `srv` for `st`;
 * returns the exit status and the two outputs. */
static int run_shim(const char *shim, char *const argv[], const char *ctl, struct tern_ctl_server *srv,
		    struct tern_stack *st, char *out, size_t outcap, char *err, size_t errcap)
{
	int po[2], pe[2];
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		if (ctl)
			setenv("TERN_CTL", ctl, 1);
		else
			unsetenv("TERN_CTL");
		execv(shim, argv);
		_exit(126);
	}
	close(po[1]);
	close(pe[1]);
	size_t on = 0, en = 0;
	bool oopen = true, eopen = true;
	int64_t deadline = mono_ms() + 20000;
	while ((oopen || eopen) && mono_ms() < deadline) {
		struct pollfd p[3] = {
			{ .fd = oopen ? po[0] : -1, .events = POLLIN },
			{ .fd = eopen ? pe[0] : -1, .events = POLLIN },
			{ .fd = srv ? tern_ctl_fd(srv) : -1, .events = POLLIN },
		};
		if (poll(p, 3, 100) < 0)
			continue;
		if (p[2].revents & POLLIN)
			tern_ctl_serve(srv, st);
		if (p[0].revents) {
			ssize_t k = read(po[0], out + on, outcap - 1 - on);
			if (k <= 0)
				oopen = false;
			else
				on += (size_t)k;
		}
		if (p[1].revents) {
			ssize_t k = read(pe[0], err + en, errcap - 1 - en);
			if (k <= 0)
				eopen = false;
			else
				en += (size_t)k;
		}
	}
	out[on] = '\0';
	err[en] = '\0';
	close(po[0]);
	close(pe[0]);
	int status;
	if (oopen || eopen)
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The real thing: the tern binary, started as ss/nstat/sysctl through the links
 * `tern shims` makes, talks to a server in this process. */
static void test_ctl_shims_end_to_end(void **state)
{
	const char *bin = getenv("TERN_BIN");
	(void)state;
	if (!bin || access(bin, X_OK) != 0)
		skip();

	struct twin w;
	twin_build(&w);
	struct tern_stack *st = w.ts.server;
	char dir[160], ctl[160], shim[200], out[16384], err[4096];
	tmp_path(dir, sizeof(dir), "shims");
	tmp_path(ctl, sizeof(ctl), "shimctl");
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	assert_int_equal(tern_ctl_make_shims(dir, bin), 0);
	assert_int_equal(tern_ctl_make_shims(dir, bin), 0);     /* again: links replaced */
	struct tern_ctl_server *srv;
	assert_int_equal(tern_ctl_listen(ctl, &srv), 0);

	/* ss: byte for byte what the tool prints in process. */
	snprintf(shim, sizeof(shim), "%s/ss", dir);
	char *ss_argv[] = { "ss", "-tan", NULL };
	assert_int_equal(run_shim(shim, ss_argv, ctl, srv, st, out, sizeof(out), err, sizeof(err)), 0);
	struct result direct = run(st, "ss -tan");
	assert_string_equal(out, direct.out);
	assert_string_equal(err, "");
	result_free(&direct);

	/* An error keeps its text and status. */
	char *bad_argv[] = { "ss", "-tn", "state", "foo", NULL };
	assert_int_equal(run_shim(shim, bad_argv, ctl, srv, st, out, sizeof(out), err, sizeof(err)), 255);
	assert_string_equal(out, "");
	assert_string_equal(err, "ss: wrong state name: foo\n");

	/* nstat keeps its history in the server: the second run shows no change. */
	snprintf(shim, sizeof(shim), "%s/nstat", dir);
	char *ns_argv[] = { "nstat", "TcpActiveOpens", NULL };
	assert_int_equal(run_shim(shim, ns_argv, ctl, srv, st, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "#kernel\nTcpActiveOpens                  1                  0.0\n");
	assert_int_equal(run_shim(shim, ns_argv, ctl, srv, st, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "#kernel\n");

	/* sysctl -w through the shim sets the live stack's knob. */
	snprintf(shim, sizeof(shim), "%s/sysctl", dir);
	char *sy_argv[] = { "sysctl", "-w", "net.ipv4.tcp_fin_timeout=17", NULL };
	assert_int_equal(run_shim(shim, sy_argv, ctl, srv, st, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "net.ipv4.tcp_fin_timeout = 17\n");
	char v[32];
	assert_true(tern_sysctl_get(st, "net.ipv4.tcp_fin_timeout", v, sizeof(v)) > 0);
	assert_string_equal(v, "17");

	/* `tern ss ARGS` forwards like the shim. */
	char *tern_argv[] = { "tern", "ss", "-ltnH", NULL };
	assert_int_equal(run_shim(bin, tern_argv, ctl, srv, st, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "LISTEN 2      10     0.0.0.0:8080 0.0.0.0:*\n");

	/* `tern shims DIR` makes the links to the binary itself. */
	char dir2[200], link[300], target[4096], real[4096];
	snprintf(dir2, sizeof(dir2), "%s.cli", dir);
	char *shims_argv[] = { "tern", "shims", dir2, NULL };
	assert_int_equal(run_shim(bin, shims_argv, NULL, NULL, st, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_non_null(realpath(bin, real));
	for (int i = 0; i < 3; i++) {
		const char *nm[] = { "ss", "nstat", "sysctl" };
		snprintf(link, sizeof(link), "%s/%s", dir2, nm[i]);
		ssize_t tl = readlink(link, target, sizeof(target) - 1);
		assert_true(tl > 0);
		target[tl] = '\0';
		assert_string_equal(target, real);
		unlink(link);
	}
	rmdir(dir2);
	char *noargs[] = { "tern", "shims", NULL };
	assert_int_equal(run_shim(bin, noargs, NULL, NULL, st, out, sizeof(out), err, sizeof(err)), 2);
	assert_non_null(strstr(err, "usage: tern shims DIR"));

	/* No instance: unset, or nobody at the path. */
	snprintf(shim, sizeof(shim), "%s/ss", dir);
	assert_int_equal(run_shim(shim, ss_argv, NULL, NULL, st, out, sizeof(out), err, sizeof(err)), 1);
	assert_non_null(strstr(err, "tern: no tern instance"));
	tern_ctl_close(srv);
	assert_int_equal(run_shim(shim, ss_argv, ctl, NULL, st, out, sizeof(out), err, sizeof(err)), 1);
	assert_non_null(strstr(err, "tern: no tern instance at "));
	assert_string_equal(out, "");

	const char *names[] = { "ss", "nstat", "sysctl" };
	for (int i = 0; i < 3; i++) {
		snprintf(shim, sizeof(shim), "%s/%s", dir, names[i]);
		unlink(shim);
	}
	rmdir(dir);
	tcp_sim_fini(&w.ts);
}

/* ------------------------------------------------------------ --emit */

static int emit(const char *dir, int ncmd, char **cmds)
{
	struct twin w;
	twin_build(&w);
	for (int i = 0; i < ncmd; i++) {
		struct result r = run(w.ts.server, cmds[i]);
		char path[4096];
		const char *parts[3][2] = { { "out", r.out }, { "err", r.err }, { "rc", NULL } };
		for (int k = 0; k < 3; k++) {
			snprintf(path, sizeof(path), "%s/%d.%s", dir, i, parts[k][0]);
			FILE *f = fopen(path, "w");
			if (!f) {
				perror(path);
				return 1;
			}
			if (parts[k][1])
				fputs(parts[k][1], f);
			else
				fprintf(f, "%d\n", r.rc);
			fclose(f);
		}
		result_free(&r);
	}
	tcp_sim_fini(&w.ts);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--emit"))
		return emit(argv[2], argc - 3, argv + 3);

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ss_listener),
		cmocka_unit_test(test_ss_situation),
		cmocka_unit_test(test_ss_timer_column),
		cmocka_unit_test(test_ss_expressions),
		cmocka_unit_test(test_ss_errors),
		cmocka_unit_test(test_nstat),
		cmocka_unit_test(test_nstat_history),
		cmocka_unit_test(test_sysctl_tool),
		cmocka_unit_test(test_ctl_protocol),
		cmocka_unit_test(test_ctl_shims_end_to_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
