#!/bin/sh
# z-count.sh: a vsockdump -z command for the golden tests: "NAME: N packets" for the file just closed,
# counted by the vsockdump under test ($GOLDEN_TOOL, set by run-golden.sh).
printf '%s: ' "$(basename "$1")"
exec "$GOLDEN_TOOL" --count -r "$1"
