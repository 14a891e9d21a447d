/* term.c — the only code that talks to the terminal: raw mode, the
 * alternate screen, the cursor, the window size, key decoding, and the
 * bytes that turn a screen buffer into ANSI output. Everything else draws
 * into a struct screen and never sees an escape code.
 *
 * The terminal is restored on every way out: term_close() is registered
 * with atexit() (so exit() from xmalloc's out-of-memory path restores it),
 * and crash signals restore it with async-signal-safe calls only, then
 * re-raise so the process still dies with its signal (and core). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "ui/ui.h"

/* Leaves synchronized output (in case a frame was cut short), resets
 * attributes, turns autowrap and the cursor back on and leaves the
 * alternate screen, which brings back what the shell showed before. */
static const char RESTORE[] = "\x1b[?2026l\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l";

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL };
static const int stop_signals[] = { SIGTERM, SIGHUP, SIGINT };
#define NFATAL (int)(sizeof(fatal_signals) / sizeof(fatal_signals[0]))
#define NSTOP (int)(sizeof(stop_signals) / sizeof(stop_signals[0]))

static struct {
	int in_fd, out_fd;
	int own_in;             /* in_fd is /dev/tty, opened here */
	int inited, raw, atexit_done;
	struct termios orig;
	struct sigaction old_fatal[NFATAL], old_stop[NSTOP], old_winch;
	unsigned char in[256];  /* keyboard bytes not yet decoded */
	int nin;
} T = { .in_fd = -1, .out_fd = 1 };

static volatile sig_atomic_t resized;
/* Set only while the terminal is raw; read by signal handlers. */
static volatile sig_atomic_t raw_active;

/* ---- Restoring (async-signal-safe) --------------------------------------- */

static void restore_raw(void)
{
	if (!raw_active)
		return;
	raw_active = 0;
	/* write() and tcsetattr() are both async-signal-safe; a failure here
	 * leaves nothing better to do. */
	ssize_t n = write(T.out_fd, RESTORE, sizeof(RESTORE) - 1);
	(void)n;
	tcsetattr(T.in_fd, TCSADRAIN, &T.orig);
}

static void on_fatal(int sig)
{
	restore_raw();
	/* SA_RESETHAND already made the action the default one: the signal
	 * delivered when this handler returns kills the process as it would
	 * have without hud's handler (a fault re-executes and faults again). */
	raise(sig);
}

static void on_stop(int sig)
{
	restore_raw();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;    /* the UI reflows on its next tick, not in here */
}

static void at_exit(void)
{
	term_close();
}

/* ---- Opening and closing --------------------------------------------------- */

int term_init(char *err, size_t errlen)
{
	if (T.inited)
		return 0;
	/* hud writes ANSI sequences without terminfo; a terminal that says
	 * it takes none gets the headless mode instead of garbage. */
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0) {
		snprintf(err, errlen, "hud: this terminal (TERM=dumb) cannot show the UI; use --headless "
			 "(and --export FILE) instead");
		return -1;
	}
	if (isatty(STDIN_FILENO)) {
		T.in_fd = STDIN_FILENO;
	} else {
		/* stdin may be a pipe (hud NAME < /dev/null): keys still come
		 * from the controlling terminal. */
		T.in_fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (T.in_fd < 0) {
			snprintf(err, errlen, "hud: no terminal to read keys from (open /dev/tty: %s); use --headless",
				 strerror(errno));
			return -1;
		}
		T.own_in = 1;
	}
	T.out_fd = STDOUT_FILENO;
	T.inited = 1;
	return 0;
}

int term_input_fd(void)
{
	return T.in_fd;
}

