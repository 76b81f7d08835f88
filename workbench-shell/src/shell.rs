//! The shell task (CLI 1): reads lines through serial.device, and runs each command as an Exec
//! task of its own, in the foreground (Ctrl-C breaks it) or, with RUN, in the background as
//! a new CLI.
//!
//! A command learns what to do from its [`Job`], a record in pages of its own that the shell
//! keeps until the command's task has ended. In the mmu build a command that needs nothing
//! but exec calls (`Command::ring3`) runs in ring 3 in its own address space, with only its
//! job record shared; the others (those that read exec's lists or the shell's state) run in
//! ring 0, as every command does in the flat build.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use exec::execbase::Global;
use exec::sched::{forbid, permit};
use exec::signal::{SIGF_CTRL_C, alloc_signal, free_signal, signal, wait};
use exec::task::{Task, add_task, find_task};

use crate::cli;
use crate::commands::{COMMANDS, Command, command_names, find_command};
use crate::con::{COLOR, Con};
use crate::keys::{Key, KeyDecoder};
use crate::lineedit::{Action, LineEditor};

/// Return codes, as AmigaDOS has them.
pub const RC_OK: i32 = 0;
pub const RC_WARN: i32 = 5;
pub const RC_ERROR: i32 = 10;
pub const RC_FAIL: i32 = 20;

/// AmigaDOS error numbers the shell reports (WHY explains them).
pub const ERROR_NO_FREE_STORE: u32 = 103;
pub const ERROR_OBJECT_NOT_FOUND: u32 = 205;
pub const ERROR_BREAK: u32 = 304;
pub const ERROR_LINE_TOO_LONG: u32 = 120;

/// Stack of every command task.
const COMMAND_STACK: usize = 32 * 1024;

/// A running CLI process: its number, the task running its command, the command, and its
/// job (null for the shell itself).
#[derive(Clone)]
pub struct CliEntry {
    pub number: u32,
    pub task: *mut Task,
    pub command: String,
    pub job: *const Job,
}

impl CliEntry {
    /// Whether its command is still running. Under Forbid (with_state), a running command's
    /// task cannot end before the Forbid does, so it may be signalled.
    pub fn running(&self) -> bool {
        // SAFETY: a listed job stays allocated until it is reaped, after its task ended.
        self.job.is_null() || !unsafe { (*self.job).done.load(Ordering::SeqCst) }
    }
}

/// What the shell and its commands share. Forbid (commands run in other tasks).
pub struct ShellState {
    pub prompt: String,
    pub aliases: Vec<(String, String)>,
    /// Return code and error number of the last foreground command.
    pub last_rc: i32,
    pub last_error: u32,
    pub clis: Vec<CliEntry>,
    /// Job records, each kept until its task has ended.
    jobs: Vec<(*mut Task, JobBlock)>,
}

static STATE: Global<ShellState> = Global::new(ShellState {
    prompt: String::new(),
    aliases: Vec::new(),
    last_rc: 0,
    last_error: 0,
    clis: Vec::new(),
    jobs: Vec::new(),
});

/// Runs `f` on the shell's shared state, under Forbid.
pub fn with_state<R>(f: impl FnOnce(&mut ShellState) -> R) -> R {
    forbid();
    // SAFETY: Forbid held: no other task touches the state meanwhile.
    let r = f(unsafe { &mut *STATE.get() });
    permit();
    r
}

/// Longest argument string a command takes (a whole line at most).
pub const ARGS_MAX: usize = crate::lineedit::MAX_LINE;

/// One command to run: what, where, and how it ended. It lives in pages of its own (a
/// [`JobBlock`]), which a ring-3 command shares with the shell; it holds no pointer into the
/// shell's memory but the command's own entry (constant) and the shell's task.
#[repr(C)]
pub struct Job {
    pub cli: u32,
    pub command: &'static Command,
    args: [u8; ARGS_MAX],
    args_len: usize,
    /// Whether the command's console uses colour.
    pub color: bool,
    pub rc: AtomicI32,
    pub error: AtomicU32,
    pub done: AtomicBool,
    /// The shell waiting for a foreground job (null for RUN), and the signal to send.
    waiter: *mut Task,
    waiter_mask: u32,
}

