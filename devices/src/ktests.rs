//! In-kernel tests of timer.device and serial.device.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use exec::device::*;
use exec::ktest::{Test, TestResult};
use exec::port::{create_msg_port, delete_msg_port};
use exec::{ensure, ensure_eq, kprintln};

use crate::serial::*;
use crate::timer::*;


/// Every in-kernel test of the devices crate.
pub static TESTS: &[Test] = &[
    Test::new("devices.timer.open_close_counts", open_close_counts),
    Test::new("devices.timer.delay_never_early", delay_never_early),
    Test::new("devices.timer.send_io_wait_io_check_io", send_wait_check),
    Test::new("devices.timer.abort", timer_abort),
    Test::new("devices.timer.wait_io_leaves_the_ports_signal", wait_io_leaves_the_ports_signal),
    Test::new("devices.timer.thousand_requests_in_order", thousand_in_order),
    Test::new("devices.timer.system_time", system_time),
    Test::new("devices.timer.unknown_command", timer_nocmd),
    Test::new("devices.serial.write", serial_write),
    Test::new("devices.serial.standard_commands", serial_commands),
    Test::new("devices.serial.abort_pending_read", serial_abort_empty),
    Test::new("devices.task_end_aborts_io", task_end_aborts_io),
    Test::new("devices.task_waiting_in_wait_io_ends", task_waiting_in_wait_io_ends),
    Test::explicit("e2e.serial.echo", serial_echo),
    Test::explicit("e2e.serial.bulk", serial_bulk),
    Test::explicit("e2e.serial.abort_mid_read", serial_abort_mid_read),
    Test::explicit("e2e.serial.full_ring_holds_back", serial_full_ring),
];

struct Timer {
    req: TimeRequest,
    port: *mut exec::port::MsgPort,
}

impl Timer {
    fn open(unit: u32) -> Result<alloc::boxed::Box<Timer>, String> {
        let port = create_msg_port();
        let mut t = alloc::boxed::Box::new(Timer { req: TimeRequest::new(port), port });
        // SAFETY: the request is live and not open.
        let e = unsafe { open_device("timer.device", unit, &mut t.req.io, 0) };
        if e != 0 {
            // SAFETY: our port.
            unsafe { delete_msg_port(port) };
            return Err(format!("open_device(timer.device, {unit}) = {e}"));
        }
        Ok(t)
    }
    fn io(&mut self) -> *mut IoRequest {
        &mut self.req.io
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: idle request, our port.
        unsafe {
            close_device(&mut self.req.io);
            delete_msg_port(self.port);
        }
    }
}

fn open_count() -> u16 {
    let mut n = 0;
    exec::device::for_each_device(|d| {
        if d.lib.node.name() == "timer.device" {
            n = d.lib.open_cnt;
        }
    });
    n
}

fn open_close_counts() -> TestResult {
    let before = open_count();
    let a = Timer::open(UNIT_MICROHZ)?;
    let b = Timer::open(UNIT_VBLANK)?;
    ensure_eq!(open_count(), before + 2);
    drop(a);
    drop(b);
    ensure_eq!(open_count(), before);
    let port = create_msg_port();
    let mut req = TimeRequest::new(port);
    // SAFETY: live request; our port.
    unsafe {
        ensure_eq!(open_device("timer.device", 7, &mut req.io, 0), IOERR_OPENFAIL);
        ensure!(req.io.device.is_null());
        ensure_eq!(open_device("no.device", 0, &mut req.io, 0), IOERR_OPENFAIL);
        delete_msg_port(port);
    }
    ensure_eq!(open_count(), before);
    Ok(())
}

fn delay_never_early() -> TestResult {
    for unit in [UNIT_MICROHZ, UNIT_VBLANK] {
        let mut t = Timer::open(unit)?;
        t.req.io.command = TR_ADDREQUEST;
        t.req.time = TimeVal { secs: 0, micro: 35_000 };
        let start = exec::time::uptime_ns();
        // SAFETY: open request, our reply port.
        let e = unsafe { do_io(t.io()) };
        let took = exec::time::uptime_ns() - start;
        ensure_eq!(e, 0);
        ensure!(took >= 35_000_000, "unit {unit}: done after {took} ns, asked 35 ms");
        ensure!(took < 2_000_000_000, "unit {unit}: {took} ns");
    }
    Ok(())
}

fn send_wait_check() -> TestResult {
    let mut t = Timer::open(UNIT_MICROHZ)?;
    t.req.io.command = TR_ADDREQUEST;
    t.req.time = TimeVal { secs: 0, micro: 20_000 };
    // SAFETY: as above.
    unsafe {
        send_io(t.io());
        ensure!(!check_io(t.io()), "done at once");
        ensure_eq!(wait_io(t.io()), 0);
        ensure!(check_io(t.io()));
        ensure!(exec::port::get_msg(t.port).is_null(), "wait_io left the reply queued");
    }
    Ok(())
}

