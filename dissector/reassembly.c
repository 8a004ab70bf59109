/* SPDX-License-Identifier: GPL-2.0-or-later */
/* reassembly.c: the payload of a connection handed to other dissectors (heuristic ones, then the port table), with the reassembly of STREAM PDUs a sub-dissector asks more bytes for and of SEQPACKET messages that span packets. */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <string.h>

#include <epan/exceptions.h>
#include <epan/packet.h>
#include <epan/show_exception.h>

#include "analysis.h"
#include "reassembly.h"
#include "registration.h"

/* A reassembly under way: a STREAM PDU a sub-dissector asked more bytes for, or a SEQPACKET message. */
#define PDU_ANY_MORE UINT64_MAX
struct pdu {
	uint8_t *data;
	uint32_t len, cap;
	uint64_t need;			/* bytes it needs in all; PDU_ANY_MORE: at least one more */
	uint32_t reassembled_in;	/* the frame it was handed on in, 0 until then */
	wmem_array_t *frames;		/* guint32 frame numbers that gave it bytes, ascending */
};

/* What the first pass did with a frame's payload, so that every later pass does the same. */
enum step_kind {
	STEP_FRESH,			/* payload from off on handed on as it is */
	STEP_CONT,			/* payload bytes [off, off + len) went to pdu */
	STEP_REASM,			/* the first len bytes of pdu handed on here */
};
struct step {
	struct step *next;
	enum step_kind kind;
	uint32_t off, len;
	struct pdu *pdu;
	bool desegment;			/* sub-dissectors may ask for more (STREAM) */
	struct pdu *tail;		/* FRESH: the PDU its unconsumed bytes from tail_off on began */
	uint32_t tail_off;
};


struct handed {
	bool more;			/* the sub-dissector asked for more bytes */
	uint32_t off;			/* ... from this offset of what it was given */
	uint64_t need;			/* ... this many more (PDU_ANY_MORE: at least one) */
};


/* Heuristic dissectors first, then the port table (Decode As), else the bytes as data. */
static struct handed hand_on(struct payload_ctx *x, tvbuff_t *next, bool desegment)
{
	packet_info *pinfo = x->pinfo;
	struct handed h = { false, 0, 0 };
	heur_dtbl_entry_t *hdtbl_entry;

	/* A second PDU in the same frame adds to the Info column instead of wiping the first one's text. */
	if (x->handed++)
		col_set_fence(pinfo->cinfo, COL_INFO);
	/* As TCP does: 2, since calling a dissector takes one off, so the one called sees 1. */
	pinfo->can_desegment = desegment ? 2 : 0;
	pinfo->desegment_offset = 0;
	pinfo->desegment_len = 0;
	TRY {
		if (!dissector_try_heuristic(heur_list, next, pinfo, x->top, &hdtbl_entry, NULL) &&
		    !dissector_try_uint_new(port_table, x->ports[0], next, pinfo, x->top, TRUE, NULL) &&
		    (x->ports[1] == x->ports[0] ||
		     !dissector_try_uint_new(port_table, x->ports[1], next, pinfo, x->top, TRUE, NULL)))
			call_data_dissector(next, pinfo, x->top);
	}
	CATCH_NONFATAL_ERRORS {
		/* A sub-dissector's trouble is shown where it happened; ours goes on. */
		show_exception(next, pinfo, x->top, EXCEPT_CODE, GET_MESSAGE);
	}
	ENDTRY;
	if (desegment && pinfo->desegment_len && pinfo->desegment_offset >= 0 &&
	    (guint)pinfo->desegment_offset < tvb_reported_length(next)) {
		h.more = true;
		h.off = (uint32_t)pinfo->desegment_offset;
		h.need = pinfo->desegment_len == DESEGMENT_ONE_MORE_SEGMENT ? PDU_ANY_MORE : pinfo->desegment_len;
	}
	pinfo->can_desegment = 0;
	pinfo->desegment_offset = 0;
	pinfo->desegment_len = 0;
	return h;
}

