/* SPDX-License-Identifier: GPL-2.0-or-later */
/* packet-vsockmon.c: the vsockmon Wireshark dissector: LINKTYPE_VSOCK frames decoded by libvsockmon into their headers' trees and columns; the analysis (analysis.c), the payload (reassembly.c) and the conversations (conversation.c) are layers of their own. */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <inttypes.h>
#include <string.h>

#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/proto_data.h>
#include <wsutil/utf8_entities.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "analysis.h"
#include "conversation.h"
#include "packet-vsockmon.h"
#include "reassembly.h"
#include "registration.h"

/* ---- names, columns and the tree ---- */

/* Short words for the Info column, TCP's "[TCP Window Full]" style. */
static const char *const flow_tags[VSM_FP_COUNT] = {
	[VSM_FP_STALL] = NULL,	/* said by "Window full" or "Credit exceeded" */
	[VSM_FP_CREDIT_UNANSWERED] = "Unanswered",
	[VSM_FP_CREDIT_EXCEEDED] = NULL,
	[VSM_FP_DATA_AFTER_SHUTDOWN] = "Data after SHUTDOWN",
	[VSM_FP_DATA_BEFORE_RESPONSE] = "Data before RESPONSE",
	[VSM_FP_REFUSED] = "Refused",
	[VSM_FP_ABORT] = "Abort",
	[VSM_FP_HALF_OPEN] = "Half-open",
	[VSM_FP_INCOMPLETE] = "No answer",
	[VSM_FP_BUF_CHANGE] = "Buffer changed",
	[VSM_FP_MIDWAY] = "Midway",
	[VSM_FP_RING_WAIT] = "Ring wait",
};

static void set_columns(packet_info *pinfo, const struct vsm_pkt *pkt, const struct frame_info *fi)
{
	const struct vsm_virtio_hdr *h = &pkt->virtio;
	wmem_strbuf_t *info, *tags;

	/* No columns asked for (tshark -T fields, a tap): skip the text nobody reads. */
	if (!pinfo->cinfo)
		return;
	info = wmem_strbuf_new(pinfo->pool, "");
	tags = wmem_strbuf_new(pinfo->pool, "");
	col_set_str(pinfo->cinfo, COL_PROTOCOL, "VSOCKMON");
	if (vsm_pkt_has_mon_field(pkt, VSM_OFF_MON_DST_PORT, 4))
		wmem_strbuf_append_printf(info, "%" PRIu64 ":%u " UTF8_RIGHTWARDS_ARROW " %" PRIu64 ":%u", pkt->src_cid, pkt->src_port,
					  pkt->dst_cid, pkt->dst_port);
	else
		wmem_strbuf_append(info, "vsockmon header cut short");
	if (pkt->has_virtio) {
		const char *op = vsm_op_name(h->op), *type = vsm_type_name(h->type);
		const char *names[32];
		char scratch[32][12];
		size_t n = vsm_flag_names(h->op, h->type, h->flags, names, 32, scratch);

		if (op)
			wmem_strbuf_append_printf(info, " [%s]", op);
		else
			wmem_strbuf_append_printf(info, " [op %u]", h->op);
		if (type)
			wmem_strbuf_append_printf(info, " %s", type);
		else
			wmem_strbuf_append_printf(info, " type %u", h->type);
		for (size_t i = 0; i < n && i < 32; i++)
			wmem_strbuf_append_printf(info, "%s%s", i ? ", " : " [", names[i]);
		if (n)
			wmem_strbuf_append_c(info, ']');
		if (h->op == VSM_OP_RW || h->len)
			wmem_strbuf_append_printf(info, " len=%u", h->len);
		wmem_strbuf_append_printf(info, " buf_alloc=%u fwd_cnt=%u", h->buf_alloc, h->fwd_cnt);
	} else if (vsm_pkt_has_mon_field(pkt, VSM_OFF_MON_TRANSPORT, 2)) {
		const char *mop = vsm_mon_op_name(pkt->mon_op), *tp = vsm_transport_name(pkt->transport);

		wmem_strbuf_append_printf(info, " %s", mop ? mop : "UNKNOWN");
		wmem_strbuf_append_printf(info, " (%s)", tp ? tp : "unknown transport");
		if (pkt->payload_wirelen)
			wmem_strbuf_append_printf(info, " len=%u", pkt->payload_wirelen);
	}
	if (fi->flow) {
		if (fi->view.window_full)
			wmem_strbuf_append(tags, "[Window full] ");
		if (fi->view.exceeded)
			wmem_strbuf_append(tags, "[Credit exceeded] ");
		if (fi->stalled && !fi->view.window_full && !fi->view.exceeded) {
			wmem_strbuf_append(tags, "[Stalled ");
			analysis_put_duration(tags, fi->stall_ns);
			wmem_strbuf_append(tags, "] ");
		}
		if (fi->stall_end) {
			wmem_strbuf_append(tags, "[Stall ");
			analysis_put_duration(tags, fi->stall_len_ns);
			wmem_strbuf_append(tags, "] ");
		}
		for (unsigned p = 0; p < VSM_FP_COUNT; p++)
			if ((fi->problems & (1u << p)) && flow_tags[p])
				wmem_strbuf_append_printf(tags, "[%s] ", flow_tags[p]);
	}
	for (unsigned i = 0; i < VSM_PROB_COUNT; i++)
		if (pkt->problems & (1u << i))
			wmem_strbuf_append_printf(tags, "[%s] ", vsm_problem_name(1u << i));
	col_add_str(pinfo->cinfo, COL_INFO, wmem_strbuf_get_str(info));
	/* Like TCP's analysis flags: in front, and fenced so that a sub-dissector's text keeps them. */
	if (wmem_strbuf_get_len(tags))
		col_prepend_fence_fstr(pinfo->cinfo, COL_INFO, "%s", wmem_strbuf_get_str(tags));
}

