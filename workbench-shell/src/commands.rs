//! The shell's commands, each with its AmigaDOS argument template. Each runs in an Exec task
//! of its own (see `shell.rs`); `COMMAND ?` prints its template.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use exec::sys::{close_library, open_library};
use exec::memory::MemFlags;
use exec::signal::{SIGF_CTRL_C, SIGF_CTRL_D, SIGF_CTRL_E, SIGF_CTRL_F};

/// The signals a task allocates for itself (its ports' among them).
const SIGNALS_OWN: u32 = !exec::signal::SIGNALS_RESERVED;
use exec::snapshot::{ListEntry, ListKind, SystemInfo, TaskEntry};
use exec::task::{Task, TaskState};
use libraries::readargs::{ArgError, ArgValue};

use crate::con::Con;
use crate::jobs::Job;
use crate::shell::{ERROR_BREAK, ERROR_OBJECT_NOT_FOUND, RC_ERROR, RC_OK, RC_WARN};

/// A shell command.
pub struct Command {
    pub name: &'static str,
    /// AmigaDOS template ("" for none).
    pub template: &'static str,
    pub help: &'static str,
    run: fn(&mut Ctx, &[ArgValue]) -> i32,
    /// Runs in ring 3 in the mmu build, in an address space of its own (it needs nothing but
    /// exec calls and the shell's shared state). The others need ring 0: REBOOT and SHUTDOWN
    /// drive the machine, CRASHTEST starts and watches its culprits from the kernel.
    pub ring3: bool,
}

/// What a running command has: its console, its CLI number, its error number, and the state
/// the shell shares with its commands.
pub struct Ctx {
    pub con: alloc::boxed::Box<Con>,
    pub cli: u32,
    pub error: u32,
    state: crate::jobs::SharedState,
}

impl Ctx {
    /// Runs `f` on the shell's shared state, under Forbid.
    fn with_state<R>(&self, f: impl FnOnce(&mut crate::state::ShellState) -> R) -> R {
        self.state.with(f)
    }

    fn fail(&mut self, rc: i32, error: u32, message: &str) -> i32 {
        self.con.error(message);
        self.error = error;
        rc
    }
}

macro_rules! commands {
    ($( $name:literal, $template:literal, $run:ident, $ring3:literal, $help:literal; )*) => {
        /// Every command, alphabetically.
        pub static COMMANDS: &[Command] = &[ $( Command { name: $name, template: $template, help: $help, run: $run, ring3: $ring3 }, )* ];
    };
}

commands! {
    "ALIAS", "NAME,STRING/F", alias, true, "Define an alias (\"[]\" takes the arguments), or list them";
    "AVAIL", "TOTAL/S", avail, true, "Show free, used and largest memory";
    "BREAK", "PROCESS/A/N,C/S,D/S,E/S,F/S", break_cmd, true, "Send a break signal (default CTRL-C) to a CLI process";
    "CHANGETASKPRI", "PRI=PRIORITY/A/N,PROCESS/K/N", changetaskpri, true, "Change the priority of a CLI process";
    "COLOR", "ON/S,OFF/S", color, true, "Turn ANSI colour on or off";
    "CRASHTEST", "SCENARIO/A", crashtest, false, "Run a misbehaving task (CRASHTEST LIST names the scenarios)";
    "DATE", "", date, true, "Show the date and time";
    "DEVLIST", "", devlist, true, "List the devices";
    "ECHO", "STRING/M,NOLINE/S", echo, true, "Print the arguments";
    "HELP", "COMMAND", help, true, "List the commands, or describe one";
    "LIBLIST", "", liblist, true, "List the libraries";
    "PORTLIST", "", portlist, true, "List the public message ports";
    "PROMPT", "PROMPT/F", prompt, true, "Set the prompt (%N is the CLI number)";
    "REBOOT", "", reboot, false, "Restart the machine";
    "RESLIST", "", reslist, true, "List the resident modules";
    "RUN", "COMMAND/F/A", run_cmd, false, "Run a command in the background, as a new CLI";
    "SHUTDOWN", "", shutdown, false, "End QEMU cleanly";
    "STATUS", "PROCESS/N", status, true, "List the CLI processes and their tasks";
    "TASKLIST", "", tasklist, true, "List every task";
    "UPTIME", "", uptime, true, "Show how long the system has run";
    "VERSION", "", version, true, "Show the kernel version, build mode, CPU and memory";
    "WAIT", "N/N,SEC=SECS/S,MIN=MINS/S,TICKS/S", wait_cmd, true, "Wait N seconds (or minutes, or ticks of 1/50 s)";
    "WHY", "", why, true, "Explain why the last command failed";
}

