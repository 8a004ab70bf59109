/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsockreplay.c: placeholder until written. */
int main(void) { return 1; }
