//! # workbench-shell: the AmigaShell-style console (`1.SYS:> `)
//!
//! An Exec task that talks to the user through serial.device only (issue [4/6]).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
