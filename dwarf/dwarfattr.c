/* dwarfattr.c — the DIE attributes hud reads, and a DIE's address ranges
 * (DW_AT_low_pc/high_pc, DWARF 4 .debug_ranges, DWARF 5 .debug_rnglists),
 * through libdwarf, with the Rust addr2line crate's rules: empty ranges and
 * dead-code tombstones are dropped. */
#include <string.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define TOMBSTONE4       0xfffffffffffffffeull  /* DWARF 4 dead-code marker */
#define TOMBSTONE5       0xffffffffffffffffull  /* DWARF 5 dead-code marker */


void sym_drop_err(Dwarf_Debug dbg, Dwarf_Error *err)
{
	if (*err) {
		dwarf_dealloc_error(dbg, *err);
		*err = NULL;
	}
}

static int is_addr_form(Dwarf_Half form)
{
	return form == DW_FORM_addr || form == DW_FORM_addrx || form == DW_FORM_addrx1 ||
	       form == DW_FORM_addrx2 || form == DW_FORM_addrx3 || form == DW_FORM_addrx4 ||
	       form == DW_FORM_GNU_addr_index;
}

/* An unsigned constant. libdwarf 20210528 reads DW_FORM_implicit_const (the
 * value stored in the abbreviation, which GCC uses for call_file and
 * friends) only as a signed value. */
static int form_unsigned(Dwarf_Attribute at, Dwarf_Half form, Dwarf_Unsigned *u, Dwarf_Error *err)
{
	if (form == DW_FORM_implicit_const) {
		Dwarf_Signed sv;
		int res = dwarf_formsdata(at, &sv, err);
		if (res == DW_DLV_OK)
			*u = (Dwarf_Unsigned)sv;
		return res;
	}
	return dwarf_formudata(at, u, err);
}

/* Reads the attributes hud uses from die in one pass over its list, keeping
 * the order-dependent choices of the reference (a DW_AT_name before an
 * abstract origin wins over it). The list stays alive until attrs_free. */
int sym_attrs_read(Dwarf_Debug dbg, Dwarf_Die die, struct sym_attrs *a)
{
	Dwarf_Error err = NULL;
	memset(a, 0, sizeof(*a));
	int res = dwarf_attrlist(die, &a->list, &a->n, &err);
	if (res == DW_DLV_NO_ENTRY)
		return 0;
	if (res != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		a->list = NULL;
		return -1;
	}
	for (Dwarf_Signed i = 0; i < a->n; i++) {
		Dwarf_Attribute at = a->list[i];
		Dwarf_Half num, form;
		Dwarf_Unsigned u;
		Dwarf_Addr addr;
		Dwarf_Off off;
		char *s;
		if (dwarf_whatattr(at, &num, &err) != DW_DLV_OK ||
		    dwarf_whatform(at, &form, &err) != DW_DLV_OK) {
			sym_drop_err(dbg, &err);
			continue;
		}
		switch (num) {
		case DW_AT_low_pc:
			if (dwarf_formaddr(at, &addr, &err) == DW_DLV_OK) {
				a->low = addr;
				a->has_low = 1;
			}
			break;
		case DW_AT_high_pc:
			/* DWARF 4+: a constant form is a size from low_pc. */
			if (is_addr_form(form)) {
				if (dwarf_formaddr(at, &addr, &err) == DW_DLV_OK) {
					a->high = addr;
					a->has_high = 1;
				}
			} else if (form_unsigned(at, form, &u, &err) == DW_DLV_OK) {
				a->high = u;
				a->has_high = a->high_is_size = 1;
			}
			break;
		case DW_AT_ranges:
			a->ranges = at;
			a->ranges_form = form;
			break;
		case DW_AT_linkage_name:
		case DW_AT_MIPS_linkage_name:
			if (dwarf_formstring(at, &s, &err) == DW_DLV_OK)
				a->linkage = s;
			break;
		case DW_AT_name:
			if (dwarf_formstring(at, &s, &err) == DW_DLV_OK) {
				a->name = s;
				a->name_first = !a->has_origin;
			}
			break;
		case DW_AT_abstract_origin:
		case DW_AT_specification:
			if (dwarf_global_formref(at, &off, &err) == DW_DLV_OK && !a->has_origin) {
				a->origin = off;
				a->has_origin = 1;
			}
			break;
		case DW_AT_call_file:
			if (form_unsigned(at, form, &u, &err) == DW_DLV_OK)
				a->call_file = u;
			break;
		case DW_AT_call_line:
			if (form_unsigned(at, form, &u, &err) == DW_DLV_OK)
				a->call_line = u;
			break;
		case DW_AT_decl_line:
			if (form_unsigned(at, form, &u, &err) == DW_DLV_OK)
				a->decl_line = u;
			break;
		case DW_AT_language:
			if (form_unsigned(at, form, &u, &err) == DW_DLV_OK)
				a->lang = u;
			break;
		case DW_AT_comp_dir:
			if (dwarf_formstring(at, &s, &err) == DW_DLV_OK)
				a->comp_dir = s;
			break;
		case DW_AT_stmt_list:
			a->has_stmt = 1;
			break;
		default:
			break;
		}
		sym_drop_err(dbg, &err);
	}
	return 0;
}

