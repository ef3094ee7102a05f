/*
 * msadmin.h: what "sasl-oauth2 setup microsoft" checks and prints: the
 * checks of its inputs, PowerShell quoting, the instructions for the
 * tenant's administrator and the account section.  Pure functions (libc
 * and buf.c), so that a unit test can hold them to a table.
 */
#ifndef OA2_MSADMIN_H
#define OA2_MSADMIN_H

#include "buf.h"

#define MS_TEXT_MAX (64 * 1024)

/* 0 when s is a GUID: 8-4-4-4-12 hexadecimal digits, either case. */
int ms_guid_check(const char *s);
/* 0 when s is a tenant ID (GUID) or a domain name (two or more labels of
 * letters, digits and inner hyphens, the last alphabetic; at most 253
 * bytes).  common, organizations and consumers are not tenants. */
int ms_tenant_check(const char *s);
/* 0 when s is a mailbox address setup can write into PowerShell and an
 * Exchange filter unchanged: before the @ (at most 64 bytes, no leading,
 * trailing or double dot) ASCII letters, digits and the characters
 * . _ % + - ! # & * / = ? ^ { | } ~ (RFC 5322's atext without ' ` $,
 * which mean something to PowerShell or to Exchange's filters); after it
 * a domain name. */
int ms_mailbox_check(const char *s);
/* 0 when s may be a value in the configuration: an absolute path of
 * printable ASCII, no space at either end (the parser trims them). */
int ms_path_check(const char *s);

/* Append s as a PowerShell single-quoted string: '...' with every '
 * doubled.  OA2_ERR_INVAL for control characters and non-ASCII bytes
 * (PowerShell also takes the typographic quotes U+2018 to U+201B for ',
 * which doubling ASCII ones would miss). */
int ms_ps_quote(struct oa2_buf *out, const char *s);
/* Append s for a POSIX shell: as it is when it has only characters no
 * shell treats specially, else single-quoted. */
int ms_sh_quote(struct oa2_buf *out, const char *s);

enum ms_mode { MS_DELEGATED, MS_APP_ONLY, MS_APP_RBAC };

struct ms_setup {
	enum ms_mode mode;
	const char *account;
	const char *tenant;
	const char *client_id;
	const char *mailbox;
	const char *secret_file; /* app-only: --client-secret-file, or NULL */
	const char *key_file;	 /* app-only: --client-key-file, or NULL */
	const char *cert_file;	 /* with key_file */
	const char *secret_hint; /* app-only without either: where to put one */
	const char *config;	 /* -c FILE to repeat in commands, or NULL */
};

/* The [account NAME] section, ending in a newline. */
int ms_setup_section(const struct ms_setup *s, struct oa2_buf *out);
/* What the administrator does, and the next command, for stdout. */
int ms_setup_text(const struct ms_setup *s, struct oa2_buf *out);

#endif
