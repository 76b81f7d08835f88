//! Device I/O from ring 3, through the gate: open a device by name, do_io with a request block
//! in the task's own memory, close. The kernel keeps the real IORequest; every name, block and
//! data pointer is an allegation checked against the task's space first. Requests a task still
//! has open when it ends are closed (in-flight ones were already aborted by exec).

use alloc::boxed::Box;
use alloc::vec::Vec;

use exec::device::IoRequest;
use exec::execbase::Global;
use exec::port::MsgPort;
use exec::sched::{forbid, permit};
use exec::task::Task;

use crate::gate::ERR_BAD_POINTER;
use crate::pte::Access;
use crate::space::Space;

/// What a ring-3 task fills in for SYS_DO_IO, in its own memory.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct UserIo {
    pub command: u64,
    /// Data in the task's own memory (checked), and its length.
    pub data: u64,
    pub length: u64,
    pub offset: u64,
    /// timer.device's time value (seconds, microseconds), in and out.
    pub secs: u64,
    pub micro: u64,
    /// Out: bytes transferred, and the error (0 or an IOERR_ code).
    pub actual: u64,
    pub error: i64,
}

/// The kernel side of a ring-3 task's open device: the request (with room for timer.device's
/// time value after it) and its reply port.
#[repr(C)]
struct Handle {
    req: IoRequest,
    extra: [u64; 4],
    port: *mut MsgPort,
    owner: *mut Task,
}

/// Open handles. Forbid.
static HANDLES: Global<Vec<*mut Handle>> = Global::new(Vec::new());

fn space() -> Option<&'static mut Space> {
    let me = exec::task::find_task(None);
    // SAFETY: the running task is live; its space lives with it.
    unsafe { ((*me).space as *mut Space).as_mut() }
}

fn readable(s: &Space, addr: u64, len: u64) -> bool {
    let Some(end) = addr.checked_add(len.max(1)) else { return false };
    let mut page = addr & !4095;
    while page < end {
        if !matches!(s.access_of(page), Some(Access::Read | Access::ReadWrite | Access::ReadExecute)) {
            return false;
        }
        page += 4096;
    }
    true
}

fn handle(h: u64) -> Option<*mut Handle> {
    let me = exec::task::find_task(None);
    forbid();
    // SAFETY: Forbid held; listed handles are live.
    let ok = unsafe { (*HANDLES.get()).iter().any(|&x| x as u64 == h && (*x).owner == me) };
    permit();
    ok.then_some(h as *mut Handle)
}

/// Opens unit `unit` of the device named by the `len` bytes at `name`. Result: a handle, or
/// ERR_BAD_POINTER (bad name pointer) or 0 (no such device or unit).
pub fn open(name: u64, len: u64, unit: u64) -> u64 {
    let Some(s) = space() else { return ERR_BAD_POINTER };
    if len == 0 || len > 64 || !readable(s, name, len) {
        return ERR_BAD_POINTER;
    }
    // SAFETY: the bytes are readable (checked); copied out before use.
    let bytes: Vec<u8> = unsafe { core::slice::from_raw_parts(name as *const u8, len as usize).to_vec() };
    let Ok(name) = core::str::from_utf8(&bytes) else { return ERR_BAD_POINTER };
    let port = exec::port::create_msg_port();
    if port.is_null() {
        return 0;
    }
    let h = Box::into_raw(Box::new(Handle {
        req: IoRequest::new(port, size_of::<IoRequest>() + 32),
        extra: [0; 4],
        port,
        owner: exec::task::find_task(None),
    }));
    // SAFETY: the request is live in its box and not open.
    if unsafe { exec::device::open_device(name, unit as u32, &mut (*h).req, 0) } != 0 {
        // SAFETY: never opened; ours.
        unsafe {
            exec::port::delete_msg_port(port);
            drop(Box::from_raw(h));
        }
        return 0;
    }
    forbid();
    // SAFETY: Forbid held.
    unsafe { (*HANDLES.get()).push(h) };
    permit();
    h as u64
}

/// Performs the request described by the [`UserIo`] block at `block`. Result: 0 (outcome in
/// the block), or ERR_BAD_POINTER for a bad handle, block or data range.
pub fn do_io(h: u64, block: u64) -> u64 {
    let (Some(h), Some(s)) = (handle(h), space()) else { return ERR_BAD_POINTER };
    if !s.user_writable(block, size_of::<UserIo>() as u64) {
        return ERR_BAD_POINTER;
    }
    // SAFETY: the block is the task's writable memory (checked).
    let mut io = unsafe { (block as *const UserIo).read() };
    if io.length > 0 && (io.length == u64::MAX || !s.user_writable(io.data, io.length)) {
        return ERR_BAD_POINTER;
    }
    // SAFETY: the handle is the caller's and idle; the data range is the caller's (checked),
    // mapped while the caller waits in do_io; the extension words follow the request as
    // timer.device's TimeRequest lays them out.
    unsafe {
        let r = &mut (*h).req;
        r.command = io.command as u16;
        r.data = io.data as *mut u8;
        r.length = io.length as usize;
        r.offset = io.offset as usize;
        (*h).extra[0] = io.secs;
        (*h).extra[1] = io.micro;
        io.error = exec::device::do_io(r) as i64;
        io.actual = r.actual as u64;
        io.secs = (*h).extra[0];
        io.micro = (*h).extra[1];
        (block as *mut UserIo).write(io);
    }
    0
}

/// Closes handle `h`. Result: 0, or ERR_BAD_POINTER.
pub fn close(h: u64) -> u64 {
    let Some(h) = handle(h) else { return ERR_BAD_POINTER };
    forbid();
    // SAFETY: Forbid held.
    unsafe { (*HANDLES.get()).retain(|&x| x != h) };
    permit();
    // SAFETY: the caller's idle handle, no longer listed.
    unsafe { release(h) };
    0
}

/// # Safety
/// `h` is an idle handle that no list references any more; it is not used after.
unsafe fn release(h: *mut Handle) {
    // SAFETY: per the callers: an idle handle nobody lists any more.
    unsafe {
        exec::device::close_device(&mut (*h).req);
        exec::port::delete_msg_port((*h).port);
        drop(Box::from_raw(h));
    }
}

/// Task end: closes the handles it left open (exec has aborted their I/O already).
pub fn reclaim(task: *mut Task) {
    forbid();
    // SAFETY: Forbid held.
    let mine: Vec<*mut Handle> = unsafe {
        let list = &mut *HANDLES.get();
        let mine = list.iter().copied().filter(|&h| (*h).owner == task).collect();
        list.retain(|&h| (*h).owner != task);
        mine
    };
    permit();
    for h in mine {
        // SAFETY: the task's own handles, unlisted, idle (in-flight I/O was aborted).
        unsafe { release(h) };
    }
}