/// A reply port that also receives messages: wait_io spends the port's signal while it waits
/// for the reply; a message still queued there keeps the signal set afterwards, so that a
/// Wait on the port's bit finds it (as a receive at the port leaves it).
fn wait_io_leaves_the_ports_signal() -> TestResult {
    let mut t = Timer::open(UNIT_MICROHZ)?;
    t.req.io.command = TR_ADDREQUEST;
    t.req.time = TimeVal { secs: 0, micro: 5_000 };
    // SAFETY: our port (it signals us); the message lives here until taken back below.
    unsafe {
        let bit = exec::port::port_signal(t.port);
        let mut m = exec::port::Message::new(core::ptr::null_mut(), size_of::<exec::port::Message>());
        exec::port::put_msg(t.port, &mut m);
        send_io(t.io());
        ensure_eq!(wait_io(t.io()), 0);
        let pending = exec::signal::set_signal(0, 0) & bit;
        ensure_eq!(exec::port::get_msg(t.port), &raw mut m, "the message left at the port");
        ensure!(pending != 0, "a message waited at the port with its signal spent");
    }
    Ok(())
}

fn timer_abort() -> TestResult {
    let mut t = Timer::open(UNIT_MICROHZ)?;
    t.req.io.command = TR_ADDREQUEST;
    t.req.time = TimeVal { secs: 100, micro: 0 };
    // SAFETY: as above.
    unsafe {
        send_io(t.io());
        abort_io(t.io());
        ensure_eq!(wait_io(t.io()), IOERR_ABORTED);
        abort_io(t.io()); // aborting a finished request does nothing
    }
    Ok(())
}

/// 1,000 requests with random delays: they complete in deadline order, none early.
fn thousand_in_order() -> TestResult {
    const N: usize = 1000;
    let mut t = Timer::open(UNIT_MICROHZ)?;
    let port = t.port;
    let mut reqs: Vec<TimeRequest> = (0..N).map(|_| TimeRequest::new(port)).collect();
    let mut seed = 0x9e37_79b9u64;
    // SAFETY: every request is opened on the same unit (copying the opened template) and
    // stays in `reqs` until it comes back.
    unsafe {
        for r in reqs.iter_mut() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            r.io.device = t.req.io.device;
            r.io.unit = t.req.io.unit;
            r.io.command = TR_ADDREQUEST;
            r.time = TimeVal { secs: 0, micro: (seed >> 33) % 300_000 };
            send_io(&mut r.io);
        }
        let mut last_deadline = 0;
        for i in 0..N {
            let m = exec::port::wait_port(port);
            let now = exec::time::uptime_ns();
            exec::port::get_msg(port);
            let r = m as *mut TimeRequest;
            ensure_eq!((*r).io.error, 0);
            ensure!((*r).deadline() >= last_deadline, "request {i} out of order");
            ensure!(now >= (*r).deadline(), "request {i} completed {} ns early", (*r).deadline() - now);
            last_deadline = (*r).deadline();
        }
    }
    let _ = t.io();
    Ok(())
}

fn system_time() -> TestResult {
    let mut t = Timer::open(UNIT_MICROHZ)?;
    t.req.io.command = TR_SETSYSTIME;
    t.req.time = TimeVal { secs: 1_000_000, micro: 0 };
    // SAFETY: as above.
    unsafe {
        ensure_eq!(do_io(t.io()), 0);
        t.req.io.command = TR_GETSYSTIME;
        ensure_eq!(do_io(t.io()), 0);
    }
    ensure_eq!(t.req.time.secs, 1_000_000);
    ensure!(t.req.time.micro < 500_000);
    Ok(())
}

fn timer_nocmd() -> TestResult {
    let mut t = Timer::open(UNIT_MICROHZ)?;
    t.req.io.command = CMD_WRITE;
    // SAFETY: as above.
    ensure_eq!(unsafe { do_io(t.io()) }, IOERR_NOCMD);
    Ok(())
}

struct Serial {
    req: IoRequest,
    port: *mut exec::port::MsgPort,
}

impl Serial {
    fn open() -> Result<alloc::boxed::Box<Serial>, String> {
        let port = create_msg_port();
        let mut s = alloc::boxed::Box::new(Serial { req: IoRequest::new(port, size_of::<IoRequest>()), port });
        // SAFETY: live request, not open.
        let e = unsafe { open_device("serial.device", 0, &mut s.req, 0) };
        ensure_eq!(e, 0);
        Ok(s)
    }
    fn cmd(&mut self, command: u16, data: *mut u8, length: usize) -> i8 {
        self.req.command = command;
        self.req.data = data;
        self.req.length = length;
        // SAFETY: open request, our reply port; data valid for `length` (callers).
        unsafe { do_io(&mut self.req) }
    }
}

