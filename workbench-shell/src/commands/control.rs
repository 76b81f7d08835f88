//! The commands that act on tasks, devices and the machine: BREAK and CHANGETASKPRI (exec
//! calls on other tasks), DATE and WAIT (timer.device requests on the command's stack),
//! CRASHTEST, REBOOT, SHUTDOWN and RUN.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use exec::signal::{SIGF_CTRL_C, SIGF_CTRL_D, SIGF_CTRL_E, SIGF_CTRL_F};
use exec::task::Task;
use libraries::readargs::ArgValue;

use super::{Ctx, num, switch, text};
use crate::shell::{ERROR_BREAK, ERROR_OBJECT_NOT_FOUND, RC_ERROR, RC_FAIL, RC_OK, RC_WARN};

/// The task numbers of CLI `n` (not the caller's).
fn cli_tasks(ctx: &Ctx, n: u32) -> Vec<u64> {
    let me = crate::my_task_number();
    ctx.read_state(|s| s.clis().iter().filter(|c| c.number == n && c.task != me).map(|c| c.task).collect())
}

pub(super) fn break_cmd(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let n = num(&a[0]).unwrap_or(0);
    let mut mask = 0;
    for (i, m) in [SIGF_CTRL_C, SIGF_CTRL_D, SIGF_CTRL_E, SIGF_CTRL_F].into_iter().enumerate() {
        if switch(&a[i + 1]) {
            mask |= m;
        }
    }
    if mask == 0 {
        mask = SIGF_CTRL_C;
    }
    // SAFETY: a live task (see for_cli_tasks).
    for_cli_tasks(ctx, n, |t| unsafe { exec::sys::signal(t, mask) })
}

/// Calls `f` for every task of CLI `n` (not the caller's), under Forbid and only for tasks
/// still there (found by number, in O(1)), so that none can end between the check and `f` (in
/// ring 3 the gate checks each number again). A CLI that does not exist is a warning.
fn for_cli_tasks(ctx: &mut Ctx, n: i64, f: impl Fn(*mut Task)) -> i32 {
    let targets = if n > 0 && n <= u32::MAX as i64 { cli_tasks(ctx, n as u32) } else { Vec::new() };
    if targets.is_empty() {
        return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Process {n} does not exist"));
    }
    exec::sys::forbid();
    for t in targets.into_iter().map(exec::sys::task_by_number).filter(|t| !t.is_null()) {
        f(t);
    }
    exec::sys::permit();
    RC_OK
}

pub(super) fn changetaskpri(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let pri = num(&a[0]).unwrap_or(0);
    if !(-128..=127).contains(&pri) {
        return ctx.fail(RC_ERROR, 115, "Priority out of range (-128 to 127)");
    }
    let n = num(&a[1]).unwrap_or(1);
    // SAFETY: a live task (see for_cli_tasks).
    for_cli_tasks(ctx, n, |t| unsafe {
        exec::sys::set_task_pri(t, pri as i8);
    })
}

