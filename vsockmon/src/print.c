/* SPDX-License-Identifier: GPL-2.0-or-later */
/* print.c: placeholder until written. */