impl Drop for Serial {
    fn drop(&mut self) {
        // SAFETY: idle request, our port.
        unsafe {
            close_device(&mut self.req);
            delete_msg_port(self.port);
        }
    }
}

fn serial_write() -> TestResult {
    let mut s = Serial::open()?;
    let mut text = *b"(written by serial.device)\n\0";
    ensure_eq!(s.cmd(CMD_WRITE, text.as_mut_ptr(), 27), 0);
    ensure_eq!(s.req.actual, 27);
    ensure_eq!(s.cmd(CMD_WRITE, text.as_mut_ptr(), usize::MAX), 0);
    ensure_eq!(s.req.actual, 27, "length -1 writes up to the NUL");
    ensure_eq!(s.cmd(CMD_UPDATE, core::ptr::null_mut(), 0), 0);
    Ok(())
}

fn serial_commands() -> TestResult {
    let mut s = Serial::open()?;
    ensure_eq!(s.cmd(CMD_CLEAR, core::ptr::null_mut(), 0), 0);
    ensure_eq!(s.cmd(SDCMD_QUERY, core::ptr::null_mut(), 0), 0);
    ensure_eq!(s.req.actual, 0);
    for c in [CMD_STOP, CMD_START, CMD_FLUSH, CMD_RESET] {
        ensure_eq!(s.cmd(c, core::ptr::null_mut(), 0), 0);
    }
    ensure_eq!(s.cmd(CMD_NONSTD + 40, core::ptr::null_mut(), 0), IOERR_NOCMD);
    ensure_eq!(s.cmd(CMD_INVALID, core::ptr::null_mut(), 0), IOERR_NOCMD);
    Ok(())
}

/// A read with nothing typed waits; aborting it returns nothing read.
fn serial_abort_empty() -> TestResult {
    let mut s = Serial::open()?;
    s.cmd(CMD_CLEAR, core::ptr::null_mut(), 0);
    let mut buf = [0u8; 16];
    s.req.command = CMD_READ;
    s.req.data = buf.as_mut_ptr();
    s.req.length = 16;
    // SAFETY: as above; the buffer outlives the request.
    unsafe {
        send_io(&mut s.req);
        ensure!(!check_io(&mut s.req));
        abort_io(&mut s.req);
        ensure_eq!(wait_io(&mut s.req), IOERR_ABORTED);
    }
    ensure_eq!(s.req.actual, 0);
    Ok(())
}

/// Host harness types a line; it is read up to the terminator and echoed reversed.
fn serial_echo() -> TestResult {
    let mut s = Serial::open()?;
    s.req.offset = SER_TERMINATOR | b'\r' as usize;
    s.cmd(SDCMD_SETPARAMS, core::ptr::null_mut(), 0);
    kprintln!("type a line:");
    let mut buf = [0u8; 256];
    ensure_eq!(s.cmd(CMD_READ, buf.as_mut_ptr(), 256), 0);
    let line = core::str::from_utf8(&buf[..s.req.actual]).map_err(|e| format!("{e}"))?.trim_end();
    let reversed: String = line.chars().rev().collect();
    kprintln!("echo: {reversed}");
    Ok(())
}

/// The host types 10 KiB quickly; all of it arrives, in order.
fn serial_bulk() -> TestResult {
    const N: usize = 10 * 1024;
    let mut s = Serial::open()?;
    let mut buf = alloc::vec![0u8; N];
    kprintln!("send {N} bytes:");
    ensure_eq!(s.cmd(CMD_READ, buf.as_mut_ptr(), N), 0);
    ensure_eq!(s.req.actual, N);
    let sum = buf.iter().fold(0u32, |a, &b| a.wrapping_mul(31).wrapping_add(b as u32));
    s.cmd(SDCMD_QUERY, core::ptr::null_mut(), 0);
    kprintln!("received {} bytes, checksum {sum:08x}, overflows {}", N, s.req.offset);
    Ok(())
}

/// The host types a few bytes into a longer read; the abort returns exactly those.
fn serial_abort_mid_read() -> TestResult {
    let mut s = Serial::open()?;
    let mut buf = [0u8; 64];
    s.req.command = CMD_READ;
    s.req.data = buf.as_mut_ptr();
    s.req.length = 64;
    // SAFETY: as above.
    unsafe { send_io(&mut s.req) };
    kprintln!("type 5 bytes:");
    let mut q = Serial::open()?;
    // SAFETY: reading a field of our own request; read afresh each time round, since the
    // device's interrupt writes it meanwhile.
    while unsafe { core::ptr::read_volatile(&raw const s.req.actual) } < 5 {
        crate::timer_sleep_ms(20);
        q.cmd(SDCMD_QUERY, core::ptr::null_mut(), 0);
    }
    // SAFETY: as above.
    unsafe {
        abort_io(&mut s.req);
        ensure_eq!(wait_io(&mut s.req), IOERR_ABORTED);
    }
    kprintln!("aborted with {} bytes: {}", s.req.actual, core::str::from_utf8(&buf[..s.req.actual]).unwrap_or("?"));
    ensure_eq!(s.req.actual, 5);
    Ok(())
}

