/* SPDX-License-Identifier: GPL-2.0-or-later */
/* conversation.c: the vsockmon dissector's conversations: the CID address type, the taps behind Statistics > Conversations and Endpoints, and Follow Stream. */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <epan/address_types.h>
#include <epan/conversation_table.h>
#include <epan/follow.h>
#include <epan/packet.h>
#include <epan/proto_data.h>
#include <epan/tap.h>

#include <vsockmon/decode.h>

#include "analysis.h"
#include "conversation.h"
#include "registration.h"
#include "ws-compat.h"

static int tap_conv = -1;
static int tap_follow = -1;
static int at_cid = -1;				/* the address type of CIDs */

/* ---- the conversation tap ---- */

/*
 * What the conversation tap gets: each end as "cid:port" (an AT_STRINGZ address), as tshark prints
 * ports only for TCP, UDP and SCTP (ui/cli/tap-iousers.c) and two connections between the same CIDs
 * must be told apart; and as Wireshark quotes such an address in the filters it makes.
 */
struct conv_tap {
	address src, dst;
	guint32 sport, dport;
	guint32 stream;
};

/* "cid:port": how the conversation and endpoint tables name a socket, and their filters' value. */
const char *conv_endpoint_text(wmem_allocator_t *pool, uint64_t cid, uint32_t port)
{
	return wmem_strdup_printf(pool, "%" PRIu64 ":%u", cid, port);
}

/* A tap for the conversation table: each packet of a connection, by its endpoints. */
void conv_tap_packet(packet_info *pinfo, const struct frame_info *fi)
{
	struct conv_tap *t;
	uint64_t src_cid, dst_cid;
	const char *src, *dst;

	if (tap_conv < 0 || !have_tap_listener(tap_conv) || !fi->flow || pinfo->src.type != at_cid)
		return;
	memcpy(&src_cid, pinfo->src.data, sizeof(src_cid));
	memcpy(&dst_cid, pinfo->dst.data, sizeof(dst_cid));
	src = conv_endpoint_text(pinfo->pool, src_cid, pinfo->srcport);
	dst = conv_endpoint_text(pinfo->pool, dst_cid, pinfo->destport);
	t = wmem_new0(pinfo->pool, struct conv_tap);
	set_address(&t->src, AT_STRINGZ, (int)strlen(src) + 1, src);
	set_address(&t->dst, AT_STRINGZ, (int)strlen(dst) + 1, dst);
	t->sport = pinfo->srcport;
	t->dport = pinfo->destport;
	t->stream = (guint32)(fi->flow->id - 1);
	tap_queue_packet(tap_conv, pinfo, t);
}

/* ---- the CID address type ---- */

static int cid_to_str(const address *addr, gchar *buf, int buf_len)
{
	uint64_t cid;

	memcpy(&cid, addr->data, sizeof(cid));
	snprintf(buf, buf_len, "%" PRIu64, cid);
	return (int)strlen(buf) + 1;
}

static int cid_str_len(const address *addr _U_)
{
	return 21;	/* 2^64 - 1 has 20 digits */
}

static const char *cid_col_filter(const address *addr _U_, vsm_ws_bool is_src)
{
	return is_src ? "vsockmon.src_cid" : "vsockmon.dst_cid";
}

static int cid_len(void)
{
	return 8;
}

/* ---- conversations and Follow Stream ---- */

static const char *conv_filter_type(conv_item_t *conv _U_, conv_filter_type_e filter)
{
	switch (filter) {
	case CONV_FT_SRC_ADDRESS: return "vsockmon.src_endpoint";
	case CONV_FT_DST_ADDRESS: return "vsockmon.dst_endpoint";
	case CONV_FT_ANY_ADDRESS: return "vsockmon.endpoint";
	case CONV_FT_SRC_PORT: return "vsockmon.src_port";
	case CONV_FT_DST_PORT: return "vsockmon.dst_port";
	case CONV_FT_ANY_PORT: return "vsockmon.port";
	}
	return CONV_FILTER_INVALID;
}

static ct_dissector_info_t conv_ct_info = { &conv_filter_type };

static const char *endpoint_filter_type(endpoint_item_t *endpoint _U_, conv_filter_type_e filter)
{
	return conv_filter_type(NULL, filter);
}

static et_dissector_info_t endpoint_et_info = { &endpoint_filter_type };

