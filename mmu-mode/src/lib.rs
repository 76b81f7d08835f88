//! # mmu-mode: per-task protection in one address space
//!
//! Linked only into `MMU=1` builds (cargo feature `mmu`). Built so far: page-table entries
//! and the ring-3 permission rules ([`pte`], host-tested); address spaces that open to a task
//! only the image's code (read-execute), constants (read-only) and its own stack ([`space`]);
//! ring-3 tasks ([`user`]); the gate for exec calls, with pointers checked as allegations, and
//! the containment of ring-3 faults ([`gate`]). Not yet: the full exec vector table behind the
//! gate, message copy/transfer, CRASHTEST (issue [5/6], DESIGN.md section 4).
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
pub mod msg;
#[cfg(target_os = "none")]
pub mod space;
#[cfg(target_os = "none")]
pub mod user;
#[cfg(target_os = "none")]
mod ktests;

#[cfg(target_os = "none")]
pub use ktests::TESTS;

/// Installs the gate, the ring-3 fault handler and the address-space clean-up into exec.
#[cfg(target_os = "none")]
pub fn init() {
    exec::mmu::install(exec::mmu::Hooks { gate: gate::gate, user_fault: gate::user_fault, reclaim: gate::reclaim });
}
