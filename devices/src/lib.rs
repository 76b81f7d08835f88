//! # devices: Lorraine's Exec devices
//!
//! serial.device and timer.device, each an Exec device opened by name and driven by IORequests
//! (issue [3/6]). Until exec has devices, the kernel console talks to COM1 directly
//! (`exec::arch::x86_64::serial`).
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