void sym_attrs_free(Dwarf_Debug dbg, struct sym_attrs *a)
{
	if (!a->list)
		return;
	for (Dwarf_Signed i = 0; i < a->n; i++)
		dwarf_dealloc_attribute(a->list[i]);
	dwarf_dealloc(dbg, a->list, DW_DLA_LIST);
	a->list = NULL;
}

/* ---- Ranges ------------------------------------------------------------- */

/* DWARF 5 .debug_rnglists: libdwarf applies base addresses and .debug_addr. */
static int rnglists(Dwarf_Debug dbg, struct sym_attrs *a, sym_range_fn fn, void *ctx, int *added)
{
	Dwarf_Error err = NULL;
	Dwarf_Unsigned val, count, goff;
	Dwarf_Rnglists_Head head = NULL;
	int res;
	if (a->ranges_form == DW_FORM_rnglistx)
		res = dwarf_formudata(a->ranges, &val, &err);
	else
		res = dwarf_global_formref(a->ranges, &val, &err);
	if (res != DW_DLV_OK ||
	    dwarf_rnglists_get_rle_head(a->ranges, a->ranges_form, val, &head, &count, &goff, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return 0;
	}
	int ret = 0;
	for (Dwarf_Unsigned i = 0; i < count && ret == 0; i++) {
		unsigned len, code;
		Dwarf_Unsigned raw1, raw2, lo, hi;
		Dwarf_Bool noaddr = 0;
		if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &raw1, &raw2, &noaddr,
						      &lo, &hi, &err) != DW_DLV_OK) {
			sym_drop_err(dbg, &err);
			break;
		}
		if (code == DW_RLE_end_of_list)
			break;
		if (code == DW_RLE_base_address || code == DW_RLE_base_addressx || noaddr)
			continue;
		if (lo == TOMBSTONE5 || lo >= hi)
			continue;
		*added = 1;
		ret = fn(ctx, lo, hi);
	}
	dwarf_dealloc_rnglists_head(head);
	return ret;
}

/* DWARF 2-4 .debug_ranges: offsets from the unit's base address unless a
 * base address selection entry changes it. */
static int ranges4(Dwarf_Debug dbg, Dwarf_Die die, uint64_t base, struct sym_attrs *a,
		   sym_range_fn fn, void *ctx, int *added)
{
	Dwarf_Error err = NULL;
	Dwarf_Unsigned off, bytes;
	Dwarf_Off real;
	Dwarf_Ranges *buf = NULL;
	Dwarf_Signed cnt = 0;
	int res;
	if (a->ranges_form == DW_FORM_data4 || a->ranges_form == DW_FORM_data8 || a->ranges_form == DW_FORM_udata)
		res = dwarf_formudata(a->ranges, &off, &err);
	else
		res = dwarf_global_formref(a->ranges, &off, &err);
	if (res != DW_DLV_OK || dwarf_get_ranges_b(dbg, off, die, &real, &buf, &cnt, &bytes, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return 0;
	}
	int ret = 0;
	for (Dwarf_Signed i = 0; i < cnt && ret == 0; i++) {
		if (buf[i].dwr_type == DW_RANGES_END)
			break;
		if (buf[i].dwr_type == DW_RANGES_ADDRESS_SELECTION) {
			base = buf[i].dwr_addr2;
			continue;
		}
		if (base == TOMBSTONE4)
			continue;
		uint64_t lo = base + buf[i].dwr_addr1, hi = base + buf[i].dwr_addr2;
		if (lo == TOMBSTONE4 || lo >= hi)
			continue;
		*added = 1;
		ret = fn(ctx, lo, hi);
	}
	dwarf_ranges_dealloc(dbg, buf, cnt);
	return ret;
}

/* Calls fn for each non-empty range of the DIE: DW_AT_ranges, else
 * low_pc/high_pc. Returns fn's first non-zero result, else 0; *added says
 * whether any range was found. */
int sym_for_each_range(Dwarf_Debug dbg, Dwarf_Die die, uint16_t version, uint64_t base,
			  struct sym_attrs *a, sym_range_fn fn, void *ctx, int *added)
{
	*added = 0;
	if (a->ranges) {
		if (version >= 5 || a->ranges_form == DW_FORM_rnglistx)
			return rnglists(dbg, a, fn, ctx, added);
		return ranges4(dbg, die, base, a, fn, ctx, added);
	}
	if (a->has_low && a->has_high) {
		uint64_t hi = a->high_is_size ? a->low + a->high : a->high;
		if (a->low < hi) {
			*added = 1;
			return fn(ctx, a->low, hi);
		}
	}
	return 0;
}

