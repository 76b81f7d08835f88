//! # libraries: Exec libraries built on exec
//!
//! dos.library: DOS packets, processes, files and locks (`dos/`), the RAM:, NIL: and CON: handlers
//! (`handlers/`: AmigaDOS's DOS devices live here, beside the library that starts them), and
//! the AmigaDOS ReadArgs templates and formatting helpers of the shell. The logic (RAM:'s
//! filesystem, paths, patterns, templates) is plain Rust, tested on the host.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod coninput;
pub mod dosdefs;
pub mod format;
pub mod path;
pub mod pattern;
pub mod ramfs;
pub mod readargs;

#[cfg(target_os = "none")]
pub mod dos;
#[cfg(target_os = "none")]
pub mod handlers;
#[cfg(target_os = "none")]
pub use dos::{DOS_RESIDENT, TESTS};
