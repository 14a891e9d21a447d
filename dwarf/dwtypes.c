/* dwtypes.c — where a member of a structure type lies, from DWARF's type
 * entries: the offsets the kernel side needs to read a field of the
 * target's memory (Tokio's scheduler tick, see session.c:tokio_tick_place).
 * Read once per session, after attaching.
 *
 * The type is looked up by its namespaces and name (Rust emits one
 * DW_TAG_namespace per path segment), only in compile units whose name
 * contains the first namespace (Rust names a crate's units after its
 * source path, "tokio-1.24.2/src/lib.rs/@/tokio.<hash>-cgu.N"); the walk
 * goes down only the namespaces on the path, stepping over every other
 * entry's subtree. hud's own reader does it (dwread.c), through the
 * section mapping, whose pages it gives back after each unit: libdwarf
 * would read all of .debug_info into memory first (the demo app's peak
 * RSS rose from 30 to 44 MB). libdwarf walks only the files hud's reader
 * declines. The file is untrusted: every depth, count and reference is
 * bounded, and a malformed entry ends the search with "not found". */
#include <stdio.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define MAX_SCOPE   16          /* namespaces and fields on a path */
#define MAX_SIBLINGS 200000     /* children looked at under one entry */
#define MAX_UNITS   100000      /* compile units looked at */

static const int namespace_tags[] = { DW_TAG_namespace, 0 };
static const int type_tags[] = { DW_TAG_structure_type, DW_TAG_union_type, 0 };
static const int member_tags[] = { DW_TAG_member, 0 };

