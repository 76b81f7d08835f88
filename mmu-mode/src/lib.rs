//! # mmu-mode: per-task protection in one address space
//!
//! Linked only into `MMU=1` builds (cargo feature `mmu`); DESIGN.md section 4.
//! - [`pte`]: page-table entries and the ring-3 permission rules (host-tested);
//! - `space`: a task's page tables in the one address space: code read-execute, constants
//!   read-only, the entry code kernel-only, its stack and memory read-write for it alone;
//!   [`blocks`]: the memory it allocated, found by address in O(log n) (host-tested);
//! - `pages`: where that memory and ring-3 stacks come from: arenas cut by the buddy system
//!   ([`buddy`], host-tested), so that a task's allocations cannot cut up exec memory;
//! - `user`: ring-3 tasks (and the bare gate calls the benchmarks time);
//! - `gate`: the SYSCALL gate behind exec's vector table (`exec::sys_gate` holds the stubs a
//!   ring-3 caller of `exec::sys` takes): pointers checked as allegations, calls ring 3 may not
//!   make refused, ring-3 faults contained;
//! - `msg`: messages by copy or by page transfer; `sem`: semaphores whose working half stays in
//!   kernel memory, named by handles; `libs`: libraries opened through the gate, their code run
//!   in ring 3; `io`: device I/O with IoRequests in the task's memory and a kernel shadow;
//! - `bench`: their benchmarks; `bench_dos`: a ring-3 process's Read from RAM:.
//!
//! In the mmu build the shell (CLI 1) and its commands run in ring 3 (see
//! `workbench_shell::jobs` and `job_service`); the system and jobs services (REBOOT, SHUTDOWN,
//! BENCH and CRASHTEST are requests to the first), the idle task and the devices stay in ring 0.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod blocks;
pub mod tickets;
pub mod buddy;
pub mod pte;

#[cfg(target_os = "none")]
pub mod bench;
#[cfg(target_os = "none")]
pub mod bench_dos;
#[cfg(target_os = "none")]
pub mod dos;
#[cfg(target_os = "none")]
pub mod gate;
#[cfg(target_os = "none")]
pub mod io;
#[cfg(target_os = "none")]
pub mod libs;
#[cfg(target_os = "none")]
pub mod msg;
#[cfg(target_os = "none")]
pub mod pages;
#[cfg(target_os = "none")]
pub mod policy;
#[cfg(target_os = "none")]
mod records;
#[cfg(target_os = "none")]
pub mod sem;
#[cfg(target_os = "none")]
pub mod space;
#[cfg(target_os = "none")]
pub mod uaccess;
#[cfg(target_os = "none")]
pub mod user;
#[cfg(target_os = "none")]
mod ktests;
#[cfg(target_os = "none")]
mod ktests_attacks;
#[cfg(target_os = "none")]
mod ktests_device_reply;
#[cfg(target_os = "none")]
mod ktests_forbid;
#[cfg(target_os = "none")]
mod ktests_reach;
#[cfg(target_os = "none")]
mod ktests_door;
#[cfg(target_os = "none")]
mod ktests_pages;
#[cfg(target_os = "none")]
mod ktests_dos;
#[cfg(target_os = "none")]
mod ktests_fuzz;
#[cfg(target_os = "none")]
mod ktests_fuzz_server;
#[cfg(target_os = "none")]
mod ktests_msg_attacks;
#[cfg(target_os = "none")]
mod ktests_sys;
#[cfg(target_os = "none")]
mod ktests_to_ring0;
#[cfg(target_os = "none")]
mod ktests_handoff;
#[cfg(target_os = "none")]
mod ktests_lend;
#[cfg(target_os = "none")]
mod ktests_records;
#[cfg(target_os = "none")]
mod ktests_sem;

