/* SPDX-License-Identifier: GPL-2.0-or-later */
/* batch.h: vsocktop's frames for scripts: the screen as plain text (-b), and NDJSON snapshots (--json). */
#ifndef VSOCKTOP_BATCH_H
#define VSOCKTOP_BATCH_H

#include <vsockmon/flow.h>
#include <vsockmon/strbuf.h>

#include "frame.h"
#include "model.h"

/* The version of the snapshot objects (vsocktop(1), JSON OUTPUT). */
#define TOP_SNAPSHOT_SCHEMA 1

/* One frame as text: the header, every connection shown, the per-CID table, the devices; a blank line ends it. */
void top_batch_text(struct vsm_strbuf *out, const struct top_model *m, const struct top_frame_info *info);
/*
 * One snapshot as a line of JSON: the totals, rates, the connections shown (vsockdump --flows
 * --json objects, in the order first seen, each with its "rates"), the CIDs and the devices.
 * flows must be the table the model was refreshed from, unchanged since.
 */
void top_batch_json(struct vsm_strbuf *out, const struct top_model *m, const struct vsm_flows *flows,
		    const struct top_frame_info *info);

#endif
