//! # libraries: Exec libraries built on exec
//!
//! dos.library (a small part of it): AmigaDOS ReadArgs templates and formatting helpers for
//! the shell, opened by name with `open_library("dos.library", 1)` and called through its
//! vector table. The logic is plain Rust, tested on the host.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod dosdefs;
pub mod format;
pub mod path;
pub mod pattern;
pub mod ramfs;
pub mod readargs;

#[cfg(target_os = "none")]
pub mod dos;
#[cfg(target_os = "none")]
pub use dos::{DOS_RESIDENT, TESTS};
