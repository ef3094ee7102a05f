# shellcheck shell=bash
# bench/lib.sh: statistics, the result table, timers and fixtures for
# bench/run.  Sourced after tests/integration/lib.sh (it_log, it_fail,
# it_on_cleanup, $IT_DIR).
#
#   median                      the median of the numbers on stdin
#   ratio A B                   A/B, two decimals
#   bench_le X LIMIT / bench_ge X LIMIT   "ok" or "MISS"
#   fmt N [DECIMALS] / mib KB   numbers for the table
#   now_us                      the wall clock in microseconds
#   result FIGURE VALUE BASELINE RATIO TARGET VERDICT   one table row
#   results_print               the table, on stdout
#   bench_have CMD...           all there? else BENCH_MISSING names one
#   bench_cc NAME               compile bench/NAME.c against libsasl2
#   bench_token N               a throw-away token of N URL-safe characters
#   bench_key_put MAILBOX TOKEN cache TOKEN for MAILBOX in root's keyring,
#                               as the helper would (record, perm, timeout)
#
# SECRETS: none; every token here is made up for the run.

export LC_ALL=C

median()
{
	sort -g | awk '{ v[NR] = $1 }
	    END {
		if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2
	    }'
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f\n", a / b }'
}

bench_le()
{
	awk -v x="$1" -v l="$2" 'BEGIN { print (x + 0 <= l + 0) ? "ok" : "MISS" }'
}

bench_ge()
{
	awk -v x="$1" -v l="$2" 'BEGIN { print (x + 0 >= l + 0) ? "ok" : "MISS" }'
}

# fmt N [DECIMALS]: a number for the table.
fmt()
{
	awk -v x="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f\n", d, x }'
}

# mib KB: kilobytes as MiB, two decimals.
mib()
{
	awk -v k="$1" 'BEGIN { printf "%.2f\n", k / 1024 }'
}

now_us()
{
	local t=$EPOCHREALTIME
	echo "${t/./}"
}

BENCH_RESULTS=""

result()
{
	BENCH_RESULTS="$BENCH_RESULTS$(printf '%s\t' "$@")"$'\n'
}

# results_print: the table, columns as wide as their widest cell.
results_print()
{
	printf 'figure\tmeasured\tbaseline (same run)\tratio\ttarget\tverdict\t\n%s' \
	    "$BENCH_RESULTS" | awk -F '\t' '
	    NF > 1 { n++; for (i = 1; i < NF; i++) { c[n, i] = $i
		if (length($i) > w[i]) w[i] = length($i) } }
	    END { for (r = 1; r <= n; r++) { line = ""
		for (i = 1; i <= 6; i++)
			line = line sprintf("%-*s  ", w[i], c[r, i])
		sub(/ +$/, "", line); print line } }'
}

# bench_cc NAME: $BENCH_BIN/NAME from bench/NAME.c, with the project's
# warnings, against the system libsasl2 (no Makefile involved).
bench_cc()
{
	mkdir -p "$BENCH_BIN"
	# shellcheck disable=SC2046  # pkg-config output is a word list
	cc -O2 -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Werror -o "$BENCH_BIN/$1" \
	    "$BENCH_DIR/$1.c" $(pkg-config --cflags --libs libsasl2) ||
	    it_fail "cannot compile bench/$1.c (libsasl2-dev installed?)"
}

bench_token()
{
	head -c $(($1 + 16)) /dev/urandom | base64 -w0 | tr '+/' '-_' |
	    tr -d '=' | cut -c "1-$1"
}

# bench_key_put MAILBOX TOKEN: the record of common/keyrec.h, valid for an
# hour, in root's user keyring with the helper's permissions; the kernel
# drops it by itself after an hour, bench/run at exit.
bench_key_put()
{
	local mb=$1 tok=$2 now id
	now=$(date +%s)
	id=$(keyctl add user "sasl-oauth2:$mb" \
	    "$(printf 'sasl-oauth2 1\n%s\n%s' $((now + 3600)) "$tok")" @u) ||
	    it_fail "keyctl add failed (no kernel keyring here?)"
	keyctl setperm "$id" 0x3f0b0000 >/dev/null
	keyctl timeout "$id" 3570 >/dev/null
	it_on_cleanup "keyctl purge user 'sasl-oauth2:$mb' >/dev/null 2>&1"
}

# bench_have CMD...: succeed iff every command exists; else say which not.
bench_have()
{
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1 && [ ! -x "$c" ]; then
			# shellcheck disable=SC2034  # read by bench/run
			BENCH_MISSING=$c
			return 1
		fi
	done
}
