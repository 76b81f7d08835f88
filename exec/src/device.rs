//! Devices and I/O requests: open_device, close_device, do_io, send_io, check_io, wait_io,
//! abort_io, as on the Amiga.
//!
//! A device is a library with units and two more entry points, `begin_io` and `abort_io`. An
//! [`IoRequest`] is a [`Message`]: a device completes a request by replying it to the
//! request's reply port, unless the caller asked for quick I/O (`IOF_QUICK`) and the device
//! could finish at once, in the caller's context, in which case nothing is replied.

use core::ptr::null_mut;

use crate::execbase::base;
use crate::library::Library;
use crate::list::NodeType;
use crate::port::{Message, MsgPort};
use crate::list::Node;
use crate::sched::{disable, enable, forbid, permit};
use crate::task::Task;
use crate::signal::wait;

/// Standard commands every device understands (or answers with IOERR_NOCMD).
pub const CMD_INVALID: u16 = 0;
pub const CMD_RESET: u16 = 1;
pub const CMD_READ: u16 = 2;
pub const CMD_WRITE: u16 = 3;
pub const CMD_UPDATE: u16 = 4;
pub const CMD_CLEAR: u16 = 5;
pub const CMD_STOP: u16 = 6;
pub const CMD_START: u16 = 7;
pub const CMD_FLUSH: u16 = 8;
/// First device-specific command.
pub const CMD_NONSTD: u16 = 9;

/// Quick I/O: complete in the caller's context if possible (set by do_io; cleared by a device
/// that queues the request instead).
pub const IOF_QUICK: u8 = 1 << 0;

/// open_device failed: no such device or unit.
pub const IOERR_OPENFAIL: i8 = -1;
/// The request was aborted.
pub const IOERR_ABORTED: i8 = -2;
/// The device does not know the command.
pub const IOERR_NOCMD: i8 = -3;
/// A length the command cannot take.
pub const IOERR_BADLENGTH: i8 = -4;
/// A data pointer the command cannot use.
pub const IOERR_BADADDRESS: i8 = -5;
/// The unit is busy (for example, opened exclusively).
pub const IOERR_UNITBUSY: i8 = -6;

/// An I/O request (Exec's `IOStdReq`): a message with a command and its data.
#[repr(C)]
pub struct IoRequest {
    pub message: Message,
    /// The device that serves it; set by open_device.
    pub device: *mut Device,
    /// The unit, as the device understands it; set by the device's open.
    pub unit: usize,
    pub command: u16,
    pub flags: u8,
    /// 0, or an IOERR_ code, or a device's own error.
    pub error: i8,
    /// Bytes actually transferred.
    pub actual: usize,
    /// Bytes asked for (a device may define -1, as `usize::MAX`, to mean "up to a NUL").
    pub length: usize,
    pub data: *mut u8,
    pub offset: usize,
    /// The task that started it, while it is in flight (null otherwise). Disable.
    owner: *mut Task,
    /// In the owner's `io_list` while in flight, so that a task that ends aborts its I/O.
    owner_link: Node,
}

impl IoRequest {
    /// A request that replies to `reply_port`, of `size` bytes (the full structure that
    /// embeds it, for devices that use a larger request).
    pub const fn new(reply_port: *mut MsgPort, size: usize) -> Self {
        IoRequest {
            message: Message::new(reply_port, size),
            device: null_mut(),
            unit: 0,
            command: CMD_INVALID,
            flags: 0,
            error: 0,
            actual: 0,
            length: 0,
            data: null_mut(),
            offset: 0,
            owner: null_mut(),
            owner_link: Node::new(NodeType::Unknown, 0),
        }
    }
}

/// Records `req` as in flight for the calling task.
///
/// # Safety
/// `req` is live and not in flight.
unsafe fn track(req: *mut IoRequest) {
    disable();
    // SAFETY: Disable held; the running task is live; `req` live (caller).
    unsafe {
        let me = (*base()).this_task;
        (*req).owner = me;
        if let Some(t) = me.as_mut() {
            t.io_list.add_tail(&mut (*req).owner_link);
        }
    }
    enable();
}

/// Forgets that `req` is in flight. Disable held.
///
/// # Safety
/// Disable held; `req` is live and, if it has an owner, on that owner's io_list.
unsafe fn untrack(req: *mut IoRequest) {
    // SAFETY: `req` live; if it has an owner, it is on that owner's io_list.
    unsafe {
        if let Some(t) = (*req).owner.as_mut() {
            t.io_list.remove(&mut (*req).owner_link);
            (*req).owner = null_mut();
        }
    }
}

