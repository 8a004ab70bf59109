# tshark-builtin.sh: sourced by scripts that use Wireshark's built-in vsock dissector (its vsock.* fields) as an
# independent decoder. Where our vsockmon plugin is installed it takes LINKTYPE_VSOCK over; its preference
# vsockmon.linktype gives the link type back, so these scripts keep comparing against Wireshark's own code.
# tshark becomes a function; $tshark_builtin_opts is for a tshark run by another program (time, timeout).
tshark_builtin_opts=
if tshark -G protocols 2>/dev/null | grep -q '	vsockmon$'; then
	tshark_builtin_opts="-o vsockmon.linktype:FALSE"
	tshark() { command tshark -o vsockmon.linktype:FALSE "$@"; }
fi
