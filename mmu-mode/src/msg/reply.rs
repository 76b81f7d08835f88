//! Replies: the holder's reply (`reply`, and the check that it holds the message,
//! `held_ticket`), and the way every message goes back to its sender (`send_back`): a copy's
//! body back over the original, transferred pages back to their owner, a ring-0 original
//! replied through exec, each write into the sender's memory checked when it is made.

use exec::list::{Node, NodeType};
use exec::port::Message;
use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;
use exec::task::Task;

use super::{Envelope, HEADER, Kind, Records, State, finish, me, ring3_to_ring0, space_of, with};
use crate::pte::Access;

/// Replies the message at `view`, which the caller must hold: a copy's body is copied back
/// and the copy freed, transferred pages go back to the sender; then it goes to the reply
/// port the sender named at put (if that port is still there). A message the caller does not
/// hold (replied already, still queued, never received) is refused. The view's header carries
/// the envelope's ticket; it is an allegation, checked against the envelope.
pub fn reply(view: u64) -> GateResult {
    let me = me();
    with(|r| {
        let ticket = held_ticket(r, me, view)?;
        send_back(r, ticket, 0);
        Ok(0)
    })
}

/// The ticket of the message `me` holds at `view`: out to it, taken, not yet replied. The
/// view's header carries the ticket; it is an allegation, checked against the envelope, and a
/// holder that wrote over it pays a walk through the messages in flight (for its own message,
/// nobody else's). Forbid held.
pub(super) fn held_ticket(r: &Records, me: *mut Task, view: u64) -> GateResult {
    // SAFETY: the only reference to the caller's space during this check.
    if !unsafe { space_of(me) }.is_some_and(|s| s.user_readable(view, HEADER)) {
        return Err(BadPointer);
    }
    // SAFETY: readable by the caller (checked); a plain word, compared, never followed.
    let ticket = unsafe { (*(view as *const Message)).node.succ } as u64;
    let holds = |e: &Envelope| e.view == view && e.receiver == me && e.state == State::Out && e.taken;
    if r.envelopes.get(ticket).is_some_and(|e| holds(e)) {
        Ok(ticket)
    } else {
        r.envelopes.iter().find(|(_, e)| holds(e)).map(|(t, _)| t).ok_or(BadPointer)
    }
}

/// Sends the envelope `ticket` back to its sender with `error` (0: a reply). Forbid held.
pub(super) fn send_back(r: &mut Records, ticket: u64, error: i32) {
    let Some(e) = r.envelopes.get_mut(ticket) else { return };
    let e: *mut Envelope = &raw mut **e;
    // SAFETY: the envelope lives in the records (boxed); only this function touches it now.
    let e = unsafe { &mut *e };
    // Where the sender sees its message come back, and whether the sender may write it now
    // (checked when the reply writes, not only at the put: a message sent from pages another
    // task lent by transfer may have gone back since, and been freed).
    let (sender_view, writable) = match e.kind {
        Kind::Orphan => {
            // The receiver keeps what it holds: its copy is its own memory now.
            // SAFETY: the receiver is live, or ending (then it has no space any more).
            if let Some(t) = unsafe { space_of(e.receiver) } {
                t.unlend(e.view);
            }
            return finish(r, ticket);
        }
        Kind::Copy { original } => {
            let writable = sender_may_write(e.sender, original, e.len);
            if error == 0 && writable {
                // SAFETY: the copy is the receiver's live block of `len` bytes; the original is
                // memory the sender may write now (checked just now, under Forbid).
                unsafe { copy_body_back(e, original) };
            }
            // SAFETY: the receiver is live (its end sends its messages back first).
            if let Some(t) = unsafe { space_of(e.receiver) } {
                t.unlend(e.view);
                t.retire_copy(e.view, e.len);
            }
            (original, writable)
        }
        Kind::Kernel { original } => {
            // SAFETY: the receiver is live, or ending (then without a space); the original is
            // a live ring-0 message of `len` bytes (its sender's end makes it an orphan), out
            // of every queue while the receiver holds its copy.
            unsafe {
                if error == 0 {
                    copy_body_back(e, original);
                }
                if let Some(t) = space_of(e.receiver) {
                    t.unlend(e.view);
                    t.retire_copy(e.view, e.len);
                }
                let m = original as *mut Message;
                (*m).error = error;
                exec::port::reply_msg(m);
            }
            return finish(r, ticket);
        }
        Kind::ToRing0 { original } => {
            let writable = sender_may_write(e.sender, original, e.len);
            if writable {
                ring3_to_ring0::copy_back(e, original, error);
            }
            (original, writable)
        }
        Kind::Transfer => {
            // SAFETY: as above; the receiver's space is let go before the sender's is taken.
            if let Some(t) = unsafe { space_of(e.receiver) } {
                t.set_access(e.view, e.view + e.len, Access::Kernel);
            }
            // The sender's own block (only a whole block it owns goes by transfer, and it
            // cannot be freed while out), open to it again just now.
            // SAFETY: the sender is live (its end makes its messages orphans).
            let back = unsafe { space_of(e.sender) }.map(|s| s.set_access(e.view, e.view + e.len, Access::ReadWrite)).is_some();
            (e.view, back)
        }
    };
    // The sender's message as it comes back: its length and reply port as it sent them (if
    // the sender may still write there).
    if writable {
        // SAFETY: the sender's writable memory of at least HEADER bytes (checked just now).
        unsafe {
            let h = sender_view as *mut Message;
            (*h).node = Node::new(NodeType::ReplyMsg, 0);
            (*h).error = error;
        }
    }
    let Some(port) = r.ports.get(e.reply).map(|p| p.port) else { return finish(r, ticket) };
    e.view = sender_view;
    e.state = State::Back;
    e.taken = false;
    e.msg = Message::new(port, size_of::<Envelope>());
    // SAFETY: the port is live (in the records); the envelope lives in the records.
    unsafe { exec::port::put_msg(port, &raw mut e.msg) };
}

/// A reply's copy back: the body of `e`'s view over its `original` (the header stays the
/// sender's); counted.
///
/// # Safety
/// The view and `original` are `e.len` bytes of live memory, `original` the sender's to be
/// written (or ring 0's, trusted).
pub(super) unsafe fn copy_body_back(e: &Envelope, original: u64) {
    // SAFETY: per the contract.
    unsafe { core::ptr::copy_nonoverlapping((e.view + HEADER) as *const u8, (original + HEADER) as *mut u8, (e.len - HEADER) as usize) };
    exec::events::count(&exec::events::BYTES_COPIED, e.len - HEADER);
}

/// Whether ring-3 task `sender` may write `[at, at + len)` now: where a reply writes into the
/// sender's memory, checked when it writes, not only at the put. Forbid held.
fn sender_may_write(sender: *mut Task, at: u64, len: u64) -> bool {
    // SAFETY: the sender of a message that is not an orphan's is live; the only reference to
    // its space during the check.
    unsafe { space_of(sender) }.is_some_and(|s| s.user_writable(at, len))
}