#[cfg(target_os = "none")]
pub use ktests::TESTS;
#[cfg(target_os = "none")]
pub use ktests_attacks::TESTS as ATTACK_TESTS;
#[cfg(target_os = "none")]
pub use ktests_device_reply::TESTS as DEVICE_REPLY_TESTS;
#[cfg(target_os = "none")]
pub use ktests_forbid::TESTS as FORBID_TESTS;
#[cfg(target_os = "none")]
pub use ktests_reach::TESTS as REACH_TESTS;
#[cfg(target_os = "none")]
pub use ktests_door::TESTS as DOOR_TESTS;
#[cfg(target_os = "none")]
pub use ktests_pages::TESTS as PAGES_TESTS;
#[cfg(target_os = "none")]
pub use ktests_dos::TESTS as DOS_TESTS;
#[cfg(target_os = "none")]
pub use ktests_fuzz::TESTS as FUZZ_TESTS;
#[cfg(target_os = "none")]
pub use ktests_msg_attacks::TESTS as MSG_ATTACK_TESTS;
#[cfg(target_os = "none")]
pub use ktests_sys::TESTS as SYS_TESTS;
#[cfg(target_os = "none")]
pub use ktests_to_ring0::TESTS as TO_RING0_TESTS;
#[cfg(target_os = "none")]
pub use ktests_handoff::TESTS as HANDOFF_TESTS;
#[cfg(target_os = "none")]
pub use ktests_lend::TESTS as LEND_TESTS;
#[cfg(target_os = "none")]
pub use ktests_records::TESTS as RECORD_TESTS;

/// exec's entry into mmu-mode: these functions, bound by the linker under fixed names, are
/// direct calls: the gate's from the syscall entry's assembly, the others from `exec::entry`.
#[cfg(target_os = "none")]
mod entry {
    use exec::arch::x86_64::trap::TrapFrame;
    use exec::task::Task;

    /// Called by the syscall entry's assembly (hence the C ABI).
    #[unsafe(no_mangle)]
    extern "C" fn lorraine_mmu_gate(frame: &mut TrapFrame) {
        crate::gate::gate(frame);
    }

    #[unsafe(no_mangle)]
    fn lorraine_mmu_user_fault(frame: &mut TrapFrame) {
        crate::gate::user_fault(frame);
    }

    #[unsafe(no_mangle)]
    fn lorraine_mmu_forbid_overrun(frame: &mut TrapFrame) {
        crate::gate::forbid_overrun(frame);
    }

    /// # Safety
    /// Disable held; `task` is live and ending (exec's task end).
    #[unsafe(no_mangle)]
    unsafe fn lorraine_mmu_reclaim(task: *mut Task) {
        // SAFETY: per the contract.
        unsafe { crate::gate::reclaim(task) };
    }

    /// # Safety
    /// As `msg::lend_ring0` (exec's `lend::do_msg_lending`).
    #[unsafe(no_mangle)]
    unsafe fn lorraine_mmu_lend_ring0(m: *mut exec::port::Message, lends: &exec::sys_gate::Lends) {
        // SAFETY: per the contract.
        unsafe { crate::msg::lend_ring0(m, lends) };
    }

    #[unsafe(no_mangle)]
    fn lorraine_mmu_end_lend_ring0(m: *mut exec::port::Message) {
        crate::msg::end_lend_ring0(m);
    }

    #[unsafe(no_mangle)]
    fn lorraine_mmu_read_lent(m: *const exec::port::Message, index: usize, offset: usize, buf: &mut [u8]) -> exec::sys_gate::GateResult {
        crate::msg::read_lent(m, index, offset, buf)
    }

    #[unsafe(no_mangle)]
    fn lorraine_mmu_write_lent(m: *const exec::port::Message, index: usize, offset: usize, buf: &[u8]) -> exec::sys_gate::GateResult {
        crate::msg::write_lent(m, index, offset, buf)
    }

    /// # Safety
    /// `port` is live until this returns (exec's delete_msg_port).
    #[unsafe(no_mangle)]
    unsafe fn lorraine_mmu_port_gone(port: *mut exec::port::MsgPort) {
        // SAFETY: per the contract.
        unsafe { crate::msg::port_gone(port) };
    }

    /// # Safety
    /// Disable held; `sem` is live and idle (exec's task end), and exec touches it no more.
    #[unsafe(no_mangle)]
    unsafe fn lorraine_mmu_semaphore_idle(sem: *mut exec::semaphore::SignalSemaphore) {
        crate::sem::orphan_idle(sem);
    }
}
