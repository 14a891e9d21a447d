/* glibc_compat.c — the glibc-only symbols that Debian's libelf.a and
 * libdwarf.a (compiled against glibc with _FORTIFY_SOURCE) call, supplied for
 * the static musl link. Each is glibc's checked variant of a standard
 * function; the checks only guard against overflows glibc's headers could
 * prove at compile time, so forwarding to the plain function is faithful.
 * Compiled to nothing in a glibc build (the unit tests), where glibc has
 * them. See docs/DEVELOPMENT.md for why hud links Debian's archives. */
#ifndef __GLIBC__
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
int __printf_chk(int flag, const char *fmt, ...);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
char *__strcpy_chk(char *dst, const char *src, size_t dstlen);

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	(void)dstlen;
	return memcpy(dst, src, n);
}

int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)flag;
	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, n);
}

char *__strcpy_chk(char *dst, const char *src, size_t dstlen)
{
	(void)dstlen;
	return strcpy(dst, src);
}
#else
typedef int hud_glibc_has_these;
#endif
