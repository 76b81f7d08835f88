//! The DOS server: the home of DOS's shared list of assigns and volumes, an Exec task with the
//! public port `dos.list`, reached only by packets, like a handler. DOS's shared state cannot
//! be ring-0 memory that clients write, since in the mmu build clients and server may be
//! ring-3 tasks: here it is the server's own, and the server runs in ring 3 there, in an
//! address space of its own (the boot order starts it beside the handlers). The devices of the
//! DOS list are the handlers' public ports. A volume is the name of a mounted disk (RAM:'s is
//! `Ram Disk`), kept here as a name for the device's root that ASSIGN can neither replace nor
//! remove.
//!
//! Its actions are Lorraine's own numbers (AmigaDOS keeps the list in memory every process can
//! write). Names are attachments (see `packet.rs`).

use alloc::string::String;
use alloc::vec::Vec;

use exec::port::Message;

use super::packet::{attached, packet_of};
use crate::dosdefs::{DOSFALSE, DOSTRUE, error};

/// The server's port.
pub const PORT_NAME: &str = "dos.list";

/// ASSIGN_SET: arg1 name, arg2 its length, arg3 target (a full directory name), arg4 its length.
pub const ACTION_ASSIGN_SET: i64 = 20001;
/// ASSIGN_REMOVE: arg1 name, arg2 its length.
pub const ACTION_ASSIGN_REMOVE: i64 = 20002;
/// ASSIGN_FIND: arg1 name, arg2 its length, arg3 a buffer, arg4 its length; res1 the target's
/// length (the target in the buffer), DOSFALSE and OBJECT_NOT_FOUND if there is none.
pub const ACTION_ASSIGN_FIND: i64 = 20003;
/// ASSIGN_LIST: arg1 a buffer, arg2 its length; res1 the bytes written: `name\0target\0` each.
pub const ACTION_ASSIGN_LIST: i64 = 20004;
/// VOLUME_ADD: arg1 name, arg2 its length, arg3 the device (`RAM:`), arg4 its length. A name in
/// use (an assign's or a volume's) is OBJECT_EXISTS.
pub const ACTION_VOLUME_ADD: i64 = 20005;
/// VOLUME_LIST: as ASSIGN_LIST, for the volumes (`name\0device\0` each).
pub const ACTION_VOLUME_LIST: i64 = 20006;

/// Most assigns kept; longest name and target.
const MAX_ASSIGNS: usize = 64;
pub const NAME_MAX: usize = 31;
pub const TARGET_MAX: usize = 255;

/// Starts the server in ring 0 (the flat build). Result: the task, or null.
#[cfg(not(feature = "mmu"))]
pub fn start() -> *mut exec::task::Task {
    exec::task::add_task("dos.list", 0, |_| serve(), 0, 16 * 1024)
}

/// The server as a ring-3 task (mmu build).
#[cfg(feature = "mmu")]
pub extern "C" fn entry_ring3(_: u64) -> ! {
    serve();
    crate::handlers::end_ring3()
}

fn text<'a>(msg: *mut Message, ptr: i64, len: i64, max: usize) -> Result<&'a str, i64> {
    if !(1..=max as i64).contains(&len) {
        return Err(error::INVALID_COMPONENT_NAME);
    }
    // SAFETY: the packet we hold; its attachments are valid until the answer.
    let b = unsafe { attached(msg, ptr, len as usize) }.ok_or(error::REQUIRED_ARG_MISSING)?;
    core::str::from_utf8(b).map_err(|_| error::INVALID_COMPONENT_NAME)
}

