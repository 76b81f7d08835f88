//! The shell task (CLI 1): reads lines through serial.device, and runs each command as an Exec
//! task of its own (see `jobs`), in the foreground (Ctrl-C breaks it) or, with RUN, in the
//! background as a new CLI. It runs in ring 0 in both builds: it is the system's console.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exec::sched::{forbid, permit};
use exec::signal::{SIGF_CTRL_C, alloc_signal, free_signal, signal, wait};
use exec::task::{Task, add_task, find_task};

use crate::cli;
use crate::commands::{COMMANDS, Command, command_names, find_command};
use crate::con::Con;
use crate::jobs::{Job, Pages, SharedState, reap, spawn};
use crate::state::ShellState;
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

/// The state the shell shares with its commands: pages of its own, made when the shell
/// first starts and kept for good (commands may map them as long as they run).
static STATE: core::sync::atomic::AtomicPtr<ShellState> = core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// The shared state (made by the shell's first start, before anything asks for it).
fn shared() -> SharedState {
    let at = STATE.load(Ordering::SeqCst);
    assert!(!at.is_null(), "the shell's state is made before its first use");
    // SAFETY: only `shell_entry` stores here: leaked pages of the state, kept for good.
    unsafe { SharedState::new(at) }
}

/// Runs `f` on the shared state, under Forbid (for the shell and its ring-0 commands).
pub fn with_state<R>(f: impl FnOnce(&mut ShellState) -> R) -> R {
    shared().with(f)
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
    fn prompt(&self) -> alloc::string::String {
        with_state(|s| cli::prompt(s.prompt.as_str(), 1))
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
        reap(shared());
        let line = with_state(|s| cli::expand_alias(line, &s.aliases()));
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

    /// A job record for `command`; `None` (the error reported) if the arguments are too long
    /// or there is no memory.
    fn job(&mut self, cli: u32, command: &'static Command, args: &str, waiter: *mut Task) -> Option<Pages<Job>> {
        let mask = if waiter.is_null() { 0 } else { 1 << self.done_bit };
        let Some(job) = Job::new(cli, command, args, shared(), waiter, mask) else {
            self.con.error("Argument line too long");
            self.set_last(RC_ERROR, ERROR_LINE_TOO_LONG);
            return None;
        };
        let pages = Pages::new(job);
        if pages.is_none() {
            self.no_memory();
        }
        pages
    }

    fn no_memory(&mut self) {
        self.con.error("Not enough memory to run the command");
        self.set_last(RC_FAIL, ERROR_NO_FREE_STORE);
    }

    fn run_foreground(&mut self, command: &'static Command, args: &str) {
        let Some(pages) = self.job(1, command, args, find_task(None)) else { return };
        // SAFETY: the shell keeps the job until its task has ended (reap).
        let job = unsafe { &*pages.ptr() };
        let task = spawn(pages, find_task(None), 1 << self.done_bit);
        if task.is_null() {
            return self.no_memory();
        }
        // Wait for the command; meanwhile Ctrl-C breaks it and other typing is kept. A
        // command removed for a fault never sets `done`; its end signals us all the same.
        let mut bytes = Vec::new();
        let mut gone = false;
        while !job.done.load(Ordering::SeqCst) && !gone {
            bytes.clear();
            self.con.poll_input(&mut bytes);
            for &b in &bytes {
                if b == 0x03 {
                    // Under Forbid the command cannot end between the check and the signal
                    // (`done` is set before it can reach rem_task).
                    forbid();
                    if !job.done.load(Ordering::SeqCst) && exec::task::is_live(task) {
                        // SAFETY: a live task (just checked, under Forbid).
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
            gone = !job.done.load(Ordering::SeqCst) && !exec::task::is_live(task);
        }
        if gone {
            self.con.error(&alloc::format!("{} ended without finishing", command.name));
            self.set_last(RC_FAIL, 0);
        } else {
            self.set_last(job.rc.load(Ordering::SeqCst), job.error.load(Ordering::SeqCst));
        }
        let color = with_state(|s| s.color);
        self.con.set_color(color);
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
        let n = with_state(|s| s.free_cli_number());
        let Some(pages) = self.job(n, command, rest, core::ptr::null_mut()) else { return };
        if spawn(pages, core::ptr::null_mut(), 0).is_null() {
            return self.no_memory();
        }
        self.con.write(&alloc::format!("[CLI {n}]\n"));
        self.set_last(RC_OK, 0);
    }
}

fn shell_entry(_: usize) {
    if STATE.load(Ordering::SeqCst).is_null() {
        let Some(pages) = Pages::new(ShellState::default()) else {
            exec::kprintln!("Shell: no memory for its state.");
            return;
        };
        STATE.store(pages.leak(), Ordering::SeqCst);
    }
    let Some(con) = Con::open(with_state(|s| s.color)) else {
        exec::kprintln!("Shell: serial.device would not open.");
        return;
    };
    let done_bit = alloc_signal(-1);
    let me = find_task(None) as usize;
    with_state(|s| {
        s.prompt.set(cli::DEFAULT_PROMPT);
        s.add_cli(1, me, "Shell");
    });
    let mut shell = Shell { con, editor: LineEditor::new(), decoder: KeyDecoder::new(), typeahead: Vec::new(), done_bit };
    shell.run();
    with_state(|s| s.remove_cli(me));
    free_signal(done_bit);
}

/// Starts CLI 1, the shell task. Result: the task, or null if it could not start.
pub fn start() -> *mut Task {
    let _ = COMMANDS.len();
    add_task("Shell", 0, shell_entry, 0, 64 * 1024)
}