/// BENCH: runs one row of exec's benchmark (`make bench`'s rows, with its names) in the
/// running system, through the system service (which times it in ring 0 in both builds: it
/// measures exec's own paths, and starts its servers once, for good), and prints it as
/// `make bench` prints a row, what timing costs subtracted as there.
pub(super) fn bench(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    use exec::bench::Row;
    let Some(name) = text(&a[0]) else {
        let names: Vec<&str> = Row::ALL.iter().map(|r| r.name()).collect();
        let _ = writeln!(ctx.con, "Rows: {}", names.join(" "));
        return RC_OK;
    };
    let Some(row) = Row::find(name) else {
        return ctx.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, &alloc::format!("No row {name} (BENCH alone names them)"));
    };
    let size = num(&a[1]).unwrap_or(64);
    let count = num(&a[2]).unwrap_or(1000);
    if !(0..=1 << 20).contains(&size) || !(1..=100_000).contains(&count) {
        return ctx.fail(RC_ERROR, 115, "SIZE is 0 to 1048576 bytes, COUNT 1 to 100000");
    }
    let mut req = crate::system::Request::new(crate::system::BENCH, core::ptr::null_mut());
    req.row = Row::ALL.iter().position(|&r| r == row).unwrap_or(0) as u64;
    (req.size, req.count, req.read) = (size as u64, count as u64, switch(&a[3]) as u64);
    if let Err(rc) = ask_system(ctx, &mut req) {
        return rc;
    }
    let (median, p99, overhead) = (req.median, req.p99, req.overhead);
    // Sizes as `make bench` writes them: header only, 64 B, 4 KiB, 1 MiB.
    let size_text = match size {
        0 => String::from("header only"),
        s if s >= 1 << 20 && s % (1 << 20) == 0 => alloc::format!("{} MiB", s >> 20),
        s if s >= 1024 && s % 1024 == 0 => alloc::format!("{} KiB", s >> 10),
        s => alloc::format!("{s} B"),
    };
    let label = match (row.sized(), switch(&a[3])) {
        (true, false) => alloc::format!("{} {size_text}", row.name()),
        (true, true) => alloc::format!("{} {size_text} (reads body)", row.name()),
        (false, _) => String::from(row.name()),
    };
    let _ = writeln!(ctx.con, "| benchmark | {} median | {} p99 |", exec::BUILD_MODE, exec::BUILD_MODE);
    let _ = writeln!(ctx.con, "| {label} | {median} | {p99} |");
    let _ = writeln!(ctx.con, "(TSC ticks, {count} samples, less {overhead} that timing costs: guest instructions under QEMU TCG with -icount shift=0)");
    RC_OK
}

pub(super) fn crashtest(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let name = text(&a[0]).unwrap_or("");
    if name.eq_ignore_ascii_case("LIST") {
        let width = crate::crashtest::Scenario::ALL.iter().map(|s| s.name().len()).max().unwrap_or(0) + 2;
        for s in crate::crashtest::Scenario::ALL {
            let _ = writeln!(ctx.con, "{:<width$}{}", s.name(), s.what());
        }
        return RC_OK;
    }
    let Some(s) = crate::crashtest::Scenario::find(name) else {
        return ctx.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, &alloc::format!("No scenario {name} (CRASHTEST LIST names them)"));
    };
    ctx.con.write(&crate::crashtest::header(s));
    // The system service runs and watches it in ring 0, and answers its report.
    let mut req = crate::system::Request::new(crate::system::CRASHTEST, core::ptr::null_mut());
    req.scenario = crate::crashtest::Scenario::ALL.iter().position(|&x| x == s).unwrap_or(0) as u64;
    if let Err(rc) = ask_system(ctx, &mut req) {
        return rc;
    }
    ctx.con.write(req.text());
    if req.contained == 1 { RC_OK } else { RC_WARN }
}

pub(super) fn date(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    // SAFETY: the request and port live on this frame until closed and deleted.
    let secs = unsafe {
        let port = exec::sys::create_msg_port();
        let mut req = devices::timer::TimeRequest::new(port);
        let ok = !port.is_null() && exec::sys::open_device("timer.device", devices::timer::UNIT_MICROHZ, &mut req.io, 0) == 0;
        if ok {
            req.io.command = devices::timer::TR_GETSYSTIME;
            exec::sys::do_io(&mut req.io);
            exec::sys::close_device(&mut req.io);
        }
        exec::sys::delete_msg_port(port);
        ok.then_some(req.time.secs)
    };
    let Some(secs) = secs else { return ctx.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, "timer.device would not open") };
    let mut s = String::new();
    let _ = exec::date::format_amiga(secs, &mut s);
    let _ = writeln!(ctx.con, "{s}");
    RC_OK
}

