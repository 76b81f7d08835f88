//! Lent buffers: memory a message lends its receiver, read and written through the kernel
//! (QNX's MsgRead and MsgWrite), so that a server can take a client's data, or give it its
//! answer, without either side reaching the other's memory and without the data riding inside
//! the message.
//!
//! **Lending.** A ring-3 sender puts (or do_msg's) with [`PUT_LENDS`] in its way; its message
//! then ends with a [`Lends`] table (its last bytes, so that whatever the body holds first, a
//! DOS packet for one, stays where it is): up to [`LENDS_MAX`] buffers of its own
//! memory, each lent for reading, writing or both. The gate reads the table once at the put,
//! checks it (the count; each buffer's access flags, its length, at most a message's, that it
//! does not overlap the message, and that the sender may itself read, or write, every byte of
//! it) and keeps it beside the message's envelope (a map by its ticket). Whatever the sender
//! writes into its table afterwards changes nothing. The blocks holding the buffers count the
//! loan, as the message's own block does, so they can be neither freed nor sent by transfer
//! until the message is back; each loan is given back to the block that counted it. A buffer
//! in no block of the sender's own (its stack, or pages another task lent it by transfer) is
//! counted nowhere: the check at each copy is what keeps it safe.
//!
//! **Reading and writing.** Only the task that holds the message now (took it and has not
//! replied it) may copy from or into its lent buffers, by buffer index, offset and a buffer of
//! its own ([`read`], [`write`]; a ring-0 holder of a ring-3 task's message, [`read_lent`] and
//! [`write_lent`]). Each copy is checked at the time it is made: the holder's buffer must be
//! its own writable (or readable) memory, and the lent range must still be memory the sender
//! could read (or write) itself. A sender that has ended lends nothing any more (its message is
//! an orphan). The kernel copies the bytes as they are then: a sender that changes its buffer
//! meanwhile changes only what its server reads.
//!
//! **A ring-0 sender** registers what its message lends ([`lend_ring0`]) before it sends, and
//! takes the registration back ([`end_lend_ring0`]) when the message is back. Ring 0 is
//! trusted for it, as for its header: a ring-3 taker's envelope gets the table when the message
//! is copied in; a ring-0 holder copies by the registration itself. So DOS's client code lends
//! the same way whoever its handler is.

use exec::port::Message;
use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::{GateResult, LEND_READ, LEND_WRITE, LENDS_MAX, Lend, Lends};
use exec::task::Task;

use super::{Envelope, HEADER, Kind, Records, State, held_ticket, me, space_of, with};
use crate::space::Space;
use crate::uaccess::{UserRead, UserWrite};

pub use exec::sys_gate::PUT_LENDS;

/// Which way a copy goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    /// From the lent buffer into the holder's memory.
    Read,
    /// From the holder's memory into the lent buffer.
    Write,
}

/// The table at the end of the message `whole` (the sender's memory, checked by the caller),
/// read once and checked against the sender's space `mine`. `None` if the body is too short
/// for a table or any entry fails.
pub(super) fn read_table(mine: &Space, whole: UserRead) -> Option<Lends> {
    let (msg, len) = (whole.addr(), whole.len());
    let size = size_of::<Lends>() as u64;
    if len < HEADER + size {
        return None;
    }
    // Read once, by value (the sender may rewrite it at any moment).
    let table: Lends = whole.read(len - size);
    let count = usize::try_from(table.count).ok().filter(|&c| c <= LENDS_MAX)?;
    let fits = |l: &Lend| {
        let end = l.addr.checked_add(l.len)?;
        // No larger than a message may be (each copy runs under Forbid).
        if l.len > super::MAX_LEN {
            return None;
        }
        let flags = l.access != 0 && l.access & !(LEND_READ | LEND_WRITE) == 0;
        let apart = end <= msg || l.addr >= msg + len;
        let readable = l.access & LEND_READ == 0 || reaches(mine, l.addr, l.len, Way::Read);
        let writable = l.access & LEND_WRITE == 0 || reaches(mine, l.addr, l.len, Way::Write);
        (flags && apart && readable && writable).then_some(())
    };
    table.bufs[..count].iter().all(|l| fits(l).is_some()).then_some(table)
}

/// The buffers `lends` names, counted as lent by the blocks of the sender's space `mine` that
/// hold them. Result: each buffer's block start (0: none counted it), for `done` to give back.
pub(super) fn count_loans(mine: &mut Space, lends: &Lends) -> [u64; LENDS_MAX] {
    let mut starts = [0; LENDS_MAX];
    for (start, l) in starts.iter_mut().zip(&lends.bufs[..lends.count as usize]) {
        *start = mine.lend(l.addr, l.len.max(1));
    }
    starts
}

