/* dwtypes.c — where a member of a structure type lies, from DWARF's type
 * entries, through libdwarf: the offsets the kernel side needs to read a
 * field of the target's memory (Tokio's scheduler tick, see
 * session.c:tokio_tick). Read once per session, at start.
 *
 * The type is looked up by its namespaces and name (Rust emits one
 * DW_TAG_namespace per path segment), only in compile units whose name
 * contains the first namespace (Rust names a crate's units after its
 * source path, "tokio-1.24.2/src/lib.rs/@/tokio.<hash>-cgu.N"); the walk
 * goes down only the namespaces on the path, so it reads a small part of
 * those units. The file is untrusted: every depth, count and reference is
 * bounded, and a malformed entry ends the search with "not found". */
#include <stdio.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define MAX_SCOPE   16          /* namespaces and fields on a path */
#define MAX_SIBLINGS 200000     /* children looked at under one entry */
#define MAX_UNITS   100000      /* compile units looked at */

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

static const int namespace_tags[] = { DW_TAG_namespace, 0 };
static const int type_tags[] = { DW_TAG_structure_type, DW_TAG_union_type, 0 };
static const int member_tags[] = { DW_TAG_member, 0 };

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

int sym_dw_field_offset(struct sym_dw *d, const char *const *scope, const char *const *fields, uint64_t *off,
			uint64_t *size)
{
	Dwarf_Debug dbg = sym_dw_libdwarf(d);
	int n = 0, found = -1;

	while (scope[n] && n < MAX_SCOPE)
		n++;
	if (!dbg || n < 2 || scope[n] || !fields[0])
		return -1;
	/* The crate's units are named after its path: "/tokio-", "/tokio/". */
	char part[128];
	snprintf(part, sizeof(part), "/%s", scope[0]);
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
