/*
 * tools/tunhost.c: a tern host on a TUN device for `tern serve` and `tern connect`
 * (tools/tunhost.h): options, the network namespace, the control socket, the
 * capture, signals, and the loop around tern_tun_poll.
 *
 * The namespace. With --netns NAME the command runs `ip netns add NAME` (iproute2
 * makes the namespace persistent by bind-mounting it under /run/netns, which is
 * also what `ip netns exec` looks for), moves this process into it with setns(2),
 * and only then creates the TUN device, so the device, the kernel's address on
 * it and its route all exist only inside NAME. Nothing tern sends can reach any
 * other network: the namespace has no interface but `lo` and the device. On the
 * way out the device closes with its descriptor and `ip netns del NAME` removes
 * the name; the namespace itself dies with the last process in it. A namespace
 * that already exists is refused, never reused or removed: it is not ours.
 *
 * Signals. SIGINT, SIGTERM and SIGHUP are blocked from the very start and read
 * from a signalfd in the loop, so a Ctrl-C at any moment (even during setup)
 * becomes an orderly stop that removes what was created. Children (ip) get the
 * ordinary mask back before exec.
 *
 * The control socket works across namespaces: a unix socket bound to a path is
 * reached through the file system, which the namespace does not change, so
 * `TERN_CTL=PATH tern ss` works from anywhere. The same socket serves `tern trace`
 * and `tern pcap`: the tap that feeds --pcap also hands every datagram to the
 * control server's stream subscribers (tools/ctl.h), stamped with wall-clock time.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "tern/errors.h"
#include "tern/sysctl.h"
#include "tunhost.h"

/* How soon the loop comes back to a stream subscriber with data still to take. */
#define TUNHOST_FLUSH_NS (5 * 1000 * 1000)

/* Longest --duration taken: a year. */
#define MAX_DURATION_S (366.0 * 86400)

const char tunhost_usage[] =
	"  --dev NAME          TUN device name (default tern0)\n"
	"  --addr A.B.C.D      tern's address (default 192.0.2.2)\n"
	"  --peer A.B.C.D      the kernel's address on the device (default 192.0.2.1)\n"
	"  --netns NAME        create network namespace NAME for the device and remove it\n"
	"                      on exit; run clients with `ip netns exec NAME ...`\n"
	"  --ctl PATH          control socket for `TERN_CTL=PATH tern ss|nstat|sysctl`\n"
	"                      (default $XDG_RUNTIME_DIR or /run, tern-NETNS|DEV.ctl;\n"
	"                      'none' for no socket)\n"
	"  --pcap FILE         capture every datagram to FILE (pcap, LINKTYPE_RAW)\n"
	"  --sysctl NAME=VAL   set a knob before starting (repeatable)\n"
	"  --mtu N             device and stack MTU, 576..65535 (default 1500)\n"
	"  --duration SECONDS  stop after this long\n"
	"  --no-offload        no TSO or checksum offload on the device (plain\n"
	"                      MTU-sized datagrams both ways)\n"
	"  --no-gro            with offloads, cut the kernel's TSO packets into their\n"
	"                      segments before the stack sees them (a host without\n"
	"                      GRO: an ACK for every second segment)\n"
	"  --verbose           print the stack's log\n";

void tunhost_opts_init(struct tunhost_opts *o)
{
	*o = (struct tunhost_opts){ .dev = "tern0", .mtu = 1500 };
	o->addr = tern_addr_v4(192, 0, 2, 2);
	o->peer = tern_addr_v4(192, 0, 2, 1);
}

/* A name that is safe as a file name under /run/netns and as an argument to ip. */
static bool good_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* A unicast address a host may own: not 0/8, loopback, multicast or broadcast. */
static bool good_host_addr(const struct tern_addr *a)
{
	uint32_t v = a->u.v4;
	return (v >> 24) != 0 && (v >> 24) != 127 && (v >> 28) != 0xe && v != 0xffffffffu;
}