fn serve() {
    let port = exec::sys::create_port(Some(PORT_NAME), 0);
    if port.is_null() {
        return;
    }
    let mut assigns: Vec<(String, String)> = Vec::new();
    // Found by ASSIGN_FIND like assigns; never replaced or removed.
    let mut volumes: Vec<(String, String)> = Vec::new();
    let mut msg: *mut Message = core::ptr::null_mut();
    loop {
        // SAFETY: our own port; `msg` is null or the packet answered below.
        msg = unsafe { exec::sys::reply_wait(msg, port) };
        // SAFETY: the message we hold (a short one goes back untouched at the next wait).
        if msg.is_null() || !unsafe { super::packet::is_packet(msg) } {
            continue;
        }
        // SAFETY: only packets come to this port (dos.library's contract).
        let a = unsafe { packet_of(msg) }.args;
        // SAFETY: as above.
        let kind = unsafe { packet_of(msg) }.kind;
        let r: Result<i64, i64> = (|| match kind {
            ACTION_ASSIGN_SET | ACTION_VOLUME_ADD => {
                let name = text(msg, a[0], a[1], NAME_MAX)?;
                let target = text(msg, a[2], a[3], TARGET_MAX)?;
                let taken = |list: &[(String, String)]| list.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
                if taken(&volumes) || (kind == ACTION_VOLUME_ADD && taken(&assigns)) {
                    return Err(error::OBJECT_EXISTS);
                }
                if kind == ACTION_VOLUME_ADD {
                    // Checked here, where the list is kept (a client may send the packet past
                    // dos.library): a plain name, not a device's, for the root of a device
                    // that is there.
                    if name.contains([':', '/']) {
                        return Err(error::INVALID_COMPONENT_NAME);
                    }
                    let device = target.strip_suffix(':').filter(|d| !d.contains([':', '/']));
                    if device.is_none_or(|d| super::lock::device_port(d).is_null()) {
                        return Err(error::DEVICE_NOT_MOUNTED);
                    }
                    if !super::lock::device_port(name).is_null() {
                        return Err(error::OBJECT_EXISTS);
                    }
                    if volumes.len() >= MAX_ASSIGNS {
                        return Err(error::NO_FREE_STORE);
                    }
                    volumes.push((String::from(name), String::from(target)));
                    return Ok(DOSTRUE);
                }
                match assigns.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    Some(i) => assigns[i].1 = String::from(target),
                    None if assigns.len() < MAX_ASSIGNS => assigns.push((String::from(name), String::from(target))),
                    None => return Err(error::NO_FREE_STORE),
                }
                Ok(DOSTRUE)
            }
            ACTION_ASSIGN_REMOVE => {
                let name = text(msg, a[0], a[1], NAME_MAX)?;
                if volumes.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    return Err(error::OBJECT_WRONG_TYPE);
                }
                let before = assigns.len();
                assigns.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                if assigns.len() == before { Err(error::OBJECT_NOT_FOUND) } else { Ok(DOSTRUE) }
            }
            ACTION_ASSIGN_FIND => {
                let name = text(msg, a[0], a[1], NAME_MAX)?;
                let target = assigns.iter().chain(&volumes).find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, t)| t.clone()).ok_or(error::OBJECT_NOT_FOUND)?;
                // SAFETY: as for `text`.
                let out = unsafe { attached(msg, a[2], a[3].clamp(0, TARGET_MAX as i64) as usize) }.ok_or(error::REQUIRED_ARG_MISSING)?;
                if out.len() < target.len() {
                    return Err(error::LINE_TOO_LONG);
                }
                out[..target.len()].copy_from_slice(target.as_bytes());
                Ok(target.len() as i64)
            }
            ACTION_ASSIGN_LIST | ACTION_VOLUME_LIST => {
                let len = a[1].clamp(0, 1 << 16) as usize;
                // SAFETY: as for `text`.
                let out = unsafe { attached(msg, a[0], len) }.ok_or(error::REQUIRED_ARG_MISSING)?;
                let mut at = 0;
                for (n, t) in if kind == ACTION_ASSIGN_LIST { &assigns } else { &volumes } {
                    let need = n.len() + t.len() + 2;
                    if at + need > out.len() {
                        break;
                    }
                    out[at..at + n.len()].copy_from_slice(n.as_bytes());
                    out[at + n.len()] = 0;
                    let t0 = at + n.len() + 1;
                    out[t0..t0 + t.len()].copy_from_slice(t.as_bytes());
                    out[t0 + t.len()] = 0;
                    at += need;
                }
                Ok(at as i64)
            }
            _ => Err(error::ACTION_NOT_KNOWN),
        })();
        // SAFETY: as above.
        let pkt = unsafe { packet_of(msg) };
        (pkt.res1, pkt.res2) = match r {
            Ok(v) => (v, 0),
            Err(e) => (DOSFALSE, e),
        };
    }
}