static void add_endpoint_items(proto_tree *tree, tvbuff_t *tvb, const char *src, const char *dst)
{
	proto_item_set_hidden(proto_tree_add_string(tree, hf_src_endpoint, tvb, VSM_OFF_MON_SRC_CID, 8, src));
	proto_item_set_hidden(proto_tree_add_string(tree, hf_dst_endpoint, tvb, VSM_OFF_MON_DST_CID, 8, dst));
	proto_item_set_hidden(proto_tree_add_string(tree, hf_endpoint, tvb, VSM_OFF_MON_SRC_CID, 8, src));
	proto_item_set_hidden(proto_tree_add_string(tree, hf_endpoint, tvb, VSM_OFF_MON_DST_CID, 8, dst));
}

static void add_mon_header(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct vsm_pkt *pkt)
{
	static const struct { enum vsm_field field; uint32_t off, size; } mon[] = {
		{ VSM_F_SRC_CID, VSM_OFF_MON_SRC_CID, 8 }, { VSM_F_DST_CID, VSM_OFF_MON_DST_CID, 8 },
		{ VSM_F_SRC_PORT, VSM_OFF_MON_SRC_PORT, 4 }, { VSM_F_DST_PORT, VSM_OFF_MON_DST_PORT, 4 },
		{ VSM_F_MON_OP, VSM_OFF_MON_OP, 2 }, { VSM_F_TRANSPORT, VSM_OFF_MON_TRANSPORT, 2 },
		{ VSM_F_TP_LEN, VSM_OFF_MON_LEN, 2 },
	};
	proto_item *ti = proto_tree_add_none_format(tree, hf_header, tvb, 0, MIN(pkt->mon_caplen, VSM_MON_HDR_LEN),
						    "vsockmon header%s", pkt->mon_caplen < VSM_MON_HDR_LEN ? " (cut short)" : "");
	proto_tree *mt = proto_item_add_subtree(ti, ett_mon);
	proto_item *hidden;

	/* Only what was captured: a field past the end would stop the dissection with an exception. */
	for (size_t i = 0; i < G_N_ELEMENTS(mon); i++)
		if (vsm_pkt_has_mon_field(pkt, mon[i].off, mon[i].size))
			proto_tree_add_item(mt, hf_field[mon[i].field], tvb, mon[i].off, mon[i].size, ENC_LITTLE_ENDIAN);
	if (vsm_pkt_has_mon_field(pkt, VSM_OFF_MON_RESERVED, 2))
		proto_tree_add_item(mt, hf_reserved, tvb, VSM_OFF_MON_RESERVED, 2, ENC_NA);
	/* Either end, for filters such as vsockmon.port == 1234 (tcp.port's manner). */
	if (vsm_pkt_has_mon_field(pkt, VSM_OFF_MON_DST_CID, 8)) {
		hidden = proto_tree_add_item(mt, hf_cid, tvb, VSM_OFF_MON_SRC_CID, 8, ENC_LITTLE_ENDIAN);
		proto_item_set_hidden(hidden);
		hidden = proto_tree_add_item(mt, hf_cid, tvb, VSM_OFF_MON_DST_CID, 8, ENC_LITTLE_ENDIAN);
		proto_item_set_hidden(hidden);
	}
	if (vsm_pkt_has_mon_field(pkt, VSM_OFF_MON_DST_PORT, 4)) {
		hidden = proto_tree_add_item(mt, hf_port, tvb, VSM_OFF_MON_SRC_PORT, 4, ENC_LITTLE_ENDIAN);
		proto_item_set_hidden(hidden);
		hidden = proto_tree_add_item(mt, hf_port, tvb, VSM_OFF_MON_DST_PORT, 4, ENC_LITTLE_ENDIAN);
		proto_item_set_hidden(hidden);
		/* Each end as cid:port, for the filters of Statistics > Conversations and Endpoints. */
		if (proto_field_is_referenced(mt, hf_endpoint) || proto_field_is_referenced(mt, hf_src_endpoint) ||
		    proto_field_is_referenced(mt, hf_dst_endpoint))
			add_endpoint_items(mt, tvb, conv_endpoint_text(pinfo->pool, pkt->src_cid, pkt->src_port),
					   conv_endpoint_text(pinfo->pool, pkt->dst_cid, pkt->dst_port));
	}
}