/// Keeps `lends` beside envelope `ticket` (just put in the records), with the starts of the
/// blocks that counted its loans (all 0 for a ring-0 sender's), and marks the envelope as one
/// that lends. Forbid held.
pub(super) fn keep(r: &mut Records, ticket: u64, lends: Lends, starts: [u64; LENDS_MAX]) {
    if r.envelopes.get(ticket).is_some() {
        let h = r.lent.insert((lends, starts));
        if let Some(e) = r.envelopes.get_mut(ticket) {
            e.lent = h;
        }
    }
}

/// msg_read from ring 3: up to `len` bytes from buffer `index` of the message the caller holds
/// at `view`, from `offset`, into the caller's memory at `to`. Result: the bytes copied.
pub fn read(view: u64, index: u64, offset: u64, to: u64, len: u64) -> GateResult {
    ring3(view, index, offset, to, len, Way::Read)
}

/// msg_write from ring 3: up to `len` bytes of the caller's memory at `from` into buffer
/// `index` of the message the caller holds at `view`, from `offset`. Result: the bytes copied.
pub fn write(view: u64, index: u64, offset: u64, from: u64, len: u64) -> GateResult {
    ring3(view, index, offset, from, len, Way::Write)
}

fn ring3(view: u64, index: u64, offset: u64, local: u64, len: u64, way: Way) -> GateResult {
    let me = me();
    with(|r| {
        let ticket = held_ticket(r, me, view)?;
        copy(r, ticket, index, offset, local, len, way)
    })
}

/// msg_read for a ring-0 holder: `m` is a message a ring-3 task sent to the caller's port
/// (the kernel's copy, as the caller got it), not yet replied. Copies from buffer `index`, from
/// `offset`, into `buf`. Result: the bytes copied (fewer at the buffer's end), or
/// [`BadPointer`] as the gate's msg_read refuses (and for a message no ring-3 task sent).
/// Not callable from an interrupt.
pub fn read_lent(m: *const Message, index: usize, offset: usize, buf: &mut [u8]) -> GateResult {
    ring0(m, index, offset, buf.as_mut_ptr() as u64, buf.len(), Way::Read)
}

/// msg_write for a ring-0 holder: copies `buf` into buffer `index` of `m`, from `offset`. As
/// [`read_lent`], for a buffer lent for writing.
/// Not callable from an interrupt.
pub fn write_lent(m: *const Message, index: usize, offset: usize, buf: &[u8]) -> GateResult {
    ring0(m, index, offset, buf.as_ptr() as u64, buf.len(), Way::Write)
}

fn ring0(m: *const Message, index: usize, offset: usize, local: u64, len: usize, way: Way) -> GateResult {
    with(|r| {
        let Some(&(ticket, _, _)) = r.kernel_copies.get(&(m as u64)) else {
            // From ring 0 to ring 0: by the sender's registration, trusted on both ends.
            let l = r.ring0_lent(m as u64).ok_or(BadPointer)?;
            let (n, remote) = range(l, index as u64, offset as u64, len as u64, way)?;
            let other = if way == Way::Read { Way::Write } else { Way::Read };
            return raw_copy(end(None, remote, n, way).ok_or(BadPointer)?, end(None, local, n, other).ok_or(BadPointer)?);
        };
        if !r.envelopes.get(ticket).is_some_and(|e| e.state == State::Out) {
            return Err(BadPointer);
        }
        copy(r, ticket, index as u64, offset as u64, local, len as u64, way)
    })
}

/// Registers what the ring-0 message at `m` lends, until [`end_lend_ring0`]: the buffers its
/// taker may read and write through msg_read and msg_write (a ring-3 taker through the gate).
/// A message that lends nothing needs none. Not callable from an interrupt.
///
/// # Safety
/// The caller is a ring-0 task and `m` its own message, not yet sent; every buffer in `lends`
/// is its memory, valid (and, lent for writing, writable) until the registration ends.
pub unsafe fn lend_ring0(m: *mut Message, lends: &Lends) {
    let mut l = *lends;
    l.count = l.count.min(LENDS_MAX as u64);
    let me = me();
    with(|r| {
        r.ring0_lends.retain(|(at, _, _)| *at != m as u64);
        r.ring0_lends.push((m as u64, l, me));
    });
}

/// Whether the ring-0 message at `m` has a registration (for tests).
pub fn registered(m: *const Message) -> bool {
    with(|r| r.ring0_lent(m as u64).is_some())
}

