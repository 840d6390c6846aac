/*
 * link/pcap.c: reads and writes classic pcap capture files (include/tern/pcap.h).
 *
 * A pcap file is a 24-byte header (magic, version 2.4, time zone, sigfigs, snap
 * length, link type) followed by records of a 16-byte header (seconds, fraction,
 * captured length, original length) and the captured bytes. The magic says both the
 * byte order of every later field and the unit of the fraction: 0xa1b2c3d4 for
 * microseconds, 0xa1b23c4d for nanoseconds. tern writes the nanosecond variant in
 * this machine's byte order with LINKTYPE_RAW (each record is a bare IP datagram),
 * which tcpdump, tshark and Wireshark all read. The reader accepts either unit and
 * either byte order, and trusts nothing in the file: a captured length larger than
 * the snap length is refused before any allocation, so a hostile file cannot make it
 * allocate more than the bounded snap length.
 *
 * Callers: the simulator's taps (link/sim.c) and the `tern` tools. Uses stdio only.
 */
#include "tern/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern/errors.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_VERSION_MAJOR 2
#define PCAP_VERSION_MINOR 4
#define PCAP_FILE_HDR_LEN 24
#define PCAP_REC_HDR_LEN 16

/* Largest snap length the reader honours; libpcap's own ceiling (256 KiB). A header
 * claiming more (or 0, "unknown") is held to this. */
#define PCAP_READ_MAX_SNAPLEN 262144u

/* The reader's buffer starts at a typical datagram's size and grows on demand. */
#define PCAP_READ_INITIAL_BUF 2048u

struct tern_pcap_writer {
	FILE *f;
	int err;            /* first error seen (negative errno), 0 if none */
};

struct tern_pcap_reader {
	FILE *f;
	bool swapped;       /* fields are in the other byte order than this machine's */
	bool nanos;         /* fraction is in ns (else µs) */
	uint32_t snaplen;   /* bound on a record's captured length */
	uint8_t *buf;
	size_t cap;
	int err;            /* sticky: once a record is corrupt, every later read fails */
};

/* A negative errno for a failed stdio call; EIO when the library set none. */
static int stdio_error(void)
{
	return errno ? -errno : -TERN_EIO;
}

static void put_native32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}

static void put_native16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof v);
}

