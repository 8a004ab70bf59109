/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registration.c: the vsockmon protocol's registration with Wireshark: its fields and expert infos (named by fields.def, flowfields.def and problems.def), subtrees, preferences, port table and Decode As, and the handoff to LINKTYPE_VSOCK. */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <stdio.h>

#include <epan/decode_as.h>
#include <epan/expert.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <wiretap/wtap.h>
#include <wsutil/utf8_entities.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/wire.h>

#include "analysis.h"
#include "conversation.h"
#include "packet-vsockmon.h"
#include "registration.h"
#include "ws-compat.h"

/*
 * Registration ids: Wireshark hands these out at registration and every dissector keeps them in
 * variables of its own; they do not change once registered. Declared in registration.h, for the
 * dissector's layers.
 */
int proto_vsockmon = -1;
int hf_field[VSM_F_COUNT];		/* from fields.def: "vsockmon.<key>" */
int hf_flow[VSM_FF_COUNT];		/* from flowfields.def: "vsockmon.flow.<key>", "vsockmon.dir.<key>" */
int hf_reserved = -1;
int hf_cid = -1;
int hf_port = -1;
int hf_src_endpoint = -1;
int hf_dst_endpoint = -1;
int hf_endpoint = -1;
int hf_v_src_cid = -1;
int hf_v_dst_cid = -1;
int hf_v_src_port = -1;
int hf_v_dst_port = -1;
int hf_flag_rcv = -1;
int hf_flag_send = -1;
int hf_flag_eom = -1;
int hf_flag_eor = -1;
int hf_an_stream = -1;
int hf_an_flow_id = -1;
int hf_an_state = -1;
int hf_an_opened_in = -1;
int hf_an_ended_in = -1;
int hf_an_stalled = -1;
int hf_an_stall_duration = -1;
int hf_an_stall_end = -1;
int hf_an_since_cu = -1;
int hf_reassembled_in = -1;
int hf_segments = -1;
int hf_header = -1;
int hf_virtio = -1;
int hf_analysis = -1;
int hf_flow_tree = -1;
int hf_dir_tree = -1;
int hf_segment = -1;
int hf_segment_count = -1;
int hf_reassembled_length = -1;

gint ett_vsockmon = -1;
gint ett_mon = -1;
gint ett_virtio = -1;
gint ett_flags = -1;
gint ett_analysis = -1;
gint ett_flow = -1;
gint ett_dir = -1;
gint ett_segments = -1;

expert_field ei_frame[VSM_PROB_COUNT];	/* one per VSM_PROB_* bit, "vsockmon.problem.<name>" */
expert_field ei_flow[VSM_FP_COUNT];	/* one per VSM_FP_* problem, "vsockmon.problem.<name>" */

static dissector_handle_t vsockmon_handle;
/* Preference "vsockmon.linktype": decode LINKTYPE_VSOCK (on), or give it back to the built-in "vsock". */
static vsm_ws_bool pref_linktype = TRUE;
/* Preference "vsockmon.show_summary": the connection summary on every packet of a connection (on). */
vsm_ws_bool pref_summary = TRUE;
dissector_table_t port_table;
heur_dissector_list_t heur_list;

/* The names libvsockmon's name function gives for 0..max, as a value_string: the names stay libvsockmon's. */
static value_string *vals_from(const char *(*name)(uint32_t), uint32_t max)
{
	value_string *v = g_new0(value_string, max + 2);
	size_t n = 0;

	for (uint32_t i = 0; i <= max; i++) {
		if (name(i)) {
			v[n].value = i;
			v[n].strptr = name(i);
			n++;
		}
	}
	return v;
}

/* ---- Decode As: the port table ---- */

static void da_src_prompt(packet_info *pinfo, gchar *result)
{
	snprintf(result, MAX_DECODE_AS_PROMPT_LEN, "source (%u)", pinfo->srcport);
}

static void da_dst_prompt(packet_info *pinfo, gchar *result)
{
	snprintf(result, MAX_DECODE_AS_PROMPT_LEN, "destination (%u)", pinfo->destport);
}

static void da_both_prompt(packet_info *pinfo, gchar *result)
{
	snprintf(result, MAX_DECODE_AS_PROMPT_LEN, "both (%u%s%u)", pinfo->srcport, UTF8_LEFT_RIGHT_ARROW, pinfo->destport);
}