static void add_virtio_header(proto_tree *tree, tvbuff_t *tvb, const struct vsm_pkt *pkt)
{
	static int *const shutdown_bits[] = { &hf_flag_rcv, &hf_flag_send, NULL };
	static int *const seq_bits[] = { &hf_flag_eom, &hf_flag_eor, NULL };
	const struct vsm_virtio_hdr *h = &pkt->virtio;
	uint32_t have = pkt->cap_len > VSM_MON_HDR_LEN ? pkt->cap_len - VSM_MON_HDR_LEN : 0;
	proto_item *ti;
	proto_tree *vt;
	const char *names[32];
	char scratch[32][12];
	size_t n;

	if (pkt->transport != VSM_MON_TRANSPORT_VIRTIO || pkt->mon_caplen < VSM_MON_HDR_LEN)
		return;
	if (!pkt->has_virtio) {
		if (have)
			proto_tree_add_none_format(tree, hf_virtio, tvb, VSM_OFF_VIRTIO, MIN(have, pkt->tp_len ? pkt->tp_len : have),
						   "virtio-vsock header (cut short or too short: %u of %u bytes)",
						   MIN(have, VSM_VIRTIO_HDR_LEN), VSM_VIRTIO_HDR_LEN);
		return;
	}
	/* The header's length is the one the vsockmon header gives (a longer one has bytes we skip). */
	ti = proto_tree_add_none_format(tree, hf_virtio, tvb, VSM_OFF_VIRTIO, MIN(have, pkt->tp_len), "virtio-vsock header");
	vt = proto_item_add_subtree(ti, ett_virtio);
	proto_tree_add_item(vt, hf_v_src_cid, tvb, VSM_OFF_V_SRC_CID, 8, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_v_dst_cid, tvb, VSM_OFF_V_DST_CID, 8, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_v_src_port, tvb, VSM_OFF_V_SRC_PORT, 4, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_v_dst_port, tvb, VSM_OFF_V_DST_PORT, 4, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_field[VSM_F_LEN], tvb, VSM_OFF_V_LEN, 4, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_field[VSM_F_TYPE], tvb, VSM_OFF_V_TYPE, 2, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_field[VSM_F_OP], tvb, VSM_OFF_V_OP, 2, ENC_LITTLE_ENDIAN);
	/* Flag bits mean something only for SHUTDOWN and for SEQPACKET RW. */
	if (h->op == VSM_OP_SHUTDOWN)
		proto_tree_add_bitmask(vt, tvb, VSM_OFF_V_FLAGS, hf_field[VSM_F_FLAGS], ett_flags, shutdown_bits, ENC_LITTLE_ENDIAN);
	else if (vsm_known_flags(h->op, h->type))
		proto_tree_add_bitmask(vt, tvb, VSM_OFF_V_FLAGS, hf_field[VSM_F_FLAGS], ett_flags, seq_bits, ENC_LITTLE_ENDIAN);
	else
		proto_tree_add_item(vt, hf_field[VSM_F_FLAGS], tvb, VSM_OFF_V_FLAGS, 4, ENC_LITTLE_ENDIAN);
	n = vsm_flag_names(h->op, h->type, h->flags, names, 32, scratch);
	for (size_t i = 0; i < n && i < 32; i++)
		proto_item_set_generated(proto_tree_add_string(vt, hf_field[VSM_F_FLAG_NAMES], tvb, VSM_OFF_V_FLAGS, 4, names[i]));
	proto_tree_add_item(vt, hf_field[VSM_F_BUF_ALLOC], tvb, VSM_OFF_V_BUF_ALLOC, 4, ENC_LITTLE_ENDIAN);
	proto_tree_add_item(vt, hf_field[VSM_F_FWD_CNT], tvb, VSM_OFF_V_FWD_CNT, 4, ENC_LITTLE_ENDIAN);
}

