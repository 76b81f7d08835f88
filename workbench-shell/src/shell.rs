//! The shell task (CLI 1): reads lines through serial.device, and runs each command as an Exec
//! task of its own (see `jobs`), in the foreground (Ctrl-C breaks it) or, with RUN, in the
//! background as a new CLI. It runs in ring 0 in both builds: it is the system's console.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use exec::sched::{forbid, permit};
use exec::signal::{SIGF_CTRL_C, alloc_signal, free_signal, set_signal, signal, wait};
use exec::task::{Task, add_task, find_task};

use crate::cli;
use crate::commands::{COMMANDS, Command, command_names, complete_path, find_command};
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
pub const ERROR_TOO_MANY_CLIS: u32 = 105;

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
    /// After `COMMAND ?`: the command whose arguments the next line gives.
    asking: Option<&'static Command>,
    /// Ctrl-D was pressed once while jobs run: a second one ends the shell.
    ending: bool,
}

impl Shell {
    fn prompt(&self) -> alloc::string::String {
        if let Some(c) = self.asking {
            return alloc::format!("{}: {}: ", c.name, c.template);
        }
        with_state(|s| cli::prompt(s.prompt.as_str(), 1, s.last_rc, s.dir()))
    }

    fn redraw(&mut self) {
        self.show(b"");
    }

    /// Writes `bytes`, then redraws the prompt and line, which background jobs then print
    /// above (the state says how to redraw them). Under Forbid, so that a job's output and
    /// ours reach serial.device in the order the state describes.
    fn show(&mut self, bytes: &[u8]) {
        let p = self.prompt();
        let r = self.editor.render(&p);
        let mut out = Vec::with_capacity(bytes.len() + r.len());
        out.extend_from_slice(bytes);
        out.extend_from_slice(r.as_bytes());
        forbid();
        with_state(|s| {
            if !s.redraw.set(&r) {
                s.redraw.set("");
            }
        });
        self.con.write_raw(&out);
        permit();
    }

    /// Appends a typed character: only the character is echoed.
    fn echo(&mut self, c: char) {
        let r = self.editor.render(&self.prompt());
        let mut b = [0u8; 4];
        forbid();
        with_state(|s| {
            if !s.redraw.set(&r) {
                s.redraw.set("");
            }
        });
        self.con.write_raw(c.encode_utf8(&mut b).as_bytes());
        permit();
    }

    /// Background jobs print plainly while the shell is not at its prompt.
    fn leave_prompt(&mut self) {
        with_state(|s| s.redraw.set(""));
    }

