# lib-docs.sh: the configuration snippets of docs/*.md, as the tests use
# them.  Sourced by lib.sh.
#
# A snippet in a guide is a fenced code block right after a marker line
#
#   <!-- snippet: NAME; tested-by: t-something.sh -->
#
# (or "tested-by: pkg-install": tests/pkg-install, which installs the
# packages in a throwaway root), and the test named there runs it: it
# takes the block's text with doc_snippet, replaces the documentation's
# example values (hosts, ports, mailboxes, paths) by the test's own, and
# uses the result.  Every replacement must match, so a guide that changes
# makes its test fail instead of silently testing something else.  A
# block that no test can run (commands at the provider, output) is marked
#
#   <!-- untested: REASON -->
#
# and may not be configuration (see doc_check_markers).
#
#   doc_snippet DOC NAME [FROM TO]...   print snippet NAME of docs/DOC with
#                                       each FROM replaced by TO
#   doc_postconf_args TEXT              print main.cf "key = value" lines as
#                                       postfix_start / postconf arguments
#   doc_check_markers DOC...            fail unless every code block of the
#                                       docs is marked, and each snippet is
#                                       used by the test its marker names

IT_DOCDIR="$IT_SRCDIR/docs"

doc_snippet()
{
	local doc=$IT_DOCDIR/$1 name=$2 text from to
	shift 2
	[ -f "$doc" ] || it_fail "doc_snippet: no $doc"
	text=$(awk -v m="<!-- snippet: $name;" '
		index($0, m) == 1 { want = 1; next }
		want == 1 && /^```/ { want = 2; next }
		want == 2 && /^```/ { found = 1; exit }
		want == 2 { print }
		END { exit found ? 0 : 1 }
	' "$doc") || it_fail "doc_snippet: no snippet '$name' in docs/$1"
	while [ $# -ge 2 ]; do
		from=$1 to=$2
		shift 2
		case $text in
		*"$from"*) ;;
		*) it_fail "doc_snippet: '$from' is not in snippet '$name' of docs/${doc##*/}" ;;
		esac
		text=${text//"$from"/"$to"}
	done
	[ $# -eq 0 ] || it_fail "doc_snippet: odd number of FROM TO arguments"
	printf '%s\n' "$text"
}

# doc_postconf_args TEXT: one "key = value" argument per main.cf setting;
# comment and blank lines dropped, continuation lines joined.
doc_postconf_args()
{
	printf '%s\n' "$1" | awk '
		/^[ \t]*(#|$)/ { next }
		/^[ \t]/ { sub(/^[ \t]+/, " "); cur = cur $0; next }
		{ if (cur != "") print cur; cur = $0 }
		END { if (cur != "") print cur }
	'
}

# doc_check_markers DOC...: every fenced block has a marker; snippets name
# an existing test that uses them; unmarked configuration is an error.
doc_check_markers()
{
	local d doc out t
	for d in "$@"; do
		doc=$IT_DOCDIR/$d
		[ -f "$doc" ] || it_fail "doc_check_markers: no docs/$d"
		out=$(awk -v doc="$d" '
			/^```/ && !inblock {
				inblock = 1; lang = substr($0, 4)
				if (prev ~ /^<!-- snippet: [^;]+; tested-by: (t-[a-z0-9-]+\.sh|pkg-install) -->$/) {
					s = prev
					sub(/^<!-- snippet: /, "", s); sub(/ -->$/, "", s)
					split(s, a, /; tested-by: /)
					print "SNIPPET " a[1] " " a[2]
				} else if (prev ~ /^<!-- untested: .+ -->$/) {
					if (lang !~ /^(sh|console|powershell|text|http)$/)
						print "ERROR " doc ":" NR ": an untested block must be sh, console, powershell, text or http, not \"" lang "\""
				} else {
					print "ERROR " doc ":" NR ": code block without a snippet or untested marker"
				}
				next
			}
			/^```/ && inblock { inblock = 0; prev = ""; next }
			!inblock && $0 != "" { prev = $0 }
		' "$doc")
		if printf '%s\n' "$out" | grep -q '^ERROR '; then
			it_fail "$(printf '%s\n' "$out" | sed -n 's/^ERROR //p' | head -n 5)"
		fi
		while read -r kind name test; do
			[ "$kind" = SNIPPET ] || continue
			# t-*.sh here; pkg-install (the packages in a root) in tests/
			t=$IT_LIBDIR/$test
			[ "$test" = pkg-install ] && t=$IT_SRCDIR/tests/$test
			[ -f "$t" ] ||
			    it_fail "docs/$d: snippet $name names a missing test $test"
			# "doc_snippet DOC NAME", or a wrapper: "guide_X [DOC] NAME"
			grep -Eq "(doc_snippet|guide_[a-z_]+) ($d )?${name//./\\.}([ )\"]|\$)" \
			    "$t" ||
			    it_fail "docs/$d: snippet $name is not used by $test"
		done <<<"$out"
	done
}
