//! The shell task (CLI 1): reads lines through serial.device, and runs each command as an Exec
//! task of its own, in the foreground (Ctrl-C breaks it) or, with RUN, in the background as
//! a new CLI.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use exec::execbase::Global;
use exec::sched::{forbid, permit};
use exec::signal::{SIGF_CTRL_C, alloc_signal, free_signal, signal, wait};
use exec::task::{Task, add_task, find_task};

use crate::cli;
use crate::commands::{COMMANDS, Command, command_names, find_command};
use crate::con::Con;
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

/// Stack of every command task.
const COMMAND_STACK: usize = 32 * 1024;

/// A running CLI process: its number, the task running its command, and the command.
#[derive(Clone)]
pub struct CliEntry {
    pub number: u32,
    pub task: *mut Task,
    pub command: String,
}

/// What the shell and its commands share. Forbid (commands run in other tasks).
pub struct ShellState {
    pub prompt: String,
    pub aliases: Vec<(String, String)>,
    /// Return code and error number of the last foreground command.
    pub last_rc: i32,
    pub last_error: u32,
    pub clis: Vec<CliEntry>,
}

static STATE: Global<ShellState> =
    Global::new(ShellState { prompt: String::new(), aliases: Vec::new(), last_rc: 0, last_error: 0, clis: Vec::new() });

/// Runs `f` on the shell's shared state, under Forbid.
pub fn with_state<R>(f: impl FnOnce(&mut ShellState) -> R) -> R {
    forbid();
    // SAFETY: Forbid held: no other task touches the state meanwhile.
    let r = f(unsafe { &mut *STATE.get() });
    permit();
    r
}

/// One command to run: what, where, and how it ended.
pub struct Job {
    pub cli: u32,
    pub command: &'static Command,
    pub args: String,
    pub rc: AtomicI32,
    pub error: AtomicU32,
    pub done: AtomicBool,
    /// The shell waiting for a foreground job (null for RUN), and the signal to send.
    waiter: *mut Task,
    waiter_mask: u32,
}

// SAFETY: a Job is shared between the shell and one command task; its mutable parts are
// atomics, and `waiter` is only read.
unsafe impl Send for Job {}
// SAFETY: as above.
unsafe impl Sync for Job {}

fn command_entry(arg: usize) {
    // SAFETY: `spawn` leaked one reference for this task.
    let job: Arc<Job> = unsafe { Arc::from_raw(arg as *const Job) };
    let (rc, error) = crate::commands::run(&job);
    job.rc.store(rc, Ordering::SeqCst);
    job.error.store(error, Ordering::SeqCst);
    let me = find_task(None);
    with_state(|s| s.clis.retain(|c| c.task != me));
    job.done.store(true, Ordering::SeqCst);
    if !job.waiter.is_null() {
        // SAFETY: the waiting shell lives until it has seen `done`.
        unsafe { signal(job.waiter, job.waiter_mask) };
    }
}

/// Starts `job` as a task named after its command, and lists it as CLI `job.cli`.
fn spawn(job: &Arc<Job>) -> *mut Task {
    let raw = Arc::into_raw(job.clone()) as usize;
    forbid(); // list the task before it can run (and end)
    let t = add_task(job.command.name, 0, command_entry, raw, COMMAND_STACK);
    if t.is_null() {
        // SAFETY: the task never started; take back its reference.
        drop(unsafe { Arc::from_raw(raw as *const Job) });
    } else {
        with_state(|s| s.clis.push(CliEntry { number: job.cli, task: t, command: String::from(job.command.name) }));
    }
    permit();
    t
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

    fn job(&self, cli: u32, command: &'static Command, args: &str, waiter: *mut Task) -> Arc<Job> {
        Arc::new(Job {
            cli,
            command,
            args: String::from(args),
            rc: AtomicI32::new(0),
            error: AtomicU32::new(0),
            done: AtomicBool::new(false),
            waiter,
            waiter_mask: if waiter.is_null() { 0 } else { 1 << self.done_bit },
        })
    }

    fn run_foreground(&mut self, command: &'static Command, args: &str) {
        let job = self.job(1, command, args, find_task(None));
        let task = spawn(&job);
        if task.is_null() {
            self.con.error("Not enough memory to run the command");
            return self.set_last(RC_FAIL, ERROR_NO_FREE_STORE);
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
        let job = self.job(n, command, rest, core::ptr::null_mut());
        if spawn(&job).is_null() {
            self.con.error("Not enough memory to run the command");
            return self.set_last(RC_FAIL, ERROR_NO_FREE_STORE);
        }
        self.con.write(&alloc::format!("[CLI {n}]\n"));
        self.set_last(RC_OK, 0);
    }
}

fn shell_entry(_: usize) {
    let Some(con) = Con::open() else {
        exec::kprintln!("Shell: serial.device would not open.");
        return;
    };
    let done_bit = alloc_signal(-1);
    with_state(|s| {
        s.prompt = String::from(cli::DEFAULT_PROMPT);
        s.clis.push(CliEntry { number: 1, task: find_task(None), command: String::from("Shell") });
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
