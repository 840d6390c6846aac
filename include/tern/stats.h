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
	X(Tcp, ActiveOpens,    "Connections that went SYN-SENT from CLOSED (connect)") \
	X(Tcp, PassiveOpens,   "Connections that went SYN-RECV from LISTEN") \
	X(Tcp, AttemptFails,   "SYN-SENT or SYN-RECV connections that went to CLOSED or back to LISTEN") \
	X(Tcp, EstabResets,    "ESTABLISHED or CLOSE-WAIT connections that went to CLOSED") \
	X(Tcp, CurrEstab,      "Connections in ESTABLISHED or CLOSE-WAIT now (a gauge)") \
	X(Tcp, InSegs,         "TCP segments received, including those with errors") \
	X(Tcp, OutSegs,        "TCP segments sent, excluding retransmissions") \
	X(Tcp, InErrs,         "TCP segments dropped for a bad header or checksum") \
	X(Tcp, InCsumErrors,   "TCP segments with a bad checksum") \
	X(Tcp, RetransSegs,    "TCP segments retransmitted") \
	X(Tcp, OutRsts,        "TCP segments sent with RST") \
	/* Linux "TcpExt:" (/proc/net/netstat), spec §10.3 */ \
	X(TcpExt, EmbryonicRsts,     "Resets received for SYN-RECV connections") \
	X(TcpExt, PAWSEstab,         "Segments dropped by PAWS in synchronized states") \
	X(TcpExt, DelayedACKs,       "Delayed ACKs sent when the timer fired") \
	X(TcpExt, DelayedACKLost,    "Duplicate data received (our ACK was probably lost)") \
	X(TcpExt, TCPAckCompressed,  "Duplicate ACKs folded into a later one (SACK compression)") \
	X(TcpExt, SyncookiesSent,    "SYN cookies sent") \
	X(TcpExt, SyncookiesRecv,    "Valid SYN cookies received") \
	X(TcpExt, SyncookiesFailed,  "Invalid SYN cookies received") \
	X(TcpExt, ListenOverflows,   "Times a listener's accept queue was full") \
	X(TcpExt, ListenDrops,       "SYNs to listening sockets dropped") \
	X(TcpExt, TCPReqQFullDoCookies, "SYN queue full (or tcp_syncookies=2): a cookie was chosen") \
	X(TcpExt, TCPReqQFullDrop,   "SYN queue full and cookies off: the SYN was dropped") \
	X(TcpExt, TCPDeferAcceptDrop, "Bare ACKs held back by TCP_DEFER_ACCEPT") \
	X(TcpExt, TCPPureAcks,       "Segments carrying only an ACK") \
	X(TcpExt, TCPHPAcks,         "Pure ACKs that only advanced snd_una") \
	X(TcpExt, TCPRenoRecovery,   "Fast recoveries entered without SACK") \
	X(TcpExt, TCPSackRecovery,   "Fast recoveries entered with SACK") \
	X(TcpExt, TCPLossUndo,       "Loss states left after the retransmission timeout proved spurious") \
	X(TcpExt, TCPFastRetrans,    "Segments resent by fast retransmit") \
	X(TcpExt, TCPSlowStartRetrans, "Segments resent in slow start after a timeout") \
	X(TcpExt, TCPLostRetransmit, "Retransmissions found lost again") \
	X(TcpExt, TCPLossProbes,     "Tail loss probes sent") \
	X(TcpExt, TCPLossProbeRecovery, "Losses repaired by a tail loss probe") \
	X(TcpExt, TCPTimeouts,       "Retransmission timer expiries (incl. SYN and SYN-ACK)") \
	X(TcpExt, TCPSynRetrans,     "SYN and SYN-ACK retransmissions") \
	X(TcpExt, TCPAbortOnData,    "Connections reset for unexpected data or SO_LINGER 0") \
	X(TcpExt, TCPAbortOnClose,   "Connections reset because close() left unread data") \
	X(TcpExt, TCPAbortOnMemory,  "Connections aborted for lack of memory") \
	X(TcpExt, TCPAbortOnTimeout, "Connections aborted after too many retransmissions or probes") \
	X(TcpExt, TCPAbortOnLinger,  "Orphans reset because TCP_LINGER2 was negative") \
	X(TcpExt, TCPSACKReneging,   "Times the peer took back SACKed data") \
	X(TcpExt, TCPSACKDiscard,    "SACK blocks ignored as invalid") \
	X(TcpExt, TCPDSACKRecv,      "D-SACK blocks received") \
	X(TcpExt, TCPDSACKOldSent,   "D-SACK blocks sent for old duplicate data") \
	X(TcpExt, TCPChallengeACK,   "Challenge ACKs sent (RFC 5961)") \
	X(TcpExt, TCPSYNChallenge,   "Challenge ACKs sent in answer to a SYN") \
	X(TcpExt, TCPACKSkippedChallenge, "Challenge ACKs suppressed by tcp_invalid_ratelimit") \
	X(TcpExt, TCPACKSkippedSynRecv, "SYN-ACK resends for duplicate SYNs suppressed by the rate limit") \
	X(TcpExt, TCPACKSkippedSeq,  "Out-of-window duplicate ACKs suppressed by the rate limit") \
	X(TcpExt, TCPACKSkippedPAWS, "PAWS duplicate ACKs suppressed by the rate limit") \
	X(TcpExt, TCPOFOQueue,       "Segments queued out of order") \
	X(TcpExt, TCPOFODrop,        "Out-of-order segments dropped for lack of receive space") \
	X(TcpExt, TCPRcvQDrop,       "In-order segments dropped for lack of receive space") \
	X(TcpExt, TCPZeroWindowDrop, "Segments dropped because our window was zero") \
	X(TcpExt, TCPToZeroWindowAdv, "Times we advertised a window going to zero") \
	X(TcpExt, TCPWantZeroWindowAdv, "Times we wanted to advertise zero but could not shrink") \
	X(TcpExt, TCPFromZeroWindowAdv, "Times we advertised a window opening from zero") \
	X(TcpExt, BeyondWindow,      "Segments dropped for starting or ending beyond the window (6.17+)") \
	X(TcpExt, TCPKeepAlive,      "Keepalive probes sent") \
	X(TcpExt, TCPOrigDataSent,   "Segments of new (not retransmitted) data sent") \
	X(TcpExt, TCPWinProbe,       "Zero-window probes sent") \
	X(TcpExt, TCPDelivered,      "Segments delivered to the peer (acked or sacked)") \
	X(TcpExt, TW,                "Connections that entered TIME-WAIT with a timeout above 4 s") \
	X(TcpExt, TWKilled,          "Connections that entered TIME-WAIT with a timeout of 4 s or less") \
	X(TcpExt, TWRecycled,        "TIME-WAIT entries reused by connect() (tcp_tw_reuse)") \
	X(TcpExt, TCPTimeWaitOverflow, "TIME-WAIT entries not made: tcp_max_tw_buckets reached") \
	X(TcpExt, PAWSTimewait,      "Segments dropped by PAWS at a TIME-WAIT entry") \
	X(TcpExt, TCPACKSkippedTimeWait, "ACKs from TIME-WAIT suppressed by the rate limit") \
	X(TcpExt, TCPACKSkippedFinWait2, "ACKs from FIN-WAIT-2 entries suppressed by the rate limit") \
	/* tern's own: one counter per reason a packet is dropped */ \
	X(Tern, IpTooShort,       "Packet shorter than a minimal IPv4 header (20 bytes)") \
	X(Tern, IpBadVersion,     "IP version field is not 4") \
	X(Tern, IpBadIhl,         "IHL below 5 or header longer than the packet") \
	X(Tern, IpTotLenTooLong,  "IP total length larger than the packet") \
	X(Tern, IpTotLenTooShort, "IP total length smaller than the IP header") \
	X(Tern, IpTotLenBelowBuf, "IP total length smaller than the packet (trailing bytes)") \
	X(Tern, IpBadChecksum,    "IP header checksum does not verify") \
	X(Tern, IpFragment,       "Fragment (MF set or offset nonzero): not reassembled") \
	X(Tern, IpBadSource,      "Source is martian: zero network, broadcast, multicast, loopback from outside, or our own") \
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