int term_open(char *err, size_t errlen)
{
	struct termios raw;
	struct sigaction sa;

	if (term_init(err, errlen) < 0)
		return -1;
	if (T.raw)
		return 0;
	if (tcgetattr(T.in_fd, &T.orig) < 0) {
		snprintf(err, errlen, "hud: cannot read the terminal's settings (tcgetattr): %s; use --headless",
			 strerror(errno));
		return -1;
	}
	raw = T.orig;
	/* Input: no CR-to-NL translation (Enter arrives as \r, told apart from
	 * Ctrl-J), no XON/XOFF (Ctrl-S/Ctrl-Q would freeze the output), no
	 * parity checks or 8th-bit stripping (UTF-8 typed into the filter),
	 * no SIGINT on a break. */
	raw.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	/* Output is left alone (OPOST): frames position the cursor themselves,
	 * and anything printed by accident still ends lines properly. */
	raw.c_cflag |= CS8;
	/* No echo, byte-at-a-time input, no Ctrl-V literal-next, and no signals
	 * from Ctrl-C/Ctrl-Z/Ctrl-\: Ctrl-C arrives as a key and quits cleanly
	 * through the session, which then detaches everything. */
	raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
	/* read() returns at once with whatever is there (maybe nothing): the
	 * session's epoll says when to read. */
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;

	/* Handlers first, so no moment exists with a raw terminal and no way
	 * back. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (int i = 0; i < NFATAL; i++)
		if (sigaction(fatal_signals[i], &sa, &T.old_fatal[i]) < 0)
			goto sig_failed;
	/* A stop signal nobody handles restores the terminal and then acts as
	 * usual. One the session handles (it ends the session, which closes
	 * the UI, prints the summary and finishes the export) stays the
	 * session's: the UI opens after it installed its handlers. */
	sa.sa_handler = on_stop;
	sa.sa_flags = 0;
	for (int i = 0; i < NSTOP; i++) {
		if (sigaction(stop_signals[i], NULL, &T.old_stop[i]) < 0)
			goto sig_failed;
		if (T.old_stop[i].sa_handler == SIG_DFL && sigaction(stop_signals[i], &sa, NULL) < 0)
			goto sig_failed;
	}
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;       /* a resize must not fail a read() or write() */
	if (sigaction(SIGWINCH, &sa, &T.old_winch) < 0)
		goto sig_failed;
	if (!T.atexit_done) {
		if (atexit(at_exit) != 0) {
			snprintf(err, errlen, "hud: cannot register the terminal's restore at exit; use --headless");
			return -1;
		}
		T.atexit_done = 1;
	}

	if (tcsetattr(T.in_fd, TCSAFLUSH, &raw) < 0) {
		snprintf(err, errlen, "hud: cannot put the terminal in raw mode (tcsetattr): %s; use --headless",
			 strerror(errno));
		return -1;
	}
	T.raw = 1;
	raw_active = 1;
	/* Alternate screen (the shell's screen comes back on exit), cursor
	 * hidden, no autowrap (writing the last column must not scroll). */
	static const char enter[] = "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H\x1b[2J";
	if (term_write(enter, sizeof(enter) - 1) < 0) {
		snprintf(err, errlen, "hud: cannot write to the terminal: %s; use --headless", strerror(errno));
		term_close();
		return -1;
	}
	resized = 0;
	return 0;

sig_failed:
	snprintf(err, errlen, "hud: sigaction failed: %s; use --headless", strerror(errno));
	return -1;
}

void term_close(void)
{
	if (!T.raw)
		return;
	T.raw = 0;
	/* Not through restore_raw(): here the errors can be looked at, and the
	 * output must be drained before the settings change back. */
	raw_active = 0;
	if (term_write(RESTORE, sizeof(RESTORE) - 1) < 0) {
		/* The terminal is gone (hangup); nothing to restore on it. */
	}
	if (tcsetattr(T.in_fd, TCSADRAIN, &T.orig) < 0) {
		/* Same: a terminal that vanished keeps no settings. */
	}
	for (int i = 0; i < NFATAL; i++)
		sigaction(fatal_signals[i], &T.old_fatal[i], NULL);
	/* Stop signals are left as they are now: when the session replaced
	 * ours, its handlers stay in charge until it is done. */
	for (int i = 0; i < NSTOP; i++) {
		struct sigaction cur;
		if (sigaction(stop_signals[i], NULL, &cur) == 0 && cur.sa_handler == on_stop)
			sigaction(stop_signals[i], &T.old_stop[i], NULL);
	}
	sigaction(SIGWINCH, &T.old_winch, NULL);
	T.nin = 0;
}

/* ---- Size and output ---------------------------------------------------------- */

