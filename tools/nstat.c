/*
 * tools/nstat.c: `nstat` as iproute2 prints it, for a tern stack's counters.
 *
 * Reached through the control socket (tools/ctl.c); the counters are the stack's
 * (include/tern/stats.h), which carry Linux's MIB names, so `nstat -saz
 * TcpExtListenOverflows` reads the same on tern as on the kernel. Measured against
 * iproute2 6.1 on Linux 6.18:
 *
 *   #kernel
 *   TcpActiveOpens                  1                  0.0
 *
 * that is the name left-aligned in 32 columns, the value left-aligned in 16, the
 * rate right-aligned in 6 with one decimal. Counters come in the kernel's order
 * (/proc/net/snmp, then /proc/net/netstat), tern's own "Tern*" counters last. Like
 * nstat, tern leaves out the numbers that are settings or gauges rather than
 * counts (TcpCurrEstab). A counter Linux has and tern does not track yet is not
 * printed, as nstat prints nothing for a name the kernel does not have.
 *
 * History: without -a nstat prints what changed since the last run that updated
 * its history file. tern keeps that history in memory, one per stack, in the
 * process serving the control socket. -a prints absolute values, -s leaves the
 * history alone, -n only updates it, -r forgets it first, -z includes zeros. The
 * rate column is a daemon's (-d) average, which tern does not run: always 0.0,
 * as the real tool shows without its daemon.
 */
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern.h"
#include "tern/stats.h"

/* The kernel's counter names in the order nstat prints them (Linux 6.18), for the
 * groups tern keeps: Ip, Icmp and Tcp from /proc/net/snmp, then TcpExt and IpExt
 * from /proc/net/netstat. Only the order matters here. */
