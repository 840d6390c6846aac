/*
 * sysctl/table.h: the one list of tern's knobs (an X-macro; no include guard).
 *
 * Every knob is one line here and nowhere else: the storage struct (st->sys), the
 * lookup table behind tern_sysctl_*, the defaults and docs/sysctl.md are all expanded
 * from it. An includer defines three macros, includes this file, and gets them
 * #undef'd again at the end:
 *
 *   TERN_KNOB(name, field, unit, min, max, default, doc)
 *       one integer
 *   TERN_KNOB_VEC(name, field, count, unit, min, max, flags, (defaults...), doc)
 *       `count` integers, each within [min, max]; flags: TERN_KNOB_ASCENDING
 *       (each value at least the one before it)
 *   TERN_KNOB_WORDS(name, field, default word, (words...), doc)
 *       one of a fixed list of words, stored as the word's index; the index enums
 *       live in sysctl/sysctl.h and must follow the list's order
 *
 * `field` is the knob's last path component (st->sys.tcp_syncookies). Names use
 * Linux's spelling; knobs Linux lacks live under "tern.". Entries are kept in byte
 * order of their names, the order in which sysctl -a lists /proc/sys.
 *
 * Defaults are Linux 6.x's: those the spec records (docs: spec §9, §13.15) as
 * measured on 6.18, the rest from net/ipv4/tcp_ipv4.c tcp_sk_init() and
 * Documentation/networking/ip-sysctl.rst. Bounds are Linux's where its handler
 * enforces them (proc_dou8vec_minmax and friends). Where Linux only limits a knob by
 * its storage type or not at all, tern allows the values that have a meaning and
 * the doc line says "tern bound".
 *
 * Memory-derived defaults. Linux sizes three limits from the established-hash size,
 * which it picks at boot as about one bucket per 128 KiB of RAM, rounded up to a
 * power of two and capped at 524288. tern models a 24 GiB host (the reference
 * machine): 24 GiB / 128 KiB = 196608, rounded up to 262144 buckets. From it:
 * tcp_max_tw_buckets = tcp_max_orphans = buckets / 2, and
 * tcp_max_syn_backlog = max(128, buckets / 128) (spec §9).
 */

#ifndef TERN_SYSCTL_TABLE_CONSTANTS
#define TERN_SYSCTL_TABLE_CONSTANTS
#define TERN_KNOB_ASCENDING 1u

#define TERN_KNOB_INT_MAX  2147483647LL   /* INT_MAX: Linux stores these as int */
#define TERN_KNOB_UINT_MAX 4294967295LL   /* UINT_MAX: tcp_notsent_lowat is unsigned */
/* Seconds knobs Linux keeps in jiffies refuse values whose jiffies overflow an
 * int: INT_MAX / HZ. tern uses the HZ=1000 ceiling. */
#define TERN_KNOB_SEC_MAX  (TERN_KNOB_INT_MAX / 1000)
/* Linux's socket-buffer floors, SOCK_MIN_RCVBUF and SOCK_MIN_SNDBUF on x86-64:
 * 2048 + sizeof(struct sk_buff) rounded to a cache line (256), and twice that. */
#define TERN_KNOB_MIN_RCVBUF 2304
#define TERN_KNOB_MIN_SNDBUF 4608
/* Established-hash buckets of the modelled 24 GiB host (see above). */
#define TERN_KNOB_EHASH_BUCKETS 262144
#define TERN_KNOB_HALF_EHASH (TERN_KNOB_EHASH_BUCKETS / 2)
#define TERN_KNOB_SYN_BACKLOG \
	(TERN_KNOB_EHASH_BUCKETS / 128 > 128 ? TERN_KNOB_EHASH_BUCKETS / 128 : 128)
#endif

TERN_KNOB("net.core.netdev_max_backlog", netdev_max_backlog, "count", 1, TERN_KNOB_INT_MAX, 1000,
	"Packets the input queue holds before dropping; Linux admits a packet while the queue is at most this long, so one more fits (tern bound: at least 1)")
TERN_KNOB("net.core.rmem_default", rmem_default, "bytes", TERN_KNOB_MIN_RCVBUF, TERN_KNOB_INT_MAX, 212992,
	"Receive buffer a non-TCP socket starts with; TCP uses tcp_rmem[1] instead")
