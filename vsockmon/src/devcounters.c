/* SPDX-License-Identifier: GPL-2.0-or-later */
/* devcounters.c: the tables of vsockdev's statistics names, from devcounters.def. */
#include <stddef.h>

#include <vsockmon/devcounters.h>

const char *const vsm_dev_groups[VSM_DG_COUNT] = {
#define G(id, key) [VSM_DG_##id] = key,
#define X(id, group, key, kind, prom_name, prom_type, help)
#include <vsockmon/devcounters.def>
#undef G
#undef X
};

const struct vsm_dev_counter_info vsm_dev_counters[VSM_DC_COUNT] = {
#define G(id, key)
#define X(id, group, key, kind, prom_name, prom_type, help) \
	[VSM_DC_##id] = { VSM_DG_##group, key, VSM_DK_##kind, prom_name, #prom_type, help },
#include <vsockmon/devcounters.def>
#undef G
#undef X
};