static gpointer da_src_value(packet_info *pinfo)
{
	return GUINT_TO_POINTER(pinfo->srcport);
}

static gpointer da_dst_value(packet_info *pinfo)
{
	return GUINT_TO_POINTER(pinfo->destport);
}

/* ---- registration ---- */

/* How each field of fields.def shows in Wireshark; no prefix: not a field here (frame.* has it). */
struct field_spec {
	const char *prefix;
	const char *name;
	enum ftenum type;
	int display;
};

static const struct field_spec field_specs[VSM_F_COUNT] = {
	[VSM_F_SRC_CID] = { "vsockmon.", "Source CID", FT_UINT64, BASE_DEC },
	[VSM_F_SRC_PORT] = { "vsockmon.", "Source port", FT_UINT32, BASE_DEC },
	[VSM_F_DST_CID] = { "vsockmon.", "Destination CID", FT_UINT64, BASE_DEC },
	[VSM_F_DST_PORT] = { "vsockmon.", "Destination port", FT_UINT32, BASE_DEC },
	[VSM_F_MON_OP] = { "vsockmon.", "vsockmon op", FT_UINT16, BASE_DEC },
	[VSM_F_TRANSPORT] = { "vsockmon.", "Transport", FT_UINT16, BASE_DEC },
	[VSM_F_TP_LEN] = { "vsockmon.", "Transport header length", FT_UINT16, BASE_DEC },
	[VSM_F_TYPE] = { "vsockmon.", "Type", FT_UINT16, BASE_DEC },
	[VSM_F_OP] = { "vsockmon.", "Op", FT_UINT16, BASE_DEC },
	[VSM_F_FLAGS] = { "vsockmon.", "Flags", FT_UINT32, BASE_HEX },
	[VSM_F_FLAG_NAMES] = { "vsockmon.", "Flag", FT_STRING, BASE_NONE },
	[VSM_F_LEN] = { "vsockmon.", "Length", FT_UINT32, BASE_DEC },
	[VSM_F_BUF_ALLOC] = { "vsockmon.", "buf_alloc", FT_UINT32, BASE_DEC },
	[VSM_F_FWD_CNT] = { "vsockmon.", "fwd_cnt", FT_UINT32, BASE_DEC },
	[VSM_F_PAYLOAD_CAPLEN] = { "vsockmon.", "Payload bytes captured", FT_UINT32, BASE_DEC },
	[VSM_F_CREDIT] = { "vsockmon.analysis.", "Credit left", FT_INT64, BASE_DEC },
	[VSM_F_IN_FLIGHT] = { "vsockmon.analysis.", "Bytes in flight", FT_UINT32, BASE_DEC },
	[VSM_F_WINDOW_FULL] = { "vsockmon.analysis.", "Window full", FT_BOOLEAN, BASE_NONE },
	[VSM_F_CREDIT_EXCEEDED] = { "vsockmon.analysis.", "Credit exceeded", FT_BOOLEAN, BASE_NONE },
	[VSM_F_PROBLEMS] = { "vsockmon.", "Problem", FT_STRING, BASE_NONE },
	[VSM_F_PAYLOAD] = { "vsockmon.", "Payload", FT_BYTES, BASE_NONE },
};

static void flow_field_type(enum vsm_flow_field id, enum ftenum *ret_type, int *ret_display)
{
	*ret_display = BASE_DEC;
	switch (id) {
	case VSM_FF_TYPE:
	case VSM_FF_STATE:
	case VSM_FF_PROBLEMS:
	case VSM_FF_SHUTDOWN:
		*ret_type = FT_STRING;
		*ret_display = BASE_NONE;
		break;
	case VSM_FF_FIRST:
	case VSM_FF_LAST:
		*ret_type = FT_ABSOLUTE_TIME;
		*ret_display = ABSOLUTE_TIME_UTC;
		break;
	case VSM_FF_MIDWAY:
	case VSM_FF_STALLED:
		*ret_type = FT_BOOLEAN;
		*ret_display = BASE_NONE;
		break;
	case VSM_FF_A_PORT:
	case VSM_FF_B_PORT:
	case VSM_FF_BUF_ALLOC:
	case VSM_FF_FWD_CNT:
	case VSM_FF_IN_FLIGHT:
		*ret_type = FT_UINT32;
		break;
	case VSM_FF_CREDIT:
		*ret_type = FT_INT64;
		break;
	default:
		*ret_type = FT_UINT64;
		break;
	}
}

