/* SPDX-License-Identifier: GPL-2.0-or-later */
/* packet-vsockmon.c: the vsockmon Wireshark dissector: LINKTYPE_VSOCK frames decoded by libvsockmon, its flow and credit analysis, conversations, and payload handed to other dissectors. */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <epan/address_types.h>
#include <epan/conversation_table.h>
#include <epan/decode_as.h>
#include <epan/exceptions.h>
#include <epan/expert.h>
#include <epan/follow.h>
#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/proto_data.h>
#include <epan/show_exception.h>
#include <epan/tap.h>
#include <wiretap/wtap.h>
#include <wsutil/utf8_entities.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/strbuf.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "ws-compat.h"

void proto_register_vsockmon(void);
void proto_reg_handoff_vsockmon(void);

/*
 * Registration ids: Wireshark hands these out at registration and every dissector keeps them in
 * file-scope variables; they do not change once registered.
 */
static int proto_vsockmon = -1;
static int hf_field[VSM_F_COUNT];		/* from fields.def: "vsockmon.<key>" */
static int hf_flow[VSM_FF_COUNT];		/* from flowfields.def: "vsockmon.flow.<key>", "vsockmon.dir.<key>" */
static int hf_reserved = -1;
static int hf_cid = -1;
static int hf_port = -1;
static int hf_src_endpoint = -1;
static int hf_dst_endpoint = -1;
static int hf_endpoint = -1;
static int hf_v_src_cid = -1;
static int hf_v_dst_cid = -1;
static int hf_v_src_port = -1;
static int hf_v_dst_port = -1;
static int hf_flag_rcv = -1;
static int hf_flag_send = -1;
static int hf_flag_eom = -1;
static int hf_flag_eor = -1;
static int hf_an_stream = -1;
static int hf_an_flow_id = -1;
static int hf_an_state = -1;
static int hf_an_opened_in = -1;
static int hf_an_ended_in = -1;
static int hf_an_stalled = -1;
static int hf_an_stall_duration = -1;
static int hf_an_stall_end = -1;
static int hf_an_since_cu = -1;
static int hf_reassembled_in = -1;
static int hf_segments = -1;
static int hf_header = -1;
static int hf_virtio = -1;
static int hf_analysis = -1;
static int hf_flow_tree = -1;
static int hf_dir_tree = -1;
static int hf_segment = -1;
static int hf_segment_count = -1;
static int hf_reassembled_length = -1;

static gint ett_vsockmon = -1;
static gint ett_mon = -1;
static gint ett_virtio = -1;
static gint ett_flags = -1;
static gint ett_analysis = -1;
static gint ett_flow = -1;
static gint ett_dir = -1;
static gint ett_segments = -1;

static expert_field ei_frame[VSM_PROB_COUNT];	/* one per VSM_PROB_* bit, "vsockmon.problem.<name>" */
static expert_field ei_flow[VSM_FP_COUNT];	/* one per VSM_FP_* problem, "vsockmon.problem.<name>" */

static int tap_conv = -1;
static int tap_follow = -1;
static int at_cid = -1;				/* the address type of CIDs */
static dissector_handle_t vsockmon_handle;
/* Preference "vsockmon.linktype": decode LINKTYPE_VSOCK (on), or give it back to the built-in "vsock". */
static vsm_ws_bool pref_linktype = TRUE;
/* Preference "vsockmon.show_summary": the connection summary on every packet of a connection (on). */
static vsm_ws_bool pref_summary = TRUE;
static dissector_table_t port_table;
static heur_dissector_list_t heur_list;

#define NS_PER_S 1000000000ll

/* ---- per-capture state ---- */

/*
 * The flow table of the capture being read. Wireshark's init and cleanup routines take no argument,
 * so the one capture being dissected is reached through this pointer: made by init_capture() when a
 * capture is opened, freed by cleanup_capture() when it is closed.
 */
struct capture {
	struct vsm_flows *flows;	/* libvsockmon's analysis, fed in the first pass in frame order */
	wmem_map_t *by_id;		/* flow id -> struct flow_data */
	struct timespec last_ts;	/* of the last frame of the first pass: "now" at the end */
	bool have_ts;
	bool ended;			/* the end of the first pass has been accounted for */
	const struct vsm_flow **list;	/* scratch for vsm_flows_list() */
};
static struct capture *capture;

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

/* Bounded by libvsockmon (timestamp.h): Wireshark passes on whatever time a capture claims. */
static int64_t ts_ns(const struct timespec *ts)
{
	return vsm_ts_ns(ts);
}