TERN_KNOB("net.core.rmem_max", rmem_max, "bytes", TERN_KNOB_MIN_RCVBUF, TERN_KNOB_INT_MAX, 212992,
	"Largest receive buffer SO_RCVBUF may ask for (the socket gets twice the request, as in Linux)")
TERN_KNOB("net.core.somaxconn", somaxconn, "count", 0, TERN_KNOB_INT_MAX, 4096,
	"Ceiling on a listen() backlog; the effective backlog is min(backlog, somaxconn) (4096 since Linux 5.4)")
TERN_KNOB("net.core.wmem_default", wmem_default, "bytes", TERN_KNOB_MIN_SNDBUF, TERN_KNOB_INT_MAX, 212992,
	"Send buffer a non-TCP socket starts with; TCP uses tcp_wmem[1] instead")
TERN_KNOB("net.core.wmem_max", wmem_max, "bytes", TERN_KNOB_MIN_SNDBUF, TERN_KNOB_INT_MAX, 212992,
	"Largest send buffer SO_SNDBUF may ask for (the socket gets twice the request, as in Linux)")
TERN_KNOB("net.ipv4.ip_default_ttl", ip_default_ttl, "count", 1, 255, 64,
	"TTL of datagrams the host originates")
TERN_KNOB_VEC("net.ipv4.ip_local_port_range", ip_local_port_range, 2, "", 1024, 65535, TERN_KNOB_ASCENDING, (32768, 60999),
	"First and last port for automatic binding (connect, bind to port 0); the last must not be below the first, and the first not below 1024 (Linux's ip_unprivileged_port_start)")
TERN_KNOB("net.ipv4.ip_no_pmtu_disc", ip_no_pmtu_disc, "", 0, 3, 0,
	"0: path MTU discovery (DF set); 1: no DF, and fragmentation-needed drops the path MTU to min_pmtu; 2: as 1 but such ICMPs are ignored; 3: honour them only for protocols that can check them")
TERN_KNOB("net.ipv4.tcp_abort_on_overflow", tcp_abort_on_overflow, "bool", 0, 1, 0,
	"Answer a handshake-completing ACK with RST when the accept queue is full, instead of dropping it and letting the SYN-ACK be resent (tern bound)")
TERN_KNOB("net.ipv4.tcp_adv_win_scale", tcp_adv_win_scale, "", -31, 31, 1,
	"Share of the receive buffer counted as overhead: buffer/2^n when n > 0, buffer - buffer/2^-n otherwise")
TERN_KNOB("net.ipv4.tcp_app_win", tcp_app_win, "", 0, 31, 31,
	"Keep max(window/2^n, MSS) of the window for the application's buffer; 0 keeps nothing back")
TERN_KNOB("net.ipv4.tcp_autocorking", tcp_autocorking, "bool", 0, 1, 1,
	"Hold back small writes while an earlier segment of the flow still waits to leave the host, so they can be merged")
TERN_KNOB("net.ipv4.tcp_base_mss", tcp_base_mss, "bytes", 48, 65535, 1024,
	"MSS that packetization-layer PMTU probing starts its search from (tern bound: tcp_min_snd_mss's range)")
TERN_KNOB("net.ipv4.tcp_challenge_ack_limit", tcp_challenge_ack_limit, "count", 0, TERN_KNOB_INT_MAX, TERN_KNOB_INT_MAX,
	"Cap on RFC 5961 challenge ACKs per second for the whole stack; the default, INT_MAX since Linux 6.0, leaves only the per-socket limit (tcp_invalid_ratelimit)")
TERN_KNOB("net.ipv4.tcp_comp_sack_delay_ns", tcp_comp_sack_delay_ns, "ns", 0, 1000000000, 1000000,
	"Longest delay of a compressed SACK: out-of-order arrivals are then answered after min(this, 5% of SRTT) (tern bound: at most 1 s)")
TERN_KNOB("net.ipv4.tcp_comp_sack_nr", tcp_comp_sack_nr, "count", 0, 255, 44,
	"How many SACKs may be folded into one delayed ACK; 0 turns SACK compression off")
TERN_KNOB("net.ipv4.tcp_comp_sack_slack_ns", tcp_comp_sack_slack_ns, "ns", 0, 1000000000, 100000,
	"Slack allowed when arming the SACK compression timer (tern bound: at most 1 s)")
