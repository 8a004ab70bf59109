/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcap.c: placeholder until written (see include/vsockmon/pcap.h). */
