//! The PVH entry: QEMU's `-kernel` starts us here in 32-bit protected mode, paging off, with
//! EBX holding the physical address of the `hvm_start_info` block.
//!
//! The trampoline zeroes `.bss`, identity-maps the first 4 GiB with 2 MiB pages, turns on long
//! mode, loads a minimal GDT, and calls the image's `lorraine_main(start_info_paddr: u32)`.
//! The real GDT, TSS and IDT are set up from Rust right after.
//!
//! There is deliberately no Multiboot header: QEMU tries Multiboot first and refuses ELF64.

use core::arch::global_asm;

/// Bytes of the boot stack, which becomes the stack of the boot code and of the first task.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;

global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                     /* name size: "Xen\0" */
    .long 4                     /* descriptor size */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long pvh_start32
    .balign 4

    .section .boot.text, "ax"
    .code32
    .global pvh_start32
pvh_start32:
    cli
    cld
    /* Zero .bss: the page tables and the boot stack live there. EBX survives. */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov %ebx, pvh_start_info_paddr
    mov $boot_stack_top, %esp

    /* PML4[0] -> PDPT; PDPT[0..4] -> four page directories; 2048 x 2 MiB identity pages.
       Hand-written bits here and below: 32-bit code before any Rust, where the crate cannot run. */
    mov $boot_pdpt, %eax
    or $0x3, %eax
    mov %eax, boot_pml4
    mov $boot_pd, %eax
    or $0x3, %eax
    mov $boot_pdpt, %edi
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $4096, %eax
    add $8, %edi
    loop 1b
    mov $boot_pd, %edi
    mov $0x83, %eax             /* present, writable, 2 MiB page */
    mov $2048, %ecx
2:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 2b

    mov %cr4, %eax
    or $0x20, %eax              /* PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx       /* EFER */
    rdmsr
    or $0x100, %eax             /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG, PE */
    mov %eax, %cr0
    lgdt boot_gdt_ptr
    ljmp $0x08, $pvh_start64

    .code64
pvh_start64:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $boot_stack_top, %rsp
    xor %ebp, %ebp
    mov pvh_start_info_paddr, %edi
    call lorraine_main
3:  cli
    hlt
    jmp 3b

    .section .rodata.boot, "a"
    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 64-bit code */
    .quad 0x00CF92000000FFFF    /* data */
boot_gdt_ptr:
    .word boot_gdt_ptr - boot_gdt - 1
    .long boot_gdt

    .section .data.boot, "aw"
    .balign 4
    .global pvh_start_info_paddr
pvh_start_info_paddr:
    .long 0

    .section .bss.boot, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096
    .global boot_stack_guard_page
boot_stack_guard_page:          /* unmapped at boot (paging.rs): an overflow faults here */
    .skip 4096
    .global boot_stack_bottom
boot_stack_bottom:
    .skip {stack_size}
    .global boot_stack_top
boot_stack_top:
"#,
    stack_size = const BOOT_STACK_SIZE,
    options(att_syntax)
);

unsafe extern "C" {
    static __entry_start: u8;
    static __entry_end: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __ring3_ro_start: u8;
    static __ring3_ro_end: u8;
    static __kernel_start: u8;
    static __kernel_end: u8;
    static boot_stack_guard_page: u8;
    static boot_stack_bottom: u8;
    static boot_stack_top: u8;
}

/// The physical range `[start, end)` the kernel image occupies, `.bss` included.
pub fn kernel_image() -> (u64, u64) {
    // Only the addresses of the linker-defined symbols are taken, never their contents.
    (&raw const __kernel_start as u64, &raw const __kernel_end as u64)
}

/// The entry code's pages `[start, end)` (trap stubs, syscall entry).
pub fn entry_text() -> (u64, u64) {
    (&raw const __entry_start as u64, &raw const __entry_end as u64)
}

/// The image's code `[start, end)` and constants `[start, end)`, page-aligned.
pub fn text_and_rodata() -> ((u64, u64), (u64, u64)) {
    (
        (&raw const __text_start as u64, &raw const __text_end as u64),
        (&raw const __rodata_start as u64, &raw const __rodata_end as u64),
    )
}

/// The image's data that ring-3 code may read but not write `[start, end)`, page-aligned
/// (memchr's cached routine: see `linker.ld`); empty if there is none.
pub fn ring3_readable_data() -> (u64, u64) {
    (&raw const __ring3_ro_start as u64, &raw const __ring3_ro_end as u64)
}

/// The boot stack `[bottom, top)`.
pub fn boot_stack() -> (u64, u64) {
    (&raw const boot_stack_bottom as u64, &raw const boot_stack_top as u64)
}

/// The page below the boot stack, which [`super::paging::unmap_guard_page`] unmaps: an
/// overflow of the boot stack faults there instead of overwriting the boot page tables.
pub fn boot_stack_guard() -> u64 {
    &raw const boot_stack_guard_page as u64
}