int tunhost_option(struct tunhost_opts *o, const char *prog, int key, const char *arg)
{
	char *end;
	switch (key) {
	case TUNHOST_OPT_DEV:
		if (!good_name(arg, IFNAMSIZ - 1)) {
			fprintf(stderr, "%s: bad device name '%s' (1-%d of [A-Za-z0-9_.-])\n", prog, arg,
				IFNAMSIZ - 1);
			return -1;
		}
		o->dev = arg;
		return 0;
	case TUNHOST_OPT_ADDR:
	case TUNHOST_OPT_PEER: {
		struct tern_addr a;
		const char *what = key == TUNHOST_OPT_ADDR ? "--addr" : "--peer";
		if (tern_addr_parse(arg, &a) < 0 || !good_host_addr(&a)) {
			fprintf(stderr, "%s: %s: '%s' is not a unicast IPv4 address\n", prog, what, arg);
			return -1;
		}
		*(key == TUNHOST_OPT_ADDR ? &o->addr : &o->peer) = a;
		return 0;
	}
	case TUNHOST_OPT_NETNS:
		if (!good_name(arg, 64)) {
			fprintf(stderr, "%s: bad namespace name '%s' (1-64 of [A-Za-z0-9_.-])\n", prog, arg);
			return -1;
		}
		o->netns = arg;
		return 0;
	case TUNHOST_OPT_CTL:
		if (!*arg || strlen(arg) >= sizeof(((struct tunhost *)0)->ctl_path)) {
			fprintf(stderr, "%s: --ctl: bad path '%s'\n", prog, arg);
			return -1;
		}
		o->ctl = arg;
		return 0;
	case TUNHOST_OPT_PCAP:
		if (!*arg) {
			fprintf(stderr, "%s: --pcap: empty file name\n", prog);
			return -1;
		}
		o->pcap = arg;
		return 0;
	case TUNHOST_OPT_DURATION: {
		errno = 0;
		double d = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(d) || d <= 0 || d > MAX_DURATION_S) {
			fprintf(stderr, "%s: --duration: '%s' is not a number of seconds in (0, %.0f]\n", prog,
				arg, MAX_DURATION_S);
			return -1;
		}
		o->duration_s = d;
		return 0;
	}
	case TUNHOST_OPT_SYSCTL:
		if (!strchr(arg, '=') || arg[0] == '=') {
			fprintf(stderr, "%s: --sysctl: '%s' is not NAME=VALUE\n", prog, arg);
			return -1;
		}
		if (o->nsysctl == TUNHOST_MAX_SYSCTL) {
			fprintf(stderr, "%s: --sysctl: at most %d of them\n", prog, TUNHOST_MAX_SYSCTL);
			return -1;
		}
		o->sysctl[o->nsysctl++] = arg;
		return 0;
	case TUNHOST_OPT_MTU: {
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < 576 || v > 65535) {
			fprintf(stderr, "%s: --mtu: '%s' is not in 576..65535\n", prog, arg);
			return -1;
		}
		o->mtu = (uint32_t)v;
		return 0;
	}
	case TUNHOST_OPT_VERBOSE:
		o->verbose++;
		return 0;
	case TUNHOST_OPT_NO_OFFLOAD:
		o->no_offload = true;
		return 0;
	case TUNHOST_OPT_NO_GRO:
		o->no_gro = true;
		return 0;
	default:
		return -1;
	}
}

/* ------------------------------------------------------------ running ip(8) */

/* Runs `ip ARGS...` with the ordinary signal mask. 0 on success; else -1 with
 * the first line ip printed on stderr copied into `why`. */
