/* culprit.c — which frames are the application's own code, and whether a
 * stopped thread was stopped by it.
 *
 * A frame is the application's when it comes from the main executable and
 * neither its source path nor its name says it is a library:
 * - source paths of crates and of Rust's standard library: Debian's crates
 *   live under /usr/share/cargo/registry/, rustup's and cargo's downloads
 *   under ~/.cargo/registry/ and ~/.cargo/git/, vendored crates under
 *   /vendor/, the standard library under /rustc/<hash>/library/ (the path
 *   rustc remaps it to) or .../lib/rustlib/src/rust/library/;
 * - names of the standard library and the crates Tokio apps are built on
 *   (std::, core::, alloc::, tokio::, mio::, ...), also as the self type of
 *   a trait impl (`<tokio::... as core::future::Future>::poll`).
 * Frames without a source file (no debug info) are decided by name alone,
 * and one whose name is no Rust path (no `::`) is C code linked into the
 * executable: a statically linked C library's (`syscall`, `read`,
 * `clock_nanosleep` of a crt-static or musl build), not the application's. */
#include <string.h>
#include "ui/ui.h"

static const char *const library_paths[] = {
	"/usr/share/cargo/registry/", "/.cargo/registry/", "/.cargo/git/", "/rustc/",
	"/rustlib/src/rust/library/", "/vendor/", "/usr/src/rustc-", "/usr/include/",
};

static const char *const library_crates[] = {
	"std::", "core::", "alloc::", "tokio::", "mio::", "parking_lot::", "parking_lot_core::",
	"futures::", "futures_util::", "futures_core::", "futures_channel::", "hashbrown::",
	"crossbeam_", "tracing::", "tracing_core::", "bytes::", "hyper::", "h2::", "tower::",
	"socket2::", "libc::", "memchr::", "rustc_demangle::", "addr2line::", "gimli::",
	"miniz_oxide::", "panic_unwind::", "panic_abort::", "compiler_builtins::", "__rust",
	"rust_begin_unwind", "rust_panic", "__libc_",
};

/* C runtime entry points found in statically linked targets. */
static const char *const runtime_symbols[] = {
	"_start", "start_thread", "clone", "clone3", "main", "__clone", "__start_main",
};

/* name past the `<`, `&`, `*`, `mut ` and `dyn ` before a type. */
static const char *type_start(const char *name)
{
	while (*name == '<' || *name == '&' || *name == '*')
		name++;
	if (strncmp(name, "mut ", 4) == 0)
		name += 4;
	if (strncmp(name, "dyn ", 4) == 0)
		name += 4;
	return name;
}

static int library_path(const char *name)
{
	for (size_t i = 0; i < sizeof(library_crates) / sizeof(library_crates[0]); i++)
		if (strncmp(name, library_crates[i], strlen(library_crates[i])) == 0)
			return 1;
	return 0;
}

static int starts_with_crate(const char *name)
{
	/* `<T as Trait>::f` and `<T>::f` are decided by T; a T with no path
	 * (`<u64 as core::fmt::LowerHex>::fmt`, `<[u8]>::len`) by the trait,
	 * or else is the library's: the application's own code is in its
	 * crate's path. */
	const char *t = type_start(name);
	if (library_path(t))
		return 1;
	if (*name == '<') {
		/* The self type: up to ` as ` or the `>` that closes it. */
		int depth = 0, path = 0;
		const char *p = t;
		for (; *p; p++) {
			if (depth == 0 && (*p == '>' || strncmp(p, " as ", 4) == 0))
				break;
			depth += *p == '<' || *p == '(' || *p == '[';
			depth -= (*p == '>' || *p == ')' || *p == ']') && depth > 0;
			path |= p[0] == ':' && p[1] == ':';
		}
		if (!path)
			return *p == ' ' ? library_path(type_start(p + 4)) : 1;
	}
	for (size_t i = 0; i < sizeof(runtime_symbols) / sizeof(runtime_symbols[0]); i++)
		if (strcmp(name, runtime_symbols[i]) == 0)
			return 1;
	return 0;
}

/* Whether file's path names the crate that function's path starts with:
 * a directory of that name (std's own sources, a vendored copy) or of its
 * package and a version (tokio-1.24.2, futures-util-0.3.25). */
static int path_names_crate(const char *function, const char *file)
{
	const char *name = type_start(function), *end = strstr(name, "::");
	size_t n = end ? (size_t)(end - name) : 0;
	if (n == 0 || n > 64)
		return 0;
	for (const char *p = strchr(file, '/'); p; p = strchr(p + 1, '/')) {
		size_t i = 0;
		while (i < n && (p[1 + i] == name[i] || (name[i] == '_' && p[1 + i] == '-')))
			i++;
		if (i == n && (p[1 + n] == '/' || p[1 + n] == '-'))
			return 1;
	}
	return 0;
}

int frame_is_app(const char *function, const char *file, int in_main)
{
	if (!in_main || !function || strcmp(function, "??") == 0)
		return 0;
	if (file && strcmp(file, "??") != 0) {
		for (size_t i = 0; i < sizeof(library_paths) / sizeof(library_paths[0]); i++)
			if (strstr(file, library_paths[i]))
				return 0;
		/* A library's name in a file of no library's: an application
		 * crate may be called alloc, bytes or tower (a tester's binary
		 * `alloc`: its 175 ms polls were nobody's). */
		if (library_path(type_start(function)) && !path_names_crate(function, file))
			return 1;
	} else if (!strstr(function, "::")) {
		return 0;
	}
	return !starts_with_crate(function);
}

/* Frames of Tokio's scheduler: a worker stopped below one of these (closer
 * to the leaf than any application frame) is parked or running the
 * runtime's own machinery, not blocked by a task. */
static int is_runtime_frame(const char *function)
{
	return strstr(function, "tokio::runtime::") || strstr(function, "tokio::park::");
}

int frame_is_task_poll(const char *function)
{
	return strstr(function, "tokio::runtime::task::") && strstr(function, "poll");
}

/* Stopped in application code: an application frame comes before any of
 * Tokio's scheduler. A task's poll counts as one: Tokio parks outside
 * polls, so what stops inside one is the task's code (without debug info,
 * an async fn inlined into the poll leaves no frame of its own). */
int model_stack_in_app(const struct model *m, uint32_t stack)
{
	const struct stack *s = &m->stacks[stack];

	for (uint32_t i = 0; i < s->depth; i++) {
		const struct frame *f = model_stack_frame(m, stack, i);
		if (f->flags & FRAME_APP)
			return 1;
		const char *name = strtab_get(m->strings, f->function);
		if (frame_is_task_poll(name))
			return 1;
		if (is_runtime_frame(name))
			return 0;
	}
	return 0;
}

/* Tokio parking a worker with nothing to do: the worker loop's park
 * (scheduler park, the driver's park) comes before any application frame.
 * Stricter than "not in application code": only these stacks are taught to
 * the kernel side as idle sites. */
int model_stack_parked(const struct model *m, uint32_t stack)
{
	const struct stack *s = &m->stacks[stack];

	for (uint32_t i = 0; i < s->depth; i++) {
		const struct frame *f = model_stack_frame(m, stack, i);
		if (f->flags & FRAME_APP)
			return 0;
		const char *name = strtab_get(m->strings, f->function);
		if (strstr(name, "tokio::runtime::") && strstr(name, "park"))
			return 1;
	}
	return 0;
}
