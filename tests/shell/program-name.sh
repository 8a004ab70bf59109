#!/bin/bash
# program-name.sh: the tools' messages name the program, not the path it was started by: getopt's
# "unrecognized option" and "option requires an argument" start with "vsockdump:", not with
# "/path/to/build/vsockdump/vsockdump:".
# Usage: program-name.sh TOOL... (started by their full paths, as meson does)
set -u
. "$(dirname "$0")/harness.sh"
start_harness
for tool in "$@"; do
	name=$(basename "$tool")
	case $tool in
	/*) ;;
	*) tool=$PWD/$tool ;;
	esac
	# An unknown long option, an unknown short one, and an argument to --help, which takes none in every tool.
	for args in "--no-such-option" "-@" "--help=x"; do
		"$tool" $args >/dev/null 2>"$tmp/err" </dev/null
		rc=$?
		first=$(head -1 "$tmp/err")
		if [ "$rc" -eq 0 ]; then
			bad "$name $args: exited 0"
		elif [[ $first != "$name: "* ]]; then
			bad "$name $args: the first line does not start with '$name: ': '$first'"
		elif grep -qF "$(dirname "$tool")" "$tmp/err"; then
			bad "$name $args: the message holds the tool's folder"
			show "$tmp/err"
		else
			ok "$name $args: '$first'"
		fi
	done
done
verdict
