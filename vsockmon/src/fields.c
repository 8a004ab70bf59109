/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fields.c: placeholder until written. */
