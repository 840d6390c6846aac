/*
 * tern/stats.h: the stack's counters.
 *
 * Counters carry Linux's MIB names (/proc/net/snmp and /proc/net/netstat) so that
 * `nstat` habits carry over: the full name is group + name, e.g. "IpInHdrErrors" or
 * "TcpExtListenOverflows". Linux increments several counters on one event (a bad IP
 * checksum bumps both IpInCsumErrors... and IpInHdrErrors); tern does the same where
 * Linux does. Counters Linux lacks live in the "Tern" group: one per drop reason, so
 * that every malformed input has its own counter.
 */
#ifndef TERN_STATS_H
#define TERN_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(group, name, one-line description) */
#define TERN_COUNTER_TABLE(X) \
	/* Linux "Ip:" (/proc/net/snmp) */ \
	X(Ip, InReceives,      "IP datagrams received, including those with errors") \
	X(Ip, InHdrErrors,     "Datagrams dropped for a bad IP header (version, IHL, checksum, length)") \
	X(Ip, InAddrErrors,    "Datagrams dropped because the destination is not one of our addresses") \
	X(Ip, InUnknownProtos, "Datagrams for an upper-layer protocol the host does not speak") \
	X(Ip, InDiscards,      "Datagrams dropped for lack of resources or unsupported features") \
	X(Ip, InDelivers,      "Datagrams handed to ICMP or TCP") \
	X(Ip, OutRequests,     "Datagrams the host sent") \
	X(Ip, ReasmReqds,      "Fragments received (tern does not reassemble them)") \
	X(Ip, ReasmFails,      "Fragments that could not be reassembled (all of them in tern)") \
	/* Linux "IpExt:" (/proc/net/netstat) */ \
	X(IpExt, InTruncatedPkts, "Datagrams shorter than their IP total length") \
	X(IpExt, InCsumErrors,    "Datagrams with a bad IP header checksum") \
	/* Linux "Icmp:" (/proc/net/snmp) */ \
	X(Icmp, InMsgs,        "ICMP messages received") \
	X(Icmp, InErrors,      "ICMP messages dropped as malformed") \
	X(Icmp, InCsumErrors,  "ICMP messages with a bad checksum") \
	X(Icmp, InDestUnreachs, "ICMP destination-unreachable messages received") \
	X(Icmp, InEchos,       "ICMP echo requests received") \
	X(Icmp, InEchoReps,    "ICMP echo replies received") \
	X(Icmp, OutMsgs,       "ICMP messages sent") \
	X(Icmp, OutEchos,      "ICMP echo requests sent") \
	X(Icmp, OutEchoReps,   "ICMP echo replies sent") \
	/* Linux "Tcp:" (/proc/net/snmp) */ \
	X(Tcp, InSegs,         "TCP segments received, including those with errors") \
	X(Tcp, OutSegs,        "TCP segments sent, excluding retransmissions") \
	X(Tcp, InErrs,         "TCP segments dropped for a bad header or checksum") \
	X(Tcp, InCsumErrors,   "TCP segments with a bad checksum") \
	X(Tcp, OutRsts,        "TCP segments sent with RST") \
	/* tern's own: one counter per reason a packet is dropped */ \
	X(Tern, IpTooShort,       "Packet shorter than a minimal IPv4 header (20 bytes)") \
	X(Tern, IpBadVersion,     "IP version field is not 4") \
	X(Tern, IpBadIhl,         "IHL below 5 or header longer than the packet") \
	X(Tern, IpTotLenTooLong,  "IP total length larger than the packet") \
	X(Tern, IpTotLenTooShort, "IP total length smaller than the IP header") \
	X(Tern, IpTotLenBelowBuf, "IP total length smaller than the packet (trailing bytes)") \
	X(Tern, IpBadChecksum,    "IP header checksum does not verify") \
	X(Tern, IpFragment,       "Fragment (MF set or offset nonzero): not reassembled") \
	X(Tern, IpBadSource,      "Source is a multicast, broadcast or zero address") \
	X(Tern, IpNotForUs,       "Destination is not one of the host's addresses") \
	X(Tern, IpUnknownProto,   "Protocol is neither ICMP nor TCP") \
	X(Tern, IcmpTooShort,     "ICMP message shorter than its 8-byte header") \
	X(Tern, IcmpBadChecksum,  "ICMP checksum does not verify") \
	X(Tern, IcmpIgnoredType,  "ICMP type the host does not act on") \
	X(Tern, TcpTooShort,      "TCP segment shorter than its 20-byte header") \
	X(Tern, TcpBadChecksum,   "TCP checksum does not verify") \
	X(Tern, TcpBadDataOffset, "TCP data offset below 5") \
	X(Tern, TcpDataOffsetPastEnd, "TCP data offset points past the end of the segment") \
	X(Tern, TcpBadOptionLength,   "TCP option with length 0 or 1") \
	X(Tern, TcpOptionPastHeader,  "TCP option running past the end of the header") \
	X(Tern, TcpNoListener,    "TCP segment for a port with no socket (no TCP yet, or closed)")

enum tern_counter {
#define TERN_COUNTER_ENUM(group, name, doc) TERN_CTR_##group##name,
	TERN_COUNTER_TABLE(TERN_COUNTER_ENUM)
#undef TERN_COUNTER_ENUM
	TERN_CTR_COUNT
};

/* "IpInHdrErrors", "TernIpTooShort": the name nstat prints. */
const char *tern_counter_name(enum tern_counter id);
/* The group alone ("Ip", "TcpExt", "Tern"). */
const char *tern_counter_group(enum tern_counter id);
/* The one-line description. */
const char *tern_counter_doc(enum tern_counter id);
/* Finds a counter by its nstat name; returns -1 if there is none. */
int tern_counter_lookup(const char *name);

#ifdef __cplusplus
}
#endif
#endif
