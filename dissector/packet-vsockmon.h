/* SPDX-License-Identifier: GPL-2.0-or-later */
/* packet-vsockmon.h: the vsockmon dissector's entry point, which registration.c registers for LINKTYPE_VSOCK. */
#ifndef VSM_WS_PACKET_VSOCKMON_H
#define VSM_WS_PACKET_VSOCKMON_H

#include <wireshark.h>
#include <epan/packet.h>

/* One LINKTYPE_VSOCK frame: its headers, the analysis, the payload handed on, the conversation tap. */
int dissect_vsockmon_frame(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data);

#endif
