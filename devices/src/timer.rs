//! timer.device: delays and system time.
//!
//! Units MICROHZ (0) and VBLANK (1) both take TR_ADDREQUEST with a relative delay in
//! `time`; requests wait in one queue ordered by deadline (equal deadlines in arrival order)
//! and complete from the tick interrupt at the first tick at or after their deadline: never
//! early, at most one tick (10 ms) late. VBLANK rounds its deadline up to a whole tick. Time
//! comes from the TSC calibrated at boot. TR_GETSYSTIME / TR_SETSYSTIME read and set the
//! system time: seconds and microseconds since 1 January 1978, from the RTC at boot (or since
//! boot, on a machine without one).

use exec::device::{CMD_FLUSH, CMD_NONSTD, CMD_RESET, Device, IOERR_ABORTED, IOERR_NOCMD, IOERR_OPENFAIL, IoRequest, term_io};
use exec::global::Global;
use exec::interrupts::Interrupt;
use exec::port::MsgPort;
use exec::sched::{disable, enable};

use crate::timerqueue::{DeadlineQueue, Entry};

/// Wait for a relative delay.
pub const TR_ADDREQUEST: u16 = CMD_NONSTD;
/// Read the system time into `time`.
pub const TR_GETSYSTIME: u16 = CMD_NONSTD + 1;
/// Set the system time from `time`.
pub const TR_SETSYSTIME: u16 = CMD_NONSTD + 2;

pub const UNIT_MICROHZ: u32 = 0;
pub const UNIT_VBLANK: u32 = 1;

pub const TIMER_VERSION: u16 = 1;

/// Seconds and microseconds (Exec's `struct timeval`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct TimeVal {
    pub secs: u64,
    pub micro: u64,
}

impl TimeVal {
    pub const fn from_nanos(ns: u64) -> Self {
        TimeVal { secs: ns / 1_000_000_000, micro: ns % 1_000_000_000 / 1000 }
    }
    pub const fn as_nanos(&self) -> u64 {
        self.secs.saturating_mul(1_000_000_000).saturating_add(self.micro.saturating_mul(1000))
    }
}

/// A timer request (Exec's `struct timerequest`).
#[repr(C)]
pub struct TimeRequest {
    pub io: IoRequest,
    pub time: TimeVal,
    /// Kernel-private: the request's place in the deadline queue and its deadline (uptime in
    /// nanoseconds, set by begin_io). The tree's link lives here, in the caller's request, as
    /// the message node that queued it before did, rather than in a record of the device's
    /// own: nothing is allocated per request or freed in the tick's interrupt, abort finds the
    /// link from the request itself, and `new` stays const. In mmu-mode the request the
    /// device sees is the kernel's shadow (mmu-mode's io.rs), so ring 3 cannot bend the links.
    queue: Entry,
}

impl TimeRequest {
    pub const fn new(reply_port: *mut MsgPort) -> Self {
        TimeRequest { io: IoRequest::new(reply_port, size_of::<TimeRequest>()), time: TimeVal { secs: 0, micro: 0 }, queue: Entry::new() }
    }

    /// When the request is (or was) due, in nanoseconds of uptime.
    pub fn deadline(&self) -> u64 {
        self.queue.deadline()
    }
}

/// The request whose queue entry is `e`.
///
/// # Safety
/// `e` is the `queue` field of a TimeRequest.
unsafe fn request_of(e: *mut Entry) -> *mut IoRequest {
    // SAFETY: per the contract; the IoRequest is the TimeRequest's first field.
    unsafe { e.byte_sub(core::mem::offset_of!(TimeRequest, queue)) as *mut IoRequest }
}

/// Pending TR_ADDREQUESTs, by deadline. Disable.
static QUEUE: Global<DeadlineQueue> = Global::new(DeadlineQueue::new());
/// Added to uptime to give the system time (TR_SETSYSTIME). Disable.
static SYSTIME_OFFSET: Global<i128> = Global::new(0);

fn now() -> u64 {
    exec::time::uptime_ns()
}

/// # Safety
/// As `Device::open`: `req` is a live request not open on any device.
unsafe fn open(_: *mut Device, unit: u32, req: *mut IoRequest, _: u32) -> i8 {
    if unit != UNIT_MICROHZ && unit != UNIT_VBLANK {
        return IOERR_OPENFAIL;
    }
    // SAFETY: `req` live (open_device's contract).
    unsafe { (*req).unit = unit as usize };
    0
}

