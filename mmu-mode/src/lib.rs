//! # mmu-mode: per-task protection in one address space
//!
//! Linked only into `MMU=1` builds (cargo feature `mmu`): per-task page tables, ring-3 entry,
//! the syscall gate, pointer validation and message transfer (issue [5/6], DESIGN.md section 4).
//! So far: page-table entry encoding and the permission rules the tables will follow
//! ([`pte`]), host-tested.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod pte;