    /// Background jobs other than the shell itself.
    fn jobs_running(&self) -> usize {
        reap(shared());
        with_state(|s| s.clis().iter().filter(|c| c.number != 1).count())
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
                let action = self.editor.key(key, |w, first| {
                    if first { cli::complete(&names, w) } else { complete_path(w, &with_state(|s| alloc::string::String::from(s.dir()))) }
                });
                if !matches!(action, Action::EndOfInput | Action::None) {
                    self.ending = false;
                }
                match action {
                    Action::None => {}
                    // Typing at the end of the line only needs the character echoed.
                    Action::Redraw if appending => {
                        if let Key::Char(c) = key {
                            self.echo(c);
                        }
                    }
                    Action::Redraw => self.redraw(),
                    Action::Bell => self.con.write_raw(b"\x07"),
                    Action::Candidates(list) => self.show(alloc::format!("\r\n{}\r\n", list.join("  ")).as_bytes()),
                    Action::Interrupt => {
                        self.asking = None;
                        self.show(b"^C\r\n");
                    }
                    Action::EndOfInput => {
                        let jobs = self.jobs_running();
                        if jobs > 0 && !self.ending {
                            self.ending = true;
                            let m = alloc::format!(
                                "\n{jobs} background job(s) still run (STATUS lists them). Ctrl-D again ends the shell, and the console with it.\n"
                            );
                            self.leave_prompt();
                            self.con.write(&m);
                            self.redraw();
                            continue;
                        }
                        self.leave_prompt();
                        self.con.write("\nProcess 1 ending. (Leave QEMU with Ctrl-A X.)\n");
                        return;
                    }
                    Action::Submit(line) => {
                        self.leave_prompt();
                        self.con.write("\n");
                        match self.asking.take() {
                            Some(c) => self.answer(c, &line),
                            None => self.execute(&line),
                        }
                        self.redraw();
                    }
                }
            }
        }
    }

    /// Records how the last command ended (for WHY and `%R`), and what it said if it failed.
    fn set_last(&self, rc: i32, error: u32, message: &str) {
        with_state(|s| {
            s.last_rc = rc;
            s.last_error = error;
            s.last_message.set_truncated(message);
            s.message_task = 0;
        });
    }

    /// Reports `message` as the failure of the line.
    fn fail(&mut self, rc: i32, error: u32, message: &str) {
        self.con.error(message);
        self.set_last(rc, error, message);
    }

    fn execute(&mut self, line: &str) {
        reap(shared());
        let line = with_state(|s| cli::expand_alias(cli::strip_comment(line), &s.aliases()));
        let Some((word, rest)) = cli::split_command(&line) else { return };
        let word = cli::bare_word(word);
        let Some(command) = find_command(word) else {
            return self.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Unknown command {word}"));
        };
        if rest == "?" && !command.template.is_empty() {
            // As AmigaDOS: the template, then the arguments from the next line.
            if command.name == "CRASHTEST" {
                let names: Vec<&str> = crate::crashtest::Scenario::ALL.iter().map(|s| s.name()).collect();
                self.con.write(&alloc::format!("Scenarios: {}\n", names.join(" ")));
            }
            self.asking = Some(command);
            return;
        }
        self.answer(command, rest);
    }

    /// Runs `command` with `args` (RUN: in the background).
    fn answer(&mut self, command: &'static Command, args: &str) {
        let args = cli::strip_comment(args).trim();
        if command.name == "RUN" {
            return self.run_background(args);
        }
        self.run_foreground(command, args);
        // A BREAK of CLI 1 signals the shell, which has nothing to break: consumed.
        set_signal(0, SIGF_CTRL_C);
    }

    /// A job record for `command`; `None` (the error reported) if the arguments are too long
    /// or there is no memory.
    fn job(&mut self, cli: u32, command: &'static Command, args: &str, waiter: u64) -> Option<Pages<Job>> {
        let mask = if waiter == 0 { 0 } else { 1 << self.done_bit };
        let (args, redirect) = match cli::split_redirection(args) {
            Ok(r) => r,
            Err(msg) => {
                self.fail(RC_ERROR, ERROR_LINE_TOO_LONG, msg);
                return None;
            }
        };
        let output = redirect.output.as_ref().map(|(n, a)| (n.as_str(), *a));
        let Some(job) = Job::new(cli, command, &args, shared(), waiter, mask, output, redirect.input.as_deref()) else {
            self.fail(RC_ERROR, ERROR_LINE_TOO_LONG, "Argument line too long");
            return None;
        };
        let pages = Pages::new(job);
        if pages.is_none() {
            self.no_memory();
        }
        pages
    }

    fn no_memory(&mut self) {
        self.fail(RC_FAIL, ERROR_NO_FREE_STORE, "Not enough memory to run the command");
    }

    fn run_foreground(&mut self, command: &'static Command, args: &str) {
        let Some(pages) = self.job(1, command, args, crate::my_task_number()) else { return };
        // SAFETY: the shell keeps the job until its task has ended (reap).
        let job = unsafe { &*pages.ptr() };
        let number = spawn(pages, find_task(None), 1 << self.done_bit);
        if number == 0 {
            return self.no_memory();
        }
        // Wait for the command; meanwhile Ctrl-C breaks it, and other typing waits in CON: (for
        // the command, if it reads, or the next line; without CON: the shell keeps it). A
        // command removed for a fault never sets `done`; its end signals us all the same.
        let mut bytes = Vec::new();
        let mut gone = false;
        while !job.finished() && !gone {
            bytes.clear();
            self.con.poll_breaks(&mut bytes);
            for &b in &bytes {
                if b == 0x03 {
                    // Under Forbid the command cannot end between the check and the signal
                    // (`done` is set before it can reach rem_task).
                    forbid();
                    let task = exec::task::task_by_number(number);
                    if !job.finished() && !task.is_null() {
                        // SAFETY: a live task (just found, under Forbid).
                        unsafe { signal(task, SIGF_CTRL_C) };
                    }
                    permit();
                } else {
                    self.typeahead.push(b);
                }
            }
            if bytes.is_empty() && !job.finished() {
                wait(self.con.breaks_mask() | 1 << self.done_bit);
            }
            gone = !job.finished() && !exec::task::task_alive(number);
        }
        self.con.end_breaks();
        if gone {
            self.fail(RC_FAIL, 0, &alloc::format!("{} ended without finishing", command.name));
        } else {
            // The command recorded what it said when it failed (a message of an earlier
            // command is not this one's).
            with_state(|s| {
                s.last_rc = job.rc.load(Ordering::SeqCst);
                s.last_error = job.error.load(Ordering::SeqCst);
                if s.last_rc == 0 || s.message_task != number {
                    s.last_message.set("");
                }
            });
        }
        let color = with_state(|s| s.color());
        self.con.set_color(color);
    }

    fn run_background(&mut self, line: &str) {
        let Some((word, rest)) = cli::split_command(line) else {
            return self.fail(RC_ERROR, 116, "Required argument missing");
        };
        let word = cli::bare_word(word);
        let Some(command) = find_command(word) else {
            return self.fail(RC_ERROR, ERROR_OBJECT_NOT_FOUND, &alloc::format!("Unknown command {word}"));
        };
        // Refused before a CLI is announced: what the job could not do anyway, a full CLI list
        // (one place stays for the foreground command), memory the shell keeps for the
        // commands that get you out (STATUS, BREAK, AVAIL, WHY).
        if command.name == "RUN" {
            return self.fail(RC_ERROR, ERROR_LINE_TOO_LONG, "RUN works from the shell prompt only");
        }
        if with_state(|s| s.free_cli_slots()) < 2 {
            return self.fail(RC_FAIL, ERROR_TOO_MANY_CLIS, "Too many CLI processes: BREAK one first");
        }
        if !crate::jobs::room_for_job() {
            return self.fail(RC_FAIL, ERROR_NO_FREE_STORE, "Not enough memory to run another job");
        }
        let n = with_state(|s| s.free_cli_number());
        let Some(pages) = self.job(n, command, rest, 0) else { return };
        if spawn(pages, core::ptr::null_mut(), 0) == 0 {
            return self.no_memory();
        }
        self.con.write(&alloc::format!("[CLI {n}]\n"));
        self.set_last(RC_OK, 0, "");
    }
}