static int run_ip(char *const argv[], char *why, size_t why_len)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(why, why_len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(why, why_len, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(pipefd[1], STDERR_FILENO);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp("ip", argv);
		fprintf(stderr, "cannot run ip: %s\n", strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	char buf[512];
	size_t got = 0;
	for (;;) {
		ssize_t n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got);
		if (n > 0 && (got += (size_t)n) < sizeof(buf) - 1)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	close(pipefd[0]);
	buf[got] = '\0';
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(why, why_len, "%.200s", got ? buf : "ip failed");
	return -1;
}

static int netns_create(struct tunhost *h)
{
	char why[256], path[128];
	char *add[] = { "ip", "netns", "add", (char *)h->o.netns, NULL };

	if (run_ip(add, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: cannot create network namespace %s: %s\n", h->prog, h->o.netns, why);
		return -1;
	}
	h->netns_made = true;
	snprintf(path, sizeof(path), "/run/netns/%s", h->o.netns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "%s: cannot enter network namespace %s: %s\n", h->prog, h->o.netns,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void netns_remove(struct tunhost *h)
{
	char why[256];
	char *del[] = { "ip", "netns", "del", (char *)h->o.netns, NULL };

	if (!h->netns_made)
		return;
	h->netns_made = false;
	if (run_ip(del, why, sizeof(why)) < 0)
		fprintf(stderr, "%s: cannot remove network namespace %s: %s\n", h->prog, h->o.netns, why);
}

/* The namespace's loopback starts down; clients in it expect it up. */
static void loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

/* ------------------------------------------------------------ callbacks */

static void on_log(void *ctx, int level, const char *msg)
{
	struct tunhost *h = ctx;
	if (level <= TERN_LOG_WARNING || h->o.verbose)
		fprintf(stderr, "%s: stack: %s\n", h->prog, msg);
}

static void on_tap(void *ctx, tern_time now, bool out, const uint8_t *pkt, size_t len)
{
	struct tunhost *h = ctx;
	tern_ctl_publish(h->ctl, (uint64_t)(now + h->wall_offset), out, pkt, len);
	if (h->pcap && tern_pcap_write(h->pcap, now + h->wall_offset, pkt, len) < 0) {
		fprintf(stderr, "%s: capture stopped: cannot write %s\n", h->prog, h->o.pcap);
		tern_pcap_close(h->pcap);
		h->pcap = NULL;
	}
}

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct tunhost *h = ctx;
	struct signalfd_siginfo si;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		h->stop = true;
		h->stop_signal = (int)si.ssi_signo;
	}
}

static void on_ctl(void *ctx, int fd, uint32_t events)
{
	struct tunhost *h = ctx;
	(void)fd, (void)events;
	tern_ctl_serve(h->ctl, h->st);
}

/* ------------------------------------------------------------ start and finish */

static const char *tun_hint(int err)
{
	switch (-err) {
	case EPERM:
	case EACCES:
		return " (needs root or CAP_NET_ADMIN)";
	case ENOENT:
	case ENODEV:
		return " (no /dev/net/tun: is the tun module loaded?)";
	case EBUSY:
		return " (the name is taken)";
	case EEXIST:
		return " (an address or route is already there)";
	default:
		return "";
	}
}

static int start_ctl(struct tunhost *h)
{
	if (h->o.ctl && !strcmp(h->o.ctl, "none"))
		return 0;
	if (h->o.ctl) {
		snprintf(h->ctl_path, sizeof(h->ctl_path), "%s", h->o.ctl);
	} else {
		const char *dir = getenv("XDG_RUNTIME_DIR");
		if (!dir || !*dir)
			dir = "/run";
		int n = snprintf(h->ctl_path, sizeof(h->ctl_path), "%s/tern-%s.ctl", dir,
				 h->o.netns ? h->o.netns : tern_tun_ifname(h->tun));
		if (n < 0 || (size_t)n >= sizeof(h->ctl_path)) {
			fprintf(stderr, "%s: warning: no control socket (path too long)\n", h->prog);
			h->ctl_path[0] = '\0';
			return 0;
		}
	}
	int rc = tern_ctl_listen(h->ctl_path, &h->ctl);
	tern_ctl_allow_streams(h->ctl);
	if (rc == 0)
		rc = tern_tun_watch(h->tun, tern_ctl_fd(h->ctl), EPOLLIN, on_ctl, h);
	if (rc == 0)
		return 0;
	if (h->o.ctl) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", h->prog, h->ctl_path, tern_strerror(rc));
		return -1;
	}
	fprintf(stderr, "%s: warning: no control socket at %s: %s\n", h->prog, h->ctl_path,
		tern_strerror(rc));
	tern_ctl_close(h->ctl);
	h->ctl = NULL;
	h->ctl_path[0] = '\0';
	return 0;
}

int tunhost_start(struct tunhost *h, const char *prog, const struct tunhost_opts *o)
{
	memset(h, 0, sizeof(*h));
	h->prog = prog;
	h->o = *o;
	h->sigfd = -1;

	if (tern_addr_eq(&o->addr, &o->peer)) {
		fprintf(stderr, "%s: --addr and --peer must differ\n", prog);
		return -1;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	h->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (h->sigfd < 0) {
		fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
		goto fail;
	}

	if (o->netns && netns_create(h) < 0)
		goto fail;

	/* The tap feeds the capture and the control socket's streams; without either
	 * the datagrams need not pass through it. */
	bool tapped = o->pcap || !(o->ctl && !strcmp(o->ctl, "none"));
	struct tern_tun_config tc = {
		.ifname = o->dev, .addr = o->addr, .peer = o->peer, .mtu = o->mtu,
		.log = on_log, .log_ctx = h, .tap = tapped ? on_tap : NULL, .tap_ctx = h,
		.no_offload = o->no_offload, .no_gro = o->no_gro,
	};
	int rc = tern_tun_create(&tc, &h->tun);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot set up TUN device %s: %s%s\n", prog, o->dev, tern_strerror(rc),
			tun_hint(rc));
		goto fail;
	}
	h->st = tern_tun_stack(h->tun);
	if (o->netns)
		loopback_up();

	for (int i = 0; i < o->nsysctl; i++) {
		char name[128];
		const char *eq = strchr(o->sysctl[i], '=');
		size_t nlen = (size_t)(eq - o->sysctl[i]);
		if (nlen >= sizeof(name)) {
			fprintf(stderr, "%s: --sysctl: unknown knob '%.*s'\n", prog, (int)nlen, o->sysctl[i]);
			goto fail;
		}
		memcpy(name, o->sysctl[i], nlen);
		name[nlen] = '\0';
		rc = tern_sysctl_set(h->st, name, eq + 1);
		if (rc == -TERN_ENOENT) {
			fprintf(stderr, "%s: --sysctl: unknown knob '%s'\n", prog, name);
			goto fail;
		}
		if (rc < 0) {
			fprintf(stderr, "%s: --sysctl: bad value '%s' for %s\n", prog, eq + 1, name);
			goto fail;
		}
	}

	if (start_ctl(h) < 0)
		goto fail;
	rc = tern_tun_watch(h->tun, h->sigfd, EPOLLIN, on_signal, h);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot watch signals: %s\n", prog, tern_strerror(rc));
		goto fail;
	}
	if (o->pcap) {
		rc = tern_pcap_open(o->pcap, &h->pcap);
		if (rc < 0) {
			fprintf(stderr, "%s: cannot create %s: %s\n", prog, o->pcap, tern_strerror(rc));
			goto fail;
		}
	}
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	h->start = tern_tun_clock();
	h->wall_offset = (tern_time)rt.tv_sec * TERN_NS_PER_SEC + rt.tv_nsec - h->start;
	h->until = o->duration_s > 0 ? h->start + (tern_time)(o->duration_s * 1e9) : TERN_TIME_NEVER;
	return 0;
fail:
	tunhost_finish(h);
	return -1;
}

