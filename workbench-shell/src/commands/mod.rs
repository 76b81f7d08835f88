//! The shell's commands, each with its AmigaDOS argument template. Each runs in an Exec task
//! of its own (see `shell.rs`); `COMMAND ?` prints its template.
//!
//! The commands live in two modules by what they need: [`info`] (listings, settings, help),
//! which has no unsafe code at all, and [`control`] (break signals, priorities, timer I/O,
//! the machine), whose exec calls take raw pointers. [`snapshot`] copies exec's lists for
//! both.

mod assign;
mod control;
mod files;
pub use files::complete_path;
mod info;
mod snapshot;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use exec::sys::{close_library, open_library};
use libraries::readargs::{ArgError, ArgValue};

use crate::con::Con;
use crate::jobs::Job;
use crate::shell::{RC_ERROR, RC_OK};

/// A shell command.
pub struct Command {
    pub name: &'static str,
    /// AmigaDOS template ("" for none).
    pub template: &'static str,
    pub help: &'static str,
    run: fn(&mut Ctx, &[ArgValue]) -> i32,
    /// Runs in ring 3 in the mmu build, in an address space of its own (it needs nothing but
    /// exec calls, the shell's shared state read-only, requests to the system service, as
    /// REBOOT, SHUTDOWN, BENCH and CRASHTEST make, `system.rs`, and SETTINGs to the jobs
    /// service, `settings.rs`). RUN alone is the shell's own.
    pub ring3: bool,
}

/// What a running command has: its console, its CLI number, its error number, and the state
/// the shell shares with its commands.
pub struct Ctx {
    pub con: alloc::boxed::Box<Con>,
    pub cli: u32,
    pub error: u32,
    state: crate::jobs::StateView,
    /// Input(): the file `<` named, or (opened when first read) a cooked CON: handle.
    input: Option<alloc::boxed::Box<libraries::dos::file::FileHandle>>,
}

impl Ctx {
    /// Runs `f` on the shell's shared state (read-only: see [`crate::settings`]), under Forbid.
    fn read_state<R>(&self, f: impl FnOnce(&crate::state::ShellState) -> R) -> R {
        self.state.read(f)
    }

    /// Reads a line from the command's input (`<`'s file, or the console, where CON: edits it)
    /// into `line`, its newline included. Result: `Ok(false)` at the end of the input.
    /// Errors: BREAK (Ctrl-C while CON: edited the line), and what the handler says.
    fn read_line(&mut self, line: &mut Vec<u8>) -> Result<bool, i64> {
        if self.input.is_none() {
            let fh = self.input.insert(libraries::dos::open("CON:", libraries::dosdefs::MODE_OLDFILE)?);
            libraries::dos::select_input(&mut **fh);
        }
        let fh = self.input.as_mut().expect("opened above");
        fh.get_s(line)
    }

    /// Reports a failure; a foreground command's message is kept for WHY.
    fn fail(&mut self, rc: i32, error: u32, message: &str) -> i32 {
        self.con.error(message);
        self.error = error;
        if self.cli == 1 {
            // Cut to what WHY keeps (a long message would not fit a request). What cannot be
            // kept is WHY's loss only.
            let cut = crate::state::cut_at_char(message, crate::state::MESSAGE_MAX);
            let _ = crate::settings::ask_change(crate::state::Setting::Failure, cut, "", false);
        }
        rc
    }
}

macro_rules! commands {
    ($( $name:literal, $template:literal, $run:path, $ring3:literal, $help:literal; )*) => {
        /// Every command, alphabetically.
        pub static COMMANDS: &[Command] = &[ $( Command { name: $name, template: $template, help: $help, run: $run, ring3: $ring3 }, )* ];
    };
}

