/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libfuzzer-probe.c: meson links this at configure time to learn whether clang can link libFuzzer. */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
