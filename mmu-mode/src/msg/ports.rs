//! The ports ring-3 tasks make: exec's ports in kernel memory, named to ring 3 by handles.

use alloc::vec::Vec;

use exec::handles::HandleTable;
use exec::port::MsgPort;
use exec::sched::{forbid, permit};
use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;
use exec::task::Task;

use super::{PortRec, RECORDS, drain, me, with};

/// The most ports one ring-3 task may hold (a port takes one of its signals, but a task may
/// free that signal and make another port: the bound is kept here).
pub const PORTS_PER_TASK: usize = 16;

/// Room the table of ports takes at the first.
const PORTS_RESERVED: usize = 256;

/// Creates a port for the calling task, public under `name` if given. Result: its handle, or
/// 0 (no signal or memory left, the name too long, a public port's already or kept for other
/// tasks ([`reserve_name`]), the caller holds [`PORTS_PER_TASK`] ports, its family holds
/// `policy::FAMILY_PUBLIC_NAMES` public ones and `name` is given, or the kernel heap or exec
/// memory is at its reserve). A name in use or kept is refused so that a ring-3 task
/// cannot stand in for a handler or service that others find by name (exec's find_port gives
/// the first of a name).
pub fn create_port(name: Option<&str>, pri: i8) -> GateResult {
    let me = me();
    // SAFETY: the running task; the only reference to its space until it is taken again below.
    let Some(mine) = (unsafe { super::space_of(me) }) else { return Ok(0) };
    if mine.policy.ports >= PORTS_PER_TASK || !crate::policy::reserves_allow(0) {
        return Ok(0);
    }
    let (origin, family) = (mine.policy.origin, mine.policy.family);
    // The name is checked and counted, the port made and recorded, under one Forbid: nothing
    // can end the task in between and leave its family's count of public names taken.
    forbid();
    // SAFETY: Forbid held.
    let taken = name.is_some_and(|n| !exec::port::find_port(n).is_null() || unsafe { (*RECORDS.get()).kept_from(n, origin) });
    let public_family = if name.is_some() { family } else { 0 };
    let counted = !taken && (public_family == 0 || crate::policy::take_public_name(family).is_ok());
    let p = if counted { exec::port::create_port(name, pri) } else { core::ptr::null_mut() };
    if p.is_null() {
        if counted && public_family != 0 {
            crate::policy::give_back_public_name(family);
        }
        permit();
        return Ok(0);
    }
    // SAFETY: the running task; the only reference to its space now (Forbid held).
    if let Some(mine) = unsafe { super::space_of(me) } {
        mine.policy.ports += 1;
    }
    let h = with(|r| {
        r.ports.reserve_once(PORTS_RESERVED);
        r.add_port(PortRec { port: p, owner: me, public_family, shared: name.is_some() })
    });
    permit();
    Ok(h)
}

/// Keeps the public name `name` for ring-3 tasks the calling ring-0 task starts (and their
/// children): no other ring-3 task may make a port of that name, even while it is free (a
/// handler between its fault and its restart). A name may be kept for several starters.
/// Ring 0 only (the gate offers no such call). Not callable from an interrupt.
pub fn reserve_name(name: &'static str) {
    let me = exec::task::find_task(None);
    // SAFETY: the running task is live.
    keep_for(name, unsafe { (*me).id() });
}

/// Keeps the public name `name` from every ring-3 task (for ring 0's own services): origin 0,
/// which no ring-3 task has. Call before any ring-3 task starts. Ring 0 only. Not callable
/// from an interrupt.
pub fn keep_from_ring3(name: &'static str) {
    keep_for(name, 0);
}

/// Keeps `name` for the ring-3 tasks of `origin` (once).
fn keep_for(name: &'static str, origin: u64) {
    with(|r| {
        if !r.reserved.iter().any(|&(n, o)| n == name && o == origin) {
            r.reserved.push((name, origin));
        }
    });
}

/// The caller's own port `h`.
pub(super) fn my_port(h: u64) -> Result<*mut MsgPort, exec::sys_gate::GateError> {
    let me = me();
    with(|r| r.ports.get(h).filter(|p| p.owner == me).map(|p| p.port)).ok_or(BadPointer)
}

/// The handle of the public port `name`, if a ring-3 task made it or its ring-0 owner opened
/// it to ring 3 ([`open_to_ring3`]); 0 otherwise.
pub fn find_port(name: &str) -> GateResult {
    forbid();
    let p = exec::port::find_port(name);
    // SAFETY: Forbid held.
    let h = unsafe { (*RECORDS.get()).handles.get(&(p as usize)).copied().unwrap_or(0) };
    permit();
    Ok(h)
}

