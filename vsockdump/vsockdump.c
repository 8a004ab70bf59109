/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsockdump.c: placeholder until written. */
int main(void) { return 1; }
