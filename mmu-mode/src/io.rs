//! Device I/O from ring 3, through the gate, with exec's own IoRequest calls: open_device,
//! do_io, send_io, check_io, wait_io, abort_io, close_device.
//!
//! The task's request stays in its own memory and is its handle; the kernel keeps the real
//! request (a *shadow*, linked into the device's queues where a task could not bend its
//! links). When the task named a reply port of its own, the device replies the shadow to that
//! port, as on the Amiga: the task may Wait for the port's signal, WaitPort and GetMsg there,
//! where its own request comes back with the results copied in ([`delivered`]); or check_io
//! and wait_io, which take the shadow off the port. If that port goes while a request is out,
//! the shadow replies to a port of the handle's own on the same bit instead ([`port_going`]).
//! Named no port of its own, the shadow replies to a port with a bit of its own. Each call copies the
//! fields a caller sets (command, length, data, offset, and what follows the IoRequest in a larger request, such as timer.device's
//! time value) into the shadow, and the results (error, actual, the time) back out. Every
//! name, request and data range is an allegation checked against the caller's mappings first.
//! A device never touches the task's memory: its data goes through the one door, into the
//! kernel's copy of it at the send (but for a CMD_READ), and back out when the request is done
//! (but for a CMD_WRITE; a CMD_READ's `actual` bytes), checked writable again then. The copy
//! is the handle's: `INLINE` bytes in it, or a block of exec memory kept for its next
//! requests and charged to the task's family. The request (while open) and its data (while in
//! flight) are pinned all the same (`Space::pin`): they must lie in a block the task holds or
//! on its stack, and those blocks can be neither freed nor given away meanwhile, so that a
//! read's data always has somewhere to go. A request must give a length (the "up to a NUL"
//! length, -1, is refused). Handles a task leaves open are closed when it ends (exec has
//! aborted their I/O by then). check_io finishes a request it finds done (its results and data
//! are the task's then, as a device would have left them); close_device on a request in
//! flight aborts it and drops its data.
//!
//! Handles are found by (task, request) in a tree (O(log n), never a walk of everybody's);
//! a task holds at most [`DEVICES_PER_TASK`] of them, and none is opened past the kernel
//! heap's reserve (a handle is kernel memory a task makes the kernel take).

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use exec::device::IoRequest;
use exec::global::Global;
use exec::port::MsgPort;
use exec::sched::{forbid, permit};
use exec::task::Task;

use crate::gate::under_forbid;

use exec::sys_gate::GateError::BadPointer;
use exec::sys_gate::GateResult;

mod replies;
pub use replies::replies_astray;
pub(crate) use replies::{delivered, is_shadow, port_going, request_of};
use replies::SHADOW_LENGTH;

/// The most device requests one task may hold open.
pub const DEVICES_PER_TASK: usize = 16;

/// Bytes after the IoRequest that are copied to and from a larger request.
const EXTENSION: usize = 64;
/// Of those, the bytes copied back: what a device answers in (timer.device's time). What lies
/// past it is the device's own (timer.device's queue links: kernel addresses) and stays in the
/// shadow.
const EXTENSION_OUT: usize = size_of::<devices::timer::TimeVal>();
// The shadow is begun as the device's own request type: the largest must fit.
const _: () = assert!(size_of::<devices::timer::TimeRequest>() <= size_of::<IoRequest>() + EXTENSION);

/// Data up to this length is copied through the handle itself.
const INLINE: usize = 256;

/// The kernel side of a ring-3 task's open request.
#[repr(C)]
struct Handle {
    req: IoRequest,
    extension: [u8; EXTENSION],
    /// The handle's own reply port: `shared_port`, on the bit of the task's own reply port
    /// (the shadow replies to that port itself while it lasts), or a port with a bit of its own
    /// (the task named no port of its own: the shadow replies here).
    port: *mut MsgPort,
    shared_port: MsgPort,
    owner: *mut Task,
    /// The task's own request (its handle) and its length.
    user: u64,
    user_len: u64,
    /// The pins (`Space::pin`) on the request, for as long as it is open, and on the data,
    /// while in flight: neither can go away while the kernel may copy to it.
    req_pin: u64,
    data_pin: u64,
    busy: bool,
    /// The request in flight: its command, the task's data (address, length) it copies, and
    /// the kernel's copy the device was given (kept here: the device may move the shadow's
    /// `data` as it works).
    command: u16,
    data: u64,
    length: u64,
    copy: *mut u8,
    /// The device's nonstandard commands a ring-3 request may carry (`policy::ring3_may_send`).
    nonstandard: &'static [u16],
    /// The kernel's copy of the data, which the device reads and writes: `inline` up to
    /// [`INLINE`] bytes, else `bounce` (exec memory of `bounce_len` bytes, null before the
    /// first long request, charged to `family`).
    inline: [u8; INLINE],
    bounce: *mut u8,
    bounce_len: u64,
    family: u64,
}

