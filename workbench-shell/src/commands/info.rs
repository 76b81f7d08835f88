//! The commands that show and set things: listings (STATUS, TASKLIST, LIBLIST, DEVLIST,
//! PORTLIST, RESLIST, AVAIL), settings (ALIAS, COLOR, PROMPT), words (ECHO, HELP, UPTIME,
//! VERSION, WHY) and a question (ASK). They need no unsafe code.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use exec::memory::MemFlags;
use exec::snapshot::{ListEntry, ListKind};
use exec::task::TaskState;
use libraries::readargs::ArgValue;

use super::snapshot::{free_memory, nodes, system_info, tasks};
use super::{COMMANDS, Ctx, error_text, find_command, num, switch, text};
use crate::shell::{ERROR_OBJECT_NOT_FOUND, RC_ERROR, RC_OK, RC_WARN};
use crate::settings::SettingError;
use crate::state::Setting;

fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Added => "added",
        TaskState::Ready => "ready",
        TaskState::Running => "running",
        TaskState::Waiting => "waiting",
        TaskState::Removed => "removed",
    }
}

pub(super) fn alias(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    match (text(&a[0]), text(&a[1])) {
        (None, _) => {
            for (n, t) in ctx.read_state(|s| s.aliases()) {
                let _ = writeln!(ctx.con, "{n:<16}{t}");
            }
        }
        (Some(name), None) => match ctx.read_state(|s| s.aliases().into_iter().find(|(n, _)| n.eq_ignore_ascii_case(name))) {
            Some((_, t)) => {
                let _ = writeln!(ctx.con, "{t}");
            }
            None => return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("No alias {name}")),
        },
        (Some(name), Some(t)) => {
            // A quoted text is the text (quotes stripped as ECHO strips them).
            let t = crate::cli::unquote(t).unwrap_or_else(|| String::from(t));
            if let Err(e) = crate::settings::ask_change(Setting::Alias, name, &t, false) {
                return ctx.fail(RC_ERROR, 120, &alloc::format!("{e}"));
            }
        }
    }
    RC_OK
}

pub(super) fn unalias(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let name = text(&a[0]).unwrap_or("");
    match crate::settings::ask_change(Setting::Unalias, name, "", false) {
        Ok(()) => {}
        Err(SettingError::Refused(_)) => return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("No alias {name}")),
        Err(e) => return ctx.fail(RC_ERROR, 120, &alloc::format!("{e}")),
    }
    RC_OK
}

pub(super) fn avail(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
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

pub(super) fn color(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    if let Err(e) = libraries::readargs::exclusive(a, &[(0, "ON"), (1, "OFF")]) {
        return ctx.fail(RC_ERROR, e.code(), &alloc::format!("{e}"));
    }
    if (switch(&a[0]) || switch(&a[1]))
        && let Err(e) = crate::settings::ask_change(Setting::Color, "", "", switch(&a[0]))
    {
        return ctx.fail(RC_ERROR, 120, &alloc::format!("{e}"));
    }
    let on = ctx.read_state(|s| s.color());
    let _ = writeln!(ctx.con, "Colour is {}", if on { "on" } else { "off" });
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

pub(super) fn devlist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let rows = nodes(ListKind::Devices).iter().map(library_row).collect();
    print_rows(ctx, "Device              Version  Opens  Id", rows)
}

pub(super) fn liblist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let rows = nodes(ListKind::Libraries).iter().map(library_row).collect();
    print_rows(ctx, "Library             Version  Opens  Id", rows)
}

pub(super) fn portlist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let rows: Vec<String> = nodes(ListKind::Ports)
        .iter()
        .map(|p| alloc::format!("{:<24}{:<20}{:>8}", p.name.as_str(), p.detail.as_str(), p.count))
        .collect();
    if rows.is_empty() {
        let _ = writeln!(ctx.con, "No public ports");
        return RC_OK;
    }
    print_rows(ctx, "Port                    Owner               Messages", rows)
}