/* Frame problems (decode.h), in bit order. */
static const struct {
	int group, severity;
	const char *text;
} frame_problem_info[VSM_PROB_COUNT] = {
	{ PI_MALFORMED, PI_ERROR, "The capture ends inside a header" },
	{ PI_UNDECODED, PI_NOTE, "The capture's snap length cut the payload short" },
	{ PI_PROTOCOL, PI_WARN, "The virtio len disagrees with the payload on the wire" },
	{ PI_PROTOCOL, PI_WARN, "The VIRTIO transport header length is not 44" },
	{ PI_PROTOCOL, PI_WARN, "The vsockmon op does not match the virtio op" },
	{ PI_PROTOCOL, PI_WARN, "The vsockmon and virtio headers name different endpoints" },
	{ PI_PROTOCOL, PI_WARN, "Unknown virtio op" },
	{ PI_PROTOCOL, PI_WARN, "Unknown socket type" },
	{ PI_PROTOCOL, PI_WARN, "Flag bits with no meaning for this op and type" },
	{ PI_PROTOCOL, PI_WARN, "Reserved bytes or the upper bits of a CID are set" },
	{ PI_PROTOCOL, PI_WARN, "Unknown vsockmon op" },
	{ PI_PROTOCOL, PI_WARN, "Unknown vsockmon transport" },
	{ PI_MALFORMED, PI_WARN, "The capture's time for this frame is outside 1970..2199: shown clamped" },
};

/* Flow problems (flow.h), by VSM_FP_*: group and severity; the words come from problems.def. */
static const struct {
	int group, severity;
} flow_problem_info[VSM_FP_COUNT] = {
	[VSM_FP_STALL] = { PI_SEQUENCE, PI_NOTE },
	[VSM_FP_CREDIT_UNANSWERED] = { PI_SEQUENCE, PI_WARN },
	[VSM_FP_CREDIT_EXCEEDED] = { PI_PROTOCOL, PI_WARN },
	[VSM_FP_DATA_AFTER_SHUTDOWN] = { PI_PROTOCOL, PI_WARN },
	[VSM_FP_DATA_BEFORE_RESPONSE] = { PI_PROTOCOL, PI_WARN },
	[VSM_FP_REFUSED] = { PI_SEQUENCE, PI_WARN },
	[VSM_FP_ABORT] = { PI_SEQUENCE, PI_WARN },
	[VSM_FP_HALF_OPEN] = { PI_SEQUENCE, PI_NOTE },
	[VSM_FP_INCOMPLETE] = { PI_SEQUENCE, PI_WARN },
	[VSM_FP_BUF_CHANGE] = { PI_SEQUENCE, PI_NOTE },
	[VSM_FP_MIDWAY] = { PI_SEQUENCE, PI_NOTE },
	[VSM_FP_RING_WAIT] = { PI_SEQUENCE, PI_NOTE },
};

/* One generated field: what the HFILL of a static hf_register_info gives, filled in at run time. */
static void set_hf(hf_register_info *hf, int *id, const char *name, const char *abbrev, enum ftenum type, int display,
		   const void *strings, const char *blurb)
{
	hf->p_id = id;
	hf->hfinfo.name = name;
	hf->hfinfo.abbrev = abbrev;
	hf->hfinfo.type = type;
	hf->hfinfo.display = display;
	hf->hfinfo.strings = strings;
	hf->hfinfo.blurb = blurb;
	hf->hfinfo.id = -1;
	hf->hfinfo.parent = 0;
	hf->hfinfo.ref_type = HF_REF_TYPE_NONE;
	hf->hfinfo.same_name_prev_id = -1;
}

/* One expert info, "vsockmon.problem.<name>": a problem's name is its filter name everywhere. */
static void set_ei(ei_register_info *ei, expert_field *id, const char *name, int group, int severity, const char *summary)
{
	*id = (expert_field)EI_INIT;
	ei->ids = id;
	ei->eiinfo.name = g_strconcat("vsockmon.problem.", name, NULL);
	ei->eiinfo.group = group;
	ei->eiinfo.severity = severity;
	ei->eiinfo.summary = summary;
	ei->eiinfo.hf_info.hfinfo.id = -1;
	ei->eiinfo.hf_info.hfinfo.same_name_prev_id = -1;
}

