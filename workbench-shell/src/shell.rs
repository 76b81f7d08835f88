//! The shell task (CLI 1): reads lines through CON:, and has each command run as an Exec task
//! of its own by the jobs service (`job_service`), in the foreground (Ctrl-C breaks it) or,
//! with RUN, in the background as a new CLI. It calls exec only through its vector table
//! (`exec::sys`; timer.device for its pauses) and DOS through dos.library's, so the same code
//! runs in ring 0 (flat build) and in ring 3 (mmu build), where it is a task like its
//! commands: a fault of its own ends it, not the system, and it reaches no kernel memory.
//! What it may not do there (start tasks, open pages to them, hear of their end) it asks the
//! jobs service for. (`start`, which boot calls, is ring 0.)

use alloc::boxed::Box;
use alloc::vec::Vec;

use exec::signal::SIGF_CTRL_C;
use exec::sys;

use crate::cli;
use crate::commands::{COMMANDS, Command, command_names, complete_path, find_command};
use crate::con::Con;
use crate::job_service::{StartJob, ask_break, ask_result, ask_start};
use crate::jobs::{SharedState, forget_ended_clis};
use crate::keys::{Key, KeyDecoder};
use crate::lineedit::{Action, LineEditor};
use crate::state::{DIR_MAX, ShellState};

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

struct Shell {
    /// The state shared with the commands (pages the jobs service made, open to us).
    state: SharedState,
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
    /// Runs `f` on the shared state, under Forbid.
    fn with_state<R>(&self, f: impl FnOnce(&mut ShellState) -> R) -> R {
        self.state.with(f)
    }

    fn prompt(&self) -> alloc::string::String {
        if let Some(c) = self.asking {
            return alloc::format!("{}: {}: ", c.name, c.template);
        }
        self.with_state(|s| cli::prompt(s.prompt.as_str(), 1, s.last_rc, s.dir()))
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
        sys::forbid();
        self.with_state(|s| {
            if !s.redraw.set(&r) {
                s.redraw.set("");
            }
        });
        self.con.write_raw(&out);
        sys::permit();
    }

    /// Appends a typed character: only the character is echoed.
    fn echo(&mut self, c: char) {
        let r = self.editor.render(&self.prompt());
        let mut b = [0u8; 4];
        sys::forbid();
        self.with_state(|s| {
            if !s.redraw.set(&r) {
                s.redraw.set("");
            }
        });
        self.con.write_raw(c.encode_utf8(&mut b).as_bytes());
        sys::permit();
    }

    /// Background jobs print plainly while the shell is not at its prompt.
    fn leave_prompt(&mut self) {
        self.with_state(|s| s.redraw.set(""));
    }