bool tunhost_poll(struct tunhost *h)
{
	return tunhost_poll_until(h, TERN_TIME_NEVER);
}

bool tunhost_poll_until(struct tunhost *h, tern_time wake)
{
	if (h->stop)
		return false;
	/* `tern trace`/`tern pcap` subscribers that could not take everything at once
	 * get another chance soon, without ever making the stack wait for them. */
	if (tern_ctl_flush(h->ctl)) {
		tern_time soon = tern_tun_clock() + TUNHOST_FLUSH_NS;
		if (soon < wake)
			wake = soon;
	}
	int rc = tern_tun_poll(h->tun, wake < h->until ? wake : h->until);
	if (rc < 0) {
		fprintf(stderr, "%s: the device failed: %s\n", h->prog, tern_strerror(rc));
		h->stop = true;
		return false;
	}
	if (h->until != TERN_TIME_NEVER && tern_tun_clock() >= h->until)
		h->stop = true;
	return !h->stop;
}

void tunhost_finish(struct tunhost *h)
{
	if (h->pcap && tern_pcap_close(h->pcap) < 0)
		fprintf(stderr, "%s: error writing %s\n", h->prog, h->o.pcap);
	h->pcap = NULL;
	tern_ctl_close(h->ctl);
	h->ctl = NULL;
	tern_tun_destroy(h->tun);
	h->tun = NULL;
	h->st = NULL;
	netns_remove(h);
	if (h->sigfd >= 0)
		close(h->sigfd);
	h->sigfd = -1;
}
