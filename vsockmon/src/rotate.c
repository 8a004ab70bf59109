/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rotate.c: placeholder until written (see include/vsockmon/rotate.h). */
