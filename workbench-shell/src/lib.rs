//! # workbench-shell: the AmigaShell-style console (`1.SYS:> `)
//!
//! An Exec task that talks to the user through serial.device only. Terminal input is parsed
//! with vte into keys ([`keys`]), edited with history and completion ([`lineedit`]), and run
//! as commands with AmigaDOS argument templates, each command in an Exec task of its own.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod keys;
pub mod lineedit;