/// Asks the system service for `kind`; a failure is reported (the machine goes on).
fn ask_system(ctx: &mut Ctx, req: &mut crate::system::Request) -> Result<(), i32> {
    match crate::system::ask(req) {
        crate::system::ANSWERED => Ok(()),
        crate::system::ERR_NO_MEMORY => Err(ctx.fail(RC_ERROR, crate::shell::ERROR_NO_FREE_STORE, "Not enough memory for the message")),
        crate::system::ERR_WRONG_RESULT => Err(ctx.fail(RC_FAIL, 0, "The benchmark's messages came back wrong")),
        e => Err(ctx.fail(RC_FAIL, 0, &alloc::format!("The system service refused the request ({e})"))),
    }
}

/// REBOOT: a request to the system service, which restarts the machine (no answer comes).
pub(super) fn reboot(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let _ = writeln!(ctx.con, "Rebooting.");
    let mut req = crate::system::Request::new(crate::system::REBOOT, core::ptr::null_mut());
    ask_system(ctx, &mut req).err().unwrap_or(RC_OK)
}

pub(super) fn run_cmd(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    // RUN is done by the shell itself (it makes the new CLI); reaching here means RUN ran as
    // a command of its own, which has nothing to start.
    ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, "RUN works from the shell prompt only")
}

/// SHUTDOWN: a request to the system service, which ends QEMU.
pub(super) fn shutdown(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let _ = writeln!(ctx.con, "Shutting down.");
    let mut req = crate::system::Request::new(crate::system::SHUTDOWN, core::ptr::null_mut());
    ask_system(ctx, &mut req).err().unwrap_or(RC_OK)
}

/// `n` units of `unit_ns` in nanoseconds; `None` for a negative `n` or one too large to count
/// in nanoseconds (about 584 years), which would otherwise wrap to a short wait.
fn wait_nanos(n: i64, unit_ns: u64) -> Option<u64> {
    u64::try_from(n).ok()?.checked_mul(unit_ns)
}

pub(super) fn wait_cmd(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    if let Err(e) = libraries::readargs::exclusive(a, &[(1, "SEC"), (2, "MIN"), (3, "TICKS")]) {
        return ctx.fail(RC_ERROR, e.code(), &alloc::format!("{e}"));
    }
    let unit_ns = if switch(&a[2]) {
        60_000_000_000
    } else if switch(&a[3]) {
        20_000_000
    } else {
        1_000_000_000
    };
    let Some(ns) = wait_nanos(num(&a[0]).unwrap_or(1), unit_ns) else {
        return ctx.fail(RC_ERROR, 115, "Bad number");
    };
    let port = exec::sys::create_msg_port();
    if port.is_null() {
        return ctx.fail(RC_ERROR, crate::shell::ERROR_NO_FREE_STORE, "No signal or memory for a reply port");
    }
    let mut req = devices::timer::TimeRequest::new(port);
    // SAFETY: the request and port live on this frame until closed and deleted.
    unsafe {
        if exec::sys::open_device("timer.device", devices::timer::UNIT_MICROHZ, &mut req.io, 0) != 0 {
            exec::sys::delete_msg_port(port);
            return ctx.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, "timer.device would not open");
        }
        req.io.command = devices::timer::TR_ADDREQUEST;
        req.time = devices::timer::TimeVal::from_nanos(ns);
        exec::sys::send_io(&mut req.io);
        // The reply signals the port's bit (in ring 3 too: see mmu-mode's io.rs), as Exec's
        // does: wait for it or Ctrl-C, then ask the request.
        let reply = exec::sys::port_signal(port);
        let mut broken = false;
        while !exec::sys::check_io(&mut req.io) {
            let got = exec::sys::wait(reply | SIGF_CTRL_C);
            if got & SIGF_CTRL_C != 0 && !exec::sys::check_io(&mut req.io) {
                broken = true;
                exec::sys::abort_io(&mut req.io);
                break;
            }
        }
        exec::sys::wait_io(&mut req.io);
        exec::sys::close_device(&mut req.io);
        exec::sys::delete_msg_port(port);
        if broken {
            return ctx.fail(RC_WARN, ERROR_BREAK, "***Break");
        }
    }
    RC_OK
}
