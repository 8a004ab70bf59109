/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.h: tap copies of packets in the kernel's vsockmon format, fanned out to any number of sinks (pcap, interface, callback). */
#ifndef VSOCKMON_TAP_H
#define VSOCKMON_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vsockmon/pcap.h>
#include <vsockmon/rotate.h>

/*
 * A tap turns each packet (44-byte virtio header + payload) into one LINKTYPE_VSOCK frame:
 * af_vsockmon_hdr with the kernel's op mapping (REQUEST/RESPONSE: CONNECT, RST/SHUTDOWN:
 * DISCONNECT, RW: PAYLOAD, credit ops: CONTROL, else UNKNOWN), transport VIRTIO, len 44,
 * then the header, then the payload, as Linux's virtio_transport_build_skb() does.
 * It never blocks: a sink that cannot take a frame now loses it, and the loss is counted.
 * Each kind of sink is a table of operations inside tap.c; the fan-out is one pass over the sinks.
 *
 * A packet is tapped once, at the wire, as Linux taps it once in virtio_transport_deliver_tap_pkt()
 * (guarded there by the skb's tap_delivered flag). Our packets carry no flag across the engine,
 * the device and the lab, so the guarantee is made where they are joined: a point whose packets
 * pass another tap point (an engine behind a vhost-user device) has its tap sealed with
 * vsm_tap_seal(), and a sealed tap refuses every sink. A flag on the packet would have to travel
 * through every xmit and deliver callback; a seal costs nothing per packet.
 */
struct vsm_tap;

struct vsm_tap_sink_stats {
	uint64_t frames;	/* frames the sink took */
	uint64_t bytes;
	uint64_t dropped;	/* frames lost because the sink could not keep up or failed */
	uint64_t unobserved;	/* interface sinks: frames not sent because nobody captured there */
	int error;		/* first error (-errno), 0 if none; a failed sink stops taking frames */
	bool finished;		/* pcap sinks: -G with -W wrote its last file (tcpdump's end of capture);
				 * the frames after it count as unobserved */
};

/* Callback sink: called with each frame; rec->data is valid only during the call. */
typedef void (*vsm_tap_fn)(void *ctx, const struct vsm_rec *rec);

int vsm_tap_new(struct vsm_tap **ret_tap);
void vsm_tap_free(struct vsm_tap *tap);	/* closes every sink (pcap files are flushed and stay valid) */

/* Sinks; each returns a sink index >= 0 or -errno with a message in errbuf (-EBUSY: the tap is sealed). */
int vsm_tap_add_callback(struct vsm_tap *tap, vsm_tap_fn fn, void *ctx);
/* A pcap file (LINKTYPE_VSOCK): written through libvsockmon's writer, so it stays valid on any error. */
int vsm_tap_add_pcap(struct vsm_tap *tap, const char *path, char *errbuf, size_t errlen);
/* The mode and group of the pcap files the tap creates from now on (default: 0666 less the umask). */
void vsm_tap_set_file_perm(struct vsm_tap *tap, const struct vsm_file_perm *perm);
/*
 * The same, rotated as vsockdump -w FILE -C -G -W rotates (libvsockmon's rotate.h, the same code):
 * opts->path, max_bytes, seconds and max_files are used, the pcap options are the tap's. A new file
 * is started in the packet path, like a buffer written out: no reader can hold it up.
 */
int vsm_tap_add_pcap_rotated(struct vsm_tap *tap, const struct vsm_rotate_opts *opts, char *errbuf, size_t errlen);
/*
 * For logrotate (SIGHUP): each pcap sink whose current file was moved or removed closes it whole
 * and starts a new one under its name (vsm_rotate_reopen()); files not moved are only flushed.
 * Returns how many files were started anew, or the first error (-errno, message in errbuf): a new
 * file that cannot be created is retried at the next call, and meanwhile the old one goes on.
 */
int vsm_tap_reopen(struct vsm_tap *tap, char *errbuf, size_t errlen);
/* The file a pcap sink writes now (it changes as it rotates); NULL for other sinks. */
const char *vsm_tap_sink_file(const struct vsm_tap *tap, size_t sink);
/*
 * A network interface, so that libpcap, tcpdump, tshark and vsockdump capture the frames live:
 * - if IFACE exists and is of type ARPHRD_VSOCKMON (a kernel vsockmon device), frames are sent into
 *   it through a non-blocking packet socket, so one capture shows kernel and userspace traffic;
 * - otherwise a TUN device named IFACE is created (or reused) with link type ARPHRD_VSOCKMON and
 *   brought up, and frames are written to it (non-blocking).
 * Like the kernel's vsock_deliver_tap(), which returns at once when no vsockmon is up, an interface
 * sink costs nothing while no capture is open on it: a few times a second it looks for packet
 * sockets bound to the interface (or to all interfaces) in /proc/net/packet, and while there are
 * none, frames are counted as unobserved instead of being built and sent. A capture that starts
 * misses at most VSM_TAP_READER_CHECK_MS of traffic.
 */
#define VSM_TAP_READER_CHECK_MS 200
int vsm_tap_add_iface(struct vsm_tap *tap, const char *ifname, char *errbuf, size_t errlen);

/*
 * Seals a tap that has no sink yet: the packets it would see are tapped at another point, which
 * tapped_at names (it is the message of every refused sink, so it should say where to look).
 * Returns 0, -EBUSY when the tap has sinks already, -EINVAL for NULL.
 */
int vsm_tap_seal(struct vsm_tap *tap, const char *tapped_at);

/* Emits one frame for a packet. hdr is the 44-byte little-endian virtio header as on the wire. */
void vsm_tap_packet(struct vsm_tap *tap, const struct timespec *ts, const uint8_t *hdr,
		    const uint8_t *payload, uint32_t payload_len);

/* True when at least one sink is attached: the engine skips building frames otherwise. */
bool vsm_tap_active(const struct vsm_tap *tap);
size_t vsm_tap_sink_count(const struct vsm_tap *tap);
int vsm_tap_sink_stats(const struct vsm_tap *tap, size_t sink, struct vsm_tap_sink_stats *ret_stats);
/* Flushes buffered sinks (pcap). Returns 0 or the first error. */
int vsm_tap_flush(struct vsm_tap *tap);

#endif
