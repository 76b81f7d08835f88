//! exec's in-kernel tests (see `ktest`). Tests assert behaviour, never speed.

mod boot;
mod descriptors;
mod exceptions;
mod heap;
mod selfcheck;
mod time;

use crate::ktest::Test;

/// Every in-kernel test of the exec crate, in the order they run.
pub static TESTS: &[Test] = &[
    Test::new("arch.gdt.loaded", descriptors::gdt_loaded),
    Test::new("arch.gdt.segments", descriptors::segments),
    Test::new("arch.tss.loaded", descriptors::tss_loaded),
    Test::new("arch.idt.loaded", descriptors::idt_loaded),
    Test::new("arch.idt.gates", descriptors::idt_gates),
    Test::new("arch.exceptions.breakpoint", exceptions::breakpoint),
    Test::new("arch.exceptions.invalid_opcode", exceptions::invalid_opcode),
    Test::new("arch.exceptions.divide_error", exceptions::divide_error),
    Test::new("arch.exceptions.general_protection", exceptions::general_protection),
    Test::new("arch.exceptions.page_fault_read", exceptions::page_fault_read),
    Test::new("arch.exceptions.page_fault_write", exceptions::page_fault_write),
    Test::new("arch.exceptions.guru_report", exceptions::guru_report),
    Test::new("arch.exceptions.system_goes_on", exceptions::system_goes_on),
    Test::new("boot.memmap.boot_map_is_sane", boot::boot_map_is_sane),
    Test::new("boot.memmap.unsorted", boot::unsorted),
    Test::new("boot.memmap.overlapping", boot::overlapping),
    Test::new("boot.memmap.bad_maps_rejected", boot::bad_maps_rejected),
    Test::new("boot.pvh.start_info_checked", boot::start_info_checked),
    Test::new("boot.pvh.memmap_checked", boot::memmap_checked),
    Test::new("boot.cmdline.parsed", boot::cmdline_parsed),
    Test::new("heap.sized_from_memory_map", heap::sized_from_memory_map),
    Test::new("heap.alloc_free_baseline", heap::alloc_free_baseline),
    Test::new("heap.large_allocation", heap::large_allocation),
    Test::new("heap.alignment", heap::alignment),
    Test::new("heap.exhaustion_is_an_error", heap::exhaustion_is_an_error),
    Test::new("time.ticks_advance", time::ticks_advance),
    Test::new("time.tsc_matches_pit", time::tsc_matches_pit),
    Test::new("time.uptime_monotonic", time::uptime_monotonic),
    Test::new("time.irq0_unmasked", time::irq0_unmasked),
    // Run only when named: they must fail, or need the host harness to type.
    Test::explicit("selfcheck.fails", selfcheck::fails),
    Test::explicit("selfcheck.panics", selfcheck::panics),
    Test::explicit("selfcheck.guru", selfcheck::guru),
    Test::explicit("selfcheck.triple_fault", selfcheck::triple_fault),
    Test::explicit("selfcheck.hangs", selfcheck::hangs),
    Test::explicit("selfcheck.hangs_interrupts_off", selfcheck::hangs_interrupts_off),
    Test::explicit("e2e.serial_echo", selfcheck::serial_echo),
];
