//! The jobs service: the shell's commands started, broken and accounted for by a ring-0 task
//! (port `jobs`, served by `system::serve`), so that the shell itself can run in ring 3.
//!
//! Starting a command takes what only ring 0 may do: a task in ring 3 with the job's and the
//! shared state's pages open to it, exec's notice of its end, and BREAK's and CHANGETASKPRI's
//! grants; and its records ([`crate::jobs`]) must be where no command can rewrite them. So the
//! shell sends a [`Request`]: START with the command's place in `COMMANDS`, its CLI number and
//! the texts of its line; RESULT, once exec has signalled the end of a foreground job, for how
//! it ended; BREAK_JOB for Ctrl-C. A ring-3 request is a claim, checked field by field in the
//! kernel's copy; in the mmu build only the shell's task may send one (`system::allowed`;
//! SETTING, a command's change to the shell's state, is the jobs' own: `settings.rs`), and
//! the end of a job signals the sender, never a task the request names. The service's answers
//! are plain integers: nothing of its memory reaches the shell.
//!
//! The flat build takes the same path (one code for both builds).

use crate::commands::COMMANDS;
use crate::jobs::{Job, Pages, shared_state, spawn};
use crate::system::{
    ANSWERED, APPEND, BREAK_JOB, ERR_BAD_REQUEST, ERR_NO_MEMORY, ERR_NO_ROOM, ERR_RUNNING, FOREGROUND, JOBS_PORT_NAME, RESULT, Request, START,
    TEXT_MAX, ask_at,
};

/// The signals a BREAK_JOB may send: Ctrl-C to Ctrl-F.
const BREAK_SIGNALS: u32 = exec::signal::SIGF_CTRL_C | exec::signal::SIGF_CTRL_D | exec::signal::SIGF_CTRL_E | exec::signal::SIGF_CTRL_F;

/// The highest CLI number a job may have: one past what the CLI table holds (the shell takes
/// the lowest free number from 2).
const CLI_MAX: u64 = crate::state::MAX_CLIS as u64 + 1;

/// START, checked: every field in range, the texts within the request and UTF-8, a command
/// other than RUN, a foreground job's waiter a live task; refused with [`ERR_RUNNING`] while
/// the asker's foreground job runs, and with [`ERR_NO_ROOM`] for a background job past the
/// CLI table or the memory RUN keeps.
/// `sender` is the ring-3 task that asks (the shell), whose task exec signals at a foreground
/// job's end; `None` for ring 0, which names the task in `number`. Answers the job's task
/// number.
pub(crate) fn start(r: &mut Request, sender: Option<u64>) -> u64 {
    // RUN is the shell's own (it makes the new CLI): never a job, and in the mmu build the one
    // command that would run in ring 0.
    let Some(command) = usize::try_from(r.command).ok().and_then(|i| COMMANDS.get(i)).filter(|c| c.name != "RUN") else { return ERR_BAD_REQUEST };
    let (args_len, output_len, input_len) = (r.args_len as usize, r.output_len as usize, r.input_len as usize);
    let lengths_fit = args_len <= TEXT_MAX && output_len <= TEXT_MAX && input_len <= TEXT_MAX && args_len + output_len + input_len <= TEXT_MAX;
    if !lengths_fit || !(1..=CLI_MAX).contains(&r.cli) || r.flags & !(FOREGROUND | APPEND) != 0 || r.mask > u64::from(u32::MAX) {
        return ERR_BAD_REQUEST;
    }
    let text = |from: usize, len: usize| core::str::from_utf8(&r.text[from..from + len]).ok();
    let (Some(args), Some(output), Some(input)) = (text(0, args_len), text(args_len, output_len), text(args_len + output_len, input_len)) else {
        return ERR_BAD_REQUEST;
    };
    let foreground = r.flags & FOREGROUND != 0;
    crate::jobs::reap_jobs();
    let owner = sender.unwrap_or(r.number);
    // One foreground job per asker at a time, and no more background ones than the CLI table
    // holds: what the shell asks cannot grow the service's records without bound.
    if foreground && crate::jobs::foreground_running(owner) {
        return ERR_RUNNING;
    }
    if !foreground && (crate::jobs::background_jobs() >= crate::state::MAX_CLIS - 1 || !crate::jobs::room_for_job()) {
        return ERR_NO_ROOM;
    }
    let Some(state) = shared_state() else { return ERR_NO_MEMORY };
    let output = Some((output, r.flags & APPEND != 0)).filter(|o| !o.0.is_empty());
    let input = Some(input).filter(|i| !i.is_empty());
    let Some(job) = Job::new(r.cli as u32, command, args, state.view(), output, input) else { return ERR_BAD_REQUEST };
    let Some(pages) = Pages::new(job) else { return ERR_NO_MEMORY };
    // Forbid from the lookup of the task to notify until exec has recorded it: it cannot end
    // in between.
    exec::sched::forbid();
    let notify = if foreground { exec::task::task_by_number(owner) } else { core::ptr::null_mut() };
    if foreground && notify.is_null() {
        // A foreground job is some live task's to wait for (the record is keyed by it).
        exec::sched::permit();
        return ERR_BAD_REQUEST;
    }
    let mask = if notify.is_null() { 0 } else { r.mask as u32 };
    r.number = spawn(pages, state, notify, mask, foreground);
    exec::sched::permit();
    if r.number == 0 { ERR_NO_MEMORY } else { ANSWERED }
}

