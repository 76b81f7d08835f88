//! # libraries: Exec libraries built on exec
//!
//! Shared code opened by name with `open_library`: argument parsing with AmigaDOS ReadArgs
//! templates and formatting helpers for the shell (issue [3/6]).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
