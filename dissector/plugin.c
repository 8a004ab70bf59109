/* SPDX-License-Identifier: GPL-2.0-or-later */
/* plugin.c: what Wireshark's plugin loader looks for: the version symbols and the registration of the vsockmon dissector. */
#define WS_BUILD_DLL
#include <wireshark.h>
#include <epan/proto.h>
#include <ws_version.h>

#include "registration.h"
#include "ws-compat.h"

/*
 * meson passes the Wireshark major.minor that pkg-config reported; the headers say it too. A
 * disagreement means the build picked up headers of another Wireshark than the one it links.
 */
#if defined(WIRESHARK_VERSION_MAJOR) && (WIRESHARK_VERSION_MAJOR != VSM_WS_MAJOR || WIRESHARK_VERSION_MINOR != VSM_WS_MINOR)
#error "pkg-config's Wireshark version disagrees with ws_version.h"
#endif

/* Wireshark 4.0's loader (wsutil/plugins.c) refuses a plugin built for another major.minor. */
WS_DLL_PUBLIC_DEF const char plugin_version[] = VSM_PLUGIN_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = VSM_WS_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = VSM_WS_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

/* From Wireshark 4.2 on, the loader also asks what kind of plugin this is. */
#if VSM_WS_PLUGIN_DESCRIBE
#include <wsutil/plugins.h>
WS_DLL_PUBLIC uint32_t plugin_describe(void);

uint32_t plugin_describe(void)
{
	return WS_PLUGIN_DESC_DISSECTOR;
}
#endif

void plugin_register(void)
{
	/* The loader keeps the pointer: the description must outlive this call. */
	static proto_plugin plug;

	plug.register_protoinfo = proto_register_vsockmon;
	plug.register_handoff = proto_reg_handoff_vsockmon;
	proto_register_plugin(&plug);
}