/// How many bytes wait in the receive ring and how many were lost, once the sender stopped.
fn settled(s: &mut Serial) -> (usize, usize) {
    let mut last = usize::MAX;
    loop {
        crate::timer_sleep_ms(300);
        s.cmd(SDCMD_QUERY, core::ptr::null_mut(), 0);
        let seen = s.req.actual + s.req.offset;
        if seen == last && s.req.actual > 0 {
            return (s.req.actual, s.req.offset);
        }
        last = seen;
    }
}

/// Nobody reads while the host sends more than the ring holds: the ring keeps the first 4 KiB
/// and the sender is held back, nothing lost; emptying the ring lets the rest in.
fn serial_full_ring() -> TestResult {
    let mut s = Serial::open()?;
    s.cmd(CMD_CLEAR, core::ptr::null_mut(), 0);
    s.cmd(SDCMD_QUERY, core::ptr::null_mut(), 0);
    let before = s.req.offset;
    kprintln!("flood now:");
    let (waiting, lost) = settled(&mut s);
    kprintln!("waiting {waiting}, overflows {}", lost - before);
    s.cmd(CMD_CLEAR, core::ptr::null_mut(), 0);
    let (waiting, lost) = settled(&mut s);
    kprintln!("after clearing: waiting {waiting}, overflows {}", lost - before);
    s.cmd(CMD_CLEAR, core::ptr::null_mut(), 0);
    Ok(())
}

/// A timer request of 30 ms, ready to send (none if the timer will not open).
fn timer_of_30ms() -> Option<alloc::boxed::Box<Timer>> {
    let mut t = Timer::open(UNIT_MICROHZ).ok()?;
    t.req.io.command = TR_ADDREQUEST;
    t.req.time = TimeVal { secs: 0, micro: 30_000 };
    Some(t)
}

fn waits_on_timer(_: usize) {
    let Some(mut t) = timer_of_30ms() else { return };
    // SAFETY: open request; the task is removed while the request is in flight.
    unsafe { send_io(t.io()) };
    exec::signal::wait(exec::signal::SIGF_CTRL_C);
    core::mem::forget(t);
}

/// A task removed with a timer request in flight: the request is aborted (off the timer's
/// queue), so the timer never replies into the task's freed memory.
fn task_end_aborts_io() -> TestResult {
    let alerts = exec::execbase::counters().alert_count;
    let before = crate::timer::pending();
    let task = exec::task::add_task("io-victim", 5, waits_on_timer, 0, 16 * 1024);
    ensure!(!task.is_null());
    // SAFETY: the task is live: it ran (higher priority) and now waits.
    ensure!(unsafe { (*task).io_in_flight() }, "the task has no request in flight");
    ensure_eq!(crate::timer::pending(), before + 1);
    // SAFETY: the task is live (above) and ours to end.
    unsafe { exec::task::rem_task(task) };
    ensure_eq!(crate::timer::pending(), before, "the request stayed queued");
    crate::timer_sleep_ms(60);
    ensure_eq!(exec::execbase::counters().alert_count, alerts);
    Ok(())
}

/// Waits in do_io (on its reply port's bit) for a timer request of 30 ms.
fn waits_in_wait_io(_: usize) {
    let Some(mut t) = timer_of_30ms() else { return };
    // SAFETY: open request; the task is removed while it waits for it.
    unsafe { exec::device::do_io(t.io()) };
    core::mem::forget(t);
}

/// A task removed while it waits in wait_io: the abort replies its request to its port, whose
/// signal must not make the ending task ready again (it would be on the ready list and among
/// the ended tasks at once, and freed while the ready list still held it).
fn task_waiting_in_wait_io_ends() -> TestResult {
    let alerts = exec::execbase::counters().alert_count;
    let before = crate::timer::pending();
    let task = exec::task::add_task("io-waiter", 5, waits_in_wait_io, 0, 16 * 1024);
    ensure!(!task.is_null());
    // SAFETY: the task is live: it ran (higher priority) and now waits in do_io.
    unsafe {
        ensure_eq!((*task).state, exec::task::TaskState::Waiting);
        exec::task::rem_task(task);
    }
    ensure_eq!(crate::timer::pending(), before, "the request stayed queued");
    // Tasks switch as the test sleeps: with the task freed but still on the ready list (the
    // bug this guards against), the switch to it crashes the machine, which fails the test.
    crate::timer_sleep_ms(60);
    ensure_eq!(exec::execbase::counters().alert_count, alerts);
    Ok(())
}