/// The command called `name` (any case).
pub fn find_command(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// Every command name, for completion.
pub fn command_names() -> Vec<&'static str> {
    COMMANDS.iter().map(|c| c.name).collect()
}

/// Parses `job`'s arguments through dos.library and runs the command. Result: (rc, error).
pub fn run(job: &Job) -> (i32, u32) {
    let color = job.state.with(|s| s.color);
    let Some(con) = Con::open(color) else { return (crate::shell::RC_FAIL, crate::shell::ERROR_NO_FREE_STORE) };
    let mut ctx = Ctx { con, cli: job.cli, error: 0, state: job.state };
    let c = job.command;
    let dos = open_library("dos.library", libraries::dos::DOS_VERSION);
    let parsed = if dos.is_null() {
        Err(ArgError::BadTemplate)
    } else if c.template.is_empty() {
        match job.args().trim() {
            "" => Ok(Vec::new()),
            "?" => Err(ArgError::Help),
            extra => Err(ArgError::TooManyArgs(String::from(extra))),
        }
    } else {
        libraries::dos::read_args(c.template, job.args())
    };
    let rc = match parsed {
        Ok(values) => (c.run)(&mut ctx, &values),
        Err(ArgError::Help) => {
            let t = if c.template.is_empty() { "(no arguments)" } else { c.template };
            let _ = writeln!(ctx.con, "{}: {t}", c.name);
            if c.name == "CRASHTEST" {
                let names: Vec<&str> = crate::crashtest::Scenario::ALL.iter().map(|s| s.name()).collect();
                let _ = writeln!(ctx.con, "Scenarios: {}", names.join(" "));
            }
            RC_OK
        }
        Err(e) => {
            let msg = alloc::format!("{e}");
            ctx.fail(RC_ERROR, e.code(), &msg)
        }
    };
    // SAFETY: opened above (close of null does nothing).
    unsafe { close_library(dos) };
    (rc, ctx.error)
}

fn num(v: &ArgValue) -> Option<i64> {
    if let ArgValue::Num(n) = v { Some(*n) } else { None }
}
fn text(v: &ArgValue) -> Option<&str> {
    if let ArgValue::Str(s) = v { Some(s) } else { None }
}
fn switch(v: &ArgValue) -> bool {
    matches!(v, ArgValue::Switch(true))
}

fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Added => "added",
        TaskState::Ready => "ready",
        TaskState::Running => "running",
        TaskState::Waiting => "waiting",
        TaskState::Removed => "removed",
    }
}

/// A copy of what STATUS and TASKLIST show of a task.
/// exec's avail_mem (works in either ring).
fn free_memory(flags: MemFlags) -> usize {
    exec::sys::avail_mem(flags)
}

/// What `fetch(buffer, room)` copies, growing the buffer until it all fits (`fetch` returns
/// how many records there are).
fn copied<T>(fetch: impl Fn(*mut T, usize) -> usize) -> Vec<T> {
    let mut v: Vec<T> = Vec::new();
    let mut want = 16;
    loop {
        v.reserve(want);
        let n = fetch(v.as_mut_ptr(), want);
        if n <= want {
            // SAFETY: `fetch` wrote `n` records into the buffer.
            unsafe { v.set_len(n) };
            return v;
        }
        want = n + 4;
    }
}

