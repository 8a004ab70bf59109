/* SPDX-License-Identifier: GPL-2.0-or-later */
/* registration.h: the ids Wireshark hands out when the vsockmon protocol, its fields, subtrees and expert infos are registered, and its preferences. */
#ifndef VSM_WS_REGISTRATION_H
#define VSM_WS_REGISTRATION_H

#include <wireshark.h>
#include <epan/expert.h>
#include <epan/packet.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>

#include "ws-compat.h"

/* What plugin.c hands Wireshark's plugin loader. */
void proto_register_vsockmon(void);
void proto_reg_handoff_vsockmon(void);

/*
 * Registration ids: Wireshark hands these out at registration, every dissector keeps them in variables
 * of its own, and they do not change once registered. Set in registration.c; the dissector's layers
 * (packet-vsockmon.c, analysis.c, reassembly.c) read them.
 */
extern int proto_vsockmon;
extern int hf_field[VSM_F_COUNT];	/* from fields.def: "vsockmon.<key>" */
extern int hf_flow[VSM_FF_COUNT];	/* from flowfields.def: "vsockmon.flow.<key>", "vsockmon.dir.<key>" */
extern int hf_reserved;
extern int hf_cid;
extern int hf_port;
extern int hf_src_endpoint;
extern int hf_dst_endpoint;
extern int hf_endpoint;
extern int hf_v_src_cid;
extern int hf_v_dst_cid;
extern int hf_v_src_port;
extern int hf_v_dst_port;
extern int hf_flag_rcv;
extern int hf_flag_send;
extern int hf_flag_eom;
extern int hf_flag_eor;
extern int hf_an_stream;
extern int hf_an_flow_id;
extern int hf_an_state;
extern int hf_an_opened_in;
extern int hf_an_ended_in;
extern int hf_an_stalled;
extern int hf_an_stall_duration;
extern int hf_an_stall_end;
extern int hf_an_since_cu;
extern int hf_reassembled_in;
extern int hf_segments;
extern int hf_header;
extern int hf_virtio;
extern int hf_analysis;
extern int hf_flow_tree;
extern int hf_dir_tree;
extern int hf_segment;
extern int hf_segment_count;
extern int hf_reassembled_length;

extern gint ett_vsockmon;
extern gint ett_mon;
extern gint ett_virtio;
extern gint ett_flags;
extern gint ett_analysis;
extern gint ett_flow;
extern gint ett_dir;
extern gint ett_segments;

extern expert_field ei_frame[VSM_PROB_COUNT];	/* one per VSM_PROB_* bit, "vsockmon.problem.<name>" */
extern expert_field ei_flow[VSM_FP_COUNT];	/* one per VSM_FP_* problem, "vsockmon.problem.<name>" */

/* The sub-dissectors a payload is offered to (reassembly.c): by port (Decode As), and heuristic ones. */
extern dissector_table_t port_table;
extern heur_dissector_list_t heur_list;

/* Preference "vsockmon.show_summary": the connection summary on every packet of a connection (on). */
extern vsm_ws_bool pref_summary;

#endif