TERN_KNOB_WORDS("net.ipv4.tcp_congestion_control", tcp_congestion_control, "cubic", ("reno", "cubic"),
	"Congestion control for new connections; an accepted socket takes its listener's")
TERN_KNOB("net.ipv4.tcp_dsack", tcp_dsack, "bool", 0, 1, 1,
	"Report duplicate segments with D-SACK blocks (RFC 2883) (tern bound)")
TERN_KNOB("net.ipv4.tcp_early_retrans", tcp_early_retrans, "", 0, 4, 3,
	"Tail loss probe (TLP): 3 or 4 turn it on (today the two mean the same), other values turn it off")
TERN_KNOB("net.ipv4.tcp_ecn", tcp_ecn, "", 0, 2, 2,
	"ECN: 0 never; 1 ask for it on connect and grant it when asked; 2 only grant it when a peer asks")
TERN_KNOB("net.ipv4.tcp_fin_timeout", tcp_fin_timeout, "seconds", 0, TERN_KNOB_SEC_MAX, 60,
	"Life of an orphaned (closed) socket in FIN-WAIT-2; not TIME-WAIT, which is fixed at 60 s (tern bound: INT_MAX/1000)")
TERN_KNOB("net.ipv4.tcp_frto", tcp_frto, "", 0, 2, 2,
	"F-RTO (RFC 5682), which spots spurious retransmission timeouts: 0 off, any other value on (tern bound)")
TERN_KNOB("net.ipv4.tcp_invalid_ratelimit", tcp_invalid_ratelimit, "ms", 0, TERN_KNOB_INT_MAX, 500,
	"Least gap between duplicate or challenge ACKs sent in answer to invalid segments, per socket; 0 disables the limit")
TERN_KNOB("net.ipv4.tcp_keepalive_intvl", tcp_keepalive_intvl, "seconds", 1, TERN_KNOB_SEC_MAX, 75,
	"Gap between keepalive probes (tern bound: at least 1)")
TERN_KNOB("net.ipv4.tcp_keepalive_probes", tcp_keepalive_probes, "count", 0, 255, 9,
	"Unanswered keepalive probes before the connection is dropped")
TERN_KNOB("net.ipv4.tcp_keepalive_time", tcp_keepalive_time, "seconds", 1, TERN_KNOB_SEC_MAX, 7200,
	"Idle time before the first keepalive probe, on sockets with SO_KEEPALIVE (tern bound: at least 1)")
TERN_KNOB("net.ipv4.tcp_limit_output_bytes", tcp_limit_output_bytes, "bytes", 0, TERN_KNOB_INT_MAX, 4194304,
	"TCP small queues: bytes one flow may have below TCP (qdisc, device) at once (4 MiB since Linux 6.7, 1 MiB before)")
TERN_KNOB("net.ipv4.tcp_max_orphans", tcp_max_orphans, "count", 0, TERN_KNOB_INT_MAX, TERN_KNOB_HALF_EHASH,
	"Orphaned sockets (closed, not yet gone) the host keeps; past it they are reset. Linux: ehash buckets / 2, 131072 for 24 GiB")
TERN_KNOB("net.ipv4.tcp_max_reordering", tcp_max_reordering, "count", 1, TERN_KNOB_INT_MAX, 300,
	"Ceiling on a connection's reordering estimate (tern bound: at least 1)")
TERN_KNOB("net.ipv4.tcp_max_syn_backlog", tcp_max_syn_backlog, "count", 0, TERN_KNOB_INT_MAX, TERN_KNOB_SYN_BACKLOG,
	"Read only with tcp_syncookies=0: SYNs from unproven peers are dropped once the SYN queue is past its last quarter. Linux: max(128, ehash/128), 2048 for 24 GiB")
TERN_KNOB("net.ipv4.tcp_max_tw_buckets", tcp_max_tw_buckets, "count", 0, TERN_KNOB_INT_MAX, TERN_KNOB_HALF_EHASH,
	"TIME-WAIT entries held at once; past it a closing socket skips TIME-WAIT (TCPTimeWaitOverflow). Linux: ehash/2, 131072 for 24 GiB")
