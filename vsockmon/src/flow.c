/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.c: placeholder until written. */
