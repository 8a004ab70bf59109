/* SPDX-License-Identifier: GPL-2.0-or-later */
/* analysis.h: the flow and credit analysis of a capture (libvsockmon's, fed in the first pass): what it keeps per connection and per frame, and the trees that show it. */
#ifndef VSM_WS_ANALYSIS_H
#define VSM_WS_ANALYSIS_H

#include <stdbool.h>
#include <stdint.h>

#include <wireshark.h>
#include <epan/packet.h>

#include <vsockmon/decode.h>
#include <vsockmon/flow.h>

struct pdu;	/* reassembly.h */
struct step;	/* reassembly.h */

/* Per connection, for the life of the capture. */
struct flow_data {
	uint64_t id;			/* libvsockmon's flow id; the stream index is id - 1 */
	struct vsm_flow snap;		/* after its last packet; after the end of the first pass, final */
	uint32_t nevents_seen;		/* snap.nevents as last looked at */
	uint32_t opened_in, ended_in;	/* the REQUEST, the packet that finished it */
	int server;			/* the side that accepted the REQUEST, -1 when not seen */
	struct frame_info *first_fi, *last_fi;
	struct frame_info *request_fi[2];	/* the CREDIT_REQUEST side s waits on an answer for */
	int64_t credit_update_ns[2];	/* when side s last sent a CREDIT_UPDATE; 0: never */
	struct pdu *pending[2];		/* payload reassembly under way from side s */
};

/* Per frame, computed in the first pass (p_add_proto_data) and read back in the later ones. */
struct frame_info {
	struct flow_data *flow;		/* NULL: no virtio header, no flow */
	struct vsm_credit_view view;	/* the sender's credit after the packet */
	uint8_t side;			/* the sender's side of the flow */
	uint8_t state;			/* enum vsm_flow_state after the packet */
	bool stalled;			/* the sender is in a credit stall after the packet */
	bool stall_end;			/* the packet ended a stall */
	bool have_since_cu;
	uint32_t problems;		/* 1 << VSM_FP_*: raised by this packet, or found later to be its own */
	uint64_t stall_ns;		/* stalled: the stall so far */
	uint64_t stall_len_ns;		/* stall_end: the length of the stall it ended */
	uint64_t since_cu_ns;		/* time since the peer's last CREDIT_UPDATE */
	const struct step *steps;	/* in order; NULL: no payload handed on */
};

/*
 * The capture being read: Wireshark's init and cleanup routines take no argument, so the one capture
 * being dissected is kept by analysis.c, made when a capture is opened and freed when it is closed.
 */
void analysis_init_capture(void);
void analysis_cleanup_capture(void);
/* The end of the first pass (register_postseq_cleanup_routine()); again from a later pass: done once. */
void analysis_end_of_capture(void);

/* The first pass, in frame order: feeds pkt (which has a virtio header) to the analysis, fills fi. */
void analysis_packet(const struct vsm_pkt *pkt, packet_info *pinfo, struct frame_info *fi);

/* The frame's analysis subtree, its flow problems as expert infos on top, and the connection summary. */
void analysis_add_tree(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct frame_info *fi,
		       proto_item *top);

/* How many connections the capture has so far: stream indexes are 0 to this minus one. */
guint32 analysis_stream_count(void);

/* A duration in vsockdump's words ("1.5 ms"), appended to out. */
void analysis_put_duration(wmem_strbuf_t *out, uint64_t ns);

#endif
