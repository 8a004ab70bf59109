/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reassembly.h: a connection's payload handed to other dissectors, and reassembled when one asks for more (a STREAM PDU) or a SEQPACKET message spans packets. */
#ifndef VSM_WS_REASSEMBLY_H
#define VSM_WS_REASSEMBLY_H

#include <stdbool.h>
#include <stdint.h>

#include <wireshark.h>
#include <epan/packet.h>

#include "analysis.h"

/* One frame's RW payload, as the dissector gives it to this layer. */
struct payload_ctx {
	tvbuff_t *tvb;			/* the frame */
	tvbuff_t *payload;		/* its payload */
	packet_info *pinfo;
	proto_tree *top;		/* the frame's tree: sub-dissectors add their protocols beside ours */
	proto_tree *tree;		/* our protocol's tree */
	struct frame_info *fi;
	struct flow_data *fd;
	uint32_t ports[2];		/* to try in the port table, the server's first */
	unsigned handed;		/* sub-dissector calls so far in this frame */
};

/*
 * The first pass, in frame order: hands on what is whole and keeps in x->fd what is not, writing down
 * in x->fi what it did so that every later pass does the same (reasm_replay()).
 */
void reasm_stream_first_pass(struct payload_ctx *x);
/* A SEQPACKET RW; eom: the packet ends its message (VIRTIO_VSOCK_SEQ_EOM). */
void reasm_seqpacket_first_pass(struct payload_ctx *x, bool eom);

/*
 * Every pass: the reassembly items of the frame, and, after the first pass (which has already handed
 * on), the sub-dissector calls the first pass made.
 */
void reasm_replay(struct payload_ctx *x, bool first_pass);

#endif
