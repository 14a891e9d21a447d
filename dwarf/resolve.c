/* resolve.c — `hud --resolve BINARY`: file virtual addresses on a stream to
 * the output of `addr2line -a -f -i -C -e BINARY`, so hud's symbolizer can be
 * compared line for line with binutils and the Rust addr2line crate. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf/dwarf.h"

/* Parses "[ws][0x]HEX[ws]". Returns 1 with *addr, 0 for a blank line, -1
 * when the line is not a hex address. */
static int parse_addr(const char *s, uint64_t *addr)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	uint64_t v = 0;
	int digits = 0;
	for (; *s; s++, digits++) {
		int c = (unsigned char)*s, d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (digits >= 16)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (*s)
		return -1;
	if (digits == 0)
		return 0;
	*addr = v;
	return 1;
}

/* Writes a name from the target, control bytes replaced so that one frame
 * stays one line whatever the file contains. */
static void put_clean(FILE *out, const char *s)
{
	const char *c = s;
	while ((unsigned char)*c >= 0x20 && *c != 0x7f)
		c++;
	if (!*c) {
		fputs(s, out);  /* the common case: one call per string */
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		putc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
}

int sym_resolve_stream(const char *binary, FILE *in, FILE *out, char *err, size_t errlen)
{
	struct sym_frame fr[SYM_MAX_FRAMES];
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	int ret = -1;
	struct sym_file *f = sym_file_open(binary, err, errlen);
	if (!f)
		return -1;
	for (;;) {
		errno = 0;
		ssize_t len = getline(&line, &cap, in);
		if (len < 0) {
			if (errno && !feof(in)) {
				snprintf(err, errlen, "reading addresses: %s", strerror(errno));
				goto cleanup;
			}
			break;
		}
		lineno++;
		uint64_t addr;
		int r = parse_addr(line, &addr);
		if (r == 0)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "line %lu: not a hexadecimal address", lineno);
			goto cleanup;
		}
		fprintf(out, "0x%016" PRIx64 "\n", addr);
		int n = sym_file_resolve(f, addr, fr, SYM_MAX_FRAMES);
		if (n == 0)
			fputs("??\n??:0\n", out);
		for (int i = 0; i < n; i++) {
			put_clean(out, fr[i].function);
			putc('\n', out);
			put_clean(out, fr[i].file);
			fprintf(out, ":%" PRIu32 "\n", fr[i].line);
		}
	}
	if (fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "writing results: %s", strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	free(line);
	sym_file_close(f);
	return ret;
}