static const char linux_order[] =
	"IpInReceives IpInHdrErrors IpInAddrErrors IpForwDatagrams IpInUnknownProtos "
	"IpInDiscards IpInDelivers IpOutRequests IpOutDiscards IpOutNoRoutes IpReasmTimeout "
	"IpReasmReqds IpReasmOKs IpReasmFails IpFragOKs IpFragFails IpFragCreates "
	"IpOutTransmits IcmpInMsgs IcmpInErrors IcmpInCsumErrors IcmpInDestUnreachs "
	"IcmpInTimeExcds IcmpInParmProbs IcmpInSrcQuenchs IcmpInRedirects IcmpInEchos "
	"IcmpInEchoReps IcmpInTimestamps IcmpInTimestampReps IcmpInAddrMasks "
	"IcmpInAddrMaskReps IcmpOutMsgs IcmpOutErrors IcmpOutRateLimitGlobal "
	"IcmpOutRateLimitHost IcmpOutDestUnreachs IcmpOutTimeExcds IcmpOutParmProbs "
	"IcmpOutSrcQuenchs IcmpOutRedirects IcmpOutEchos IcmpOutEchoReps IcmpOutTimestamps "
	"IcmpOutTimestampReps IcmpOutAddrMasks IcmpOutAddrMaskReps TcpActiveOpens "
	"TcpPassiveOpens TcpAttemptFails TcpEstabResets TcpInSegs TcpOutSegs TcpRetransSegs "
	"TcpInErrs TcpOutRsts TcpInCsumErrors TcpExtSyncookiesSent TcpExtSyncookiesRecv "
	"TcpExtSyncookiesFailed TcpExtEmbryonicRsts TcpExtPruneCalled TcpExtRcvPruned "
	"TcpExtOfoPruned TcpExtOutOfWindowIcmps TcpExtLockDroppedIcmps TcpExtArpFilter "
	"TcpExtTW TcpExtTWRecycled TcpExtTWKilled TcpExtPAWSActive TcpExtPAWSEstab "
	"TcpExtBeyondWindow TcpExtTSEcrRejected TcpExtPAWSOldAck TcpExtPAWSTimewait "
	"TcpExtDelayedACKs TcpExtDelayedACKLocked TcpExtDelayedACKLost TcpExtListenOverflows "
	"TcpExtListenDrops TcpExtTCPHPHits TcpExtTCPPureAcks TcpExtTCPHPAcks "
	"TcpExtTCPRenoRecovery TcpExtTCPSackRecovery TcpExtTCPSACKReneging "
	"TcpExtTCPSACKReorder TcpExtTCPRenoReorder TcpExtTCPTSReorder TcpExtTCPFullUndo "
	"TcpExtTCPPartialUndo TcpExtTCPDSACKUndo TcpExtTCPLossUndo TcpExtTCPLostRetransmit "
	"TcpExtTCPRenoFailures TcpExtTCPSackFailures TcpExtTCPLossFailures "
	"TcpExtTCPFastRetrans TcpExtTCPSlowStartRetrans TcpExtTCPTimeouts TcpExtTCPLossProbes "
	"TcpExtTCPLossProbeRecovery TcpExtTCPRenoRecoveryFail TcpExtTCPSackRecoveryFail "
	"TcpExtTCPRcvCollapsed TcpExtTCPBacklogCoalesce TcpExtTCPDSACKOldSent "
	"TcpExtTCPDSACKOfoSent TcpExtTCPDSACKRecv TcpExtTCPDSACKOfoRecv TcpExtTCPAbortOnData "
	"TcpExtTCPAbortOnClose TcpExtTCPAbortOnMemory TcpExtTCPAbortOnTimeout "
	"TcpExtTCPAbortOnLinger TcpExtTCPAbortFailed TcpExtTCPMemoryPressures "
	"TcpExtTCPMemoryPressuresChrono TcpExtTCPSACKDiscard TcpExtTCPDSACKIgnoredOld "
	"TcpExtTCPDSACKIgnoredNoUndo TcpExtTCPSpuriousRTOs TcpExtTCPMD5NotFound "
	"TcpExtTCPMD5Unexpected TcpExtTCPMD5Failure TcpExtTCPSackShifted TcpExtTCPSackMerged "
	"TcpExtTCPSackShiftFallback TcpExtTCPBacklogDrop TcpExtPFMemallocDrop "
	"TcpExtTCPMinTTLDrop TcpExtTCPDeferAcceptDrop TcpExtIPReversePathFilter "
	"TcpExtTCPTimeWaitOverflow TcpExtTCPReqQFullDoCookies TcpExtTCPReqQFullDrop "
	"TcpExtTCPRetransFail TcpExtTCPRcvCoalesce TcpExtTCPOFOQueue TcpExtTCPOFODrop "
	"TcpExtTCPOFOMerge TcpExtTCPChallengeACK TcpExtTCPSYNChallenge TcpExtTCPFastOpenActive "
	"TcpExtTCPFastOpenActiveFail TcpExtTCPFastOpenPassive TcpExtTCPFastOpenPassiveFail "
	"TcpExtTCPFastOpenListenOverflow TcpExtTCPFastOpenCookieReqd "
	"TcpExtTCPFastOpenBlackhole TcpExtTCPSpuriousRtxHostQueues TcpExtBusyPollRxPackets "
	"TcpExtTCPAutoCorking TcpExtTCPFromZeroWindowAdv TcpExtTCPToZeroWindowAdv "
	"TcpExtTCPWantZeroWindowAdv TcpExtTCPSynRetrans TcpExtTCPOrigDataSent "
	"TcpExtTCPHystartTrainDetect TcpExtTCPHystartTrainCwnd TcpExtTCPHystartDelayDetect "
	"TcpExtTCPHystartDelayCwnd TcpExtTCPACKSkippedSynRecv TcpExtTCPACKSkippedPAWS "
	"TcpExtTCPACKSkippedSeq TcpExtTCPACKSkippedFinWait2 TcpExtTCPACKSkippedTimeWait "
	"TcpExtTCPACKSkippedChallenge TcpExtTCPWinProbe TcpExtTCPKeepAlive TcpExtTCPMTUPFail "
	"TcpExtTCPMTUPSuccess TcpExtTCPDelivered TcpExtTCPDeliveredCE TcpExtTCPAckCompressed "
	"TcpExtTCPZeroWindowDrop TcpExtTCPRcvQDrop TcpExtTCPWqueueTooBig "
	"TcpExtTCPFastOpenPassiveAltKey TcpExtTcpTimeoutRehash TcpExtTcpDuplicateDataRehash "
	"TcpExtTCPDSACKRecvSegs TcpExtTCPDSACKIgnoredDubious TcpExtTCPMigrateReqSuccess "
	"TcpExtTCPMigrateReqFailure TcpExtTCPPLBRehash TcpExtTCPAORequired TcpExtTCPAOBad "
	"TcpExtTCPAOKeyNotFound TcpExtTCPAOGood TcpExtTCPAODroppedIcmps IpExtInNoRoutes "
	"IpExtInTruncatedPkts IpExtInMcastPkts IpExtOutMcastPkts IpExtInBcastPkts "
	"IpExtOutBcastPkts IpExtInOctets IpExtOutOctets IpExtInMcastOctets IpExtOutMcastOctets "
	"IpExtInBcastOctets IpExtOutBcastOctets IpExtInCsumErrors IpExtInNoECTPkts "
	"IpExtInECT1Pkts IpExtInECT0Pkts IpExtInCEPkts IpExtReasmOverlaps";

/* Values nstat never prints: settings and gauges, not event counts. */
static const char *const not_counters[] = {
	"IpForwarding", "IpDefaultTTL", "TcpRtoAlgorithm", "TcpRtoMin", "TcpRtoMax",
	"TcpMaxConn", "TcpCurrEstab", NULL,
};

/* Where `name` stands in the kernel's order; tern's own counters after all. */
static size_t rank(const char *name, int id)
{
	size_t len = strlen(name), pos = 0;
	for (const char *p = linux_order; *p; pos++) {
		size_t w = strcspn(p, " ");
		if (w == len && !memcmp(p, name, len))
			return pos;
		p += w;
		p += *p == ' ';
	}
	return 100000 + (size_t)id;
}

static bool is_counter(const char *name)
{
	for (const char *const *n = not_counters; *n; n++)
		if (!strcmp(*n, name))
			return false;
	return true;
}

