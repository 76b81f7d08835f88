//! The Lorraine kernel image. This file is the boot order, one step per line; everything it
//! calls lives in the workspace crates.
#![no_std]
#![no_main]

use exec::arch::x86_64::cpu;
use exec::ktest::Test;
use exec::resident::{EXEC_RESIDENT, Resident};

/// The resident modules, started at boot by priority (the ROM tag table).
static RESIDENTS: &[&Resident] =
    &[&EXEC_RESIDENT, &devices::TIMER_RESIDENT, &devices::SERIAL_RESIDENT, &libraries::DOS_RESIDENT];

/// Every crate's in-kernel tests.
#[cfg(not(feature = "mmu"))]
static TEST_SUITES: &[&[Test]] = &[exec::TESTS, exec::FAST_PATH_TESTS, devices::TESTS, libraries::TESTS];
#[cfg(feature = "mmu")]
static TEST_SUITES: &[&[Test]] = &[exec::TESTS, devices::TESTS, libraries::TESTS, mmu_mode::TESTS, mmu_mode::SYS_TESTS, mmu_mode::ATTACK_TESTS, mmu_mode::FORBID_TESTS, mmu_mode::MSG_ATTACK_TESTS, mmu_mode::FUZZ_TESTS, mmu_mode::DOS_TESTS, mmu_mode::TO_RING0_TESTS, mmu_mode::HANDOFF_TESTS, mmu_mode::LEND_TESTS, mmu_mode::RECORD_TESTS, mmu_mode::DOOR_TESTS, mmu_mode::PAGES_TESTS, mmu_mode::DEVICE_REPLY_TESTS, mmu_mode::REACH_TESTS, workbench_shell::TESTS, workbench_shell::SETTINGS_TESTS];

/// Entered from the PVH trampoline in 64-bit mode, on the boot stack, interrupts off.
#[unsafe(no_mangle)]
pub extern "C" fn lorraine_main(start_info_paddr: u32) -> ! {
    exec::console::init(); //                               COM1, so everything after can speak
    cpu::init(); //                                         CPU features, no-execute
    exec::arch::x86_64::gdt::init(); //                     GDT, TSS, emergency stack
    exec::arch::x86_64::idt::init(); //                     every exception reaches the Guru
    let boot = exec::boot::read_boot_info(start_info_paddr); // memory map, command line
    exec::boot::init_memory(&boot); //                      kernel heap and exec memory lists
    exec::time::init(); //                                  PIC, PIT tick, TSC calibration
    exec::sched::init(); //                                 boot becomes a task; the idle task
    exec::resident::init_residents(RESIDENTS); //           libraries and devices, by priority
    #[cfg(not(feature = "mmu"))]
    libraries::handlers::start(); //                        RAM:, NIL:, CON:, the DOS server (ring 0)
    #[cfg(feature = "mmu")]
    mmu_mode::msg::start_relay(); //                        replies of ring-0 receivers to ring 3
    #[cfg(feature = "mmu")]
    mmu_mode::sem::reserve(); //                            room for ring-3 semaphores' records
    #[cfg(feature = "mmu")]
    workbench_shell::system::keep_names(); //               "system" and "jobs": ring 0's alone
    #[cfg(feature = "mmu")]
    mmu_mode::dos::start_handlers(); //                     RAM:, NIL:, CON:, the DOS server (ring 3)
    exec::boot::banner(&boot); //                           version, mode, CPU, memory
    exec::sched::enable(); //                               interrupts on: multitasking runs
    libraries::handlers::await_ports(); //                  DOS handlers ready for packets
    if boot.options.bench {
        exec::bench::set_quick(boot.options.bench_quick);
        #[cfg(not(feature = "mmu"))]
        exec::bench::run(&[devices::bench::run, libraries::dos::bench::run], &[]);
        #[cfg(feature = "mmu")]
        exec::bench::run(&[devices::bench::run, libraries::dos::bench::run, mmu_mode::bench::run, mmu_mode::bench_dos::run], &[mmu_mode::bench::scale_rows]);
    }
    if let Some(prefix) = boot.options.test {
        exec::ktest::run(TEST_SUITES, prefix, boot.options.test_timeout_ms);
    }
    workbench_shell::start(); //                              CLI 1 on the serial console
    loop {
        exec::signal::wait(0xffff_0000); //                 boot's work is done: it waits forever
    }
}