TERN_KNOB("net.ipv4.tcp_migrate_req", tcp_migrate_req, "bool", 0, 1, 0,
	"Move pending requests and unaccepted children of a closed SO_REUSEPORT listener to another listener")
TERN_KNOB("net.ipv4.tcp_min_snd_mss", tcp_min_snd_mss, "bytes", 48, 65535, 48,
	"Floor under the peer's MSS option: a smaller advertised MSS is raised to this")
TERN_KNOB("net.ipv4.tcp_min_tso_segs", tcp_min_tso_segs, "count", 1, 255, 2,
	"Fewest segments a TSO burst is sized for")
TERN_KNOB("net.ipv4.tcp_moderate_rcvbuf", tcp_moderate_rcvbuf, "bool", 0, 1, 1,
	"Grow the receive buffer automatically (up to tcp_rmem[2]) unless SO_RCVBUF was set: to twice what the application read in its best round trip, plus any out-of-order span (tern bound)")
TERN_KNOB("net.ipv4.tcp_mtu_probing", tcp_mtu_probing, "", 0, 2, 0,
	"Packetization-layer PMTU discovery (RFC 4821): 0 off, 1 after an ICMP black hole is suspected, 2 always, from tcp_base_mss (tern bound)")
TERN_KNOB("net.ipv4.tcp_no_metrics_save", tcp_no_metrics_save, "bool", 0, 1, 0,
	"Do not keep per-destination metrics (RTT, ssthresh) when a connection closes (tern bound)")
TERN_KNOB("net.ipv4.tcp_notsent_lowat", tcp_notsent_lowat, "bytes", 0, TERN_KNOB_UINT_MAX, TERN_KNOB_UINT_MAX,
	"Report a socket writable only while its unsent bytes are below this; UINT_MAX (shown 4294967295) means no limit")
TERN_KNOB("net.ipv4.tcp_orphan_retries", tcp_orphan_retries, "count", 0, 255, 0,
	"Retransmission budget of an orphaned socket before it is destroyed; 0 means 8")
TERN_KNOB("net.ipv4.tcp_recovery", tcp_recovery, "", 0, 7, 1,
	"Bit mask: 0x1 RACK loss detection, 0x2 static RACK reordering window (min_rtt/4), 0x4 no duplicate-ACK threshold (tern bound)")
TERN_KNOB("net.ipv4.tcp_reordering", tcp_reordering, "count", 1, TERN_KNOB_INT_MAX, 3,
	"Reordering a connection assumes at first (the duplicate-ACK threshold) (tern bound: at least 1)")
TERN_KNOB("net.ipv4.tcp_retrans_collapse", tcp_retrans_collapse, "bool", 0, 1, 1,
	"Merge small unacknowledged segments into one when retransmitting (tern bound)")
TERN_KNOB("net.ipv4.tcp_retries1", tcp_retries1, "count", 0, 255, 3,
	"Retransmissions after which TCP tells the IP layer the path may be bad; like tcp_retries2 a time budget")
TERN_KNOB("net.ipv4.tcp_retries2", tcp_retries2, "count", 0, 255, 15,
	"Retransmission budget of an established connection, as time: (2^(n+1)-1) x 200 ms, 924.6 s for 15")
TERN_KNOB("net.ipv4.tcp_rfc1337", tcp_rfc1337, "bool", 0, 1, 0,
	"1 ignores RSTs in TIME-WAIT (RFC 1337); with 0, an in-window RST ends TIME-WAIT at once (tern bound)")
TERN_KNOB_VEC("net.ipv4.tcp_rmem", tcp_rmem, 3, "bytes", 1, TERN_KNOB_INT_MAX, 0, (4096, 131072, 6291456),
	"Receive buffer: minimum, initial, autotuning maximum. The defaults give wscale 7 and a SYN-ACK window of 65160 (64240 without timestamps)")
TERN_KNOB("net.ipv4.tcp_rto_max_ms", tcp_rto_max_ms, "ms", 1000, 120000, 120000,
	"Ceiling of the retransmission timeout")
TERN_KNOB("net.ipv4.tcp_rto_min_us", tcp_rto_min_us, "us", 1, TERN_KNOB_INT_MAX, 200000,
	"Floor of the variance term of the retransmission timeout, so the RTO is at least SRTT + this")