/* The counters to show, in print order; returns how many. */
static int print_order(int *ids)
{
	size_t ranks[TERN_CTR_COUNT];
	int n = 0;

	for (int id = 0; id < TERN_CTR_COUNT; id++) {
		const char *name = tern_counter_name((enum tern_counter)id);
		if (!is_counter(name))
			continue;
		size_t r = rank(name, id);
		int j = n++;
		for (; j > 0 && ranks[j - 1] > r; j--) {   /* insertion sort: ~80 items */
			ranks[j] = ranks[j - 1];
			ids[j] = ids[j - 1];
		}
		ranks[j] = r;
		ids[j] = id;
	}
	return n;
}

static bool wanted(const char *name, char **patterns, int npatterns)
{
	if (!npatterns)
		return true;
	for (int i = 0; i < npatterns; i++)
		if (fnmatch(patterns[i], name, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

static void usage(FILE *f)
{
	fputs("Usage: nstat [OPTION] [ PATTERN [ PATTERN ] ]\n"
	      "   -h, --help          print this text\n"
	      "   -a, --ignore        print absolute values, not changes since the last run\n"
	      "   -d, --scan=SECS     (a sampling daemon: not in tern)\n"
	      "   -j, --json          print JSON\n"
	      "   -n, --nooutput      only update the history\n"
	      "   -p, --pretty        indent the JSON\n"
	      "   -r, --reset         forget the history first\n"
	      "   -s, --noupdate      leave the history as it was\n"
	      "   -t, --interval=SECS (the daemon's averaging interval: not in tern)\n"
	      "   -V, --version       print the version\n"
	      "   -z, --zeros         include counters that are zero\n"
	      "PATTERNs are shell globs, matched without regard to case.\n", f);
}

static const struct tern_tool_longopt nstat_longopts[] = {
	{ "help", false, 'h' }, { "ignore", false, 'a' }, { "scan", true, 'd' },
	{ "json", false, 'j' }, { "nooutput", false, 'n' }, { "pretty", false, 'p' },
	{ "reset", false, 'r' }, { "noupdate", false, 's' }, { "interval", true, 't' },
	{ "version", false, 'V' }, { "zeros", false, 'z' }, { NULL, false, 0 },
};

int tern_tool_nstat(const struct tern_stack *st, struct tern_nstat_history *hist,
		    int argc, char **argv, FILE *out, FILE *err)
{
	bool absolute = false, json = false, no_output = false, pretty = false, reset = false;
	bool no_update = false, zeros = false;
	struct tern_tool_getopt g;
	int c, status = 0;
	char **patterns = calloc((size_t)argc + 1, sizeof(char *));

	if (!patterns) {
		fputs("nstat: out of memory\n", err);
		return 1;
	}
	tern_tool_getopt_init(&g, argc, argv, patterns, "nstat", err);
	while ((c = tern_tool_getopt(&g, "h?vVzrnasd:t:jp", nstat_longopts)) != -1) {
		switch (c) {
		case 'a': absolute = true; break;
		case 'j': json = true; break;
		case 'n': no_output = true; break;
		case 'p': pretty = true; break;
		case 'r': reset = true; break;
		case 's': no_update = true; break;
		case 'z': zeros = true; break;
		case 'v':
		case 'V':
			fprintf(out, "nstat utility, tern-%s\n", TERN_VERSION);
			goto done;
		case 'd':
		case 't':
			fprintf(err, "nstat: option '-%c' (the sampling daemon) is not supported by tern\n", c);
			status = 1;
			goto done;
		case 'h':
		default:
			/* nstat answers -h, like a bad option, with its usage on stderr. */
			usage(err);
			status = 255;
			goto done;
		}
	}

	uint64_t now[TERN_CTR_COUNT];
	int ids[TERN_CTR_COUNT];
	int n = print_order(ids);
	tern_stack_counters(st, now);

	if (reset && hist)
		hist->valid = false;
	bool deltas = !absolute && hist && hist->valid;

	if (!no_output) {
		int shown = 0;
		if (json)
			fputs(pretty ? "{\n    \"kernel\": {" : "{\"kernel\":{", out);
		else
			fputs("#kernel\n", out);
		for (int i = 0; i < n; i++) {
			const char *name = tern_counter_name((enum tern_counter)ids[i]);
			uint64_t v = now[ids[i]];
			if (deltas && hist->values[ids[i]] <= v)
				v -= hist->values[ids[i]];
			if ((!v && !zeros) || !wanted(name, patterns, g.nops))
				continue;
			if (!json)
				fprintf(out, "%-32s%-16llu%6.1f\n", name, (unsigned long long)v, 0.0);
			else if (pretty)
				fprintf(out, "%s\n        \"%s\": %llu", shown ? "," : "", name,
					(unsigned long long)v);
			else
				fprintf(out, "%s\"%s\":%llu", shown ? "," : "", name, (unsigned long long)v);
			shown++;
		}
		if (json && pretty)
			fputs(shown ? "\n    }\n}\n" : "}\n}\n", out);
		else if (json)
			fputs("}}\n", out);
	}
	if (!no_update && hist) {
		memcpy(hist->values, now, sizeof(now));
		hist->valid = true;
	}

done:
	free(patterns);
	return status;
}
