#!/bin/sh
# fill.sh: writes a man page from its .in template.  A line that is exactly
# @NAME@ is replaced by the contents of the file given as NAME=FILE (the
# option or key list a binary printed with --print-man); @sysconfdir@,
# @pkgdatadir@, @statedir@ and @VERSION@ come from the environment.
#   sh fill.sh TEMPLATE [NAME=FILE]... >PAGE
set -eu
in=$1; shift
awk -v pairs="$*" '
BEGIN { n = split(pairs, p, " "); for (i = 1; i <= n; i++) {
	eq = index(p[i], "="); file["@" substr(p[i], 1, eq - 1) "@"] = substr(p[i], eq + 1) } }
($0 in file) { f = file[$0]; while ((getline l < f) > 0) print l; close(f); next }
{ gsub(/@sysconfdir@/, ENVIRON["sysconfdir"]); gsub(/@pkgdatadir@/, ENVIRON["pkgdatadir"]);
  gsub(/@statedir@/, ENVIRON["statedir"]); gsub(/@VERSION@/, ENVIRON["VERSION"]); print }
' "$in"