TERN_KNOB("net.ipv4.tcp_sack", tcp_sack, "bool", 0, 1, 1,
	"Offer and use selective acknowledgements (RFC 2018) (tern bound)")
TERN_KNOB("net.ipv4.tcp_shrink_window", tcp_shrink_window, "bool", 0, 1, 0,
	"Allow the advertised window's right edge to move back when the buffer shrinks (RFC 7323 2.4); 0 never retracts it")
TERN_KNOB("net.ipv4.tcp_slow_start_after_idle", tcp_slow_start_after_idle, "bool", 0, 1, 1,
	"Shrink cwnd after an idle period longer than the RTO (RFC 2861/7661) (tern bound)")
TERN_KNOB("net.ipv4.tcp_stdurg", tcp_stdurg, "bool", 0, 1, 0,
	"Read the urgent pointer as RFC 1122 says (last urgent byte) instead of the BSD way (byte after it) (tern bound)")
TERN_KNOB("net.ipv4.tcp_syn_linear_timeouts", tcp_syn_linear_timeouts, "count", 0, 127, 4,
	"SYN retransmissions sent at the initial RTO before backoff doubles: 1,1,1,1,1,2,4... s, connect() fails after 131 s")
TERN_KNOB("net.ipv4.tcp_syn_retries", tcp_syn_retries, "count", 1, 127, 6,
	"SYN retransmissions before connect() gives up (also bounded by the equivalent time budget)")
TERN_KNOB("net.ipv4.tcp_synack_retries", tcp_synack_retries, "count", 0, 255, 5,
	"SYN-ACK retransmissions for a half-open request: sent at 1, 3, 7, 15, 31 s, request dropped at 63 s")
TERN_KNOB("net.ipv4.tcp_syncookies", tcp_syncookies, "", 0, 2, 1,
	"0 never, 1 when the SYN queue is full, 2 for every SYN (tern bound; Linux stores a byte and treats other values like 1)")
TERN_KNOB("net.ipv4.tcp_thin_linear_timeouts", tcp_thin_linear_timeouts, "bool", 0, 1, 0,
	"Do not back off the RTO for the first few timeouts of a thin stream (tern bound)")
TERN_KNOB("net.ipv4.tcp_timestamps", tcp_timestamps, "", 0, 2, 1,
	"RFC 7323 timestamps: 0 off, 1 on with a per-connection random offset, 2 on without the offset (tern bound)")
TERN_KNOB("net.ipv4.tcp_tso_win_divisor", tcp_tso_win_divisor, "count", 0, 255, 3,
	"Largest share of cwnd one TSO burst may take, as 1/n; 0 sets no such limit")
TERN_KNOB("net.ipv4.tcp_tw_reuse", tcp_tw_reuse, "", 0, 2, 2,
	"Let connect() take over a TIME-WAIT 4-tuple when timestamps show it is safe: 0 never, 1 for any peer, 2 for loopback only")
TERN_KNOB("net.ipv4.tcp_tw_reuse_delay", tcp_tw_reuse_delay, "ms", 1, 60000, 1000,
	"Least age of the last timestamp seen on a TIME-WAIT entry before connect() may reuse it (Linux 6.14+)")
TERN_KNOB("net.ipv4.tcp_window_scaling", tcp_window_scaling, "bool", 0, 1, 1,
	"Offer and use the window scale option (RFC 7323) (tern bound)")
TERN_KNOB_VEC("net.ipv4.tcp_wmem", tcp_wmem, 3, "bytes", 1, TERN_KNOB_INT_MAX, 0, (4096, 16384, 4194304),
	"Send buffer: minimum, initial, autotuning maximum")
TERN_KNOB("net.ipv4.tcp_workaround_signed_windows", tcp_workaround_signed_windows, "bool", 0, 1, 0,
	"Assume a peer that sent no window scale option treats windows as signed, so never offer more than 32767 (tern bound)")
TERN_KNOB_WORDS("tern.kernel_profile", kernel_profile, "6.13", ("6.13", "4.4"),
	"Which Linux to follow where releases differ (spec 1.2): 6.13 lets a SYN queue hold backlog+1 requests (full when qlen > backlog); 4.4 is the 4.4-6.12 rule (full when qlen >= backlog)")

#undef TERN_KNOB
#undef TERN_KNOB_VEC
#undef TERN_KNOB_WORDS