int term_size(int *cols, int *rows)
{
	struct winsize ws;
	if (ioctl(T.out_fd, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0 || ws.ws_row == 0)
		return -1;
	*cols = ws.ws_col;
	*rows = ws.ws_row;
	return 0;
}

int term_resized(void)
{
	if (!resized)
		return 0;
	resized = 0;
	return 1;
}

int term_write(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(T.out_fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* A slow link filled the tty's buffer: wait for room. */
				struct pollfd p = { .fd = T.out_fd, .events = POLLOUT };
				if (poll(&p, 1, 1000) < 0 && errno != EINTR)
					return -1;
				continue;
			}
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Growable output buffer; xrealloc exits (after restoring) when memory runs out. */
struct obuf {
	char *p;
	size_t n, cap;
};

static void ob_add(struct obuf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void ob_str(struct obuf *b, const char *s)
{
	ob_add(b, s, strlen(s));
}

/* SGR for an attribute: reset, then bold / reverse / underline and the
 * colour role's palette entry. Under NO_COLOR only the non-colour
 * attributes remain (selection stays visible as reverse video). */
static void ob_sgr(struct obuf *b, uint8_t attr, int color)
{
	static const char *const fg[] = {
		[COL_DEFAULT] = NULL, [COL_DIM] = "90", [COL_RED] = "31", [COL_AMBER] = "33",
		[COL_GREEN] = "32", [COL_CYAN] = "36", [COL_BLUE] = "34", [COL_MAGENTA] = "35",
	};
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "\x1b[0%s%s%s", attr & ATTR_BOLD ? ";1" : "",
			 attr & ATTR_UNDERLINE ? ";4" : "", attr & ATTR_REVERSE ? ";7" : "");
	unsigned c = attr & 0x0f;
	if (color && c < sizeof(fg) / sizeof(fg[0]) && fg[c])
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ";%s", fg[c]);
	snprintf(tmp + n, sizeof(tmp) - (size_t)n, "m");
	ob_str(b, tmp);
}

static int row_equal(const struct screen *a, const struct screen *b, int y)
{
	const struct cell *x = a->cells + (size_t)y * (size_t)a->cols, *z = b->cells + (size_t)y * (size_t)b->cols;
	for (int i = 0; i < a->cols; i++)
		if (x[i].attr != z[i].attr || strcmp(x[i].ch, z[i].ch) != 0)
			return 0;
	return 1;
}

char *term_encode(const struct screen *s, const struct screen *old, int color, size_t *len)
{
	struct obuf b = { 0 };
	char tmp[32];

	if (old && (old->cols != s->cols || old->rows != s->rows))
		old = NULL;
	/* Synchronized update: terminals that know mode 2026 show the frame
	 * only once it is complete; others ignore it. */
	ob_str(&b, "\x1b[?2026h");
	if (!old)
		ob_str(&b, "\x1b[0m\x1b[H\x1b[2J");
	for (int y = 0; y < s->rows; y++) {
		if (old && row_equal(s, old, y))
			continue;       /* only changed rows travel over the link */
		snprintf(tmp, sizeof(tmp), "\x1b[%d;1H", y + 1);
		ob_str(&b, tmp);
		int cur = -1;
		const struct cell *row = s->cells + (size_t)y * (size_t)s->cols;
		for (int x = 0; x < s->cols; x++) {
			if (!row[x].ch[0] && x > 0)
				continue;       /* right half of a wide character */
			if (row[x].attr != cur) {
				ob_sgr(&b, row[x].attr, color);
				cur = row[x].attr;
			}
			ob_str(&b, row[x].ch[0] ? row[x].ch : " ");
		}
	}
	ob_str(&b, "\x1b[0m\x1b[?2026l");
	*len = b.n;
	return b.p;
}

/* ---- Keys ----------------------------------------------------------------------- */

int term_read(void)
{
	if (T.nin == (int)sizeof(T.in))
		return -1;      /* decode what is there first */
	ssize_t n = read(T.in_fd, T.in + T.nin, sizeof(T.in) - (size_t)T.nin);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? -1 : 0;
	T.nin += (int)n;
	return (int)n;
}

static void consume(int n)
{
	memmove(T.in, T.in + n, (size_t)(T.nin - n));
	T.nin -= n;
}

/* A lone ESC may be the Esc key or the start of a sequence whose rest is
 * still on the wire (SSH); wait a moment for more before deciding. */
static void wait_more(void)
{
	struct pollfd p = { .fd = T.in_fd, .events = POLLIN };
	if (poll(&p, 1, 30) > 0)
		term_read();
}

int term_key(void)
{
	if (T.nin == 0)
		return KEY_NONE;
	unsigned char c = T.in[0];
	if (c != 0x1b) {
		consume(1);
		if (c == '\r' || c == '\n')
			return KEY_ENTER;
		if (c == 0x08)
			return KEY_BACKSPACE;
		return c;
	}
	if (T.nin == 1)
		wait_more();
	if (T.nin == 1 || (T.in[1] != '[' && T.in[1] != 'O')) {
		consume(1);
		return KEY_ESC;
	}
	/* ESC [ params final, or ESC O final (application cursor keys). */
	int i = 2;
	for (int tries = 0; tries < 2; tries++) {
		while (i < T.nin && T.in[i] >= 0x20 && T.in[i] < 0x40)
			i++;
		if (i < T.nin)
			break;
		wait_more();
	}
	if (i >= T.nin) {
		consume(T.nin);         /* a cut sequence: drop it rather than type it */
		return KEY_NONE;
	}
	unsigned char fin = T.in[i];
	int param = 0;          /* the first number: ESC [ 5 ~ is PgUp, ESC [ 1 ; 5 A still Up */
	for (int k = 2; k < i && T.in[k] >= '0' && T.in[k] <= '9' && param < 1000; k++)
		param = param * 10 + (T.in[k] - '0');
	consume(i + 1);
	switch (fin) {
	case 'A': return KEY_UP;
	case 'B': return KEY_DOWN;
	case 'C': return KEY_RIGHT;
	case 'D': return KEY_LEFT;
	case 'H': return KEY_HOME;
	case 'F': return KEY_END;
	case '~':
		switch (param) {
		case 1: case 7: return KEY_HOME;
		case 4: case 8: return KEY_END;
		case 3: return KEY_DELETE;
		case 5: return KEY_PGUP;
		case 6: return KEY_PGDN;
		}
		break;
	}
	return term_key();      /* a key hud has no use for (F1, mouse…): skip it */
}

/* ---- Clipboard and environment ------------------------------------------------- */

static void base64(struct obuf *b, const unsigned char *s, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		char q[4] = { tab[v >> 18 & 63], tab[v >> 12 & 63],
			      i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '=' };
		ob_add(b, q, 4);
	}
}

