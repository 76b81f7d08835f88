//! # mmu-mode: per-task protection in one address space
//!
//! Linked only into `MMU=1` builds (cargo feature `mmu`); DESIGN.md section 4. Built so far:
//! - [`pte`]: page-table entries and the ring-3 permission rules (host-tested);
//! - `space`: a task's page tables in the one address space: code read-execute, constants
//!   read-only, the entry code kernel-only, its stack and memory read-write for it alone;
//! - `user`: ring-3 tasks and the calls they make; `gate`: the SYSCALL gate, pointers
//!   checked as allegations, ring-3 faults contained; `msg`: messages by copy or by page
//!   transfer; `io`: device I/O through the gate; `bench`: their benchmarks.
//!
//! Not yet (issue [5/6]): exec's own tasks (the shell and its commands) in ring 3, the exec
//! vector table itself behind the gate, library calls and semaphores from ring 3.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod pte;

#[cfg(target_os = "none")]
pub mod bench;
#[cfg(target_os = "none")]
pub mod gate;
#[cfg(target_os = "none")]
pub mod io;
#[cfg(target_os = "none")]
pub mod libs;
#[cfg(target_os = "none")]
pub mod msg;
#[cfg(target_os = "none")]
pub mod sem;
#[cfg(target_os = "none")]
pub mod space;
#[cfg(target_os = "none")]
pub mod user;
#[cfg(target_os = "none")]
mod ktests;
#[cfg(target_os = "none")]
mod ktests_sys;

#[cfg(target_os = "none")]
pub use ktests::TESTS;
#[cfg(target_os = "none")]
pub use ktests_sys::TESTS as SYS_TESTS;

/// Installs the gate, the ring-3 fault handler and the address-space clean-up into exec.
#[cfg(target_os = "none")]
pub fn init() {
    exec::mmu::install(exec::mmu::Hooks { gate: gate::gate, user_fault: gate::user_fault, reclaim: gate::reclaim });
}
