/* embed.S — puts the compiled BPF object (build/bpf.o) inside hud, so nothing
 * is read from disk at run time. build.sh passes its path as HUD_BPF_OBJECT. */
	.section .rodata
	.balign 8
	.global hud_bpf_object
	.global hud_bpf_object_end
hud_bpf_object:
	.incbin HUD_BPF_OBJECT
hud_bpf_object_end:
	.section .note.GNU-stack,"",@progbits