/// Opens a ring-0 task's `port` to ring 3: from now on ring-3 tasks find it by name and may put
/// messages to it. What they send is a *claim*: the server gets a copy in kernel memory, and
/// must check every field of the body before it acts on it (a pointer in it is the sender's
/// word only). Result: the port's handle. Ring 0 only (the gate offers no such call).
///
/// # Safety
/// `port` is a live port of the calling (ring-0) task, which stays live until deleted with
/// exec's delete_msg_port (exec tells mmu-mode, and the handle goes).
pub unsafe fn open_to_ring3(port: *mut MsgPort) -> u64 {
    let owner = me();
    with(|r| match r.handles.get(&(port as usize)).copied() {
        Some(h) => {
            if let Some(p) = r.ports.get_mut(h) {
                p.shared = true;
            }
            h
        }
        None => r.add_port(PortRec { port, owner, public_family: 0, shared: true }),
    })
}

/// The handle of a port ring-3 task `task` created (the one in the lowest slot: its only one,
/// as the bench's and tests' servers have), for ring 0 to hand out: any task may put to it
/// from now on.
pub fn share_port_of(task: *mut Task) -> Option<u64> {
    with(|r| {
        let h = r.ports_of(task).next()?;
        if let Some(p) = r.ports.get_mut(h) {
            p.shared = true;
        }
        Some(h)
    })
}

/// The kernel ports `task` has made and not deleted (for tests: where its device replies may go).
pub fn live_ports(task: *mut Task) -> Vec<*mut MsgPort> {
    with(|r| {
        let handles: Vec<u64> = r.ports_of(task).collect();
        handles.into_iter().filter_map(|h| r.ports.get(h).map(|p| p.port)).collect()
    })
}

/// Deletes the caller's port `h`; the messages waiting there go back to their senders.
pub fn delete_port(h: u64) -> GateResult {
    let port = my_port(h)?;
    with(|r| {
        r.remove_port(h);
        drain(r, port);
    });
    // SAFETY: the running task; the only reference to its space here.
    if let Some(s) = unsafe { super::space_of(me()) } {
        s.policy.ports = s.policy.ports.saturating_sub(1);
    }
    // SAFETY: the caller's own port from create_port, no longer listed, empty.
    unsafe { exec::port::delete_msg_port(port) };
    Ok(0)
}

/// The signal mask of the caller's port `h` (exec's port_signal for ring 3): refused for a
/// port that is not the caller's.
pub fn port_signal(h: u64) -> GateResult {
    let port = my_port(h)?;
    // SAFETY: the caller's own live port (exec memory the kernel keeps).
    Ok(u64::from(unsafe { exec::port::port_signal(port) }))
}

/// Takes the caller's port `h` off the public list (its family may make another public one).
pub fn rem_port(h: u64) -> GateResult {
    let port = my_port(h)?;
    // SAFETY: the caller's live port; rem_port ignores a port that is not public.
    unsafe { exec::port::rem_port(port) };
    with(|r| {
        if let Some(rec) = r.ports.get_mut(h) {
            rec.unpublish();
        }
    });
    Ok(0)
}

impl super::Records {
    /// Adds the port record `rec`. Result: its handle.
    pub(super) fn add_port(&mut self, rec: PortRec) -> u64 {
        let (port, owner) = (rec.port as usize, rec.owner as usize);
        let h = self.ports.insert(rec);
        self.handles.insert(port, h);
        self.by_owner.insert((owner, HandleTable::<PortRec>::slot_of(h) as u64, h));
        h
    }

    /// Takes the port record `h` out (off its family's count of public names if it was
    /// public). Result: the port, whose messages the caller drains.
    pub(super) fn remove_port(&mut self, h: u64) -> Option<*mut MsgPort> {
        let mut rec = self.ports.remove(h)?;
        rec.unpublish();
        self.handles.remove(&(rec.port as usize));
        self.by_owner.remove(&(rec.owner as usize, HandleTable::<PortRec>::slot_of(h) as u64, h));
        Some(rec.port)
    }

    /// The handles of `owner`'s ports, lowest slot first: a range of the index, however many
    /// ports others hold.
    pub(super) fn ports_of(&self, owner: *mut Task) -> impl Iterator<Item = u64> + '_ {
        let o = owner as usize;
        self.by_owner.range((o, 0, 0)..=(o, u64::MAX, u64::MAX)).map(|&(_, _, h)| h)
    }
}
