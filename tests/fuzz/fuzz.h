/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz.h: the libFuzzer entry point, shared by the fuzz targets and the standalone driver. */
#ifndef VSOCKMON_FUZZ_H
#define VSOCKMON_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; returns 0. Any broken invariant aborts (libFuzzer reports it as a crash). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
