/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsockmon.h: libvsockmon, everything at once. */
#ifndef VSOCKMON_VSOCKMON_H
#define VSOCKMON_VSOCKMON_H

#include <vsockmon/version.h>
#include <vsockmon/wire.h>
#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/strbuf.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/pcap.h>
#include <vsockmon/rotate.h>
#include <vsockmon/filter.h>
#include <vsockmon/live.h>
#include <vsockmon/source.h>
#include <vsockmon/tunif.h>
#include <vsockmon/tap.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/print.h>
#include <vsockmon/devcounters.h>

#endif