commands! {
    "ALIAS", "NAME,STRING/F", info::alias, true, "Define an alias (\"[]\" takes the arguments), or list them; a quoted command (\"ECHO\") is never an alias";
    "ASSIGN", "NAME,TARGET,REMOVE/S", assign::assign, true, "List the devices and assigns, make NAME: stand for a directory, or remove it";
    "ASK", "PROMPT/A", info::ask, true, "Ask a yes-or-no question on the input (< too); the return code is 5 (WARN) for yes";
    "AVAIL", "TOTAL/S", info::avail, true, "Show free, used and largest memory";
    "BENCH", "ROW,SIZE/K/N,COUNT/K/N,READ/S", control::bench, true, "Time a row of the benchmark in the running system, SIZE bytes of body after the header (BENCH alone names the rows)";
    "BREAK", "PROCESS/A/N,C/S,D/S,E/S,F/S", control::break_cmd, true, "Send a break signal (default CTRL-C) to a CLI process";
    "CD", "DIR", files::cd, true, "Show the current directory, or change it (%S in the prompt shows it)";
    "CHANGETASKPRI", "PRI=PRIORITY/A/N,PROCESS/K/N", control::changetaskpri, true, "Change the priority of a CLI process";
    "CHECKSUM", "FILE/A", files::checksum, true, "Show a file's length and checksum";
    "COLOR", "ON/S,OFF/S", info::color, true, "Turn ANSI colour on or off";
    "COPY", "FROM/M/A,TO/A,ALL/S,QUIET/S", files::copy, true, "Copy files (patterns too) to a file or into a directory; ALL copies directories and all below them";
    "CRASHTEST", "SCENARIO/A", control::crashtest, true, "Run a misbehaving task (CRASHTEST LIST names the scenarios)";
    "DATE", "", control::date, true, "Show the date and time";
    "DELETE", "FILE/M/A,ALL/S,QUIET/S", files::delete, true, "Delete files and empty directories (patterns too); ALL deletes directories and all below them";
    "DEVLIST", "", info::devlist, true, "List the devices";
    "DIR", "DIR,ALL/S", files::dir, true, "List a directory, or the names a pattern matches; ALL lists the directories below too";
    "ECHO", "STRING/M,NOLINE/S", info::echo, true, "Print the arguments";
    "FAULT", "ERROR/M", files::fault, true, "Explain AmigaDOS error numbers";
    "HELP", "COMMAND", info::help, true, "List the commands, or describe one";
    "INFO", "", files::info, true, "Show the disks (RAM:) with their size and use";
    "JOIN", "FILE/M/A,AS=TO/K/A", files::join, true, "Join files (patterns too) into a new one";
    "LIBLIST", "", info::liblist, true, "List the libraries";
    "LIST", "DIR/M,ALL/S", files::list, true, "List files with size, protection and date; ALL lists the directories below too";
    "MAKEDIR", "NAME/M/A", files::makedir, true, "Make directories";
    "PORTLIST", "", info::portlist, true, "List the public message ports";
    "PROMPT", "PROMPT/F", info::prompt, true, "Set the prompt (%N is the CLI number, %R the last return code, %S the current directory)";
    "REBOOT", "", control::reboot, true, "Restart the machine";
    "RENAME", "FROM/A,TO=AS/A", files::rename, true, "Rename or move a file or directory";
    "RESLIST", "", info::reslist, true, "List the resident modules";
    "RUN", "COMMAND/F/A", control::run_cmd, false, "Run a command in the background, as a new CLI";
    "SHUTDOWN", "", control::shutdown, true, "End QEMU cleanly";
    "STATUS", "PROCESS/N", info::status, true, "List the CLI processes and their tasks";
    "TASKLIST", "", info::tasklist, true, "List every task";
    "TYPE", "FROM/M/A,HEX/S", files::type_cmd, true, "Show the contents of files (patterns too), or in hex";
    "UNALIAS", "NAME/A", info::unalias, true, "Remove an alias";
    "UPTIME", "", info::uptime, true, "Show how long the system has run";
    "VERSION", "", info::version, true, "Show the kernel version, build mode, CPU and memory";
    "WAIT", "N/N,SEC=SECS/S,MIN=MINS/S,TICKS/S", control::wait_cmd, true, "Wait N seconds (or minutes, or ticks of 1/50 s)";
    "WHY", "", info::why, true, "Explain why the last command failed";
}
/// Whether `c` acts on the tasks of the shell's CLI table (BREAK, CHANGETASKPRI): in the mmu
/// build the jobs service grants it their tasks (`mmu_mode::policy::grant`), which a ring-3 task may
/// otherwise not signal or re-prioritise.
pub fn reaches_jobs(c: &Command) -> bool {
    matches!(c.name, "BREAK" | "CHANGETASKPRI")
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
///
/// The command opens dos.library first and closes it last, as an Amiga program's startup code
/// does: every DOS call (its console and redirections included) goes through the library's
/// vector table, which in ring 3 answers only a task that has the library open.
pub fn run(job: &Job) -> (i32, u32) {
    let dos = open_library("dos.library", libraries::dos::DOS_VERSION);
    if dos.is_null() {
        return (crate::shell::RC_FAIL, crate::shell::ERROR_NO_FREE_STORE);
    }
    let r = run_with_dos(job);
    // SAFETY: opened above; nothing of the library is used after this.
    unsafe { close_library(dos) };
    r
}

fn run_with_dos(job: &Job) -> (i32, u32) {
    let color = job.state.read(|s| s.color());
    let Some(con) = Con::open(color) else { return (crate::shell::RC_FAIL, crate::shell::ERROR_NO_FREE_STORE) };
    let mut con = con;
    if job.cli != 1 {
        con.above_prompt(job.state);
    }
    let mut ctx = Ctx { con, cli: job.cli, error: 0, state: job.state, input: None };
    let c = job.command;
    if let Err(rc) = start_process(&mut ctx, job) {
        let error = ctx.error;
        drop(ctx);
        libraries::dos::end_process();
        return (rc, error);
    }
    let parsed = if c.template.is_empty() {
        match job.args().trim() {
            "" => Ok(Vec::new()),
            "?" => Err(ArgError::Help),
            extra => Err(ArgError::TooManyArgs(String::from(extra))),
        }
    } else {
        libraries::dos::read_args(c.template, job.args())
    };
    let mut rc = match parsed {
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
    if let Err(e) = ctx.con.end_redirect() {
        let name = job.output().map_or("", |o| o.0);
        rc = ctx.fail(RC_ERROR, e as u32, &alloc::format!("{name}: {}", libraries::dos::fault(e, "")));
    }
    if let Some(dir) = libraries::dos::current_dir(None) {
        let _ = libraries::dos::unlock(dir);
    }
    // Input() goes back to the console before its handle closes.
    libraries::dos::select_input(core::ptr::null_mut());
    // The console (a CON: file) closes before the process ends, which closes what is left.
    let error = ctx.error;
    drop(ctx);
    libraries::dos::end_process();
    (rc, error)
}

/// Makes the command's task a DOS process: in the shell's current directory, with its input
/// from the file `<` names and its output in the file `>` names. Errors: the return code, the
/// failure reported.
fn start_process(ctx: &mut Ctx, job: &Job) -> Result<(), i32> {
    use libraries::dos;
    use libraries::dosdefs::{MODE_NEWFILE, MODE_READWRITE, OFFSET_END, SHARED_LOCK};
    let dir = ctx.read_state(|s| String::from(s.dir()));
    match dos::lock(&dir, SHARED_LOCK) {
        Ok(l) => {
            dos::current_dir(Some(l));
        }
        // The directory went (deleted by another CLI): the command starts at RAM:'s root.
        Err(_) => {
            let _ = crate::settings::ask_change(crate::state::Setting::Dir, "", "", false);
        }
    }
    if let Some(name) = job.input() {
        match dos::open(name, libraries::dosdefs::MODE_OLDFILE) {
            Ok(f) => {
                let f = ctx.input.insert(f);
                libraries::dos::select_input(&mut **f);
            }
            Err(e) => {
                let msg = alloc::format!("Can't open redirection file {name}: {}", libraries::dos::fault(e, ""));
                return Err(ctx.fail(RC_ERROR, e as u32, &msg));
            }
        }
    }
    let Some((name, append)) = job.output() else { return Ok(()) };
    let opened = dos::open(name, if append { MODE_READWRITE } else { MODE_NEWFILE }).and_then(|mut f| {
        if append {
            f.seek(0, OFFSET_END)?;
        }
        Ok(f)
    });
    match opened {
        Ok(f) => {
            ctx.con.redirect(f);
            Ok(())
        }
        Err(e) => {
            let msg = alloc::format!("Can't open redirection file {name}: {}", libraries::dos::fault(e, ""));
            Err(ctx.fail(RC_ERROR, e as u32, &msg))
        }
    }
}

/// Whether Ctrl-C has been pressed for the calling command (the signal is cleared).
pub(super) fn broken() -> bool {
    exec::sys::set_signal(0, exec::signal::SIGF_CTRL_C) & exec::signal::SIGF_CTRL_C != 0
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

/// AmigaDOS's words for an error number.
pub fn error_text(error: u32) -> &'static str {
    match error {
        103 => "not enough memory",
        105 => "too many CLI processes",
        114 => "bad template",
        115 => "bad number",
        116 => "required argument missing",
        117 => "value after keyword missing",
        118 => "wrong number of arguments",
        120 => "argument line invalid or too long",
        205 => "object not found",
        304 => "***Break",
        0 => "no error was given",
        // DOS's other errors in Fault's words.
        _ => libraries::dosdefs::fault_text(error as i64).unwrap_or("of an unknown error"),
    }
}