/// # Safety
/// As `Device::close`: `req` was opened on this device and is idle.
unsafe fn close(_: *mut IoRequest) {}

/// # Safety
/// As `Device::begin_io`: `io` is the IoRequest of a live, open, idle TimeRequest.
unsafe fn begin_io(io: *mut IoRequest) {
    let req = io as *mut TimeRequest;
    // SAFETY: requests to timer.device are TimeRequests (its documented request type).
    unsafe {
        (*io).error = 0;
        match (*io).command {
            TR_ADDREQUEST => {
                let mut deadline = now().saturating_add((*req).time.as_nanos());
                if (*io).unit == UNIT_VBLANK as usize {
                    let tick = 1_000_000_000 / exec::time::TICK_HZ;
                    deadline = deadline.div_ceil(tick) * tick;
                }
                (*io).flags &= !exec::device::IOF_QUICK;
                disable();
                // The request is idle (not queued) and stays in place until it completes.
                (*QUEUE.get()).insert(&raw mut (*req).queue, deadline);
                enable();
                return;
            }
            TR_GETSYSTIME => {
                disable();
                let t = (now() as i128 + *SYSTIME_OFFSET.get()).max(0) as u64;
                enable();
                (*req).time = TimeVal::from_nanos(t);
            }
            TR_SETSYSTIME => {
                disable();
                *SYSTIME_OFFSET.get() = (*req).time.as_nanos() as i128 - now() as i128;
                enable();
            }
            CMD_FLUSH | CMD_RESET => flush(),
            _ => (*io).error = IOERR_NOCMD,
        }
        term_io(io);
    }
}

/// Aborts every pending request.
fn flush() {
    disable();
    // SAFETY: Disable held; queued entries are those of live TimeRequests.
    unsafe {
        while let Some(e) = (*QUEUE.get()).pop_due(u64::MAX) {
            let n = request_of(e);
            (*n).error = IOERR_ABORTED;
            term_io(n);
        }
    }
    enable();
}

/// Requests waiting in the queue.
pub fn pending() -> usize {
    disable();
    // SAFETY: Disable held.
    let n = unsafe { (*QUEUE.get()).len() };
    enable();
    n
}

/// # Safety
/// As `Device::abort_io`: `io` is a live request opened on this device.
unsafe fn abort_io(io: *mut IoRequest) {
    disable();
    // SAFETY: Disable held; `io` is a live TimeRequest's; if queued, it is on our queue.
    unsafe {
        if (*QUEUE.get()).remove(&raw mut (*(io as *mut TimeRequest)).queue) {
            (*io).error = IOERR_ABORTED;
            term_io(io);
        }
    }
    enable();
}

/// The tick: completes every request that is due. Interrupt context.
fn tick(_: *mut ()) -> bool {
    let t = now();
    // SAFETY: interrupt context holds Disable; queued entries are those of live TimeRequests.
    unsafe {
        while let Some(e) = (*QUEUE.get()).pop_due(t) {
            term_io(request_of(e));
        }
    }
    false
}

static TICK_SERVER: Global<Interrupt> = Global::new(Interrupt::new("timer.device", 10, tick, core::ptr::null_mut()));

/// The device base. Forbid.
pub static TIMER_DEVICE: Global<Device> =
    Global::new(Device::new("timer.device", TIMER_VERSION, 0, "timer.device 1.0 (23.11.2026)", open, close, begin_io, abort_io).with_user_commands(&[TR_ADDREQUEST, TR_GETSYSTIME]));

/// Resident init: sets the system time from the RTC (seconds since 1 January 1978), adds the
/// device and its tick server.
pub fn init() {
    if let Some((y, mo, d, h, mi, s)) = exec::arch::x86_64::rtc::read_time() {
        let secs = exec::date::days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
        disable();
        // SAFETY: Disable held.
        unsafe { *SYSTIME_OFFSET.get() = secs as i128 * 1_000_000_000 - now() as i128 };
        enable();
    }
    // SAFETY: statics, added once at boot.
    unsafe {
        exec::interrupts::add_int_server(0, TICK_SERVER.get());
        exec::device::add_device(TIMER_DEVICE.get());
    }
}