impl Job {
    /// The command's arguments.
    pub fn args(&self) -> &str {
        core::str::from_utf8(&self.args[..self.args_len]).unwrap_or("")
    }
}

/// The whole pages holding one [`Job`], from exec memory. Freed when dropped: only once the
/// job's task has ended.
struct JobBlock {
    mem: *mut u8,
    size: usize,
    job: *mut Job,
}

const PAGE: usize = 4096;
/// Bytes of a job record, in whole pages.
const JOB_PAGES: usize = size_of::<Job>().div_ceil(PAGE) * PAGE;

impl JobBlock {
    fn new(job: Job) -> Option<JobBlock> {
        let size = JOB_PAGES + PAGE;
        let mem = exec::memory::alloc_mem(size, exec::memory::MemFlags::PUBLIC | exec::memory::MemFlags::CLEAR);
        if mem.is_null() {
            return None;
        }
        let at = (mem as usize).next_multiple_of(PAGE) as *mut Job;
        // SAFETY: page-aligned inside the fresh block, which has JOB_PAGES bytes from there.
        unsafe { at.write(job) };
        Some(JobBlock { mem, size, job: at })
    }
}

impl Drop for JobBlock {
    fn drop(&mut self) {
        // SAFETY: our block from alloc_mem with this size; its task has ended.
        unsafe { exec::memory::free_mem(self.mem, self.size) };
    }
}

/// Runs the job's command and reports: results, `done`, then the waiting shell's signal.
fn run_job(job: &Job) {
    let (rc, error) = crate::commands::run(job);
    job.rc.store(rc, Ordering::SeqCst);
    job.error.store(error, Ordering::SeqCst);
    job.done.store(true, Ordering::SeqCst);
    if !job.waiter.is_null() {
        // SAFETY: the waiting shell lives until it has seen `done`.
        unsafe { exec::sys::signal(job.waiter, job.waiter_mask) };
    }
}

fn command_entry(arg: usize) {
    // SAFETY: the shell keeps the job until this task has ended.
    run_job(unsafe { &*(arg as *const Job) });
}