/// Every task, copied by exec (works in either ring).
fn tasks() -> Vec<TaskEntry> {
    // SAFETY: the buffer has room for `max` records.
    copied(|buf, max| unsafe { exec::sys::task_list(buf, max) })
}

/// The list `kind`, copied by exec.
fn nodes(kind: ListKind) -> Vec<ListEntry> {
    // SAFETY: the buffer has room for `max` records.
    copied(|buf, max| unsafe { exec::sys::node_list(kind, buf, max) })
}

fn system_info() -> SystemInfo {
    let mut info = SystemInfo::default();
    // SAFETY: a writable record on this frame.
    unsafe { exec::sys::system_info(&mut info) };
    info
}

fn alias(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    match (text(&a[0]), text(&a[1])) {
        (None, _) => {
            for (n, t) in ctx.with_state(|s| s.aliases()) {
                let _ = writeln!(ctx.con, "{n:<16}{t}");
            }
        }
        (Some(name), None) => match ctx.with_state(|s| s.aliases().into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name))) {
            Some((_, t)) => {
                let _ = writeln!(ctx.con, "{t}");
            }
            None => return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("No alias {name}")),
        },
        (Some(name), Some(t)) => {
            if let Err(e) = ctx.with_state(|s| s.set_alias(name, t)) {
                return ctx.fail(RC_ERROR, 120, e);
            }
        }
    }
    RC_OK
}

fn avail(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let free = free_memory(MemFlags::ANY);
    if switch(&a[0]) {
        let _ = writeln!(ctx.con, "{free}");
        return RC_OK;
    }
    let total = free_memory(MemFlags::TOTAL);
    let largest = free_memory(MemFlags::LARGEST);
    let heap = system_info();
    ctx.con.header("Type   Available     In-Use    Maximum    Largest");
    let _ = writeln!(ctx.con, "exec  {free:>10} {:>10} {total:>10} {largest:>10}", total - free);
    let _ = writeln!(ctx.con, "heap  {:>10} {:>10} {:>10}          -", heap.heap_free, heap.heap_used, heap.heap_size);
    RC_OK
}

/// The tasks of CLI `n` (not the caller).
fn cli_tasks(ctx: &Ctx, n: u32) -> Vec<*mut Task> {
    let me = exec::sys::find_task(None) as usize;
    ctx.with_state(|s| s.clis().iter().filter(|c| c.number == n && c.task != me).map(|c| c.task as *mut Task).collect())
}

fn break_cmd(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
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
/// still there, so that none can end between the check and `f` (in ring 3 the gate checks
/// each task again). A CLI that does not exist is a warning.
fn for_cli_tasks(ctx: &mut Ctx, n: i64, f: impl Fn(*mut Task)) -> i32 {
    let targets = if n > 0 && n <= u32::MAX as i64 { cli_tasks(ctx, n as u32) } else { Vec::new() };
    if targets.is_empty() {
        return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Process {n} does not exist"));
    }
    exec::sys::forbid();
    let live = tasks();
    for t in targets.into_iter().filter(|&t| live.iter().any(|i| i.address == t as usize)) {
        f(t);
    }
    exec::sys::permit();
    RC_OK
}

fn changetaskpri(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
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

fn color(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    if switch(&a[0]) || switch(&a[1]) {
        ctx.with_state(|s| s.color = switch(&a[0]));
    }
    let on = ctx.with_state(|s| s.color);
    let _ = writeln!(ctx.con, "Colour is {}", if on { "on" } else { "off" });
    RC_OK
}

fn crashtest(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let name = text(&a[0]).unwrap_or("");
    if name.eq_ignore_ascii_case("LIST") {
        for s in crate::crashtest::Scenario::ALL {
            let _ = writeln!(ctx.con, "{:<16}{}", s.name(), s.what());
        }
        return RC_OK;
    }
    let Some(s) = crate::crashtest::Scenario::find(name) else {
        return ctx.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, &alloc::format!("No scenario {name} (CRASHTEST LIST names them)"));
    };
    if crate::crashtest::run(&mut ctx.con, s) { RC_OK } else { RC_WARN }
}

fn date(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
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

/// One row of LIBLIST or DEVLIST.
fn library_row(l: &ListEntry) -> String {
    alloc::format!("{:<20}{:>4}.{:<4}{:>6}  {}", l.name.as_str(), l.version, l.revision, l.count, l.detail.as_str())
}

fn print_rows(ctx: &mut Ctx, header: &str, rows: Vec<String>) -> i32 {
    ctx.con.header(header);
    for r in rows {
        let _ = writeln!(ctx.con, "{r}");
    }
    RC_OK
}

fn devlist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let rows = nodes(ListKind::Devices).iter().map(library_row).collect();
    print_rows(ctx, "Device              Version  Opens  Id", rows)
}

fn liblist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let rows = nodes(ListKind::Libraries).iter().map(library_row).collect();
    print_rows(ctx, "Library             Version  Opens  Id", rows)
}