/// ASK: prints the prompt and reads answers from Input() until one is yes or no (AmigaDOS's
/// rule: Y or YES, N or NO, any case; the end of the input is no). The return code is the
/// answer: WARN for yes, so that `IF WARN` would take it.
pub(super) fn ask(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let prompt = text(&a[0]).unwrap_or("");
    let mut line = Vec::new();
    loop {
        let _ = write!(ctx.con, "{prompt} ");
        match ctx.read_line(&mut line) {
            Ok(false) => {
                ctx.con.write("\n");
                return RC_OK;
            }
            Ok(true) => {}
            Err(e) => {
                let msg = alloc::format!("ASK: {}", error_text(e as u32));
                return ctx.fail(RC_ERROR, e as u32, &msg);
            }
        }
        let answer = core::str::from_utf8(&line).unwrap_or("").trim();
        if answer.eq_ignore_ascii_case("y") || answer.eq_ignore_ascii_case("yes") {
            return RC_WARN;
        }
        if answer.eq_ignore_ascii_case("n") || answer.eq_ignore_ascii_case("no") {
            return RC_OK;
        }
    }
}

pub(super) fn echo(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
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

pub(super) fn help(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
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

pub(super) fn prompt(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let p = text(&a[0]).map_or(String::from(crate::cli::DEFAULT_PROMPT), crate::cli::prompt_text);
    if let Err(e) = crate::settings::ask_change(Setting::Prompt, &p, "", false) {
        return ctx.fail(RC_ERROR, 120, &alloc::format!("{e}"));
    }
    RC_OK
}

pub(super) fn reslist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    ctx.con.header("Resident            Pri  Version  Id");
    for r in nodes(ListKind::Residents) {
        let _ = writeln!(ctx.con, "{:<20}{:>3}  {:>7}  {}", r.name.as_str(), r.pri, r.version, r.detail.as_str());
    }
    RC_OK
}

pub(super) fn status(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let clis = ctx.read_state(|s| s.clis());
    let live = tasks();
    let only = num(&a[0]);
    // The rows first (in CLI order), so that a process that does not exist gets the error alone.
    let rows: Vec<String> = clis
        .iter()
        .filter(|c| only.is_none_or(|n| n == c.number as i64))
        .filter_map(|c| {
            let t = live.iter().find(|t| t.id == c.task)?;
            Some(alloc::format!("{:>3}  {:<18}{:>5}  {:<8} {:08x}  {:08x}", c.number, t.name.as_str(), t.pri, state_name(t.state), t.sig_wait, t.sig_recvd))
        })
        .collect();
    if rows.is_empty()
        && let Some(n) = only
    {
        return ctx.fail(RC_WARN, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Process {n} does not exist"));
    }
    print_rows(ctx, "CLI  Task                Pri  State    SigWait   SigRecvd", rows)
}

pub(super) fn tasklist(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    // The boot flow, which waits forever once it has started the system, is exec's business.
    let list: Vec<_> = tasks().into_iter().filter(|t| t.name.as_str() != "boot").collect();
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

pub(super) fn uptime(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let ns = system_info().uptime_ns;
    let _ = writeln!(ctx.con, "Up {} ({}.{:02} s)", libraries::format::duration(ns / 1_000_000_000), ns / 1_000_000_000, ns / 10_000_000 % 100);
    RC_OK
}

pub(super) fn version(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let mut brand = [0u8; 48];
    let _ = writeln!(ctx.con, "Lorraine {} ({})", exec::VERSION, exec::BUILD_MODE);
    let _ = writeln!(ctx.con, "exec.library {}, dos.library {}", exec::sys::EXEC_VERSION, libraries::dos::DOS_VERSION);
    let _ = writeln!(ctx.con, "CPU: {}", exec::arch::x86_64::cpu::brand(&mut brand));
    let mem = system_info().ram_usable;
    let _ = writeln!(ctx.con, "Memory: {} ({} free for tasks)", libraries::format::bytes(mem), libraries::format::bytes(free_memory(MemFlags::ANY) as u64));
    RC_OK
}

pub(super) fn why(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let (rc, error, said) = ctx.read_state(|s| (s.last_rc, s.last_error, String::from(s.last_message.as_str())));
    if rc == 0 {
        let _ = writeln!(ctx.con, "The last command did not set a return code");
    } else {
        // The error number's words, and what the command said where that tells more.
        let words = error_text(error);
        let detail = if said.is_empty() || said.eq_ignore_ascii_case(words) { String::new() } else { alloc::format!(": {said}") };
        let _ = writeln!(ctx.con, "Last command failed because {words}{detail} (return code {rc}, error {error})");
    }
    RC_OK
}