/// The kernel's copy for `length` bytes of `h`'s data: the inline bytes, the handle's block,
/// or a larger block made now (charged to the family, the old one given back). `None` past the
/// family's quota or the kernel's reserve, or without memory. Forbid held.
///
/// # Safety
/// `h` is a live, idle handle.
unsafe fn copy_buffer(h: *mut Handle, length: u64) -> Option<*mut u8> {
    // SAFETY: per the contract.
    unsafe {
        if length as usize <= INLINE {
            return Some((&raw mut (*h).inline).cast());
        }
        if length <= (*h).bounce_len {
            return Some((*h).bounce);
        }
        crate::policy::charge((*h).family, length).ok()?;
        // Cleared: a device that says it read more than it wrote must not hand the task what
        // the memory held before.
        let block = exec::memory::alloc_mem(length as usize, exec::memory::MemFlags::PUBLIC | exec::memory::MemFlags::CLEAR);
        if block.is_null() {
            crate::policy::uncharge((*h).family, length);
            return None;
        }
        free_bounce(h);
        ((*h).bounce, (*h).bounce_len) = (block, length);
        Some(block)
    }
}

/// Gives back `h`'s block for long data, if it has one.
///
/// # Safety
/// `h` is a live handle with no request in flight.
unsafe fn free_bounce(h: *mut Handle) {
    // SAFETY: per the contract: nothing uses the block.
    unsafe {
        if !(*h).bounce.is_null() {
            exec::memory::free_mem((*h).bounce, (*h).bounce_len as usize);
            crate::policy::uncharge((*h).family, (*h).bounce_len);
            ((*h).bounce, (*h).bounce_len) = (core::ptr::null_mut(), 0);
        }
    }
}

/// How many bytes of the data the device may have written, to copy back: a CMD_READ's
/// `actual` (at most its length), none for a CMD_WRITE, the whole length for any other
/// command (its direction is the device's own).
fn bytes_back(command: u16, length: u64, actual: usize) -> u64 {
    match command {
        exec::device::CMD_READ => (actual as u64).min(length),
        exec::device::CMD_WRITE => 0,
        _ => length,
    }
}

/// Open handles, by their task and the task's request. Forbid.
static HANDLES: Global<Handles> = Global::new(Handles(BTreeMap::new()));

struct Handles(BTreeMap<(usize, u64), *mut Handle>);

// SAFETY: the kernel's own records, touched only under Forbid on the one CPU.
unsafe impl Send for Handles {}

/// The handles of `task`: the part of the tree that is its.
fn of(task: *mut Task) -> core::ops::RangeInclusive<(usize, u64)> {
    (task as usize, 0)..=(task as usize, u64::MAX)
}

/// The caller's handle for its request at `user`.
fn handle(user: u64) -> Option<*mut Handle> {
    let me = exec::task::find_task(None);
    forbid();
    // SAFETY: Forbid held; listed handles are live.
    let h = unsafe { (*HANDLES.get()).0.get(&(me as usize, user)).copied() };
    permit();
    h
}

/// Reads a field of the task's request (checked writable: `req`) as a `$ty`, by value.
macro_rules! field {
    ($req:expr, $ty:ty, $($f:tt)+) => {
        $req.read::<$ty>(core::mem::offset_of!(IoRequest, $($f)+) as u64)
    };
}

/// Writes a field of the task's request (checked writable: `req`).
macro_rules! set_field {
    ($req:expr, $f:ident = $v:expr) => {
        $req.write(core::mem::offset_of!(IoRequest, $f) as u64, $v)
    };
}

