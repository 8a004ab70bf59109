/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conversation.h: a vsock connection as Wireshark's conversation and endpoint tables and Follow Stream see it: CIDs as an address type, each end as "cid:port". */
#ifndef VSM_WS_CONVERSATION_H
#define VSM_WS_CONVERSATION_H

#include <stdint.h>

#include <wireshark.h>
#include <epan/packet.h>

#include <vsockmon/decode.h>

#include "analysis.h"

/* The CID address type, the conversation and Follow Stream taps, their tables: at registration. */
void conv_register(int proto);

/* The frame's ends (pkt's vsockmon header has them) as pinfo's addresses and ports. */
void conv_set_addresses(packet_info *pinfo, const struct vsm_pkt *pkt);

/* "cid:port": how the conversation and endpoint tables name a socket, and their filters' value. */
const char *conv_endpoint_text(wmem_allocator_t *pool, uint64_t cid, uint32_t port);

/* A connection's RW payload, for Follow Stream. */
void conv_tap_follow(packet_info *pinfo, tvbuff_t *payload);

/* A packet of a connection (fi has its flow), for the conversation and endpoint tables. */
void conv_tap_packet(packet_info *pinfo, const struct frame_info *fi);

#endif