static struct step *add_step(struct frame_info *fi, enum step_kind kind, uint32_t off, uint32_t len, struct pdu *pdu,
			     bool desegment)
{
	struct step *st = wmem_new0(wmem_file_scope(), struct step);
	const struct step **end = &fi->steps;

	st->kind = kind;
	st->off = off;
	st->len = len;
	st->pdu = pdu;
	st->desegment = desegment;
	/* A frame has a few steps at most: the walk costs less than a tail pointer in every frame. */
	while (*end)
		end = (const struct step **)&(*end)->next;
	*end = st;
	return st;
}

/*
 * The usual case, a whole payload handed on as it is and nothing else, shares one constant step
 * instead of one allocated for each of a capture's millions of frames.
 */
static void add_whole_payload(struct frame_info *fi, uint32_t len, bool desegment)
{
	static const struct step whole[2] = {
		{ .kind = STEP_FRESH, .off = 0, .len = UINT32_MAX, .desegment = false },
		{ .kind = STEP_FRESH, .off = 0, .len = UINT32_MAX, .desegment = true },
	};

	if (!fi->steps)
		fi->steps = &whole[desegment];
	else
		add_step(fi, STEP_FRESH, 0, len, NULL, desegment);
}

static struct pdu *pdu_new(uint64_t need)
{
	struct pdu *p = wmem_new0(wmem_file_scope(), struct pdu);

	p->need = need;
	p->frames = wmem_array_new(wmem_file_scope(), sizeof(guint32));
	return p;
}

static void pdu_add_frame(struct pdu *p, guint32 num)
{
	guint n = wmem_array_get_count(p->frames);

	if (!n || *(guint32 *)wmem_array_index(p->frames, n - 1) != num)
		wmem_array_append_one(p->frames, num);
}

static void pdu_append(struct pdu *p, const uint8_t *bytes, uint32_t len, guint32 num)
{
	if (p->len + len > p->cap) {
		uint32_t cap = MAX(p->cap * 2, p->len + len);

		p->data = wmem_realloc(wmem_file_scope(), p->data, cap);
		p->cap = cap;
	}
	memcpy(p->data + p->len, bytes, len);
	p->len += len;
	pdu_add_frame(p, num);
}

static tvbuff_t *pdu_tvb(struct payload_ctx *x, struct pdu *p, uint32_t len)
{
	return tvb_new_child_real_data(x->tvb, p->data, len, len);
}

/* A STREAM payload, first pass: hand on what is whole, keep what a sub-dissector wants more of. */
void reasm_stream_first_pass(struct payload_ctx *x)
{
	struct flow_data *fd = x->fd;
	int s = x->fi->side;
	uint32_t plen = tvb_captured_length(x->payload), pos = 0;
	const uint8_t *bytes = tvb_get_ptr(x->payload, 0, plen);
	guint32 num = x->pinfo->num;

	for (;;) {
		struct pdu *p = fd->pending[s];
		struct handed h;

		if (p) {
			uint32_t take = plen - pos;

			if (p->need != PDU_ANY_MORE && p->need - p->len < take)
				take = (uint32_t)(p->need - p->len);
			if (!take)
				break;
			pdu_append(p, bytes + pos, take, num);
			add_step(x->fi, STEP_CONT, pos, take, p, true);
			pos += take;
			if (p->need != PDU_ANY_MORE && p->len < p->need)
				break;
			h = hand_on(x, pdu_tvb(x, p, p->len), true);
			if (h.more && h.off == 0) {
				/* Not whole yet after all: wait for as much as it now says. */
				p->need = h.need == PDU_ANY_MORE ? PDU_ANY_MORE : p->len + h.need;
				continue;
			}
			p->reassembled_in = num;
			add_step(x->fi, STEP_REASM, 0, p->len, p, true);
			fd->pending[s] = NULL;
			if (h.more) {
				/* The PDUs before h.off were whole; the rest begins the next one. */
				struct pdu *rest = pdu_new(h.need == PDU_ANY_MORE ? PDU_ANY_MORE : p->len - h.off + h.need);

				pdu_append(rest, p->data + h.off, p->len - h.off, num);
				fd->pending[s] = rest;
			}
			continue;
		}
		if (pos == plen)
			break;
		h = hand_on(x, tvb_new_subset_remaining(x->payload, pos), true);
		if (h.more) {
			struct step *st = add_step(x->fi, STEP_FRESH, pos, plen - pos, NULL, true);
			uint32_t left = plen - pos - h.off;

			st->tail = pdu_new(h.need == PDU_ANY_MORE ? PDU_ANY_MORE : left + h.need);
			st->tail_off = pos + h.off;
			pdu_append(st->tail, bytes + st->tail_off, left, num);
			fd->pending[s] = st->tail;
		} else if (pos == 0) {
			add_whole_payload(x->fi, plen, true);
		} else {
			add_step(x->fi, STEP_FRESH, pos, plen - pos, NULL, true);
		}
		break;
	}
}

