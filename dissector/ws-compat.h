/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ws-compat.h: what differs between the Wireshark versions the plugin builds against (4.0, 4.2, 4.4). */
#ifndef VSM_WS_COMPAT_H
#define VSM_WS_COMPAT_H

#include <stdbool.h>

/* VSM_WS_MAJOR and VSM_WS_MINOR come from the version pkg-config reports (dissector/meson.build). */
#define VSM_WS_AT_LEAST(major, minor) \
	(VSM_WS_MAJOR > (major) || (VSM_WS_MAJOR == (major) && VSM_WS_MINOR >= (minor)))

/*
 * Wireshark 4.4 replaced gboolean (an int) by C's bool in its API: a preference's variable and an
 * address type's column-filter callback take the one their version declares.
 */
#if VSM_WS_AT_LEAST(4, 4)
typedef bool vsm_ws_bool;
#else
typedef gboolean vsm_ws_bool;
#endif

/* Wireshark 4.2 added two arguments to register_follow_stream(): a stream count and a sub-stream lookup. */
#define VSM_WS_FOLLOW_STREAM_COUNT VSM_WS_AT_LEAST(4, 2)

/* Wireshark 4.2's plugin loader asks what kind of plugin it loads (plugin_describe()). */
#define VSM_WS_PLUGIN_DESCRIBE VSM_WS_AT_LEAST(4, 2)

#endif