static uint32_t swap32(uint32_t v)
{
	return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static uint16_t swap16(uint16_t v)
{
	return (uint16_t)((v >> 8) | (v << 8));
}

/* ------------------------------------------------------------------ writer */

int tern_pcap_open(const char *path, struct tern_pcap_writer **out)
{
	if (!path || !out)
		return -TERN_EINVAL;
	*out = NULL;
	struct tern_pcap_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -TERN_ENOMEM;
	errno = 0;
	w->f = fopen(path, "wb");
	if (!w->f) {
		int err = stdio_error();
		free(w);
		return err;
	}

	uint8_t hdr[PCAP_FILE_HDR_LEN];
	put_native32(hdr + 0, PCAP_MAGIC_NS);
	put_native16(hdr + 4, PCAP_VERSION_MAJOR);
	put_native16(hdr + 6, PCAP_VERSION_MINOR);
	put_native32(hdr + 8, 0);                 /* time zone offset: always UTC */
	put_native32(hdr + 12, 0);                /* timestamp accuracy: unused */
	put_native32(hdr + 16, TERN_PCAP_SNAPLEN);
	put_native32(hdr + 20, TERN_PCAP_LINKTYPE_RAW);
	errno = 0;
	if (fwrite(hdr, 1, sizeof hdr, w->f) != sizeof hdr) {
		int err = stdio_error();
		fclose(w->f);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

int tern_pcap_write(struct tern_pcap_writer *w, tern_time ts, const void *pkt, size_t len)
{
	if (!w || (!pkt && len > 0))
		return -TERN_EINVAL;
	if (w->err)
		return w->err;
	/* The record's seconds field is 32 bits wide: time 0 to about year 2106. */
	if (ts < 0 || ts / TERN_NS_PER_SEC > (tern_time)UINT32_MAX)
		return -TERN_EINVAL;

	size_t incl = len > TERN_PCAP_SNAPLEN ? TERN_PCAP_SNAPLEN : len;
	uint32_t orig = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
	uint8_t rec[PCAP_REC_HDR_LEN];
	put_native32(rec + 0, (uint32_t)(ts / TERN_NS_PER_SEC));
	put_native32(rec + 4, (uint32_t)(ts % TERN_NS_PER_SEC));
	put_native32(rec + 8, (uint32_t)incl);
	put_native32(rec + 12, orig);
	errno = 0;
	if (fwrite(rec, 1, sizeof rec, w->f) != sizeof rec ||
	    (incl > 0 && fwrite(pkt, 1, incl, w->f) != incl)) {
		w->err = stdio_error();
		return w->err;
	}
	return 0;
}

int tern_pcap_close(struct tern_pcap_writer *w)
{
	if (!w)
		return 0;
	int err = w->err;
	errno = 0;
	if (fflush(w->f) != 0 && !err)
		err = stdio_error();
	errno = 0;
	if (fclose(w->f) != 0 && !err)
		err = stdio_error();
	free(w);
	return err;
}

/* ------------------------------------------------------------------ reader */

static uint32_t rd32(const struct tern_pcap_reader *r, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return r->swapped ? swap32(v) : v;
}

static uint16_t rd16(const struct tern_pcap_reader *r, const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return r->swapped ? swap16(v) : v;
}

/* Reads exactly `len` bytes. 1 when all arrived, 0 at a clean end of file before the
 * first byte, -EINVAL when the file ends part-way, -errno on an I/O error. */
static int read_exact(FILE *f, void *buf, size_t len)
{
	errno = 0;
	size_t got = fread(buf, 1, len, f);
	if (got == len)
		return 1;
	if (ferror(f))
		return stdio_error();
	return got == 0 ? 0 : -TERN_EINVAL;
}

/* Parses the file header; decides byte order, resolution and the record bound. */
static int read_file_header(struct tern_pcap_reader *r)
{
	uint8_t hdr[PCAP_FILE_HDR_LEN];
	int rc = read_exact(r->f, hdr, sizeof hdr);
	if (rc <= 0)
		return rc == 0 ? -TERN_EINVAL : rc;

	uint32_t magic;
	memcpy(&magic, hdr, sizeof magic);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		r->swapped = false;
	} else if (swap32(magic) == PCAP_MAGIC_US || swap32(magic) == PCAP_MAGIC_NS) {
		r->swapped = true;
		magic = swap32(magic);
	} else {
		return -TERN_EINVAL;
	}
	r->nanos = magic == PCAP_MAGIC_NS;

	if (rd16(r, hdr + 4) != PCAP_VERSION_MAJOR)
		return -TERN_EINVAL;
	/* The link type is the low 16 bits; the upper ones may carry FCS hints. */
	if ((rd32(r, hdr + 20) & 0xffffu) != TERN_PCAP_LINKTYPE_RAW)
		return -TERN_EINVAL;
	uint32_t snaplen = rd32(r, hdr + 16);
	if (snaplen == 0 || snaplen > PCAP_READ_MAX_SNAPLEN)
		snaplen = PCAP_READ_MAX_SNAPLEN;
	r->snaplen = snaplen;
	return 0;
}

int tern_pcap_reader_open(const char *path, struct tern_pcap_reader **out)
{
	if (!path || !out)
		return -TERN_EINVAL;
	*out = NULL;
	struct tern_pcap_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -TERN_ENOMEM;
	r->cap = PCAP_READ_INITIAL_BUF;
	r->buf = malloc(r->cap);
	if (!r->buf) {
		free(r);
		return -TERN_ENOMEM;
	}
	errno = 0;
	r->f = fopen(path, "rb");
	if (!r->f) {
		int err = stdio_error();
		free(r->buf);
		free(r);
		return err;
	}
	int rc = read_file_header(r);
	if (rc < 0) {
		tern_pcap_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int tern_pcap_read(struct tern_pcap_reader *r, tern_time *ts, const uint8_t **pkt, size_t *len)
{
	if (!r || !ts || !pkt || !len)
		return -TERN_EINVAL;
	if (r->err)
		return r->err;

	uint8_t rec[PCAP_REC_HDR_LEN];
	int rc = read_exact(r->f, rec, sizeof rec);
	if (rc < 0) {
		r->err = rc;
		return rc;
	}
	if (rc == 0)
		return 0;  /* a clean end; asking again gives the end again */
	uint32_t sec = rd32(r, rec + 0);
	uint32_t frac = rd32(r, rec + 4);
	uint32_t incl = rd32(r, rec + 8);
	uint32_t frac_limit = r->nanos ? 1000000000u : 1000000u;

	/* The bound check comes before any allocation: a hostile length is refused. */
	if (incl > r->snaplen || frac >= frac_limit) {
		r->err = -TERN_EINVAL;
		return r->err;
	}
	if (incl > r->cap) {
		uint8_t *nb = realloc(r->buf, incl);
		if (!nb)
			return -TERN_ENOMEM;
		r->buf = nb;
		r->cap = incl;
	}
	if (incl > 0) {
		rc = read_exact(r->f, r->buf, incl);
		if (rc <= 0) {
			r->err = rc == 0 ? -TERN_EINVAL : rc;
			return r->err;
		}
	}
	*ts = (tern_time)sec * TERN_NS_PER_SEC +
	      (tern_time)frac * (r->nanos ? 1 : TERN_NS_PER_US);
	*pkt = r->buf;
	*len = incl;
	return 1;
}

void tern_pcap_reader_close(struct tern_pcap_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	free(r->buf);
	free(r);
}