/// Aborts every request `task` still has in flight (task end), so that no device completes
/// one into the task's freed memory later. Disable held.
///
/// # Safety
/// Disable held; `task` is live and ending; its io_list links live requests.
pub(crate) unsafe fn reclaim_task(task: *mut Task) {
    // SAFETY: `task` live; its io_list links live requests through `owner_link`.
    unsafe {
        loop {
            let link = (*task).io_list.head();
            if link.is_null() {
                break;
            }
            let req = (link as *mut u8).sub(core::mem::offset_of!(IoRequest, owner_link)) as *mut IoRequest;
            if !(*req).device.is_null() {
                ((*(*req).device).abort_io)(req);
            }
            // A device that could not abort it: forget it all the same.
            untrack(req);
        }
    }
}

/// A device base: a library with units.
#[repr(C)]
pub struct Device {
    pub lib: Library,
    /// Opens `unit` for `req` (sets `req.unit`); returns 0 or an error.
    pub open: unsafe fn(dev: *mut Device, unit: u32, req: *mut IoRequest, flags: u32) -> i8,
    /// Ends `req`'s use of its unit.
    pub close: unsafe fn(req: *mut IoRequest),
    /// Starts `req`: completes it at once (leaving IOF_QUICK set if it was) or clears IOF_QUICK
    /// and replies it later.
    pub begin_io: unsafe fn(req: *mut IoRequest),
    /// Ends `req` early with IOERR_ABORTED if it is still pending.
    pub abort_io: unsafe fn(req: *mut IoRequest),
    /// The device's nonstandard commands (CMD_NONSTD and above) that act on their request
    /// alone, so that an unprivileged (ring-3) task may send them; the others, and the
    /// standard commands that act on a whole unit, the mmu build's gate refuses.
    pub user_commands: &'static [u16],
}

/// A device has no vector table of its own beyond these entry points.
static NO_VECTORS: crate::global::Global<[usize; 0]> = crate::global::Global::new([]);

impl Device {
    /// A device base (MakeLibrary for devices).
    #[allow(clippy::too_many_arguments, reason = "a device base is made once, in a const, from exactly these parts")]
    pub const fn new(
        name: &'static str,
        version: u16,
        revision: u16,
        id_string: &'static str,
        open: unsafe fn(*mut Device, u32, *mut IoRequest, u32) -> i8,
        close: unsafe fn(*mut IoRequest),
        begin_io: unsafe fn(*mut IoRequest),
        abort_io: unsafe fn(*mut IoRequest),
    ) -> Self {
        let mut lib = Library::new(name, version, revision, id_string, &NO_VECTORS);
        lib.node.kind = NodeType::Device;
        Device { lib, open, close, begin_io, abort_io, user_commands: &[] }
    }

    /// The device with `commands` as its [`Device::user_commands`].
    pub const fn with_user_commands(self, commands: &'static [u16]) -> Self {
        Device { user_commands: commands, ..self }
    }
}

/// Makes `dev` available to open_device.
///
/// # Safety
/// `dev` is live, on no list, and outlives its time on the list.
pub unsafe fn add_device(dev: *mut Device) {
    forbid();
    // SAFETY: Forbid held; `dev` live (caller).
    unsafe {
        (*dev).lib.node.kind = NodeType::Device;
        (*base()).device_list.enqueue(&mut (*dev).lib.node);
    }
    permit();
}

/// Removes `dev` (now, or when its last user closes it); see rem_library.
///
/// # Safety
/// `dev` is on the device list.
pub unsafe fn rem_device(dev: *mut Device) -> bool {
    // SAFETY: a device base begins with its library base.
    unsafe { crate::library::rem_library(dev as *mut Library) }
}

/// Opens unit `unit` of device `name` for `req`. Result: 0, or the device's error
/// (IOERR_OPENFAIL when there is no such device); `req.error` says the same. On success
/// `req.device` is set and the device's open count raised. Not callable from an interrupt.
///
/// # Safety
/// `req` is a live request not open on any device.
pub unsafe fn open_device(name: &str, unit: u32, req: *mut IoRequest, flags: u32) -> i8 {
    forbid();
    // SAFETY: Forbid held; listed devices are live; `req` live (caller).
    let err = unsafe {
        let dev = (*base()).device_list.find_name(name) as *mut Device;
        (*req).device = null_mut();
        let err = match dev.as_mut() {
            None => IOERR_OPENFAIL,
            Some(d) => {
                let e = (d.open)(dev, unit, req, flags);
                if e == 0 {
                    (*req).device = dev;
                    d.lib.open_cnt += 1;
                    d.lib.flags &= !crate::library::LIBF_DELEXP;
                }
                e
            }
        };
        (*req).error = err;
        err
    };
    permit();
    err
}

