/* export_file.c — how every export reaches the disk: a new temporary file
 * beside the destination (never through a link someone planted), synced,
 * given to the user who ran sudo, and renamed over the destination, so the
 * final name only ever holds a complete file. Plus the export's name (strftime
 * patterns) and format (by extension). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ui/ui.h"

int export_tmp_open(const char *path, const char *tag, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	char dirbuf[4096], basebuf[4096];
	int fd;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	snprintf(basebuf, sizeof(basebuf), "%s", path);
	/* In the destination's directory, so the final rename stays on one
	 * file system. */
	if (snprintf(tmp, tmplen, "%s/.%s.%s.%d", dirname(dirbuf), basename(basebuf), tag, (int)getpid()) >= (int)tmplen) {
		snprintf(err, errlen, "hud: the export name %.200s is too long; choose a shorter path", path);
		return -1;
	}
	/* O_EXCL|O_NOFOLLOW: never write through a link planted at that name. */
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		snprintf(err, errlen, "hud: cannot write the export %.512s: %s; choose a writable path for --export",
			 path, strerror(errno));
	return fd;
}

/* Under sudo the files belong to the user who asked for them, not root. */
static void give_to_sudo_user(int fd)
{
	const char *u = getenv("SUDO_UID"), *g = getenv("SUDO_GID");
	char *end;

	if (geteuid() != 0 || !u || !g || !*u || !*g)
		return;
	errno = 0;
	unsigned long uid = strtoul(u, &end, 10);
	if (errno || *end)
		return;
	unsigned long gid = strtoul(g, &end, 10);
	if (errno || *end)
		return;
	if (fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
		fprintf(stderr, "hud: warning: cannot give the export to user %lu: %s\n", uid, strerror(errno));
}

int export_commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen)
{
	int ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
	int saved = errno;

	if (ok)
		give_to_sudo_user(fileno(f));
	if (fclose(f) != 0 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, path) == 0)
		return 0;
	if (ok)
		saved = errno;
	snprintf(err, errlen, "hud: writing the export %.512s failed: %s (is the disk full?); "
		 "the previous file, if any, is untouched", path, strerror(saved ? saved : EIO));
	unlink(tmp);
	return -1;
}

int export_name(const char *pattern, time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (!strchr(pattern, '%')) {
		if (strlen(pattern) >= outlen)
			return -1;
		strcpy(out, pattern);
		return 0;
	}
	if (!localtime_r(&t, &tm))
		return -1;
	size_t n = strftime(out, outlen, pattern, &tm);
	return n == 0 ? -1 : 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

int export_format_named(const char *path)
{
	return ends_with(path, ".json") || ends_with(path, ".folded") || ends_with(path, ".pb.gz");
}

enum export_format export_format_of(const char *path)
{
	if (ends_with(path, ".folded"))
		return EXPORT_FOLDED;
	if (ends_with(path, ".pb.gz"))
		return EXPORT_PPROF;
	return EXPORT_CHROME;
}

FILE *export_tmp_fopen(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen)
{
	int fd = export_tmp_open(path, "hud-tmp", tmp, tmplen, err, errlen);
	FILE *f;

	if (fd < 0)
		return NULL;
	if (!(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "hud: cannot write the export %s: out of memory", path);
		close(fd);
		unlink(tmp);
	}
	return f;
}
