/* SPDX-License-Identifier: GPL-2.0-or-later */
/* devcounters.h: the names of vsockdev's statistics (devcounters.def), for vsockdev and vsocktop alike. */
#ifndef VSOCKMON_DEVCOUNTERS_H
#define VSOCKMON_DEVCOUNTERS_H

enum vsm_dev_group {
#define G(id, key) VSM_DG_##id,
#define X(id, group, key, kind, prom_name, prom_type, help)
#include <vsockmon/devcounters.def>
#undef G
#undef X
	VSM_DG_COUNT
};

enum vsm_dev_counter {
#define G(id, key)
#define X(id, group, key, kind, prom_name, prom_type, help) VSM_DC_##id,
#include <vsockmon/devcounters.def>
#undef G
#undef X
	VSM_DC_COUNT
};

enum vsm_dev_kind { VSM_DK_U64, VSM_DK_BOOL, VSM_DK_INT, VSM_DK_STR, VSM_DK_LIST, VSM_DK_MAP, VSM_DK_TOP };

struct vsm_dev_counter_info {
	enum vsm_dev_group group;
	const char *key;
	enum vsm_dev_kind kind;
	const char *prom_name, *prom_type, *help;	/* prom_name NULL (and prom_type "none"): not exported */
};

/* Indexed by enum vsm_dev_group: the key of each group ("" for the document). */
extern const char *const vsm_dev_groups[VSM_DG_COUNT];
/* Indexed by enum vsm_dev_counter. */
extern const struct vsm_dev_counter_info vsm_dev_counters[VSM_DC_COUNT];

#define VSM_DG_KEY(id) (vsm_dev_groups[VSM_DG_##id])
#define VSM_DC_KEY(id) (vsm_dev_counters[VSM_DC_##id].key)
#define VSM_DC(id) (&vsm_dev_counters[VSM_DC_##id])

#endif