fn shell_entry(_: usize) {
    if STATE.load(Ordering::SeqCst).is_null() {
        // SAFETY: zero bytes are a valid ShellState (empty texts, free CLI slots).
        let Some(pages) = (unsafe { Pages::<ShellState>::zeroed() }) else {
            exec::kprintln!("Shell: no memory for its state.");
            return;
        };
        // SAFETY: fresh pages, ours alone until published below.
        unsafe { (*pages.ptr()).set_color(true) };
        STATE.store(pages.leak(), Ordering::SeqCst);
    }
    let Some(con) = Con::open(with_state(|s| s.color())) else {
        exec::kprintln!("Shell: serial.device would not open.");
        return;
    };
    let done_bit = alloc_signal(-1);
    let me = crate::my_task_number();
    with_state(|s| {
        s.prompt.set(cli::DEFAULT_PROMPT);
        s.add_cli(1, me, "Shell");
    });
    let mut shell = Shell { con, editor: LineEditor::new(), decoder: KeyDecoder::new(), typeahead: Vec::new(), done_bit, asking: None, ending: false };
    shell.run();
    with_state(|s| {
        s.remove_cli(me);
        s.redraw.set("");
    });
    free_signal(done_bit);
}

/// Starts CLI 1, the shell task. Result: the task, or null if it could not start.
pub fn start() -> *mut Task {
    let _ = COMMANDS.len();
    if !crate::system::start() {
        exec::kprintln!("shell: the system service did not start (REBOOT, SHUTDOWN and BENCH will say so)");
    }
    add_task("Shell", 0, shell_entry, 0, 64 * 1024)
}