/* A SEQPACKET RW, first pass: messages are whole at EOM (virtio spec 5.10.6.6). */
void reasm_seqpacket_first_pass(struct payload_ctx *x, bool eom)
{
	struct flow_data *fd = x->fd;
	int s = x->fi->side;
	uint32_t plen = tvb_captured_length(x->payload);
	struct pdu *p = fd->pending[s];

	if (!p && eom) {
		/* A message in one packet: no reassembly. */
		if (plen)
			add_whole_payload(x->fi, plen, false);
		return;
	}
	if (!p)
		p = fd->pending[s] = pdu_new(PDU_ANY_MORE);
	pdu_append(p, tvb_get_ptr(x->payload, 0, plen), plen, x->pinfo->num);
	add_step(x->fi, STEP_CONT, 0, plen, p, false);
	if (eom) {
		p->reassembled_in = x->pinfo->num;
		add_step(x->fi, STEP_REASM, 0, p->len, p, false);
		fd->pending[s] = NULL;
	}
}

static void note_reassembled_in(struct payload_ctx *x, uint32_t off, uint32_t len, const struct pdu *p)
{
	proto_item *ti;

	if (p->reassembled_in) {
		ti = proto_tree_add_uint(x->tree, hf_reassembled_in, x->payload, off, len, p->reassembled_in);
		proto_item_append_text(ti, " (%u bytes of a PDU)", len);
	} else {
		ti = proto_tree_add_uint_format_value(x->tree, hf_reassembled_in, x->payload, off, len, 0,
						      "never (%u bytes of a PDU the capture does not complete)", len);
	}
	proto_item_set_generated(ti);
}

static void note_segments(struct payload_ctx *x, tvbuff_t *rtvb, const struct pdu *p, uint32_t len)
{
	guint n = wmem_array_get_count(p->frames);
	proto_item *ti = proto_tree_add_none_format(x->tree, hf_segments, rtvb, 0, -1,
						    "%u bytes reassembled from %u packet%s", len, n, n == 1 ? "" : "s");
	proto_tree *st = proto_item_add_subtree(ti, ett_segments);

	proto_item_set_generated(ti);
	for (guint i = 0; i < n; i++)
		proto_item_set_generated(proto_tree_add_uint(st, hf_segment, rtvb, 0, 0,
							     *(guint32 *)wmem_array_index(p->frames, i)));
	proto_item_set_generated(proto_tree_add_uint(st, hf_segment_count, rtvb, 0, 0, n));
	proto_item_set_generated(proto_tree_add_uint(st, hf_reassembled_length, rtvb, 0, 0, len));
}

/* Every pass: what the first pass decided, done again (the first pass has already handed on). */
void reasm_replay(struct payload_ctx *x, bool first_pass)
{
	for (const struct step *st = x->fi->steps; st; st = st->next) {
		switch (st->kind) {
		case STEP_FRESH:
			if (!first_pass)
				hand_on(x, tvb_new_subset_remaining(x->payload, st->off), st->desegment);
			if (st->tail)
				note_reassembled_in(x, st->tail_off, st->off + st->len - st->tail_off, st->tail);
			break;
		case STEP_CONT:
			if (st->pdu->reassembled_in != x->pinfo->num)
				note_reassembled_in(x, st->off, st->len, st->pdu);
			break;
		case STEP_REASM: {
			tvbuff_t *rtvb = pdu_tvb(x, st->pdu, st->len);

			add_new_data_source(x->pinfo, rtvb, "Reassembled vsock payload");
			note_segments(x, rtvb, st->pdu, st->len);
			if (!first_pass)
				hand_on(x, rtvb, st->desegment);
			break;
		}
		}
	}
}