/// open_device: opens `unit` of device `name` for the task's request at `user` (its writable
/// memory, at least an IoRequest, as long as its message length says). Result: the device's
/// error (0 = opened) as a byte, or ERR_BAD_POINTER.
pub fn open(name: &str, unit: u64, user: u64) -> GateResult {
    // SAFETY: the only reference to the caller's space during this call.
    let Some(s) = (unsafe { crate::gate::my_space() }) else { return Err(BadPointer) };
    let base = size_of::<IoRequest>() as u64;
    let head = s.writable(user, base).ok_or(BadPointer)?;
    let me = exec::task::find_task(None);
    forbid();
    // SAFETY: Forbid held.
    let held = unsafe { (*HANDLES.get()).0.range(of(me)).count() };
    permit();
    if handle(user).is_some() || held >= DEVICES_PER_TASK || exec::heap::stats().free < crate::policy::HEAP_RESERVE {
        return Err(BadPointer);
    }
    let len = field!(head, u64, message.length);
    let len = len.clamp(base, base + EXTENSION as u64);
    let req = s.writable(user, len).ok_or(BadPointer)?;
    // Pins and unpins under Forbid: other tasks' puts and replies change the loans on this
    // space's blocks too, each under Forbid (and exec calls here may turn interrupts on).
    let req_pin = under_forbid(|| s.pin(user, len)).ok_or(BadPointer)?;
    // The space is not held across the exec calls below, which may switch tasks (others
    // change this space meanwhile, under Forbid): it is taken again where it is needed.
    let unpin = |pin| {
        // SAFETY: the only reference to the caller's space during the closure.
        under_forbid(|| unsafe { crate::gate::my_space() }.map(|s| s.unlend(pin)))
    };
    // The shadow replies to the reply port the task named, its own, as a device's reply to
    // that port would (its signal, then GetMsg, or check_io). Named no port of its own, to a
    // port with a bit of its own.
    let reply_port = field!(head, u64, message.reply_port);
    let user_port = crate::msg::own_port(reply_port);
    // SAFETY: the caller's own live port.
    let bit = user_port.map(|p| unsafe { (*p).sig_bit });
    let port = if bit.is_some() { core::ptr::null_mut() } else { exec::port::create_msg_port() };
    if bit.is_none() && port.is_null() {
        unpin(req_pin);
        return Ok(exec::device::IOERR_OPENFAIL as u8 as u64);
    }
    let h = Box::into_raw(Box::new(Handle {
        req: IoRequest::new(port, SHADOW_LENGTH),
        extension: [0; EXTENSION],
        port,
        shared_port: MsgPort::new(me, bit.unwrap_or(0)),
        owner: me,
        user,
        user_len: len,
        req_pin,
        data_pin: 0,
        busy: false,
        command: 0,
        data: 0,
        length: 0,
        copy: core::ptr::null_mut(),
        // Set from the device once it is open.
        nonstandard: &[],
        inline: [0; INLINE],
        bounce: core::ptr::null_mut(),
        bounce_len: 0,
        // SAFETY: the only reference to the caller's space during this call (none other is
        // held across it).
        family: unsafe { crate::gate::my_space() }.map_or(0, |s| s.policy.family),
    }));
    if bit.is_some() {
        // SAFETY: the handle is live in its box, which does not move: the port stays put.
        unsafe {
            (*h).port = &raw mut (*h).shared_port;
            (*h).req.message.reply_port = user_port.unwrap_or((*h).port);
        }
    }
    // SAFETY: the shadow is live in its box and not open.
    let err = unsafe { exec::device::open_device(name, unit as u32, &mut (*h).req, 0) };
    set_field!(req, error = err);
    if err == 0 {
        // SAFETY: the shadow is live in its box.
        let (device, unit) = unsafe { ((*h).req.device, (*h).req.unit) };
        // SAFETY: the device is live while open; the shadow is live in its box.
        unsafe { (*h).nonstandard = (*device).user_commands };
        set_field!(req, device = device);
        set_field!(req, unit = unit);
    }
    if err != 0 {
        unpin(req_pin);
        // SAFETY: never opened; ours.
        unsafe {
            drop_port(h);
            drop(Box::from_raw(h));
        }
        return Ok(err as u8 as u64);
    }
    forbid();
    // SAFETY: Forbid held.
    unsafe { (*HANDLES.get()).0.insert((me as usize, user), h) };
    permit();
    Ok(0)
}

/// Copies the caller's fields into an idle shadow, checking the data range, and the data
/// into the kernel's copy (but for a CMD_READ). False if the handle is busy, the range is not
/// the caller's, or there is no room for the copy. Under Forbid, as every change to a space's
/// loans.
fn copy_in(h: *mut Handle) -> bool {
    under_forbid(|| copy_in_under_forbid(h))
}