static nstime_t ns_to_nstime(uint64_t ns)
{
	nstime_t t;

	t.secs = (time_t)(ns / NS_PER_S);
	t.nsecs = (int)(ns % NS_PER_S);
	return t;
}

static void init_capture(void)
{
	struct capture *c = g_new0(struct capture, 1);

	if (vsm_flows_new(0, &c->flows) < 0) {
		g_free(c);
		return;
	}
	c->by_id = wmem_map_new(wmem_file_scope(), g_int64_hash, g_int64_equal);
	capture = c;
}

static void cleanup_capture(void)
{
	if (!capture)
		return;
	vsm_flows_free(capture->flows);
	g_free(capture->list);
	g_free(capture);
	capture = NULL;
}

/* ---- the analysis, first pass only ---- */

/*
 * The frame a problem belongs to. Most belong to the packet that raised them; those only time reveals
 * (libvsockmon raises them when a connection's next packet, or the end of the capture, comes after
 * their deadline) belong to an earlier one: an unanswered CREDIT_REQUEST to the request, a connect
 * never answered to its REQUEST, a half-close left open to the connection's last packet.
 */
static struct frame_info *event_frame(struct flow_data *fd, const struct vsm_flow_event *ev, struct frame_info *now_fi)
{
	switch (ev->kind) {
	case VSM_FP_CREDIT_UNANSWERED:
		if (ev->side >= 0 && ev->side < 2 && fd->request_fi[ev->side]) {
			struct frame_info *fi = fd->request_fi[ev->side];

			fd->request_fi[ev->side] = NULL;	/* answered late or never: no longer waiting */
			return fi;
		}
		return now_fi ? now_fi : fd->last_fi;
	case VSM_FP_INCOMPLETE:
		return fd->first_fi ? fd->first_fi : now_fi;
	case VSM_FP_HALF_OPEN:
		return fd->last_fi ? fd->last_fi : now_fi;
	default:
		return now_fi ? now_fi : fd->last_fi;
	}
}

/*
 * The events a flow raised since it was last looked at (fd->nevents_seen), each put on its frame;
 * now_fi is the packet being analysed, NULL at the end of the capture. Stall ends go on now_fi.
 */
static void take_events(struct flow_data *fd, const struct vsm_flow *f, struct frame_info *now_fi)
{
	struct vsm_flow_event ev[VSM_FLOW_EVENTS];
	size_t n = vsm_flow_events(f, ev);
	uint32_t fresh = MIN(f->nevents - fd->nevents_seen, (uint32_t)n);

	for (size_t i = n - fresh; i < n; i++) {
		struct frame_info *fi;

		if (ev[i].kind == VSM_FE_STALL_END && now_fi) {
			now_fi->stall_end = true;
			now_fi->stall_len_ns = ev[i].value;
			continue;
		}
		if (ev[i].kind >= VSM_FP_COUNT)
			continue;
		fi = event_frame(fd, &ev[i], now_fi);
		if (fi)
			fi->problems |= 1u << ev[i].kind;
	}
	fd->nevents_seen = f->nevents;
	fd->snap = *f;
}

/*
 * The end of the first pass: whatever still waits was left so (vsockdump --flows does the same). One
 * tick at the last frame's time, then each flow's last events go on their frames. Wireshark calls this
 * after its sequential pass (register_postseq_cleanup_routine()); the first frame of a later pass calls
 * it too, in case a program does not. A live capture that goes on after that sees requests pending at
 * that moment counted as unanswered.
 */
static void end_of_capture(void)
{
	struct capture *c = capture;
	size_t n;

	if (!c || c->ended || !c->have_ts)
		return;
	c->ended = true;
	vsm_flows_tick(c->flows, &c->last_ts, true);
	n = vsm_flows_count(c->flows);
	c->list = g_renew(const struct vsm_flow *, c->list, MAX(n, 1));
	n = vsm_flows_list(c->flows, c->list, n);
	for (size_t i = 0; i < n; i++) {
		struct flow_data *fd = wmem_map_lookup(c->by_id, &c->list[i]->id);

		if (fd)
			take_events(fd, c->list[i], NULL);
	}
}

static struct flow_data *flow_data_for(struct capture *c, const struct vsm_flow *f)
{
	struct flow_data *fd = wmem_map_lookup(c->by_id, &f->id);

	if (fd)
		return fd;
	fd = wmem_new0(wmem_file_scope(), struct flow_data);
	fd->id = f->id;
	fd->server = -1;
	wmem_map_insert(c->by_id, &fd->id, fd);
	return fd;
}

