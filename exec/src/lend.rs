//! Lent buffers from either ring (mmu build): what a message lends its taker, and the copies
//! between a lent buffer and the taker's memory (QNX's MsgRead and MsgWrite). mmu-mode keeps
//! the records and checks every copy (`mmu-mode/src/msg/lend.rs`); this module only picks the
//! door: the gate from ring 3, a direct call (bound by the linker, as `entry.rs` does) from
//! ring 0. The flat build has no lending: a buffer crosses as its address.

use crate::arch::x86_64::cpu::in_ring3;
use crate::port::{Message, MsgPort};
use crate::sys_gate::GateError;

/// The most buffers one message lends.
pub const LENDS_MAX: usize = 4;
/// A lent buffer's access: its receiver may read it (`exec::lend::msg_read`).
pub const LEND_READ: u64 = 1;
/// A lent buffer's access: its receiver may write it (`exec::lend::msg_write`).
pub const LEND_WRITE: u64 = 2;

/// One buffer of the sender's memory that a message lends its receiver.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lend {
    pub addr: u64,
    pub len: u64,
    /// [`LEND_READ`], [`LEND_WRITE`] or both.
    pub access: u64,
}

/// What a message put with [`PUT_LENDS`](crate::sys_gate::PUT_LENDS) holds in its last
/// bytes: `count` buffers (at most [`LENDS_MAX`]) in the first `count` entries.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lends {
    pub count: u64,
    pub bufs: [Lend; LENDS_MAX],
}

/// do_msg of `msg` to `port`, lending the buffers `lends` names. From ring 3 the message's
/// last bytes must hold the table (the gate reads it there, once); from ring 0 the table is
/// registered for as long as the message is out. Result: as exec's do_msg (null if refused,
/// in ring 3). Not callable from an interrupt.
///
/// # Safety
/// As exec's do_msg; every buffer `lends` names stays valid (writable, if lent for writing)
/// until the message is back; in ring 3 the message ends with a copy of `lends`.
pub unsafe fn do_msg_lending(port: *mut MsgPort, msg: *mut Message, lends: &Lends) -> *mut Message {
    if in_ring3() {
        return crate::sys_gate::do_msg_lending(port, msg);
    }
    // SAFETY: per the contract: a ring-0 caller's own message and buffers.
    unsafe {
        lorraine_mmu_lend_ring0(msg, lends);
        let back = crate::port::do_msg(port, msg);
        lorraine_mmu_end_lend_ring0(msg);
        back
    }
}

/// msg_read (QNX's MsgRead): copies from buffer `index` that the message `m` lends, from
/// `offset`, into `buf`.
///
/// Inputs: `m`, a message the caller holds (taken and not yet replied: in ring 3 its view);
/// the buffer's index in the sender's [`Lends`]; an offset into it; where to copy to (the
/// caller's own memory). Result: the bytes copied (fewer than `buf.len()` at the buffer's end;
/// 0 at it). Errors: [`GateError::BadPointer`] if the caller does not hold `m`, there is no
/// such buffer, it is not lent for reading, the offset is past its end, `buf` is not the
/// caller's to write, or the sender has ended or can no longer read the buffer itself.
/// Not callable from an interrupt.
pub fn msg_read(m: *const Message, index: usize, offset: usize, buf: &mut [u8]) -> Result<usize, GateError> {
    if in_ring3() {
        return crate::sys_gate::msg_read(m, index, offset, buf);
    }
    lorraine_mmu_read_lent(m, index, offset, buf).map(|n| n as usize)
}

/// msg_write: `buf` into buffer `index` that the held message `m` lends, from `offset`. As
/// [`msg_read`], for a buffer lent for writing. Not callable from an interrupt.
pub fn msg_write(m: *const Message, index: usize, offset: usize, buf: &[u8]) -> Result<usize, GateError> {
    if in_ring3() {
        return crate::sys_gate::msg_write(m, index, offset, buf);
    }
    lorraine_mmu_write_lent(m, index, offset, buf).map(|n| n as usize)
}

// mmu-mode's half, defined there under these names and bound by the linker.
unsafe extern "Rust" {
    unsafe fn lorraine_mmu_lend_ring0(m: *mut Message, lends: &Lends);
    safe fn lorraine_mmu_end_lend_ring0(m: *mut Message);
    safe fn lorraine_mmu_read_lent(m: *const Message, index: usize, offset: usize, buf: &mut [u8]) -> Result<u64, GateError>;
    safe fn lorraine_mmu_write_lent(m: *const Message, index: usize, offset: usize, buf: &[u8]) -> Result<u64, GateError>;
}
