/* SPDX-License-Identifier: GPL-2.0-or-later */
/* live.c: placeholder until written (see include/vsockmon/live.h). */