/// RESULT: how the foreground job of task `number` ended (its record is freed), or
/// [`ERR_RUNNING`] while it runs, or [`ERR_BAD_REQUEST`] for a number that is no uncollected
/// foreground job's, or, asked by a ring-3 `sender` (the shell), not one it started: it cannot
/// free the record a ring-0 asker waits to collect.
pub(crate) fn result(r: &mut Request, sender: Option<u64>) -> u64 {
    crate::jobs::reap_jobs();
    match crate::jobs::collect(r.number, sender) {
        Ok((rc, error, finished)) => {
            (r.rc, r.dos_error, r.finished) = (rc as u32 as u64, u64::from(error), u64::from(finished));
            ANSWERED
        }
        Err(true) => ERR_RUNNING,
        Err(false) => ERR_BAD_REQUEST,
    }
}

/// BREAK_JOB: break signals (`mask`, Ctrl-C to Ctrl-F only) to the live task of job `number`.
/// A job that has ended is answered all the same (there is nothing to break).
pub(crate) fn break_job(r: &mut Request) -> u64 {
    if r.mask == 0 || r.mask & !u64::from(BREAK_SIGNALS) != 0 {
        return ERR_BAD_REQUEST;
    }
    crate::jobs::break_job(r.number, r.mask as u32);
    ANSWERED
}

/// GOODBYE: the shell that sends it (the ring-3 sender; for ring 0, the current shell) ends at
/// the user's word, and its watcher starts no new one.
pub(crate) fn goodbye(sender: Option<u64>) -> u64 {
    let shell = sender.unwrap_or_else(|| crate::jobs::SHELL_TASK.load(core::sync::atomic::Ordering::SeqCst));
    crate::jobs::SAID_GOODBYE.store(shell, core::sync::atomic::Ordering::SeqCst);
    ANSWERED
}

/// Tells the jobs service that this shell ends at the user's word (see [`goodbye`]).
pub fn ask_goodbye() {
    let mut req = Request::new(crate::system::GOODBYE, core::ptr::null_mut());
    let _ = ask_at(JOBS_PORT_NAME, &mut req);
}

/// What the shell asks START with: the command's place in `COMMANDS`, its CLI, its line.
pub struct StartJob<'a> {
    pub command: usize,
    pub cli: u32,
    pub args: &'a str,
    /// `>` or `>>` (true), or None for the console.
    pub output: Option<(&'a str, bool)>,
    pub input: Option<&'a str>,
    /// A foreground job: the end of its task signals the asker with `mask`.
    pub foreground: bool,
    pub mask: u32,
}

/// Asks the service to start `job`. Result: the job's task number, or the service's error
/// ([`ERR_NO_ROOM`], [`ERR_NO_MEMORY`], [`ERR_RUNNING`], [`ERR_BAD_REQUEST`] for texts too
/// long, `ERR_NOT_ALLOWED` for a ring-3 task that is not the shell, or `UNANSWERED` without
/// the service). Not callable from an interrupt.
pub fn ask_start(job: &StartJob) -> Result<u64, u64> {
    let mut req = Request::new(START, core::ptr::null_mut());
    let (output, append) = job.output.unwrap_or(("", false));
    let input = job.input.unwrap_or("");
    let mut at = 0;
    for t in [job.args, output, input] {
        let to = at + t.len();
        if to > TEXT_MAX {
            return Err(ERR_BAD_REQUEST);
        }
        req.text[at..to].copy_from_slice(t.as_bytes());
        at = to;
    }
    (req.args_len, req.output_len, req.input_len) = (job.args.len() as u64, output.len() as u64, input.len() as u64);
    req.command = job.command as u64;
    req.cli = u64::from(job.cli);
    req.flags = if job.foreground { FOREGROUND } else { 0 } | if append { APPEND } else { 0 };
    req.mask = u64::from(job.mask);
    req.number = crate::my_task_number();
    match ask_at(JOBS_PORT_NAME, &mut req) {
        ANSWERED => Ok(req.number),
        e => Err(e),
    }
}

/// How a foreground job's command ended: (rc, error, whether it finished rather than being
/// removed for a fault); the service's error ([`ERR_RUNNING`] while it runs) otherwise.
pub fn ask_result(number: u64) -> Result<(i32, u32, bool), u64> {
    let mut req = Request::new(RESULT, core::ptr::null_mut());
    req.number = number;
    match ask_at(JOBS_PORT_NAME, &mut req) {
        ANSWERED => Ok((req.rc as u32 as i32, req.dos_error as u32, req.finished != 0)),
        e => Err(e),
    }
}

/// Sends break signals `mask` to job `number`'s task (nothing if it has ended).
pub fn ask_break(number: u64, mask: u32) {
    let mut req = Request::new(BREAK_JOB, core::ptr::null_mut());
    (req.number, req.mask) = (number, u64::from(mask));
    let _ = ask_at(JOBS_PORT_NAME, &mut req);
}