/// Ends the registration of [`lend_ring0`] (the message is back, or was never sent; a sender
/// that ends loses its registrations with it). Not callable from an interrupt.
pub fn end_lend_ring0(m: *mut Message) {
    with(|r| {
        if let Some(i) = r.ring0_lends.iter().position(|(at, _, _)| *at == m as u64) {
            r.ring0_lends.swap_remove(i);
        }
    });
}

/// The part of buffer `index` of `lends` that a copy of `len` bytes from `offset` reaches, the
/// way `way` needs: its length and address. Refused when there is no such buffer, it is not
/// lent that way, or the offset is past its end.
fn range(lends: &Lends, index: u64, offset: u64, len: u64, way: Way) -> Result<(u64, u64), exec::sys_gate::GateError> {
    if index >= lends.count.min(LENDS_MAX as u64) {
        return Err(BadPointer);
    }
    let l = lends.bufs[index as usize];
    let need = if way == Way::Read { LEND_READ } else { LEND_WRITE };
    if l.access & need == 0 || offset > l.len {
        return Err(BadPointer);
    }
    Ok((len.min(l.len - offset), l.addr + offset))
}

/// Whether ring 3 of space `s` may read (or write, as `way` says) `[at, at + n)`.
fn reaches(s: &Space, at: u64, n: u64, way: Way) -> bool {
    if way == Way::Read { s.readable(at, n).is_some() } else { s.writable(at, n).is_some() }
}

/// One end of a copy, checked: a range to read from, or one to write to.
enum End {
    From(UserRead),
    To(UserWrite),
}

/// `[at, at + n)` of space `s` (none: ring 0's, trusted) as the end `way` needs, if the space
/// may touch it so.
fn end(s: Option<&Space>, at: u64, n: u64, way: Way) -> Option<End> {
    Some(match (s, way) {
        (Some(s), Way::Read) => End::From(s.readable(at, n)?),
        (Some(s), Way::Write) => End::To(s.writable(at, n)?),
        // SAFETY: ring 0's own buffer (a registered loan, a ring-0 holder's), trusted; used at
        // once, under Forbid.
        (None, Way::Read) => End::From(unsafe { UserRead::trusted(at, n) }),
        // SAFETY: as above.
        (None, Way::Write) => End::To(unsafe { UserWrite::trusted(at, n) }),
    })
}

/// Copies between the two checked ends; counted. Result: the bytes copied.
fn raw_copy(a: End, b: End) -> GateResult {
    let (from, to) = match (a, b) {
        (End::From(f), End::To(t)) | (End::To(t), End::From(f)) => (f, t),
        _ => return Err(BadPointer),
    };
    // The ends may overlap only within one task's own memory: the copy allows it.
    to.copy_from(0, from, 0, from.len());
    exec::events::count(&exec::events::BYTES_COPIED, from.len());
    Ok(from.len())
}

/// The copy between lent buffer `index` of envelope `ticket` and the holder's memory at
/// `local`, each end checked now. Forbid held.
fn copy(r: &Records, ticket: u64, index: u64, offset: u64, local: u64, len: u64, way: Way) -> GateResult {
    let e: &Envelope = r.envelopes.get(ticket).ok_or(BadPointer)?;
    if matches!(e.kind, Kind::Orphan { .. }) {
        return Err(BadPointer);
    }
    let (lends, _) = if e.lent != 0 { r.lent.get(e.lent) } else { None }.ok_or(BadPointer)?;
    let (n, remote) = range(lends, index, offset, len, way)?;
    if n == 0 {
        return Ok(0);
    }
    let (sender, holder): (*mut Task, *mut Task) = (e.sender, e.receiver);
    // The sender's end of it, as the sender could reach it now (a ring-0 sender's is trusted:
    // it registered it). One space at a time: the sender and the holder may be one task.
    let remote_end = if matches!(e.kind, Kind::Kernel { .. }) {
        end(None, remote, n, way)
    } else {
        // SAFETY: the sender of a message that is neither an orphan's nor ring 0's is live.
        unsafe { space_of(sender) }.and_then(|s| end(Some(s), remote, n, way))
    };
    // The holder's end: its own memory (a ring-0 holder's buffer is the kernel's, trusted).
    // The holder's buffer is written by a read, read by a write.
    let other = if way == Way::Read { Way::Write } else { Way::Read };
    // SAFETY: the holder is the running task, or a ring-0 receiver (no space).
    let local_end = match unsafe { space_of(holder) } {
        Some(s) if exec::task::find_task(None) == holder => end(Some(s), local, n, other),
        Some(_) => None,
        None => end(None, local, n, other),
    };
    raw_copy(remote_end.ok_or(BadPointer)?, local_end.ok_or(BadPointer)?)
}
