/* SPDX-License-Identifier: GPL-2.0-or-later */
/* analysis.c: the dissector's flow and credit analysis: libvsockmon's flow table fed in the first pass, its problems put on the frames they belong to, and each packet's analysis subtree and connection summary. */
#define WS_BUILD_DLL
#include <wireshark.h>

#include <inttypes.h>

#include <epan/expert.h>
#include <epan/packet.h>
#include <wsutil/utf8_entities.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/strbuf.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "analysis.h"
#include "registration.h"

#define NS_PER_S 1000000000ll

/* ---- per-capture state ---- */

/*
 * The flow table of the capture being read. Wireshark's init and cleanup routines take no argument,
 * so the one capture being dissected is reached through this pointer: made by analysis_init_capture()
 * when a capture is opened, freed by analysis_cleanup_capture() when it is closed.
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

void analysis_init_capture(void)
{
	struct capture *c = g_new0(struct capture, 1);

	if (vsm_flows_new(0, &c->flows) < 0) {
		g_free(c);
		return;
	}
	c->by_id = wmem_map_new(wmem_file_scope(), g_int64_hash, g_int64_equal);
	capture = c;
}

void analysis_cleanup_capture(void)
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
void analysis_end_of_capture(void)
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

void analysis_packet(const struct vsm_pkt *pkt, packet_info *pinfo, struct frame_info *fi)
{
	/* No capture: its flow table could not be made; the frames are still decoded. */
	if (capture)
		analyse(capture, pkt, pinfo, fi);
}

/* ---- the analysis subtree and the connection summary ---- */

void analysis_put_duration(wmem_strbuf_t *out, uint64_t ns)
{
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	vsm_put_duration(&sb, ns);
	if (sb.data)
		wmem_strbuf_append(out, sb.data);
	vsm_sb_free(&sb);
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

	analysis_put_duration(sb, ns);
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
		analysis_put_duration(text, stall_ns);
		wmem_strbuf_append(text, " in all, longest ");
		analysis_put_duration(text, d->stall_max_ns);
		if (d->stalled) {
			wmem_strbuf_append(text, ", stalled for ");
			analysis_put_duration(text, now_ns);
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

void analysis_add_tree(proto_tree *tree, tvbuff_t *tvb, packet_info *pinfo, const struct frame_info *fi,
		       proto_item *top)
{
	add_analysis(tree, tvb, pinfo, fi, top);
	add_summary(tree, tvb, pinfo, fi);
}

guint32 analysis_stream_count(void)
{
	return capture ? (guint32)wmem_map_size(capture->by_id) : 0;
}
