/* kbtf.h — the running kernel's own type information (BTF), read from
 * /sys/kernel/btf/vmlinux: what hud's BTF-typed tracepoint programs need to
 * load on any kernel without headers, namely the id of a tracepoint's
 * btf_trace_* type (the attach target), the byte offset of a few
 * task_struct fields (written into the programs' loads, see HUD_KOFF_* in
 * hud_bpf.h), and the ids of struct pt_regs and of the kernel function
 * bpf_rdonly_cast (see HUD_KC_*).
 *
 * Contract: kbtf_open reads and indexes the file (a few MB) and returns 0,
 * or -1 with one sentence in err; kbtf_close frees it (also after a failed
 * open). Lookups never read outside the file: every length in it is
 * checked, the kernel's file is treated like any other input. */
#ifndef HUD_KBTF_H
#define HUD_KBTF_H

#include <stddef.h>
#include <stdint.h>

#define KBTF_KIND_STRUCT  4
#define KBTF_KIND_UNION   5
#define KBTF_KIND_TYPEDEF 8
#define KBTF_KIND_FUNC    12

struct kbtf {
	const unsigned char *data;      /* the whole file */
	size_t len;
	int mapped;             /* data is mapped (else allocated) */
	const unsigned char *types, *strings;
	uint32_t types_len, strings_len;
	uint32_t *type_at;      /* type id -> offset in types (id 0 is void) */
	uint32_t ntypes;        /* ids 1..ntypes-1 */
};

int kbtf_open(struct kbtf *k, const char *path, char *err, size_t errlen);
void kbtf_close(struct kbtf *k);

/* The running kernel's BTF (/sys/kernel/btf/vmlinux), read at the first
 * call and shared by the next ones (the feature check, then the loader)
 * until kbtf_kernel_release frees it; NULL with err when it cannot be read.
 * For hud's start-up, on one thread. */
const struct kbtf *kbtf_kernel(char *err, size_t errlen);
void kbtf_kernel_release(void);

/* The id of the type of that kind and name, or 0. */
uint32_t kbtf_find(const struct kbtf *k, uint32_t kind, const char *name);

/* The byte offset of member path ("pid", "se.exec_start") in struct
 * struct_name, looking into anonymous struct and union members on the way;
 * -1 when there is no such member (or it is a bitfield). */
long kbtf_member_offset(const struct kbtf *k, const char *struct_name, const char *path);

#endif
