/* SPDX-License-Identifier: GPL-2.0-or-later */
/* filter.c: placeholder until written (see include/vsockmon/filter.h). */
