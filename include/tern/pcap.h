/*
 * tern/pcap.h: classic pcap files (the libpcap format Wireshark and tshark read),
 * nanosecond-resolution variant (magic 0xa1b23c4d), link type LINKTYPE_RAW (101):
 * each record is a bare IP datagram, which is exactly what tern's links carry.
 */
#ifndef TERN_PCAP_H
#define TERN_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "tern/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_PCAP_LINKTYPE_RAW 101
#define TERN_PCAP_SNAPLEN 65535

struct tern_pcap_writer;
struct tern_pcap_reader;

/* Creates (truncates) `path` and writes the file header. 0 or -errno. */
int tern_pcap_open(const char *path, struct tern_pcap_writer **out);
/* Appends one packet stamped `ts` (ns since the epoch of the run). 0 or -errno. */
int tern_pcap_write(struct tern_pcap_writer *w, tern_time ts, const void *pkt, size_t len);
/* Flushes and closes; 0 or -errno (the first write error, if any). NULL is a no-op. */
int tern_pcap_close(struct tern_pcap_writer *w);

/* Opens a pcap file of either resolution (µs or ns) and either byte order.
 * 0, -errno, or -EINVAL if it is not a pcap file or not LINKTYPE_RAW. */
int tern_pcap_reader_open(const char *path, struct tern_pcap_reader **out);
/* Reads the next record: 1 and the packet (valid until the next call), 0 at the end,
 * -EINVAL for a truncated or corrupt record. */
int tern_pcap_read(struct tern_pcap_reader *r, tern_time *ts, const uint8_t **pkt, size_t *len);
void tern_pcap_reader_close(struct tern_pcap_reader *r);

#ifdef __cplusplus
}
#endif
#endif