/// A ring-3 command (mmu build): its job record is the one page block it shares.
#[cfg(feature = "mmu")]
extern "C" fn command_entry_ring3(arg: u64) -> ! {
    // SAFETY: the shell keeps the job until this task has ended; it is open to us.
    run_job(unsafe { &*(arg as *const Job) });
    // SAFETY: ends the calling task.
    unsafe { exec::sys::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

/// Starts `job`'s command as a task named after it, and lists it as CLI `job.cli`. The shell
/// keeps the job until the task has ended ([`reap`]).
fn spawn(block: JobBlock) -> *mut Task {
    // SAFETY: the block holds a job written by JobBlock::new.
    let (command, cli) = unsafe { ((*block.job).command, (*block.job).cli) };
    let job = block.job;
    forbid(); // list the task before it can run (and end)
    #[cfg(feature = "mmu")]
    let t = if command.ring3 {
        mmu_mode::user::add_user_task_sharing(command.name, 0, command_entry_ring3, job as u64, JOB_PAGES as u64)
    } else {
        add_task(command.name, 0, command_entry, job as usize, COMMAND_STACK)
    };
    #[cfg(not(feature = "mmu"))]
    let t = add_task(command.name, 0, command_entry, job as usize, COMMAND_STACK);
    if !t.is_null() {
        with_state(|s| {
            s.clis.push(CliEntry { number: cli, task: t, command: String::from(command.name), job });
            s.jobs.push((t, block));
        });
    }
    permit();
    t
}

/// Whether `t` is still a task.
fn is_task(t: *mut Task) -> bool {
    let mut found = false;
    exec::task::for_each_task(|task| found |= core::ptr::eq(task, t));
    found
}

/// Forgets finished CLIs, and frees the jobs of tasks that have ended.
fn reap() {
    with_state(|s| {
        s.clis.retain(CliEntry::running);
        s.jobs.retain(|&(t, _)| is_task(t));
    });
}

/// The lowest CLI number not in use (1 is the shell).
fn free_cli_number() -> u32 {
    with_state(|s| (2..).find(|n| !s.clis.iter().any(|c| c.number == *n)).unwrap_or(2))
}

struct Shell {
    con: Box<Con>,
    editor: LineEditor,
    decoder: KeyDecoder,
    /// Bytes typed while a command ran, for the next prompt.
    typeahead: Vec<u8>,
    done_bit: i32,
}

impl Shell {
    fn prompt(&self) -> String {
        with_state(|s| cli::prompt(&s.prompt, 1))
    }

    fn redraw(&mut self) {
        let p = self.prompt();
        let r = self.editor.render(&p);
        self.con.write_raw(r.as_bytes());
    }

    /// Reads input: type-ahead first, then whatever serial.device has (waiting for a byte).
    fn input(&mut self) -> Vec<u8> {
        if !self.typeahead.is_empty() {
            return core::mem::take(&mut self.typeahead);
        }
        let mut bytes = Vec::new();
        loop {
            self.con.poll_input(&mut bytes);
            if !bytes.is_empty() {
                return bytes;
            }
            wait(self.con.read_mask());
        }
    }

    /// Runs until Ctrl-D on an empty line.
    fn run(&mut self) {
        self.con.write("Lorraine Workbench shell. Type HELP for the commands, COMMAND ? for a template.\n");
        self.redraw();
        loop {
            let bytes = self.input();
            for key in self.decoder.feed(&bytes) {
                let names = command_names();
                let appending = matches!(key, Key::Char(_)) && self.editor.cursor() == self.editor.line().chars().count();
                match self.editor.key(key, |w| cli::complete(&names, w)) {
                    Action::None => {}
                    // Typing at the end of the line only needs the character echoed.
                    Action::Redraw if appending => {
                        if let Key::Char(c) = key {
                            let mut b = [0u8; 4];
                            self.con.write_raw(c.encode_utf8(&mut b).as_bytes());
                        }
                    }
                    Action::Redraw => self.redraw(),
                    Action::Bell => self.con.write_raw(b"\x07"),
                    Action::Candidates(list) => {
                        self.con.write(&alloc::format!("\n{}\n", list.join("  ")));
                        self.redraw();
                    }
                    Action::Interrupt => {
                        self.con.write("^C\n");
                        self.redraw();
                    }
                    Action::EndOfInput => {
                        self.con.write("\nProcess 1 ending. (Leave QEMU with Ctrl-A X.)\n");
                        return;
                    }
                    Action::Submit(line) => {
                        self.con.write("\n");
                        self.execute(&line);
                        self.redraw();
                    }
                }
            }
        }
    }

    fn set_last(&self, rc: i32, error: u32) {
        with_state(|s| {
            s.last_rc = rc;
            s.last_error = error;
        });
    }

    fn execute(&mut self, line: &str) {
        reap();
        let line = with_state(|s| cli::expand_alias(line, &s.aliases));
        let Some((word, rest)) = cli::split_command(&line) else { return };
        if word.eq_ignore_ascii_case("RUN") && rest != "?" {
            return self.run_background(rest);
        }
        let Some(command) = find_command(word) else {
            self.con.error(&alloc::format!("Unknown command {word}"));
            return self.set_last(RC_ERROR, ERROR_OBJECT_NOT_FOUND);
        };
        self.run_foreground(command, rest);
    }

    /// A job record for `command`; `None` without memory (the error is reported).
    fn job(&mut self, cli: u32, command: &'static Command, args: &str, waiter: *mut Task) -> Option<JobBlock> {
        if args.len() > ARGS_MAX {
            self.con.error("Argument line too long");
            self.set_last(RC_ERROR, ERROR_LINE_TOO_LONG);
            return None;
        }
        let mut buf = [0u8; ARGS_MAX];
        buf[..args.len()].copy_from_slice(args.as_bytes());
        let block = JobBlock::new(Job {
            cli,
            command,
            args: buf,
            args_len: args.len(),
            color: COLOR.load(Ordering::Relaxed),
            rc: AtomicI32::new(0),
            error: AtomicU32::new(0),
            done: AtomicBool::new(false),
            waiter,
            waiter_mask: if waiter.is_null() { 0 } else { 1 << self.done_bit },
        });
        if block.is_none() {
            self.no_memory();
        }
        block
    }

    fn no_memory(&mut self) {
        self.con.error("Not enough memory to run the command");
        self.set_last(RC_FAIL, ERROR_NO_FREE_STORE);
    }

    fn run_foreground(&mut self, command: &'static Command, args: &str) {
        let Some(block) = self.job(1, command, args, find_task(None)) else { return };
        // SAFETY: the shell keeps the job until its task has ended (reap).
        let job = unsafe { &*block.job };
        let task = spawn(block);
        if task.is_null() {
            return self.no_memory();
        }
        // Wait for the command; meanwhile Ctrl-C breaks it and other typing is kept.
        let mut bytes = Vec::new();
        while !job.done.load(Ordering::SeqCst) {
            bytes.clear();
            self.con.poll_input(&mut bytes);
            for &b in &bytes {
                if b == 0x03 {
                    // Under Forbid the command cannot end between the check and the signal
                    // (`done` is set before it can reach rem_task).
                    forbid();
                    if !job.done.load(Ordering::SeqCst) {
                        // SAFETY: not done, so the task has not ended and is live.
                        unsafe { signal(task, SIGF_CTRL_C) };
                    }
                    permit();
                } else {
                    self.typeahead.push(b);
                }
            }
            if bytes.is_empty() && !job.done.load(Ordering::SeqCst) {
                wait(self.con.read_mask() | 1 << self.done_bit);
            }
        }
        self.set_last(job.rc.load(Ordering::SeqCst), job.error.load(Ordering::SeqCst));
        self.con.set_color(COLOR.load(Ordering::Relaxed));
    }

    fn run_background(&mut self, line: &str) {
        let Some((word, rest)) = cli::split_command(line) else {
            self.con.error("Required argument missing");
            return self.set_last(RC_ERROR, 116);
        };
        let Some(command) = find_command(word) else {
            self.con.error(&alloc::format!("Unknown command {word}"));
            return self.set_last(RC_ERROR, ERROR_OBJECT_NOT_FOUND);
        };
        let n = free_cli_number();
        let Some(block) = self.job(n, command, rest, core::ptr::null_mut()) else { return };
        if spawn(block).is_null() {
            return self.no_memory();
        }
        self.con.write(&alloc::format!("[CLI {n}]\n"));
        self.set_last(RC_OK, 0);
    }
}

fn shell_entry(_: usize) {
    let Some(con) = Con::open(COLOR.load(Ordering::Relaxed)) else {
        exec::kprintln!("Shell: serial.device would not open.");
        return;
    };
    let done_bit = alloc_signal(-1);
    with_state(|s| {
        s.prompt = String::from(cli::DEFAULT_PROMPT);
        s.clis.push(CliEntry { number: 1, task: find_task(None), command: String::from("Shell"), job: core::ptr::null() });
    });
    let mut shell = Shell { con, editor: LineEditor::new(), decoder: KeyDecoder::new(), typeahead: Vec::new(), done_bit };
    shell.run();
    let me = find_task(None);
    with_state(|s| s.clis.retain(|c| c.task != me));
    free_signal(done_bit);
}

/// Starts CLI 1, the shell task. Result: the task, or null if it could not start.
pub fn start() -> *mut Task {
    let _ = COMMANDS.len();
    add_task("Shell", 0, shell_entry, 0, 64 * 1024)
}
