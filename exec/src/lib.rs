//! # exec: the heart of Lorraine
//!
//! An Exec in the AmigaOS sense: tasks, signals, message ports passing raw pointers in one
//! address space, semaphores, memory, libraries, devices, interrupts and alerts, with names
//! Rust-cased (`put_msg`, `wait_port`, `alloc_signal`).
//!
//! Principles:
//! - One module per Exec concept, so `put_msg` is found in `port.rs`.
//! - All assembly and port I/O live in `arch/x86_64`; everything else is plain Rust.
//! - Pure logic (memory map, command line, lists, ...) builds on the host and is tested with
//!   `cargo test`; the rest is `cfg(target_os = "none")` and tested inside the kernel (`ktest`).
//! - The flat build contains no protection code: mmu-mode is a cargo feature, not a run-time
//!   switch.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod cmdline;
pub mod date;
pub mod global;
pub mod handles;
pub mod list;
pub mod memheader;
pub mod memmap;

#[cfg(target_os = "none")]
pub mod alert;
#[cfg(target_os = "none")]
pub mod arch;
#[cfg(target_os = "none")]
pub mod bench;
#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod device;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
pub mod events;
#[cfg(target_os = "none")]
pub mod execbase;
#[cfg(target_os = "none")]
pub mod interrupts;
#[cfg(target_os = "none")]
pub mod ktest;
#[cfg(all(target_os = "none", feature = "mmu"))]
pub mod lend;
#[cfg(target_os = "none")]
pub mod library;
#[cfg(target_os = "none")]
pub mod memory;
#[cfg(target_os = "none")]
pub mod pool;
#[cfg(target_os = "none")]
pub mod port;
#[cfg(all(target_os = "none", feature = "mmu"))]
pub mod port_ring3;
#[cfg(target_os = "none")]
pub mod resident;
#[cfg(target_os = "none")]
pub mod sched;
#[cfg(target_os = "none")]
pub mod semaphore;
#[cfg(target_os = "none")]
pub mod snapshot;
pub mod signal;
#[cfg(target_os = "none")]
pub mod sys;
#[cfg(all(target_os = "none", feature = "mmu"))]
pub mod sys_gate;
#[cfg(target_os = "none")]
pub mod task;
#[cfg(target_os = "none")]
pub mod task_table;
#[cfg(target_os = "none")]
pub mod time;
#[cfg(all(target_os = "none", feature = "mmu"))]
pub mod user_heap;
#[cfg(target_os = "none")]
mod ktests;

#[cfg(target_os = "none")]
pub use ktests::TESTS;
#[cfg(all(target_os = "none", not(feature = "mmu")))]
pub use ktests::FAST_PATH_TESTS;
/// Helpers for in-kernel tests that need other tasks (spawn and join).
#[cfg(target_os = "none")]
pub use ktests::util as ktest_util;

/// Lorraine's version, as the banner and VERSION print it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `"flat"` or `"mmu"`: which build this is.
pub const BUILD_MODE: &str = if cfg!(feature = "mmu") { "mmu" } else { "flat" };