fn copy_in_under_forbid(h: *mut Handle) -> bool {
    // SAFETY: the only reference to the caller's space during this call.
    let Some(s) = (unsafe { crate::gate::my_space() }) else { return false };
    // SAFETY: the handle is the caller's; its user request was checked writable at open and
    // is the caller's memory while the caller is live (re-checked below before the copy).
    unsafe {
        if (*h).busy {
            return false;
        }
        let Some(req) = s.writable((*h).user, (*h).user_len) else { return false };
        let (data, length, command) = (field!(req, u64, data), field!(req, u64, length), field!(req, u16, command));
        // A command ring 3 may not give (one on the whole unit, or on what every task shares)
        // goes as CMD_INVALID, with no data: the device answers IOERR_NOCMD, by the usual way.
        if !crate::policy::ring3_may_send((*h).nonstandard, command) {
            return start(h, req, exec::device::CMD_INVALID, 0, 0, 0, core::ptr::null_mut());
        }
        // The data is checked here and pinned until the results are copied out; the device
        // works on the kernel's copy.
        if length == 0 {
            return start(h, req, command, 0, 0, 0, core::ptr::null_mut());
        }
        if length == u64::MAX {
            return false;
        }
        let Some(user_data) = s.writable(data, length) else { return false };
        let Some(data_pin) = s.pin(data, length) else { return false };
        let Some(copy) = copy_buffer(h, length) else {
            s.unlend(data_pin);
            return false;
        };
        if command != exec::device::CMD_READ {
            // (The copy's `length` bytes are the handle's: `copy_buffer`; the handle's inline
            // bytes are kernel heap, which the contract's "exec memory" stands for here.)
            user_data.to_read().copy_to_kernel(0, copy, length);
        }
        start(h, req, command, data, length, data_pin, copy)
    }
}

/// The rest of [`copy_in`]: the shadow's fields from the caller's request `req`, its data the
/// kernel's `copy` of the task's `length` bytes at `data` (pinned by `data_pin`).
///
/// # Safety
/// `h` is the caller's idle handle; `copy` is null for no data, else `length` bytes the
/// handle owns.
unsafe fn start(h: *mut Handle, req: crate::uaccess::UserWrite, command: u16, data: u64, length: u64, data_pin: u64, copy: *mut u8) -> bool {
    // SAFETY: per the contract.
    unsafe {
        ((*h).command, (*h).data, (*h).length, (*h).copy) = (command, data, length, copy);
        let r = &mut (*h).req;
        r.command = command;
        r.data = copy;
        r.length = length as usize;
        r.offset = field!(req, usize, offset);
        let ext = ((*h).user_len as usize - size_of::<IoRequest>()).min(EXTENSION);
        req.to_read().read_into(size_of::<IoRequest>() as u64, &mut (&mut (*h).extension)[..ext]);
        (*h).data_pin = data_pin;
        (*h).busy = true;
    }
    true
}

/// Copies a completed shadow's results back to the caller's request, and what the device
/// wrote of the data back to the caller's data (each checked writable again now), and unpins
/// the data. Result: its error. Under Forbid, as every change to a space's loans.
fn copy_out(h: *mut Handle) -> u64 {
    under_forbid(|| copy_out_under_forbid(h))
}

fn copy_out_under_forbid(h: *mut Handle) -> u64 {
    // SAFETY: the only reference to the caller's space during this call.
    let s = unsafe { crate::gate::my_space() };
    // SAFETY: the caller's handle, done (not in a device's queue).
    unsafe {
        let r = &(*h).req;
        if let Some(req) = s.as_ref().and_then(|s| s.writable((*h).user, (*h).user_len)) {
            set_field!(req, error = r.error);
            set_field!(req, actual = r.actual);
            let ext = ((*h).user_len as usize - size_of::<IoRequest>()).min(EXTENSION_OUT);
            req.write_from(size_of::<IoRequest>() as u64, &(&(*h).extension)[..ext]);
        }
        let back = bytes_back((*h).command, (*h).length, r.actual);
        if back > 0
            && let Some(to) = s.as_ref().and_then(|s| s.writable((*h).data, back))
        {
            // `back` is at most `length`, the bytes of the handle's copy.
            to.copy_from_kernel(0, (*h).copy, back);
        }
        if let Some(s) = s {
            s.unlend((*h).data_pin);
        }
        (*h).data_pin = 0;
        (*h).busy = false;
        r.error as u8 as u64
    }
}

/// do_io. Result: the request's error as a byte, or ERR_BAD_POINTER.
pub fn do_io(user: u64) -> GateResult {
    let Some(h) = handle(user) else { return Err(BadPointer) };
    if !copy_in(h) {
        return Err(BadPointer);
    }
    // SAFETY: the caller's open, idle shadow; its reply port signals the caller.
    unsafe { exec::device::do_io(&mut (*h).req) };
    Ok(copy_out(h))
}

