//! # workbench-shell: the AmigaShell-style console (`1.SYS:> `)
//!
//! An Exec task that talks to the user through DOS's CON: handler. Terminal input is parsed
//! with vte into keys ([`keys`]), edited with history and completion ([`lineedit`]), and run
//! as commands with AmigaDOS argument templates, each command in an Exec task of its own that
//! the jobs service starts (in the mmu build the shell runs in ring 3, as its commands do).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod cli;

#[cfg(target_os = "none")]
/// The calling task's number (exec's `task_table`), in either ring: how the shell and its
/// commands name tasks in the records they share.
pub fn my_task_number() -> u64 {
    // SAFETY: null names the caller itself.
    unsafe { exec::sys::task_number(core::ptr::null_mut()) }
}
pub mod keys;
pub mod lineedit;
pub mod scenarios;
pub mod state;

#[cfg(target_os = "none")]
mod attacks;
#[cfg(target_os = "none")]
pub mod commands;
#[cfg(target_os = "none")]
pub mod con;
#[cfg(target_os = "none")]
pub mod crashtest;
#[cfg(target_os = "none")]
pub mod job_service;
#[cfg(target_os = "none")]
pub mod jobs;
#[cfg(target_os = "none")]
pub mod settings;
#[cfg(target_os = "none")]
pub mod shell;
#[cfg(target_os = "none")]
pub mod system;
#[cfg(all(target_os = "none", feature = "mmu"))]
mod settings_tests;
#[cfg(all(target_os = "none", feature = "mmu"))]
mod system_tests;
#[cfg(all(target_os = "none", feature = "mmu"))]
pub mod watch;

/// The shell's in-kernel tests (mmu build: the system service's check of who asks).
#[cfg(all(target_os = "none", feature = "mmu"))]
pub use system_tests::TESTS;
/// The settings' in-kernel tests (mmu build: commands see the shell's state read-only).
#[cfg(all(target_os = "none", feature = "mmu"))]
pub use settings_tests::TESTS as SETTINGS_TESTS;

#[cfg(target_os = "none")]
pub use shell::start;
