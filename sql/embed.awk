# embed.awk: turns the numbered schema steps (sql/NNNN_*.sql) into a C
# table so the binary carries the schema it was built for; run by
# sql/Makemodule.am.  Steps must be given in order, numbered from 1.
BEGIN {
	print "/* Generated from the sql/ steps by sql/embed.awk: do not edit. */"
	print "#include \"coordinator/ledger_steps.h\""
	print "const struct ledger_step ledger_steps[] = {"
	n = 0
}
FNR == 1 {
	if (n > 0)
		print "\t\"\" },"
	n++
	name = FILENAME
	sub(/.*\//, "", name)
	if (name + 0 != n) {
		print "embed.awk: " name " is not step " n > "/dev/stderr"
		exit 1
	}
	printf "\t{ %d, \"%s\",\n", n, name
}
{
	line = $0
	gsub(/\\/, "\\\\", line)
	gsub(/"/, "\\\"", line)
	gsub(/\t/, "\\t", line)
	printf "\t\"%s\\n\"\n", line
}
END {
	if (n > 0)
		print "\t\"\" },"
	print "};"
	printf "const int ledger_nsteps = %d;\n", n
}