/// Closes `req`'s device (which must have no request of the caller's pending). A device whose
/// removal was delayed is expunged with its last user.
///
/// # Safety
/// `req` was opened with open_device and is idle.
pub unsafe fn close_device(req: *mut IoRequest) {
    // SAFETY: per the contract.
    unsafe {
        let dev = (*req).device;
        if dev.is_null() {
            return;
        }
        ((*dev).close)(req);
        (*req).device = null_mut();
        crate::library::close_library(dev as *mut Library);
    }
}

/// Starts `req` without waiting; its reply port gets it back when done.
///
/// # Safety
/// `req` is open and not pending.
pub unsafe fn send_io(req: *mut IoRequest) {
    // SAFETY: per the contract.
    unsafe {
        (*req).flags = 0;
        (*req).message.node.kind = NodeType::Message;
        track(req);
        ((*(*req).device).begin_io)(req);
    }
}

/// Performs `req` and waits for it: quick I/O if the device can, otherwise through the reply
/// port. Result: `req.error`. Not callable from an interrupt.
///
/// # Safety
/// `req` is open, not pending, and its reply port signals the caller.
pub unsafe fn do_io(req: *mut IoRequest) -> i8 {
    // SAFETY: per the contract.
    unsafe {
        (*req).flags = IOF_QUICK;
        (*req).message.node.kind = NodeType::Message;
        track(req);
        ((*(*req).device).begin_io)(req);
        if (*req).flags & IOF_QUICK == 0 {
            return wait_io(req);
        }
        (*req).error
    }
}

/// Whether `req` has completed (quick, or replied). Callable from an interrupt.
///
/// # Safety
/// `req` is live.
pub unsafe fn check_io(req: *mut IoRequest) -> bool {
    // SAFETY: per the contract.
    unsafe { (*req).flags & IOF_QUICK != 0 || (*req).message.node.kind == NodeType::ReplyMsg }
}

/// Waits for `req` to complete and takes it off its reply port; other messages queued at that
/// port keep its signal set. Result: `req.error`. Not callable from an interrupt.
///
/// # Safety
/// `req` was started with send_io or do_io; its reply port signals the caller.
pub unsafe fn wait_io(req: *mut IoRequest) -> i8 {
    // SAFETY: per the contract.
    unsafe {
        if (*req).flags & IOF_QUICK == 0 {
            let port = (*req).message.reply_port;
            // Read afresh each time round: the device's reply (another task or an interrupt)
            // changes it while we wait.
            while core::ptr::read_volatile(&raw const (*req).message.node.kind) != NodeType::ReplyMsg {
                wait(1 << (*port).sig_bit);
            }
            disable();
            crate::port::remove_queued(port, &mut (*req).message);
            // The signal the wait spent belongs also to what is still queued there (as a
            // receive leaves it): a Wait on the port's bit must find those messages.
            if !(*port).msg_list.is_empty() {
                (*(*base()).this_task).sig_recvd |= 1 << (*port).sig_bit;
            }
            enable();
        }
        (*req).error
    }
}

/// Asks `req`'s device to end it early; it completes with IOERR_ABORTED if it was still
/// pending (wait_io for it as usual). Callable from an interrupt.
///
/// # Safety
/// `req` is open.
pub unsafe fn abort_io(req: *mut IoRequest) {
    // SAFETY: per the contract.
    unsafe { ((*(*req).device).abort_io)(req) }
}

/// Calls `f` for every device (under Forbid: `f` must not call exec).
pub fn for_each_device(mut f: impl FnMut(&Device)) {
    forbid();
    // SAFETY: Forbid held; listed devices are live.
    unsafe {
        for n in (*base()).device_list.iter() {
            f(&*(n as *const Device));
        }
    }
    permit();
}

/// Completes `req` (Exec's TermIO): a quick request that a device finished in its caller's
/// context is left as it is; any other is replied to its reply port. Callable from an
/// interrupt.
///
/// # Safety
/// `req` is live, started by send_io/do_io, and not on any device queue any more.
pub unsafe fn term_io(req: *mut IoRequest) {
    disable();
    // SAFETY: per the contract; Disable held for the owner's list.
    unsafe {
        untrack(req);
        if (*req).flags & IOF_QUICK == 0 {
            crate::port::reply_msg(&mut (*req).message);
        }
    }
    enable();
}