/*
 * libvsockmon checks a connection's deadlines before it applies the connection's next packet, so no
 * periodic tick is needed here: a late answer is found by the packet that brings it, and what never
 * got a next packet by the tick at the end.
 */
static void analyse(struct capture *c, const struct vsm_pkt *pkt, packet_info *pinfo, struct frame_info *fi)
{
	struct timespec ts = { .tv_sec = pinfo->abs_ts.secs, .tv_nsec = pinfo->abs_ts.nsecs };
	struct vsm_flow_key key = { { pkt->src_cid, pkt->dst_cid }, { pkt->src_port, pkt->dst_port } };
	const struct vsm_flow *before = vsm_flows_find(c->flows, &key), *f;
	uint64_t before_id = before ? before->id : 0;
	bool before_finished = before && vsm_flow_finished(before);
	struct flow_data *fd;
	int s;

	c->last_ts = ts;
	c->have_ts = true;
	f = vsm_flows_update(c->flows, pkt, &ts, &fi->view);
	if (!f)
		return;
	fd = flow_data_for(c, f);
	s = fi->view.side;
	fi->flow = fd;
	fi->side = (uint8_t)s;
	fi->state = (uint8_t)f->state;
	if (f->id != before_id) {
		/*
		 * A new flow (or the endpoints of a finished one used again): nothing of it seen before. The
		 * finished one, if any, keeps its own flow_data (its id differs).
		 */
		before_finished = false;
		fd->first_fi = fi;
		if (pkt->virtio.op == VSM_OP_REQUEST) {
			fd->opened_in = pinfo->num;
			fd->server = !s;
		}
	}
	take_events(fd, f, fi);
	if (f->side[s].stalled) {
		int64_t ns = ts_ns(&ts) - ts_ns(&f->side[s].stall_since);

		fi->stalled = true;
		fi->stall_ns = ns > 0 ? (uint64_t)ns : 0;
	}
	if (fd->credit_update_ns[!s]) {
		int64_t ns = ts_ns(&ts) - fd->credit_update_ns[!s];

		fi->have_since_cu = true;
		fi->since_cu_ns = ns > 0 ? (uint64_t)ns : 0;
	}
	if (pkt->virtio.op == VSM_OP_CREDIT_UPDATE)
		fd->credit_update_ns[s] = ts_ns(&ts) ? ts_ns(&ts) : 1;
	/* The request a side now waits on an answer for (the first of several unanswered ones). */
	for (int i = 0; i < 2; i++)
		if (!f->side[i].request_pending)
			fd->request_fi[i] = NULL;
	if (pkt->virtio.op == VSM_OP_CREDIT_REQUEST && f->side[s].request_pending && !fd->request_fi[s])
		fd->request_fi[s] = fi;
	if (vsm_flow_finished(f) && !before_finished && !fd->ended_in)
		fd->ended_in = pinfo->num;
	fd->last_fi = fi;
}

/* ---- the payload: handed to a sub-dissector, reassembled when one asks for more ---- */

struct handed {
	bool more;			/* the sub-dissector asked for more bytes */
	uint32_t off;			/* ... from this offset of what it was given */
	uint64_t need;			/* ... this many more (PDU_ANY_MORE: at least one) */
};