static tap_packet_status conv_packet(void *pct, packet_info *pinfo, epan_dissect_t *edt _U_, const void *vip,
				     tap_flags_t flags)
{
	conv_hash_t *hash = pct;
	const struct conv_tap *t = vip;

	hash->flags = flags;
	add_conversation_table_data_with_conv_id(hash, &t->src, &t->dst, t->sport, t->dport, t->stream, 1,
						 pinfo->fd->pkt_len, &pinfo->rel_ts, &pinfo->abs_ts, &conv_ct_info,
						 CONVERSATION_NONE);
	return TAP_PACKET_REDRAW;
}

static tap_packet_status endpoint_packet(void *pit, packet_info *pinfo, epan_dissect_t *edt _U_, const void *vip,
					 tap_flags_t flags)
{
	conv_hash_t *hash = pit;
	const struct conv_tap *t = vip;

	hash->flags = flags;
	add_endpoint_table_data(hash, &t->src, t->sport, TRUE, 1, pinfo->fd->pkt_len, &endpoint_et_info, CONVERSATION_NONE);
	add_endpoint_table_data(hash, &t->dst, t->dport, FALSE, 1, pinfo->fd->pkt_len, &endpoint_et_info, CONVERSATION_NONE);
	return TAP_PACKET_REDRAW;
}

static gchar *follow_conv_filter(epan_dissect_t *edt _U_, packet_info *pinfo, guint *stream, guint *sub_stream _U_)
{
	const struct frame_info *fi = p_get_proto_data(wmem_file_scope(), pinfo, proto_vsockmon, 0);

	if (!fi || !fi->flow)
		return NULL;
	*stream = (guint)(fi->flow->id - 1);
	return g_strdup_printf("vsockmon.stream eq %u", *stream);
}

static gchar *follow_index_filter(guint stream, guint sub_stream _U_)
{
	return g_strdup_printf("vsockmon.stream eq %u", stream);
}

static gchar *follow_address_filter(address *src, address *dst, int sport, int dport)
{
	char s[32], d[32];

	cid_to_str(src, s, sizeof(s));
	cid_to_str(dst, d, sizeof(d));
	return g_strdup_printf("((vsockmon.src_cid eq %s and vsockmon.src_port eq %d and vsockmon.dst_cid eq %s and "
			       "vsockmon.dst_port eq %d) or (vsockmon.src_cid eq %s and vsockmon.src_port eq %d and "
			       "vsockmon.dst_cid eq %s and vsockmon.dst_port eq %d))",
			       s, sport, d, dport, d, dport, s, sport);
}

static gchar *follow_port_to_display(wmem_allocator_t *allocator, guint port)
{
	return wmem_strdup_printf(allocator, "%u", port);
}

#if VSM_WS_FOLLOW_STREAM_COUNT
/* How many streams Follow Stream may step through: stream indexes are 0 to this minus one. */
static guint32 follow_stream_count(void)
{
	return analysis_stream_count();
}
#endif

/* ---- what the dissector and the registration call ---- */

void conv_set_addresses(packet_info *pinfo, const struct vsm_pkt *pkt)
{
	uint64_t *cids = wmem_alloc(pinfo->pool, 2 * sizeof(*cids));

	cids[0] = pkt->src_cid;
	cids[1] = pkt->dst_cid;
	set_address(&pinfo->src, at_cid, 8, &cids[0]);
	set_address(&pinfo->dst, at_cid, 8, &cids[1]);
	copy_address_shallow(&pinfo->net_src, &pinfo->src);
	copy_address_shallow(&pinfo->net_dst, &pinfo->dst);
	pinfo->srcport = pkt->src_port;
	pinfo->destport = pkt->dst_port;
}

void conv_tap_follow(packet_info *pinfo, tvbuff_t *payload)
{
	if (tap_follow >= 0)
		tap_queue_packet(tap_follow, pinfo, payload);
}

void conv_register(int proto)
{
	at_cid = address_type_dissector_register("AT_VSOCKMON_CID", "vsock CID", cid_to_str, cid_str_len, NULL,
						 cid_col_filter, cid_len, NULL, NULL);
	tap_conv = register_tap("vsockmon");
	tap_follow = register_tap("vsockmon_follow");
	/* The addresses hold the ports ("cid:port"): no port columns of their own. */
	register_conversation_table(proto, TRUE, conv_packet, endpoint_packet);
#if VSM_WS_FOLLOW_STREAM_COUNT
	register_follow_stream(proto, "vsockmon_follow", follow_conv_filter, follow_index_filter,
			       follow_address_filter, follow_port_to_display, follow_tvb_tap_listener,
			       follow_stream_count, NULL);
#else
	register_follow_stream(proto, "vsockmon_follow", follow_conv_filter, follow_index_filter,
			       follow_address_filter, follow_port_to_display, follow_tvb_tap_listener);
#endif
}
