/*
 * wire/icmp.c: ICMP messages (RFC 792): the parser for what arrives, and the echo
 * and echo-reply builder tern needs to answer ping.
 *
 * The checksum covers the whole ICMP message, header and data (RFC 792, "Echo or
 * Echo Reply Message"). Called by the IP layer with an IPv4 payload.
 */
#include <string.h>

#include "core/util.h"
#include "tern/wire.h"

enum tern_wire_status tern_icmp_parse(const uint8_t *buf, size_t len, struct tern_icmp *out)
{
	struct tern_icmp msg;
	enum tern_wire_status st = TERN_WIRE_OK;

	memset(&msg, 0, sizeof(msg));
	if (len < TERN_ICMP_HDR_LEN) {
		st = TERN_WIRE_ICMP_TOO_SHORT;
		goto done;
	}
	msg.type = buf[0];
	msg.code = buf[1];
	msg.checksum = tern_get16(buf + 2);
	msg.id = tern_get16(buf + 4);
	msg.seq = tern_get16(buf + 6);
	msg.data = buf + TERN_ICMP_HDR_LEN;
	/* An IPv4 payload never exceeds 65515 bytes; clamp for callers that hand
	 * in something bigger so the count cannot wrap. */
	msg.data_len = (uint16_t)TERN_MIN(len - TERN_ICMP_HDR_LEN, (size_t)UINT16_MAX);

	if (tern_csum_fold(tern_csum_add(0, buf, len)) != 0)
		st = TERN_WIRE_ICMP_BAD_CHECKSUM;
done:
	if (out)
		*out = msg;
	return st;
}

size_t tern_icmp_build_echo(uint8_t *buf, size_t cap, const struct tern_icmp *msg)
{
	size_t total = (size_t)TERN_ICMP_HDR_LEN + msg->data_len;

	if (total > cap || (msg->data_len > 0 && msg->data == NULL))
		return 0;

	/* Data first, with memmove: a reply is often built in the request's own
	 * buffer, where msg->data already points at (or near) buf + 8. */
	if (msg->data_len > 0)
		memmove(buf + TERN_ICMP_HDR_LEN, msg->data, msg->data_len);
	buf[0] = msg->type;
	buf[1] = msg->code;
	tern_put16(buf + 2, 0);
	tern_put16(buf + 4, msg->id);
	tern_put16(buf + 6, msg->seq);
	tern_put16(buf + 2, tern_csum_fold(tern_csum_add(0, buf, total)));
	return total;
}