int term_copy(const char *text)
{
	struct obuf b = { 0 }, enc = { 0 };
	const char *tmux = getenv("TMUX");
	int in_tmux = tmux && *tmux;

	/* The plain sequence, which terminals and tmux with set-clipboard on
	 * (its default passes it on too) take; inside tmux also through its
	 * passthrough (DCS tmux; … ST, every ESC doubled), for a tmux that
	 * allows passthrough but keeps no clipboard. The text is encoded once. */
	base64(&enc, (const unsigned char *)text, strlen(text));
	for (int wrapped = 0; wrapped <= in_tmux; wrapped++) {
		if (wrapped)
			ob_str(&b, "\x1bPtmux;\x1b");
		ob_str(&b, "\x1b]52;c;");
		ob_add(&b, enc.p ? enc.p : "", enc.n);
		ob_str(&b, "\x07");
		if (wrapped)
			ob_str(&b, "\x1b\\");
	}
	int rc = term_write(b.p, b.n);
	free(b.p);
	free(enc.p);
	return rc;
}

static int has_utf8(const char *v)
{
	return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
}

int term_locale_utf8(void)
{
	/* POSIX precedence: the first of these that is set and not empty
	 * decides the character type. */
	static const char *const vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	for (int i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return has_utf8(v) ? 1 : 0;
	}
	return 0;
}

int term_color(void)
{
	const char *v = getenv("NO_COLOR");
	return !(v && *v);      /* no-color.org: set and not empty */
}