/* The DW_AT_name of die, or NULL. The string is libdwarf's. */
static const char *die_name(Dwarf_Debug dbg, Dwarf_Die die)
{
	Dwarf_Error err = NULL;
	char *name = NULL;

	if (dwarf_diename(die, &name, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return NULL;
	}
	return name;
}

static int die_tag(Dwarf_Debug dbg, Dwarf_Die die)
{
	Dwarf_Error err = NULL;
	Dwarf_Half tag = 0;

	if (dwarf_tag(die, &tag, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return -1;
	}
	return tag;
}

/* An unsigned constant attribute of die (DW_AT_data_member_location as a
 * constant, DW_AT_byte_size). -1 when absent or of another form. */
static int die_const(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half attr, uint64_t *out)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute at = NULL;
	Dwarf_Unsigned u = 0;
	Dwarf_Half form = 0;
	int ok = -1;

	if (dwarf_attr(die, attr, &at, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return -1;
	}
	if (dwarf_whatform(at, &form, &err) == DW_DLV_OK &&
	    (form == DW_FORM_data1 || form == DW_FORM_data2 || form == DW_FORM_data4 || form == DW_FORM_data8 ||
	     form == DW_FORM_udata) &&
	    dwarf_formudata(at, &u, &err) == DW_DLV_OK) {
		*out = u;
		ok = 0;
	}
	sym_drop_err(dbg, &err);
	dwarf_dealloc_attribute(at);
	return ok;
}

/* The entry die's DW_AT_type refers to, or NULL. */
static Dwarf_Die die_type(Dwarf_Debug dbg, Dwarf_Die die)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute at = NULL;
	Dwarf_Off off = 0;
	Dwarf_Die type = NULL;

	if (dwarf_attr(die, DW_AT_type, &at, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return NULL;
	}
	if (dwarf_global_formref(at, &off, &err) != DW_DLV_OK || dwarf_offdie_b(dbg, off, 1, &type, &err) != DW_DLV_OK)
		type = NULL;
	sym_drop_err(dbg, &err);
	dwarf_dealloc_attribute(at);
	return type;
}

/* The child of parent with one of tags (0-terminated) and the given name,
 * or NULL. */
static Dwarf_Die child_named(Dwarf_Debug dbg, Dwarf_Die parent, const int *tags, const char *name)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child = NULL, next = NULL;

	if (dwarf_child(parent, &child, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return NULL;
	}
	for (unsigned n = 0; child && n < MAX_SIBLINGS; n++) {
		int tag = die_tag(dbg, child);
		for (const int *t = tags; *t; t++) {
			if (tag != *t)
				continue;
			const char *nm = die_name(dbg, child);
			if (nm && strcmp(nm, name) == 0)
				return child;
		}
		int res = dwarf_siblingof_b(dbg, child, 1, &next, &err);
		dwarf_dealloc_die(child);
		child = res == DW_DLV_OK ? next : NULL;
		sym_drop_err(dbg, &err);
	}
	if (child)
		dwarf_dealloc_die(child);
	return NULL;
}

/* The structure type named by scope under the unit's entry cu_die. */
static Dwarf_Die scope_type(Dwarf_Debug dbg, Dwarf_Die cu_die, const char *const *scope, int n)
{
	Dwarf_Die at = cu_die;

	for (int i = 0; i < n && at; i++) {
		Dwarf_Die next = child_named(dbg, at, i + 1 < n ? namespace_tags : type_tags, scope[i]);
		if (at != cu_die)
			dwarf_dealloc_die(at);
		at = next;
	}
	return at == cu_die ? NULL : at;
}

/* Follows fields from the structure type, adding their offsets. The
 * last member's own type's size goes to *size. 0, or -1. Frees type. */
static int fields_offset(Dwarf_Debug dbg, Dwarf_Die type, const char *const *fields, uint64_t *off, uint64_t *size)
{
	uint64_t sum = 0, at = 0;

	for (int i = 0; fields[i] && i < MAX_SCOPE; i++) {
		Dwarf_Die member = child_named(dbg, type, member_tags, fields[i]);
		dwarf_dealloc_die(type);
		if (!member)
			return -1;
		int ok = die_const(dbg, member, DW_AT_data_member_location, &at);
		type = ok == 0 ? die_type(dbg, member) : NULL;
		dwarf_dealloc_die(member);
		if (!type || at > UINT32_MAX)
			goto fail;
		sum += at;
	}
	if (die_const(dbg, type, DW_AT_byte_size, size) < 0)
		goto fail;
	dwarf_dealloc_die(type);
	*off = sum;
	return 0;
fail:
	if (type)
		dwarf_dealloc_die(type);
	return -1;
}

/* The unit's DW_AT_name contains part. */
static int unit_named(Dwarf_Debug dbg, Dwarf_Die cu_die, const char *part)
{
	const char *nm = die_name(dbg, cu_die);
	return nm && strstr(nm, part) != NULL;
}

/* ---- hud's own reader ---------------------------------------------------- */

/* The entry after the one at off (read into die) and its subtree: its
 * DW_AT_sibling when it points forward inside the unit, else found by
 * stepping over the subtree. 0 on damage. */
static uint64_t fast_sibling(const struct dw_secs *s, const struct dw_unit *u, const struct dw_abbrevs *ab,
			     uint64_t off, const struct dw_die *die)
{
	if (die->has_sibling && die->sibling > off && die->sibling < u->end)
		return die->sibling;
	if (!die->children)
		return die->next;
	uint64_t at = die->next;
	for (unsigned depth = 1, n = 0; n < 50u * MAX_SIBLINGS; n++) {
		const struct dw_abbrev *a = NULL;
		uint64_t next = at < u->end ? dw_skip_die(s, u, ab, at, &a) : 0;
		if (next <= at)
			return 0;
		at = next;
		if (!a && --depth == 0)
			return at;
		if (a && a->children && ++depth > 4096)
			return 0;
	}
	return 0;
}

/* The offset of the child of the entry at parent (read into pdie) with one
 * of tags and the given name, into *die; 0 when none. */
static uint64_t fast_child(const struct dw_secs *s, struct dw_unit *u, const struct dw_abbrevs *ab,
			   const struct dw_die *pdie, const int *tags, const char *name, struct dw_die *die)
{
	if (!pdie->children)
		return 0;
	uint64_t at = pdie->next;
	for (unsigned n = 0; n < MAX_SIBLINGS && at > 0 && at < u->end; n++) {
		if (dw_read_die(s, u, ab, at, 0, die) != 0 || die->null)
			return 0;
		for (const int *t = tags; *t; t++)
			if (die->tag == *t && die->name && strcmp(die->name, name) == 0)
				return at;
		at = fast_sibling(s, u, ab, at, die);
	}
	return 0;
}

/* The search in one unit, whose DIE is at die_off (s, cu, ab: its view
 * from sym_dw_unit_at). 0, or -1. */
static int fast_unit(struct sym_dw *d, const struct dw_secs *s, const struct dw_unit *cu, const struct dw_abbrevs *ab,
		     uint64_t die_off, const char *const *scope, int n, const char *const *fields, uint64_t *off,
		     uint64_t *size)
{
	const char *name;
	struct dw_die die;
	struct dw_unit u = *cu;         /* dw_read_die may note the unit's bases */
	if (dw_read_die(s, &u, ab, die_off, 1, &die) != 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (!fast_child(s, &u, ab, &die, i + 1 < n ? namespace_tags : type_tags, scope[i], &die))
			return -1;
	uint64_t sum = 0;
	for (int i = 0; fields[i] && i < MAX_SCOPE; i++) {
		if (!fast_child(s, &u, ab, &die, member_tags, fields[i], &die) || !die.has_member_at ||
		    !die.has_type || die.member_at > UINT32_MAX)
			return -1;
		sum += die.member_at;
		/* The member's type: in this unit, or (DW_FORM_ref_addr) another. */
		uint64_t type = die.type;
		if (type < u.die_off || type >= u.end) {
			if (sym_dw_unit_at(d, type, &s, &cu, &ab, &name) != 0)
				return -1;
			u = *cu;
		}
		if (dw_read_die(s, &u, ab, type, 0, &die) != 0 || die.null)
			return -1;
	}
	if (!die.has_byte_size)
		return -1;
	*off = sum;
	*size = die.byte_size;
	return 0;
}

static int fast_field_offset(struct sym_dw *d, const char *const *scope, int n, const char *const *fields,
			     const char *part, uint64_t *off, uint64_t *size)
{
	int found = -1;

	for (size_t i = 0; i < sym_dw_units(d) && found != 0; i++) {
		const struct dw_secs *s;
		const struct dw_unit *u;
		const struct dw_abbrevs *ab;
		const char *name;
		uint64_t die_off = sym_dw_unit_die(d, i);
		if (sym_dw_unit_at(d, die_off, &s, &u, &ab, &name) != 0 || !name || !strstr(name, part))
			continue;
		found = fast_unit(d, s, u, ab, die_off, scope, n, fields, off, size);
		/* Its pages leave memory: the walk read the unit's upper levels. */
		dw_sect_release(s, &s->info, u->hdr_off, u->end - u->hdr_off);
	}
	return found;
}

/* ---- libdwarf, for the files hud's reader declines ------------------------ */

static int slow_field_offset(struct sym_dw *d, const char *const *scope, int n, const char *const *fields,
			     const char *part, uint64_t *off, uint64_t *size)
{
	Dwarf_Debug dbg = sym_dw_libdwarf(d);
	int found = -1;

	if (!dbg)
		return -1;
	for (unsigned u = 0; u < MAX_UNITS; u++) {
		Dwarf_Unsigned hlen = 0, abbrev = 0, next = 0;
		Dwarf_Half version = 0, asize = 0, lsize = 0, esize = 0, utype = 0;
		Dwarf_Sig8 sig;
		Dwarf_Unsigned toff = 0;
		Dwarf_Error err = NULL;
		Dwarf_Die cu_die = NULL;
		int res = dwarf_next_cu_header_d(dbg, 1, &hlen, &version, &abbrev, &asize, &lsize, &esize, &sig, &toff,
						 &next, &utype, &err);
		if (res != DW_DLV_OK) {
			sym_drop_err(dbg, &err);
			break;
		}
		if (found == 0)
			continue;       /* (read to the end: the next search starts at the first unit) */
		if (dwarf_siblingof_b(dbg, NULL, 1, &cu_die, &err) != DW_DLV_OK) {
			sym_drop_err(dbg, &err);
			continue;
		}
		if (unit_named(dbg, cu_die, part)) {
			Dwarf_Die type = scope_type(dbg, cu_die, scope, n);
			if (type)
				found = fields_offset(dbg, type, fields, off, size);
		}
		dwarf_dealloc_die(cu_die);
	}
	return found;
}

int sym_dw_field_offset(struct sym_dw *d, const char *const *scope, const char *const *fields, uint64_t *off,
			uint64_t *size)
{
	int n = 0;

	while (scope[n] && n < MAX_SCOPE)
		n++;
	if (n < 2 || scope[n] || !fields[0])
		return -1;
	/* The crate's units are named after its path: "/tokio-", "/tokio/". */
	char part[128];
	snprintf(part, sizeof(part), "/%s", scope[0]);
	/* A file hud's reader reads is not given to libdwarf as well. */
	const struct dw_secs *s;
	const struct dw_unit *u;
	const struct dw_abbrevs *ab;
	const char *name;
	if (sym_dw_units(d) > 0 && sym_dw_unit_at(d, sym_dw_unit_die(d, 0), &s, &u, &ab, &name) == 0)
		return fast_field_offset(d, scope, n, fields, part, off, size);
	return slow_field_offset(d, scope, n, fields, part, off, size);
}