fn portlist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let rows = nodes(ListKind::Ports)
        .iter()
        .map(|p| alloc::format!("{:<24}{:<20}{:>8}", p.name.as_str(), p.detail.as_str(), p.count))
        .collect();
    print_rows(ctx, "Port                    Owner               Messages", rows)
}

fn echo(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let words = match &a[0] {
        ArgValue::Multi(w) => w.join(" "),
        ArgValue::Str(s) => s.clone(),
        _ => String::new(),
    };
    if switch(&a[1]) {
        ctx.con.write(&words);
    } else {
        let _ = writeln!(ctx.con, "{words}");
    }
    RC_OK
}

fn help(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    if let Some(name) = text(&a[0]) {
        let Some(c) = find_command(name) else {
            return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Unknown command {name}"));
        };
        let _ = writeln!(ctx.con, "{}: {}\n  {}", c.name, if c.template.is_empty() { "(no arguments)" } else { c.template }, c.help);
        return RC_OK;
    }
    ctx.con.header("Commands:");
    for row in COMMANDS.chunks(4) {
        let line: String = row.iter().map(|c| alloc::format!("{:<16}", c.name)).collect();
        let _ = writeln!(ctx.con, "  {}", line.trim_end());
    }
    let _ = writeln!(ctx.con, "Type COMMAND ? for its template, HELP COMMAND for what it does.");
    RC_OK
}

fn prompt(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let p = text(&a[0]).map_or(String::from(crate::cli::DEFAULT_PROMPT), |p| alloc::format!("{p} "));
    if !ctx.with_state(|s| s.prompt.set(&p)) {
        return ctx.fail(RC_ERROR, 120, "Prompt too long");
    }
    RC_OK
}

fn reboot(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let _ = writeln!(ctx.con, "Rebooting.");
    exec::arch::x86_64::cpu::reboot()
}

fn reslist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    ctx.con.header("Resident            Pri  Version  Id");
    for r in nodes(ListKind::Residents) {
        let _ = writeln!(ctx.con, "{:<20}{:>3}  {:>7}  {}", r.name.as_str(), r.pri, r.version, r.detail.as_str());
    }
    RC_OK
}

fn run_cmd(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    // RUN is done by the shell itself (it makes the new CLI); reaching here means RUN ran as
    // a command of its own, which has nothing to start.
    ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, "RUN works from the shell prompt only")
}

fn shutdown(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let _ = writeln!(ctx.con, "Shutting down.");
    exec::arch::x86_64::qemu::exit(exec::arch::x86_64::qemu::ExitCode::Success)
}