struct ctx {
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

/* Heuristic dissectors first, then the port table (Decode As), else the bytes as data. */
static struct handed hand_on(struct ctx *x, tvbuff_t *next, bool desegment)
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

static tvbuff_t *pdu_tvb(struct ctx *x, struct pdu *p, uint32_t len)
{
	return tvb_new_child_real_data(x->tvb, p->data, len, len);
}

/* A STREAM payload, first pass: hand on what is whole, keep what a sub-dissector wants more of. */
static void stream_first_pass(struct ctx *x)
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
static void seqpacket_first_pass(struct ctx *x, bool eom)
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

static void note_reassembled_in(struct ctx *x, uint32_t off, uint32_t len, const struct pdu *p)
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

static void note_segments(struct ctx *x, tvbuff_t *rtvb, const struct pdu *p, uint32_t len)
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
static void replay_steps(struct ctx *x, bool first_pass)
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

/* ---- names, columns and the tree ---- */

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

static void put_duration(wmem_strbuf_t *out, uint64_t ns)
{
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	vsm_put_duration(&sb, ns);
	if (sb.data)
		wmem_strbuf_append(out, sb.data);
	vsm_sb_free(&sb);
}

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
			put_duration(tags, fi->stall_ns);
			wmem_strbuf_append(tags, "] ");
		}
		if (fi->stall_end) {
			wmem_strbuf_append(tags, "[Stall ");
			put_duration(tags, fi->stall_len_ns);
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

/* "cid:port": how the conversation and endpoint tables name a socket, and their filters' value. */
static const char *endpoint_text(wmem_allocator_t *pool, uint64_t cid, uint32_t port)
{
	return wmem_strdup_printf(pool, "%" PRIu64 ":%u", cid, port);
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
			add_endpoint_items(mt, tvb, endpoint_text(pinfo->pool, pkt->src_cid, pkt->src_port),
					   endpoint_text(pinfo->pool, pkt->dst_cid, pkt->dst_port));
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

/*
 * The connection summary: one line for the connection and one per direction, in words and human units
 * (KiB, ms), so that tshark -V stays short. The exact values of vsockdump --flows --json are there too,
 * as filter fields under each line: hidden, except the ones that say something went wrong (stalls,
 * unanswered requests, buf_alloc changes, ring waits) when they are not zero.
 */
static void put_size(wmem_strbuf_t *out, uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes / 1024;
	size_t u = 0;

	if (bytes < 1024) {
		wmem_strbuf_append_printf(out, "%" PRIu64 " byte%s", bytes, bytes == 1 ? "" : "s");
		return;
	}
	while (v >= 1024 && u + 1 < G_N_ELEMENTS(units)) {
		v /= 1024;
		u++;
	}
	wmem_strbuf_append_printf(out, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const char *size_text(wmem_allocator_t *pool, uint64_t bytes)
{
	wmem_strbuf_t *sb = wmem_strbuf_new(pool, "");

	put_size(sb, bytes);
	return wmem_strbuf_get_str(sb);
}

static const char *duration_text(wmem_allocator_t *pool, uint64_t ns)
{
	wmem_strbuf_t *sb = wmem_strbuf_new(pool, "");

	put_duration(sb, ns);
	return wmem_strbuf_get_str(sb);
}

/* A summary field: shown when it says something went wrong, else there for filters and -T fields only. */
static void summary_item(proto_item *ti, bool shown)
{
	proto_item_set_generated(ti);
	if (!shown)
		proto_item_set_hidden(ti);
}

static void add_count(proto_tree *t, int hf, tvbuff_t *tvb, uint64_t v, bool trouble)
{
	summary_item(proto_tree_add_uint64(t, hf, tvb, 0, 0, v), trouble && v);
}

static void add_bytes(proto_tree *t, packet_info *pinfo, int hf, tvbuff_t *tvb, uint64_t v)
{
	summary_item(proto_tree_add_uint64_format_value(t, hf, tvb, 0, 0, v, "%s", size_text(pinfo->pool, v)), false);
}

static void add_ns(proto_tree *t, packet_info *pinfo, int hf, tvbuff_t *tvb, uint64_t ns, bool trouble)
{
	summary_item(proto_tree_add_uint64_format_value(t, hf, tvb, 0, 0, ns, "%s (%" PRIu64 " ns)",
							duration_text(pinfo->pool, ns), ns), trouble && ns);
}

static void add_dir(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct vsm_flow *f, int s,
		    const struct timespec *now)
{
	const struct vsm_flow_side *d = &f->side[s];
	wmem_strbuf_t *text = wmem_strbuf_new(pinfo->pool, "");
	int64_t credit, cur = d->stalled ? ts_ns(now) - ts_ns(&d->stall_since) : 0;
	uint64_t stall_ns = vsm_flow_stall_ns(f, s, now), now_ns = cur > 0 ? (uint64_t)cur : 0;
	uint32_t in_flight;
	bool known = vsm_flow_credit(f, s, &credit, &in_flight);
	proto_item *ti;
	proto_tree *t;

	wmem_strbuf_append_printf(text, "%" PRIu64 " packet%s", d->pkts, d->pkts == 1 ? "" : "s");
	if (d->rw_pkts)
		wmem_strbuf_append_printf(text, " (%" PRIu64 " RW)", d->rw_pkts);
	wmem_strbuf_append(text, ", ");
	put_size(text, d->bytes);
	if (f->type == VSM_TYPE_SEQPACKET && d->msgs) {
		wmem_strbuf_append_printf(text, " in %" PRIu64 " message%s (", d->msgs, d->msgs == 1 ? "" : "s");
		put_size(text, d->msg_min);
		wmem_strbuf_append(text, " to ");
		put_size(text, d->msg_max);
		wmem_strbuf_append_c(text, ')');
	}
	if (known) {
		wmem_strbuf_append(text, ", credit ");
		if (credit < 0) {
			wmem_strbuf_append(text, "-");
			put_size(text, (uint64_t)-credit);
		} else {
			put_size(text, (uint64_t)credit);
		}
	}
	if (d->stalls) {
		wmem_strbuf_append_printf(text, ", %" PRIu64 " stall%s (", d->stalls, d->stalls == 1 ? "" : "s");
		put_duration(text, stall_ns);
		wmem_strbuf_append(text, " in all, longest ");
		put_duration(text, d->stall_max_ns);
		if (d->stalled) {
			wmem_strbuf_append(text, ", stalled for ");
			put_duration(text, now_ns);
			wmem_strbuf_append(text, " at the end");
		}
		wmem_strbuf_append_c(text, ')');
	}
	if (d->credit_requests)
		wmem_strbuf_append_printf(text, ", %" PRIu64 " CREDIT_REQUEST%s (%" PRIu64 " unanswered)", d->credit_requests,
					  d->credit_requests == 1 ? "" : "s", d->credit_unanswered);
	if (d->credit_updates)
		wmem_strbuf_append_printf(text, ", %" PRIu64 " CREDIT_UPDATE%s", d->credit_updates,
					  d->credit_updates == 1 ? "" : "s");
	if (d->buf_changes)
		wmem_strbuf_append_printf(text, ", buf_alloc changed %" PRIu64 " time%s", d->buf_changes,
					  d->buf_changes == 1 ? "" : "s");
	if (d->ring_waits)
		wmem_strbuf_append_printf(text, ", %" PRIu64 " ring wait%s", d->ring_waits, d->ring_waits == 1 ? "" : "s");
	if (d->shutdown)
		wmem_strbuf_append_printf(text, ", SHUTDOWN %s", d->shutdown == (VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND) ?
					  "RCV+SEND" : d->shutdown & VSM_SHUTDOWN_SEND ? "SEND" : "RCV");
	ti = proto_tree_add_none_format(tree, hf_dir_tree, tvb, 0, 0, "%s %" PRIu64 ":%u " UTF8_RIGHTWARDS_ARROW " %" PRIu64 ":%u: %s",
					s ? "b_to_a" : "a_to_b", f->key.cid[s], f->key.port[s], f->key.cid[!s], f->key.port[!s],
					wmem_strbuf_get_str(text));
	proto_item_set_generated(ti);
	t = proto_item_add_subtree(ti, ett_dir);
	/* The same values as vsockdump --flows --json (vsm_flow_json()), in its order. */
	add_count(t, hf_flow[VSM_FF_PKTS], tvb, d->pkts, false);
	add_count(t, hf_flow[VSM_FF_RW_PKTS], tvb, d->rw_pkts, false);
	add_bytes(t, pinfo, hf_flow[VSM_FF_BYTES], tvb, d->bytes);
	add_count(t, hf_flow[VSM_FF_MSGS], tvb, d->msgs, false);
	add_count(t, hf_flow[VSM_FF_MSGS_EOR], tvb, d->msgs_eor, false);
	add_bytes(t, pinfo, hf_flow[VSM_FF_MSG_MIN], tvb, d->msg_min);
	add_bytes(t, pinfo, hf_flow[VSM_FF_MSG_MAX], tvb, d->msg_max);
	summary_item(proto_tree_add_uint_format_value(t, hf_flow[VSM_FF_BUF_ALLOC], tvb, 0, 0, d->buf_alloc, "%s",
						      size_text(pinfo->pool, d->buf_alloc)), false);
	summary_item(proto_tree_add_uint(t, hf_flow[VSM_FF_FWD_CNT], tvb, 0, 0, d->fwd_cnt), false);
	if (known) {
		summary_item(proto_tree_add_uint_format_value(t, hf_flow[VSM_FF_IN_FLIGHT], tvb, 0, 0, in_flight, "%s",
							      size_text(pinfo->pool, in_flight)), false);
		summary_item(proto_tree_add_int64(t, hf_flow[VSM_FF_CREDIT], tvb, 0, 0, credit), false);
	}
	summary_item(proto_tree_add_boolean(t, hf_flow[VSM_FF_STALLED], tvb, 0, 0, d->stalled), d->stalled);
	add_count(t, hf_flow[VSM_FF_STALLS], tvb, d->stalls, true);
	add_ns(t, pinfo, hf_flow[VSM_FF_STALL_NS], tvb, stall_ns, true);
	add_ns(t, pinfo, hf_flow[VSM_FF_STALL_MAX_NS], tvb, d->stall_max_ns, true);
	add_ns(t, pinfo, hf_flow[VSM_FF_STALL_NOW_NS], tvb, now_ns, true);
	add_count(t, hf_flow[VSM_FF_CREDIT_REQUESTS], tvb, d->credit_requests, false);
	add_count(t, hf_flow[VSM_FF_CREDIT_UNANSWERED], tvb, d->credit_unanswered, true);
	add_count(t, hf_flow[VSM_FF_CREDIT_UPDATES], tvb, d->credit_updates, false);
	add_count(t, hf_flow[VSM_FF_BUF_CHANGES], tvb, d->buf_changes, true);
	add_count(t, hf_flow[VSM_FF_RING_WAITS], tvb, d->ring_waits, true);
	if (d->shutdown & VSM_SHUTDOWN_RCV)
		summary_item(proto_tree_add_string(t, hf_flow[VSM_FF_SHUTDOWN], tvb, 0, 0, "RCV"), false);
	if (d->shutdown & VSM_SHUTDOWN_SEND)
		summary_item(proto_tree_add_string(t, hf_flow[VSM_FF_SHUTDOWN], tvb, 0, 0, "SEND"), false);
}

/*
 * The connection as a whole, as the analysis left it (at the end of the capture, from the second pass
 * on), in its own subtree; hidden, for filters only, when the preference vsockmon.show_summary is off.
 */
static void add_flow(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct flow_data *fd,
		     const struct timespec *now, bool shown)
{
	const struct vsm_flow *f = &fd->snap;
	const char *type = vsm_type_name(f->type);
	uint64_t duration = ts_ns(&f->last) > ts_ns(&f->first) ? (uint64_t)(ts_ns(&f->last) - ts_ns(&f->first)) : 0;
	wmem_strbuf_t *problems = wmem_strbuf_new(pinfo->pool, "");
	nstime_t first = { f->first.tv_sec, (int)f->first.tv_nsec }, last = { f->last.tv_sec, (int)f->last.tv_nsec };
	proto_item *ti;
	proto_tree *t;

	for (unsigned p = 0; p < VSM_FP_COUNT; p++)
		if (f->problems & (1u << p))
			wmem_strbuf_append_printf(problems, "%s%s", wmem_strbuf_get_len(problems) ? ", " : "",
						  vsm_flow_problem_name(p));
	ti = proto_tree_add_none_format(tree, hf_flow_tree, tvb, 0, 0,
					"Connection summary: %s %" PRIu64 ":%u " UTF8_LEFT_RIGHT_ARROW " %" PRIu64 ":%u, %s, %s%s%s",
					type ? type : "unknown type", f->key.cid[0], f->key.port[0], f->key.cid[1], f->key.port[1],
					vsm_flow_state_name(f->state), duration_text(pinfo->pool, duration),
					wmem_strbuf_get_len(problems) ? "; problems: " : "", wmem_strbuf_get_str(problems));
	proto_item_set_generated(ti);
	if (!shown)
		proto_item_set_hidden(ti);
	t = proto_item_add_subtree(ti, ett_flow);
	/* All said by the line above: filter fields only. */
	add_count(t, hf_flow[VSM_FF_ID], tvb, f->id, false);
	summary_item(proto_tree_add_string(t, hf_flow[VSM_FF_TYPE], tvb, 0, 0, type ? type : "unknown"), false);
	summary_item(proto_tree_add_string(t, hf_flow[VSM_FF_STATE], tvb, 0, 0, vsm_flow_state_name(f->state)), false);
	add_count(t, hf_flow[VSM_FF_A_CID], tvb, f->key.cid[0], false);
	summary_item(proto_tree_add_uint(t, hf_flow[VSM_FF_A_PORT], tvb, 0, 0, f->key.port[0]), false);
	add_count(t, hf_flow[VSM_FF_B_CID], tvb, f->key.cid[1], false);
	summary_item(proto_tree_add_uint(t, hf_flow[VSM_FF_B_PORT], tvb, 0, 0, f->key.port[1]), false);
	summary_item(proto_tree_add_time(t, hf_flow[VSM_FF_FIRST], tvb, 0, 0, &first), false);
	summary_item(proto_tree_add_time(t, hf_flow[VSM_FF_LAST], tvb, 0, 0, &last), false);
	add_ns(t, pinfo, hf_flow[VSM_FF_DURATION_NS], tvb, duration, false);
	summary_item(proto_tree_add_boolean(t, hf_flow[VSM_FF_MIDWAY], tvb, 0, 0, (f->problems >> VSM_FP_MIDWAY) & 1), false);
	for (unsigned p = 0; p < VSM_FP_COUNT; p++)
		if (f->problems & (1u << p))
			summary_item(proto_tree_add_string(t, hf_flow[VSM_FF_PROBLEMS], tvb, 0, 0, vsm_flow_problem_name(p)),
				     false);
	add_dir(t, tvb, pinfo, f, 0, now);
	add_dir(t, tvb, pinfo, f, 1, now);
}

/* A filter or a -T fields column names a field of the summary. */
static bool flow_fields_referenced(void)
{
	if (proto_registrar_get_nth(hf_flow_tree)->ref_type != HF_REF_TYPE_NONE ||
	    proto_registrar_get_nth(hf_dir_tree)->ref_type != HF_REF_TYPE_NONE)
		return true;
	for (int i = 0; i < VSM_FF_COUNT; i++)
		if (proto_registrar_get_nth(hf_flow[i])->ref_type != HF_REF_TYPE_NONE)
			return true;
	return false;
}

/*
 * The summary is some sixty items on every packet: built for a tree that is shown (unless the
 * preference turns it off) or for a filter or a -T fields column that names one of its fields
 * (tshark -n -r shows neither).
 */
static void add_summary(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct frame_info *fi)
{
	struct timespec now = capture && capture->ended ? capture->last_ts : fi->flow->snap.last;
	bool referenced;

	if (!tree)
		return;
	referenced = flow_fields_referenced();
	if (pref_summary ? !(referenced || proto_field_is_referenced(tree, hf_flow_tree)) : !referenced)
		return;
	add_flow(tree, tvb, pinfo, fi->flow, &now, pref_summary);
}

static void add_analysis(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct frame_info *fi, proto_item *top)
{
	const struct flow_data *fd = fi->flow;
	proto_item *ti = proto_tree_add_none_format(tree, hf_analysis, tvb, 0, 0, "vsock analysis");
	proto_tree *t = proto_item_add_subtree(ti, ett_analysis);
	nstime_t nt;

	proto_item_set_generated(ti);
	proto_item_set_generated(proto_tree_add_uint(t, hf_an_stream, tvb, 0, 0, (guint32)(fd->id - 1)));
	/* The stream index + 1: for filters, not worth a line of its own. */
	summary_item(proto_tree_add_uint64(t, hf_an_flow_id, tvb, 0, 0, fd->id), false);
	proto_item_set_generated(proto_tree_add_string(t, hf_an_state, tvb, 0, 0, vsm_flow_state_name(fi->state)));
	if (fd->opened_in)
		proto_item_set_generated(proto_tree_add_uint(t, hf_an_opened_in, tvb, 0, 0, fd->opened_in));
	if (fd->ended_in)
		proto_item_set_generated(proto_tree_add_uint(t, hf_an_ended_in, tvb, 0, 0, fd->ended_in));
	if (fi->view.known) {
		proto_item_set_generated(proto_tree_add_uint(t, hf_field[VSM_F_IN_FLIGHT], tvb, 0, 0, fi->view.in_flight));
		proto_item_set_generated(proto_tree_add_int64(t, hf_field[VSM_F_CREDIT], tvb, 0, 0, fi->view.credit));
	}
	/* Flags are present only when true, so that a bare field name filters for them (tcp.analysis's manner). */
	if (fi->view.window_full)
		proto_item_set_generated(proto_tree_add_boolean(t, hf_field[VSM_F_WINDOW_FULL], tvb, 0, 0, TRUE));
	if (fi->view.exceeded)
		proto_item_set_generated(proto_tree_add_boolean(t, hf_field[VSM_F_CREDIT_EXCEEDED], tvb, 0, 0, TRUE));
	if (fi->stalled) {
		proto_item_set_generated(proto_tree_add_boolean(t, hf_an_stalled, tvb, 0, 0, TRUE));
		nt = ns_to_nstime(fi->stall_ns);
		proto_item_set_generated(proto_tree_add_time(t, hf_an_stall_duration, tvb, 0, 0, &nt));
	}
	if (fi->stall_end) {
		proto_item_set_generated(proto_tree_add_boolean(t, hf_an_stall_end, tvb, 0, 0, TRUE));
		nt = ns_to_nstime(fi->stall_len_ns);
		proto_item_set_generated(proto_tree_add_time(t, hf_an_stall_duration, tvb, 0, 0, &nt));
	}
	if (fi->have_since_cu) {
		nt = ns_to_nstime(fi->since_cu_ns);
		proto_item_set_generated(proto_tree_add_time(t, hf_an_since_cu, tvb, 0, 0, &nt));
	}
	for (unsigned p = 0; p < VSM_FP_COUNT; p++)
		if (fi->problems & (1u << p))
			expert_add_info(pinfo, top, &ei_flow[p]);
}

/* ---- the dissector ---- */

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
	struct ctx x;
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
		if (first_pass && capture && pkt.has_virtio)
			analyse(capture, &pkt, pinfo, fi);
		p_add_proto_data(wmem_file_scope(), pinfo, proto_vsockmon, 0, fi);
	}
	/* The first frame of a later pass: the first pass is over, so is the capture (unless it is live). */
	if (!first_pass && capture && !capture->ended)
		end_of_capture();

	if (vsm_pkt_has_mon_field(&pkt, VSM_OFF_MON_DST_PORT, 4)) {
		uint64_t *cids = wmem_alloc(pinfo->pool, 2 * sizeof(*cids));

		cids[0] = pkt.src_cid;
		cids[1] = pkt.dst_cid;
		set_address(&pinfo->src, at_cid, 8, &cids[0]);
		set_address(&pinfo->dst, at_cid, 8, &cids[1]);
		copy_address_shallow(&pinfo->net_src, &pinfo->src);
		copy_address_shallow(&pinfo->net_dst, &pinfo->dst);
		pinfo->srcport = pkt.src_port;
		pinfo->destport = pkt.dst_port;
	}
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
	if (fi->flow) {
		add_analysis(vtree, tvb, pinfo, fi, top);
		add_summary(vtree, tvb, pinfo, fi);
	}

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
	if (tap_follow >= 0 && pkt.has_virtio && pkt.virtio.op == VSM_OP_RW && fi->flow)
		tap_queue_packet(tap_follow, pinfo, x.payload);
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
			seqpacket_first_pass(&x, pkt.virtio.flags & VSM_SEQ_EOM);
		else
			stream_first_pass(&x);
	}
	replay_steps(&x, first_pass);
	return caplen;
}

/* A tap for the conversation table: each packet of a connection, by its endpoints. */
static void tap_conversation_packet(packet_info *pinfo, const struct frame_info *fi)
{
	struct conv_tap *t;
	uint64_t src_cid, dst_cid;
	const char *src, *dst;

	if (tap_conv < 0 || !have_tap_listener(tap_conv) || !fi->flow || pinfo->src.type != at_cid)
		return;
	memcpy(&src_cid, pinfo->src.data, sizeof(src_cid));
	memcpy(&dst_cid, pinfo->dst.data, sizeof(dst_cid));
	src = endpoint_text(pinfo->pool, src_cid, pinfo->srcport);
	dst = endpoint_text(pinfo->pool, dst_cid, pinfo->destport);
	t = wmem_new0(pinfo->pool, struct conv_tap);
	set_address(&t->src, AT_STRINGZ, (int)strlen(src) + 1, src);
	set_address(&t->dst, AT_STRINGZ, (int)strlen(dst) + 1, dst);
	t->sport = pinfo->srcport;
	t->dport = pinfo->destport;
	t->stream = (guint32)(fi->flow->id - 1);
	tap_queue_packet(tap_conv, pinfo, t);
}

static int dissect_vsockmon_frame(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
	int ret = dissect_vsockmon(tvb, pinfo, tree, data);
	const struct frame_info *fi = p_get_proto_data(wmem_file_scope(), pinfo, proto_vsockmon, 0);

	if (fi)
		tap_conversation_packet(pinfo, fi);
	return ret;
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
	return capture ? (guint32)wmem_map_size(capture->by_id) : 0;
}
#endif

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

	at_cid = address_type_dissector_register("AT_VSOCKMON_CID", "vsock CID", cid_to_str, cid_str_len, NULL,
						 cid_col_filter, cid_len, NULL, NULL);
	tap_conv = register_tap("vsockmon");
	tap_follow = register_tap("vsockmon_follow");
	/* The addresses hold the ports ("cid:port"): no port columns of their own. */
	register_conversation_table(proto_vsockmon, TRUE, conv_packet, endpoint_packet);
#if VSM_WS_FOLLOW_STREAM_COUNT
	register_follow_stream(proto_vsockmon, "vsockmon_follow", follow_conv_filter, follow_index_filter,
			       follow_address_filter, follow_port_to_display, follow_tvb_tap_listener,
			       follow_stream_count, NULL);
#else
	register_follow_stream(proto_vsockmon, "vsockmon_follow", follow_conv_filter, follow_index_filter,
			       follow_address_filter, follow_port_to_display, follow_tvb_tap_listener);
#endif

	register_init_routine(init_capture);
	register_cleanup_routine(cleanup_capture);
	register_postseq_cleanup_routine(end_of_capture);
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