void proto_register_vsockmon(void)
{
	static hf_register_info hf[] = {
		{ &hf_reserved, { "Reserved", "vsockmon.reserved", FT_BYTES, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_cid, { "Source or destination CID", "vsockmon.cid", FT_UINT64, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_port, { "Source or destination port", "vsockmon.port", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_src_endpoint, { "Source", "vsockmon.src_endpoint", FT_STRING, BASE_NONE, NULL, 0x0,
				      "The source as cid:port", HFILL } },
		{ &hf_dst_endpoint, { "Destination", "vsockmon.dst_endpoint", FT_STRING, BASE_NONE, NULL, 0x0,
				      "The destination as cid:port", HFILL } },
		{ &hf_endpoint, { "Source or destination", "vsockmon.endpoint", FT_STRING, BASE_NONE, NULL, 0x0,
				  "Either end as cid:port (the conversation and endpoint tables' filters)", HFILL } },
		{ &hf_v_src_cid, { "Source CID", "vsockmon.virtio.src_cid", FT_UINT64, BASE_DEC, NULL, 0x0,
				   "The virtio header's source CID", HFILL } },
		{ &hf_v_dst_cid, { "Destination CID", "vsockmon.virtio.dst_cid", FT_UINT64, BASE_DEC, NULL, 0x0,
				   "The virtio header's destination CID", HFILL } },
		{ &hf_v_src_port, { "Source port", "vsockmon.virtio.src_port", FT_UINT32, BASE_DEC, NULL, 0x0,
				    "The virtio header's source port", HFILL } },
		{ &hf_v_dst_port, { "Destination port", "vsockmon.virtio.dst_port", FT_UINT32, BASE_DEC, NULL, 0x0,
				    "The virtio header's destination port", HFILL } },
		{ &hf_flag_rcv, { "RCV", "vsockmon.flags.rcv", FT_BOOLEAN, 32, NULL, VSM_SHUTDOWN_RCV,
				  "SHUTDOWN: the sender will receive no more", HFILL } },
		{ &hf_flag_send, { "SEND", "vsockmon.flags.send", FT_BOOLEAN, 32, NULL, VSM_SHUTDOWN_SEND,
				   "SHUTDOWN: the sender will send no more", HFILL } },
		{ &hf_flag_eom, { "EOM", "vsockmon.flags.eom", FT_BOOLEAN, 32, NULL, VSM_SEQ_EOM,
				  "SEQPACKET: the packet ends a message", HFILL } },
		{ &hf_flag_eor, { "EOR", "vsockmon.flags.eor", FT_BOOLEAN, 32, NULL, VSM_SEQ_EOR,
				  "SEQPACKET: the message ends a record", HFILL } },
		{ &hf_an_stream, { "Stream index", "vsockmon.stream", FT_UINT32, BASE_DEC, NULL, 0x0,
				   "The connection's index, from 0, as tcp.stream", HFILL } },
		{ &hf_an_flow_id, { "Flow id", "vsockmon.analysis.flow_id", FT_UINT64, BASE_DEC, NULL, 0x0,
				    "libvsockmon's flow id (vsockdump --flows): the stream index + 1", HFILL } },
		{ &hf_an_state, { "State", "vsockmon.analysis.state", FT_STRING, BASE_NONE, NULL, 0x0,
				  "The connection's state after this packet", HFILL } },
		{ &hf_an_opened_in, { "Opened in", "vsockmon.analysis.opened_in", FT_FRAMENUM, BASE_NONE,
				      FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0, "The REQUEST of this connection", HFILL } },
		{ &hf_an_ended_in, { "Ended in", "vsockmon.analysis.ended_in", FT_FRAMENUM, BASE_NONE,
				     FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0, "The RST that ended this connection", HFILL } },
		{ &hf_an_stalled, { "Stalled", "vsockmon.analysis.stalled", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
				    "The sender has no credit left after this packet: a credit stall", HFILL } },
		{ &hf_an_stall_duration, { "Stall duration", "vsockmon.analysis.stall_duration", FT_RELATIVE_TIME, BASE_NONE,
					   NULL, 0x0, "A stall so far, or at its end its whole length", HFILL } },
		{ &hf_an_stall_end, { "Stall ended", "vsockmon.analysis.stall_end", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
				      "This packet gave a stalled sender credit again", HFILL } },
		{ &hf_an_since_cu, { "Time since the peer's last CREDIT_UPDATE", "vsockmon.analysis.since_credit_update",
				     FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_reassembled_in, { "Reassembled in", "vsockmon.reassembled_in", FT_FRAMENUM, BASE_NONE, NULL, 0x0,
					"The frame whose payload completes the PDU or message these bytes belong to", HFILL } },
		{ &hf_segments, { "Reassembled payload", "vsockmon.segments", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_header, { "vsockmon header", "vsockmon.header", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_virtio, { "virtio-vsock header", "vsockmon.virtio", FT_NONE, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_analysis, { "vsock analysis", "vsockmon.analysis", FT_NONE, BASE_NONE, NULL, 0x0,
				  "The flow and credit analysis of libvsockmon", HFILL } },
		{ &hf_flow_tree, { "Connection summary", "vsockmon.flow", FT_NONE, BASE_NONE, NULL, 0x0,
				   "The connection as a whole (vsockdump --flows)", HFILL } },
		{ &hf_dir_tree, { "Direction", "vsockmon.dir", FT_NONE, BASE_NONE, NULL, 0x0,
				  "One direction of the connection (a_to_b, b_to_a)", HFILL } },
		{ &hf_segment, { "Payload from", "vsockmon.segment", FT_FRAMENUM, BASE_NONE, NULL, 0x0, NULL, HFILL } },
		{ &hf_segment_count, { "Packets", "vsockmon.segment.count", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_reassembled_length, { "Reassembled length", "vsockmon.reassembled.length", FT_UINT32, BASE_DEC, NULL,
					    0x0, NULL, HFILL } },
	};
	static gint *ett[] = { &ett_vsockmon, &ett_mon, &ett_virtio, &ett_flags, &ett_analysis, &ett_flow, &ett_dir,
			       &ett_segments };
	static build_valid_func da_src_values[] = { da_src_value };
	static build_valid_func da_dst_values[] = { da_dst_value };
	static build_valid_func da_both_values[] = { da_src_value, da_dst_value };
	static decode_as_value_t da_values[] = {
		{ da_src_prompt, 1, da_src_values },
		{ da_dst_prompt, 1, da_dst_values },
		{ da_both_prompt, 2, da_both_values },
	};
	static decode_as_t da = { "vsockmon", "vsockmon.port", 3, 2, da_values, "vsock port", "as",
				  decode_as_default_populate_list, decode_as_default_reset, decode_as_default_change, NULL };
	/*
	 * The generated parts: names from fields.def and flowfields.def, one truth for the text printer,
	 * the JSON keys and these filter names. Wireshark keeps pointers into these arrays for good.
	 */
	hf_register_info *gen = g_new0(hf_register_info, VSM_F_COUNT + VSM_FF_COUNT);
	ei_register_info *ei = g_new0(ei_register_info, VSM_PROB_COUNT + VSM_FP_COUNT);
	size_t n = 0, m = 0;
	expert_module_t *expert;
	module_t *prefs;
	const void *strings[VSM_F_COUNT] = {
		[VSM_F_MON_OP] = VALS(vals_from(vsm_mon_op_name, VSM_MON_OP_PAYLOAD)),
		[VSM_F_TRANSPORT] = VALS(vals_from(vsm_transport_name, VSM_MON_TRANSPORT_VIRTIO)),
		[VSM_F_TYPE] = VALS(vals_from(vsm_type_name, VSM_TYPE_SEQPACKET)),
		[VSM_F_OP] = VALS(vals_from(vsm_op_name, VSM_OP_MAX)),
	};

	for (int i = 0; i < VSM_F_COUNT; i++) {
		hf_field[i] = -1;
		if (field_specs[i].prefix)
			set_hf(&gen[n++], &hf_field[i], field_specs[i].name,
			       g_strconcat(field_specs[i].prefix, vsm_fields[i].key, NULL), field_specs[i].type,
			       field_specs[i].display, strings[i], vsm_fields[i].description);
	}
	for (int i = 0; i < VSM_FF_COUNT; i++) {
		enum ftenum type;
		int display;

		hf_flow[i] = -1;
		flow_field_type(i, &type, &display);
		/* The key is the label: as in vsockdump --flows, whose text uses the same words. */
		set_hf(&gen[n++], &hf_flow[i], vsm_flow_fields[i].key,
		       g_strconcat(vsm_flow_fields[i].scope == VSM_FS_FLOW ? "vsockmon.flow." : "vsockmon.dir.",
				   vsm_flow_fields[i].key, NULL), type, display, NULL, vsm_flow_fields[i].description);
	}
	for (unsigned i = 0; i < VSM_PROB_COUNT; i++)
		set_ei(&ei[m++], &ei_frame[i], vsm_problem_name(1u << i), frame_problem_info[i].group,
		       frame_problem_info[i].severity, frame_problem_info[i].text);
	/* The summary is problems.def's explanation and what to check: vsockdump --flows's words. */
	for (unsigned i = 0; i < VSM_FP_COUNT; i++)
		set_ei(&ei[m++], &ei_flow[i], vsm_flow_problem_name(i), flow_problem_info[i].group,
		       flow_problem_info[i].severity,
		       g_strconcat(vsm_flow_problem_info(i)->explanation, "; check: ", vsm_flow_problem_info(i)->check,
				   NULL));

	/* The built-in dissector owns "vsock": this one needs a name of its own. */
	proto_vsockmon = proto_register_protocol("vsockmon (vsock over vsockmon)", "VSOCKMON", "vsockmon");
	proto_register_field_array(proto_vsockmon, hf, array_length(hf));
	proto_register_field_array(proto_vsockmon, gen, (int)n);
	proto_register_subtree_array(ett, array_length(ett));
	expert = expert_register_protocol(proto_vsockmon);
	expert_register_field_array(expert, ei, (int)m);

	vsockmon_handle = register_dissector("vsockmon", dissect_vsockmon_frame, proto_vsockmon);
	port_table = register_dissector_table("vsockmon.port", "vsock port", proto_vsockmon, FT_UINT32, BASE_DEC);
	heur_list = register_heur_dissector_list("vsockmon", proto_vsockmon);
	register_decode_as(&da);
	prefs = prefs_register_protocol(proto_vsockmon, proto_reg_handoff_vsockmon);
	prefs_register_bool_preference(prefs, "linktype", "Decode LINKTYPE_VSOCK captures",
				       "Off: captures of vsockmon interfaces go back to Wireshark's built-in vsock dissector "
				       "(tshark -o vsockmon.linktype:FALSE), for instance to compare the two",
				       &pref_linktype);
	prefs_register_bool_preference(prefs, "show_summary", "Show the connection summary",
				       "The connection as a whole (vsockdump --flows) in a subtree of every packet of it. Off: "
				       "not shown, though filters on vsockmon.flow.* and vsockmon.dir.* still work",
				       &pref_summary);

	conv_register(proto_vsockmon);

	register_init_routine(analysis_init_capture);
	register_cleanup_routine(analysis_cleanup_capture);
	register_postseq_cleanup_routine(analysis_end_of_capture);
}

/* Decode As candidates: whatever can sit on a TCP port can sit on a vsock STREAM port. */
static void add_candidate(gpointer data, gpointer user_data _U_)
{
	dissector_add_for_decode_as("vsockmon.port", (dissector_handle_t)data);
}

void proto_reg_handoff_vsockmon(void)
{
	static gboolean candidates_added;
	dissector_handle_t builtin;

	if (!candidates_added) {
		dissector_table_t tcp = find_dissector_table("tcp.port");

		if (tcp)
			g_slist_foreach(dissector_table_get_dissector_handles(tcp), add_candidate, NULL);
		candidates_added = TRUE;
	}
	/* Plugin handoffs run after the built-in ones: this replaces the built-in vsock dissector's entry. */
	if (pref_linktype) {
		dissector_add_uint("wtap_encap", WTAP_ENCAP_VSOCK, vsockmon_handle);
	} else {
		builtin = find_dissector("vsock");
		if (builtin)
			dissector_add_uint("wtap_encap", WTAP_ENCAP_VSOCK, builtin);
		else
			dissector_delete_uint("wtap_encap", WTAP_ENCAP_VSOCK, vsockmon_handle);
	}
}