/* ---- the dissector ---- */

static int dissect_vsockmon(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
	static const uint8_t none[1];
	guint caplen = tvb_captured_length(tvb);
	const uint8_t *frame = caplen ? tvb_get_ptr(tvb, 0, caplen) : none;
	struct frame_info *fi = p_get_proto_data(wmem_file_scope(), pinfo, proto_vsockmon, 0);
	struct vsm_pkt pkt;
	proto_item *top;
	proto_tree *vtree;
	uint32_t pay_off;
	struct payload_ctx x;
	bool first_pass = !PINFO_FD_VISITED(pinfo);

	vsm_decode(frame, caplen, tvb_reported_length(tvb), &pkt);
	{
		/* The frame's time as the analysis sees it, bounded: say so when it had to be. */
		struct timespec when = { .tv_sec = pinfo->abs_ts.secs, .tv_nsec = pinfo->abs_ts.nsecs };

		if (vsm_ts_clamp(&when))
			pkt.problems |= VSM_PROB_TIMESTAMP;
	}
	if (!fi) {
		fi = wmem_new0(wmem_file_scope(), struct frame_info);
		/* Only the first pass, in frame order, feeds the analysis: the same answer however often a frame is shown. */
		if (first_pass && pkt.has_virtio)
			analysis_packet(&pkt, pinfo, fi);
		p_add_proto_data(wmem_file_scope(), pinfo, proto_vsockmon, 0, fi);
	}
	/* The first frame of a later pass: the first pass is over, so is the capture (unless it is live). */
	if (!first_pass)
		analysis_end_of_capture();

	if (vsm_pkt_has_mon_field(&pkt, VSM_OFF_MON_DST_PORT, 4))
		conv_set_addresses(pinfo, &pkt);
	set_columns(pinfo, &pkt, fi);

	top = proto_tree_add_item(tree, proto_vsockmon, tvb, 0, -1, ENC_NA);
	vtree = proto_item_add_subtree(top, ett_vsockmon);
	if (vsm_pkt_has_mon_field(&pkt, VSM_OFF_MON_DST_PORT, 4))
		proto_item_append_text(top, ", %" PRIu64 ":%u " UTF8_RIGHTWARDS_ARROW " %" PRIu64 ":%u", pkt.src_cid, pkt.src_port,
				       pkt.dst_cid, pkt.dst_port);
	if (pkt.has_virtio && vsm_op_name(pkt.virtio.op))
		proto_item_append_text(top, ", %s", vsm_op_name(pkt.virtio.op));
	add_mon_header(vtree, tvb, pinfo, &pkt);
	add_virtio_header(vtree, tvb, &pkt);
	for (unsigned i = 0; i < VSM_PROB_COUNT; i++) {
		if (pkt.problems & (1u << i)) {
			proto_item_set_generated(proto_tree_add_string(vtree, hf_field[VSM_F_PROBLEMS], tvb, 0, 0,
								       vsm_problem_name(1u << i)));
			expert_add_info(pinfo, top, &ei_frame[i]);
		}
	}
	/* Always there, as in vsockdump --json: 0 when nothing of a payload was captured. */
	proto_item_set_generated(proto_tree_add_uint(vtree, hf_field[VSM_F_PAYLOAD_CAPLEN], tvb, 0, 0, pkt.payload_caplen));
	if (fi->flow)
		analysis_add_tree(vtree, tvb, pinfo, fi, top);

	/* The payload: after the transport header, whatever its length (the LINKTYPE_VSOCK page). */
	pay_off = VSM_MON_HDR_LEN + pkt.tp_len;
	if (pkt.mon_caplen < VSM_MON_HDR_LEN || caplen <= pay_off)
		return caplen;
	proto_tree_add_item(vtree, hf_field[VSM_F_PAYLOAD], tvb, pay_off, caplen - pay_off, ENC_NA);
	memset(&x, 0, sizeof(x));
	x.tvb = tvb;
	x.payload = tvb_new_subset_remaining(tvb, pay_off);
	x.pinfo = pinfo;
	x.top = tree;
	x.tree = vtree;
	x.fi = fi;
	x.fd = fi->flow;
	if (pkt.has_virtio && pkt.virtio.op == VSM_OP_RW && fi->flow)
		conv_tap_follow(pinfo, x.payload);
	if (!fi->flow || pkt.virtio.op != VSM_OP_RW || (pkt.problems & VSM_PROB_PAYLOAD_TRUNC)) {
		/* Not data of a connection, or cut by the snap length: the bytes as they are. */
		if (first_pass && fi->flow && pkt.virtio.op == VSM_OP_RW)
			fi->flow->pending[fi->side] = NULL;	/* a reassembly cannot go on past missing bytes */
		call_data_dissector(x.payload, pinfo, tree);
		return caplen;
	}
	/* The server's port first: a client's port says little. Unknown server: the lower port first. */
	if (fi->flow->server >= 0) {
		x.ports[0] = fi->flow->snap.key.port[fi->flow->server];
		x.ports[1] = fi->flow->snap.key.port[!fi->flow->server];
	} else {
		x.ports[0] = MIN(pkt.src_port, pkt.dst_port);
		x.ports[1] = MAX(pkt.src_port, pkt.dst_port);
	}
	if (first_pass) {
		if (pkt.virtio.type == VSM_TYPE_SEQPACKET)
			reasm_seqpacket_first_pass(&x, pkt.virtio.flags & VSM_SEQ_EOM);
		else
			reasm_stream_first_pass(&x);
	}
	reasm_replay(&x, first_pass);
	return caplen;
}

int dissect_vsockmon_frame(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
	int ret = dissect_vsockmon(tvb, pinfo, tree, data);
	const struct frame_info *fi = p_get_proto_data(wmem_file_scope(), pinfo, proto_vsockmon, 0);

	if (fi)
		conv_tap_packet(pinfo, fi);
	return ret;
}
