//! What goes when a port or a task ends: the messages queued at a port go back to their
//! senders; a task's messages out become orphans, its ports go, what it holds goes back. A
//! ring-3 task's are found on its own lists and by its owner index, never by a walk of
//! everyone's.

use super::*;

/// Takes every envelope off `port` (being deleted, or its owner ending): messages go back to
/// their senders marked receiver-gone; replies coming back to it end here. Device requests
/// that would reply to it reply elsewhere from now on, and one replied already is taken off
/// and left to check_io, wait_io or close_device (`io::port_going`). Forbid held.
pub(super) fn drain(r: &mut Records, port: *mut MsgPort) {
    // SAFETY: a live port, about to go (its owner's end or delete_port frees it after this).
    let owner = unsafe {
        crate::io::port_going(port);
        (*port).sig_task
    };
    loop {
        // SAFETY: a live port (its owner's end or delete_port frees it after this).
        let m = unsafe { exec::port::get_msg(port) };
        if m.is_null() {
            break;
        }
        // SAFETY: just taken off the owner's port, so live.
        if !unsafe { crate::io::is_shadow(owner, m) } {
            undeliver(r, m);
        }
    }
}

/// `m`, taken off a port that goes (or handed to a task that ends before it took it): a
/// message goes back to its sender marked receiver-gone, a reply coming back ends here.
/// Forbid held.
fn undeliver(r: &mut Records, m: *mut Message) {
    if !is_envelope(r, m) {
        return bounce(m, exec::port::MSG_ERR_RECEIVER_GONE);
    }
    // SAFETY: one of the records' envelopes.
    let (ticket, state) = unsafe { ((*envelope_of(m)).ticket, (*envelope_of(m)).state) };
    match state {
        State::Out => send_back(r, ticket, exec::port::MSG_ERR_RECEIVER_GONE),
        State::Back => finish(r, ticket),
    }
}

/// Task end: every message the task held, or that waited at its ports, goes back to its
/// sender marked [`exec::port::MSG_ERR_RECEIVER_GONE`] (so nobody waits for a reply forever;
/// a device's reply to one of its requests stays for `io::reclaim`); then its ports are
/// forgotten. Messages the task sent and that are still out become
/// orphans: a receiver keeps its copy, and a transferred block moves from `dying` (the task's
/// space, already detached from it) to the receiver's, so that nothing it can still reach is
/// freed under it. Disable held.
///
/// # Safety
/// Disable held; `task` is live and ending.
pub unsafe fn reclaim(task: *mut Task, mut dying: Option<&mut Space>) {
    with(|r| {
        // What it sent: orphans now (what came back to it waits at its own ports: below). A
        // ring-3 task's are on its own list; a ring-0 task keeps none, and its are looked for.
        // An orphan already is an ended sender's: its task may have been freed, and `task` a
        // new one at the same address.
        let out = |e: &Envelope| e.state == State::Out && !matches!(e.kind, Kind::Orphan { .. });
        let sent: Vec<u64> = match dying.as_deref() {
            Some(s) => s.sent().iter().copied().filter(|&t| r.envelopes.get(t).is_some_and(|e| e.sender == task && out(e))).collect(),
            None => r.envelopes.iter().filter(|(_, e)| e.sender == task && out(e)).map(|(t, _)| t).collect(),
        };
        for ticket in sent {
            let Some(e) = r.envelopes.get_mut(ticket) else { continue };
            let copy = matches!(e.kind, Kind::Copy { .. } | Kind::Kernel { .. });
            let mut adopted = false;
            if e.kind == Kind::Transfer && e.receiver != task {
                let block = dying.as_deref_mut().and_then(|s| s.give_away(e.view));
                // SAFETY: the receiver is another live task: its space is not `dying`.
                if let (Some(b), Some(rs)) = (block, unsafe { space_of(e.receiver) }) {
                    rs.adopt(b);
                    adopted = true;
                }
            }
            e.kind = Kind::Orphan { copy, adopted };
        }
        // What was handed to it as it waited (do_msg, reply_wait) and it never ran to take,
        // what waits at its ports (found by the owner index), or what it holds: back to the
        // senders.
        // (A ring-0 message handed to it is left to exec's task end, which returns it.)
        // SAFETY: per the contract.
        let handed = unsafe { exec::port_ring3::handed(task) };
        if !handed.is_null() && is_envelope(r, handed) {
            // SAFETY: per the contract.
            unsafe { exec::port_ring3::take_handed(task) };
            undeliver(r, handed);
        }
        let handles: Vec<u64> = r.ports_of(task).collect();
        let ports: Vec<*mut MsgPort> = handles.into_iter().filter_map(|h| r.remove_port(h)).collect();
        for port in ports {
            drain(r, port);
        }
        // A ring-0 lender ended with its message out: its registration goes (the message, if
        // a ring-3 task took it, is an orphan now and lends nothing).
        r.ring0_lends.retain(|(_, _, owner)| *owner != task);
        // What it holds: a ring-3 task's own list (what waited at its ports went back above);
        // a ring-0 task's are looked for.
        let held: Vec<u64> = match dying.as_deref() {
            Some(s) => s.held().to_vec(),
            None => r.envelopes.iter().filter(|(_, e)| e.receiver == task && e.state == State::Out).map(|(t, _)| t).collect(),
        };
        for ticket in held {
            send_back(r, ticket, exec::port::MSG_ERR_RECEIVER_GONE);
        }
    });
}