/// send_io. Result: 0 or ERR_BAD_POINTER.
pub fn send_io(user: u64) -> GateResult {
    let Some(h) = handle(user) else { return Err(BadPointer) };
    if !copy_in(h) {
        return Err(BadPointer);
    }
    // SAFETY: the caller's open, idle shadow.
    unsafe { exec::device::send_io(&mut (*h).req) };
    Ok(0)
}

/// check_io: 1 (done: its results and data are copied back now, as a device would have left
/// them in the task's request and buffer; wait_io then answers at once), 0, or
/// ERR_BAD_POINTER.
pub fn check_io(user: u64) -> GateResult {
    let Some(h) = handle(user) else { return Err(BadPointer) };
    // SAFETY: the caller's live shadow.
    unsafe {
        if !(*h).busy {
            return Ok(1);
        }
        if !exec::device::check_io(&mut (*h).req) {
            return Ok(0);
        }
        // Done: taken off the shadow's reply port (no wait: it is there) and copied out.
        exec::device::wait_io(&mut (*h).req);
    }
    copy_out(h);
    Ok(1)
}

/// wait_io. Result: the error as a byte, or ERR_BAD_POINTER.
pub fn wait_io(user: u64) -> GateResult {
    let Some(h) = handle(user) else { return Err(BadPointer) };
    // SAFETY: the caller's live shadow; started (busy) or already done.
    unsafe {
        if !(*h).busy {
            return Ok((*h).req.error as u8 as u64);
        }
        exec::device::wait_io(&mut (*h).req);
    }
    Ok(copy_out(h))
}

/// abort_io. Result: 0 or ERR_BAD_POINTER.
pub fn abort_io(user: u64) -> GateResult {
    let Some(h) = handle(user) else { return Err(BadPointer) };
    // SAFETY: the caller's open shadow; aborting an idle request does nothing.
    unsafe {
        if (*h).busy {
            exec::device::abort_io(&mut (*h).req);
        }
    }
    Ok(0)
}

/// close_device: closes the caller's request (aborting and waiting for it if in flight: its
/// results and data are not copied back then). Result: 0, or ERR_BAD_POINTER.
pub fn close(user: u64) -> GateResult {
    let Some(h) = handle(user) else { return Err(BadPointer) };
    // SAFETY: the caller's shadow; a busy one is ended first.
    unsafe {
        if (*h).busy {
            exec::device::abort_io(&mut (*h).req);
            exec::device::wait_io(&mut (*h).req);
            (*h).busy = false;
        }
        // The request and its data are the caller's to free again.
        under_forbid(|| {
            if let Some(s) = crate::gate::my_space() {
                s.unlend((*h).data_pin);
                s.unlend((*h).req_pin);
            }
        });
    }
    forbid();
    // SAFETY: Forbid held.
    unsafe { (*HANDLES.get()).0.remove(&((*h).owner as usize, (*h).user)) };
    permit();
    // SAFETY: the caller's idle handle, no longer listed.
    unsafe { release(h) };
    Ok(0)
}

/// # Safety
/// `h` is an idle handle that no list references any more; it is not used after.
unsafe fn release(h: *mut Handle) {
    // SAFETY: per the callers: an idle handle nobody lists any more.
    unsafe {
        exec::device::close_device(&mut (*h).req);
        drop_port(h);
        forbid();
        free_bounce(h);
        permit();
        drop(Box::from_raw(h));
    }
}

/// Deletes `h`'s reply port if it is one of its own (the shared one is part of the handle,
/// and its bit the task's reply port's).
///
/// # Safety
/// `h` is a live handle with no request in flight.
unsafe fn drop_port(h: *mut Handle) {
    // SAFETY: per the contract: nothing waits at the port.
    unsafe {
        if (*h).port != &raw mut (*h).shared_port {
            exec::port::delete_msg_port((*h).port);
        }
    }
}

/// Task end: closes the handles it left open (exec has aborted their I/O already).
pub fn reclaim(task: *mut Task) {
    forbid();
    // SAFETY: Forbid held.
    let mine: Vec<*mut Handle> = unsafe {
        let tree = &mut (*HANDLES.get()).0;
        let keys: Vec<(usize, u64)> = tree.range(of(task)).map(|(&k, _)| k).collect();
        keys.iter().filter_map(|k| tree.remove(k)).collect()
    };
    permit();
    for h in mine {
        // SAFETY: the task's own handles, unlisted, idle (in-flight I/O was aborted).
        unsafe { release(h) };
    }
}