    /// Background jobs other than the shell itself.
    fn jobs_running(&self) -> usize {
        forget_ended_clis(self.state);
        self.with_state(|s| s.clis().iter().filter(|c| c.number != 1).count())
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
            sys::wait(self.con.read_mask());
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
                let state = self.state;
                let action = self.editor.key(key, |w, first| {
                    if first { cli::complete(&names, w) } else { complete_path(w, &state.with(|s| alloc::string::String::from(s.dir()))) }
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
        self.with_state(|s| {
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
        forget_ended_clis(self.state);
        let line = self.with_state(|s| cli::expand_alias(cli::strip_comment(line), &s.aliases()));
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
        sys::set_signal(0, SIGF_CTRL_C);
    }

    /// Asks the jobs service to run `command` with `args` (redirections included) as CLI
    /// `cli`, in the foreground (the end of its task signals our done bit) or not. Result: the
    /// job's task number; `None` once the failure is reported.
    fn start_job(&mut self, cli: u32, command: &'static Command, args: &str, foreground: bool) -> Option<u64> {
        let (args, redirect) = match cli::split_redirection(args) {
            Ok(r) => r,
            Err(msg) => {
                self.fail(RC_ERROR, ERROR_LINE_TOO_LONG, msg);
                return None;
            }
        };
        let output = redirect.output.as_ref().map(|(n, a)| (n.as_str(), *a));
        let too_long = args.len() > crate::jobs::ARGS_MAX || output.is_some_and(|o| o.0.len() > DIR_MAX) || redirect.input.as_ref().is_some_and(|i| i.len() > DIR_MAX);
        let index = COMMANDS.iter().position(|c| core::ptr::eq(c, command));
        let job = StartJob {
            command: index.unwrap_or(usize::MAX),
            cli,
            args: &args,
            output,
            input: redirect.input.as_deref(),
            foreground,
            mask: 1 << self.done_bit,
        };
        let answer = if too_long { Err(crate::system::ERR_BAD_REQUEST) } else { ask_start(&job) };
        let (rc, error, message) = match answer {
            Ok(number) => return Some(number),
            Err(crate::system::ERR_BAD_REQUEST) => (RC_ERROR, ERROR_LINE_TOO_LONG, "Argument line too long"),
            Err(crate::system::ERR_NO_ROOM) => (RC_FAIL, ERROR_NO_FREE_STORE, "Not enough memory to run another job"),
            Err(crate::system::ERR_NO_MEMORY) => (RC_FAIL, ERROR_NO_FREE_STORE, "Not enough memory to run the command"),
            Err(crate::system::ERR_RUNNING) => (RC_FAIL, 0, "The jobs service says a command of this shell still runs"),
            Err(crate::system::ERR_NOT_ALLOWED) => (RC_FAIL, 0, "The jobs service does not take this shell's requests"),
            Err(_) => (RC_FAIL, 0, "The jobs service is not there: no command can run"),
        };
        self.fail(rc, error, message);
        None
    }

    fn run_foreground(&mut self, command: &'static Command, args: &str) {
        let Some(number) = self.start_job(1, command, args, true) else { return };
        // Wait for the command's task to end (exec signals our done bit then, however it
        // ends); meanwhile Ctrl-C breaks it, and other typing waits in CON: (for the command,
        // if it reads, or the next line; without CON: the shell keeps it).
        let mut bytes = Vec::new();
        while sys::task_alive(number) {
            bytes.clear();
            self.con.poll_breaks(&mut bytes);
            for &b in &bytes {
                if b == 0x03 {
                    ask_break(number, SIGF_CTRL_C);
                } else {
                    self.typeahead.push(b);
                }
            }
            if bytes.is_empty() && sys::task_alive(number) {
                sys::wait(self.con.breaks_mask() | 1 << self.done_bit);
            }
        }
        self.con.end_breaks();
        match ask_result(number) {
            // The command recorded what it said when it failed (a message of an earlier
            // command is not this one's).
            Ok((rc, error, true)) => self.with_state(|s| {
                s.last_rc = rc;
                s.last_error = error;
                if s.last_rc == 0 || s.message_task != number {
                    s.last_message.set("");
                }
            }),
            // A command removed for a fault never says it finished.
            Ok((_, _, false)) => self.fail(RC_FAIL, 0, &alloc::format!("{} ended without finishing", command.name)),
            Err(_) => self.fail(RC_FAIL, 0, &alloc::format!("{} ended; the jobs service lost how", command.name)),
        }
        let color = self.with_state(|s| s.color());
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
        // (one place stays for the foreground command), and (the service's check) memory kept
        // for the commands that get you out (STATUS, BREAK, AVAIL, WHY).
        if command.name == "RUN" {
            return self.fail(RC_ERROR, ERROR_LINE_TOO_LONG, "RUN works from the shell prompt only");
        }
        if self.with_state(|s| s.free_cli_slots()) < 2 {
            return self.fail(RC_FAIL, ERROR_TOO_MANY_CLIS, "Too many CLI processes: BREAK one first");
        }
        let n = self.with_state(|s| s.free_cli_number());
        if self.start_job(n, command, rest, false).is_none() {
            return;
        }
        self.con.write(&alloc::format!("[CLI {n}]\n"));
        self.set_last(RC_OK, 0, "");
    }
}

/// The shell's life: dos.library and the console opened, CLI 1 listed, lines run until
/// Ctrl-D, then all given back and goodbye said to the jobs service (so that no watcher starts
/// a new shell). From either ring.
fn run_shell(state: SharedState) {
    let dos = sys::open_library("dos.library", libraries::dos::DOS_VERSION);
    if dos.is_null() {
        return;
    }
    if let Some(con) = Con::open(state.with(|s| s.color())) {
        let done_bit = sys::alloc_signal(-1);
        let me = crate::my_task_number();
        state.with(|s| s.add_cli(1, me, "Shell"));
        let mut shell = Shell { state, con, editor: LineEditor::new(), decoder: KeyDecoder::new(), typeahead: Vec::new(), done_bit, asking: None, ending: false };
        shell.run();
        drop(shell);
        state.with(|s| {
            s.remove_cli(me);
            s.redraw.set("");
        });
        crate::job_service::ask_goodbye();
        sys::free_signal(done_bit);
    }
    // SAFETY: opened above; nothing of the library is used after this.
    unsafe { sys::close_library(dos) };
}

/// CLI 1 in ring 0 (flat build): `arg` is the shared state's address.
#[cfg(not(feature = "mmu"))]
fn shell_entry(arg: usize) {
    // SAFETY: `start` passes the shared state, which lives for good.
    run_shell(unsafe { SharedState::new(arg as *mut ShellState) });
}

/// CLI 1 in ring 3 (mmu build): `arg` is the shared state's address, open to this task.
#[cfg(feature = "mmu")]
extern "C" fn shell_entry(arg: u64) -> ! {
    // SAFETY: `start` passes the shared state, which lives for good and is open to us.
    run_shell(unsafe { SharedState::new(arg as *mut ShellState) });
    // SAFETY: ends the calling task.
    unsafe { sys::rem_task(core::ptr::null_mut()) };
    unreachable!()
}

/// The shell's stack (its line editor, history and requests live there and in its heap).
const SHELL_STACK: usize = 64 * 1024;

/// CLI 1 in ring 3 with the shared state open to it read-write, its one writer besides ring
/// 0 (mmu build; for the watcher).
#[cfg(feature = "mmu")]
fn start_ring3(state: SharedState) -> *mut exec::task::Task {
    let shared = [(state.addr(), crate::jobs::Pages::<ShellState>::LEN as u64, mmu_mode::pte::Access::ReadWrite)];
    mmu_mode::user::add_user_task_sharing("Shell", 0, shell_entry, state.addr(), &shared, SHELL_STACK)
}

/// The watcher of CLI 1 (mmu build): `arg` is the shared state's address.
#[cfg(feature = "mmu")]
fn watcher(arg: usize) {
    // SAFETY: `start` passes the shared state, which lives for good.
    crate::watch::keep_running(unsafe { SharedState::new(arg as *mut ShellState) }, start_ring3);
}

/// Starts the system and jobs services, then CLI 1, the shell task: in ring 0 in the flat
/// build; in the mmu build in ring 3, with the shared state open to it, by its watcher
/// (`shell.watch`, which starts it again after a fault). Result: the shell's task (the
/// watcher's in the mmu build), or null if it could not start (said on the kernel console).
/// Ring 0 (boot).
pub fn start() -> *mut exec::task::Task {
    let Some(state) = crate::jobs::shared_state() else {
        exec::kprintln!("Shell: no memory for its state.");
        return core::ptr::null_mut();
    };
    // vte's parser searches with memchr, which caches its routine in a static on the first
    // search: made here, in ring 0, since ring 3 may read that static but not write it
    // (`linker.ld`'s .ring3_ro).
    let _ = KeyDecoder::new().feed(b"Lorraine");
    if !crate::system::start() {
        exec::kprintln!("shell: the system or jobs service did not start (commands, REBOOT, SHUTDOWN and BENCH will say so)");
    }
    #[cfg(feature = "mmu")]
    let t = exec::task::add_task("shell.watch", 0, watcher, state.addr() as usize, 16 * 1024);
    // Under Forbid: the jobs service knows the shell's number before the shell can ask.
    #[cfg(not(feature = "mmu"))]
    let t = {
        exec::sched::forbid();
        let t = exec::task::add_task("Shell", 0, shell_entry, state.addr() as usize, SHELL_STACK);
        if !t.is_null() {
            // SAFETY: a live task (it cannot have ended under our Forbid).
            crate::jobs::SHELL_TASK.store(unsafe { (*t).id() }, core::sync::atomic::Ordering::SeqCst);
        }
        exec::sched::permit();
        t
    };
    if t.is_null() {
        exec::kprintln!("Shell: no memory for its task.");
    }
    t
}