fn status(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let clis = ctx.with_state(|s| s.clis());
    let live = tasks();
    let only = num(&a[0]);
    ctx.con.header("CLI  Task                Pri  State    SigWait   SigRecvd");
    let mut shown = 0;
    for c in clis.iter().filter(|c| only.is_none_or(|n| n == c.number as i64)) {
        if let Some(t) = live.iter().find(|t| t.address == c.task) {
            let _ = writeln!(ctx.con, "{:>3}  {:<18}{:>5}  {:<8} {:08x}  {:08x}", c.number, t.name.as_str(), t.pri, state_name(t.state), t.sig_wait, t.sig_recvd);
            shown += 1;
        }
    }
    if shown == 0
        && let Some(n) = only
    {
        return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Process {n} does not exist"));
    }
    RC_OK
}

fn tasklist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let list = tasks();
    ctx.con.header("Task                 Pri  State    SigAlloc  SigWait   SigRecvd  Dispatches  Ring");
    for t in &list {
        let _ = writeln!(
            ctx.con,
            "{:<19}{:>5}  {:<8} {:08x}  {:08x}  {:08x}  {:>10}  {:>4}",
            t.name.as_str(), t.pri, state_name(t.state), t.sig_alloc, t.sig_wait, t.sig_recvd, t.dispatches, t.ring
        );
    }
    let c = system_info();
    let _ = writeln!(ctx.con, "{} tasks; {} dispatches, idle woke {} times", list.len(), c.dispatches, c.idle_wakes);
    RC_OK
}

fn uptime(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let ns = system_info().uptime_ns;
    let _ = writeln!(ctx.con, "Up {} ({}.{:02} s)", libraries::format::duration(ns / 1_000_000_000), ns / 1_000_000_000, ns / 10_000_000 % 100);
    RC_OK
}

fn version(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let mut brand = [0u8; 48];
    let _ = writeln!(ctx.con, "Lorraine {} ({})", exec::VERSION, exec::BUILD_MODE);
    let _ = writeln!(ctx.con, "exec.library {}, dos.library {}", exec::sys::EXEC_VERSION, libraries::dos::DOS_VERSION);
    let _ = writeln!(ctx.con, "CPU: {}", exec::arch::x86_64::cpu::brand(&mut brand));
    let mem = system_info().ram_usable;
    let _ = writeln!(ctx.con, "Memory: {} ({} free for tasks)", libraries::format::bytes(mem), libraries::format::bytes(free_memory(MemFlags::ANY) as u64));
    RC_OK
}

/// `n` units of `unit_ns` in nanoseconds; `None` for a negative `n` or one too large to count
/// in nanoseconds (about 584 years), which would otherwise wrap to a short wait.
fn wait_nanos(n: i64, unit_ns: u64) -> Option<u64> {
    u64::try_from(n).ok()?.checked_mul(unit_ns)
}

fn wait_cmd(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
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
        // The port's signal is one of the task's own (bits 16-31); a ring-3 task cannot read
        // which from the port, so it waits for any of them and asks the request.
        let mut broken = false;
        while !exec::sys::check_io(&mut req.io) {
            let got = exec::sys::wait(SIGNALS_OWN | SIGF_CTRL_C);
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

fn why(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let (rc, error) = ctx.with_state(|s| (s.last_rc, s.last_error));
    if rc == 0 {
        let _ = writeln!(ctx.con, "The last command did not set a return code");
    } else {
        let _ = writeln!(ctx.con, "Last command failed because {} (return code {rc}, error {error})", error_text(error));
    }
    RC_OK
}

/// AmigaDOS's words for an error number.
pub fn error_text(error: u32) -> &'static str {
    match error {
        103 => "not enough memory",
        114 => "bad template",
        115 => "bad number",
        116 => "required argument missing",
        117 => "value after keyword missing",
        118 => "wrong number of arguments",
        205 => "object not found (unknown command)",
        304 => "***Break",
        0 => "no error was given",
        _ => "of an unknown error",
    }
}
