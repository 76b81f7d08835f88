//! What the shell and its commands share: the prompt, the aliases, the last return code and
//! error, the CLI list, the colour setting, and the line being typed (for background output).
//!
//! It is plain data of fixed size (no pointers into anybody's heap), so that it can live in
//! pages of its own that every command's address space maps, ring-3 commands of the mmu build
//! included: WHY, STATUS, BREAK and CHANGETASKPRI are ordinary command tasks that read it.
//! One task writes it, the shell (in ring 3 in the mmu build), and besides it only ring 0 (the
//! jobs service lists and unlists its jobs, the shell's watcher tidies after a fault). Its
//! commands map it read-only and ask the jobs service for a [`Setting`] (PROMPT, ALIAS, CD,
//! ...), which it makes if the asking job's command may (`settings.rs`). Whoever touches it
//! holds Forbid (`SharedState::with`, `StateView::read`). Texts are checked when read back,
//! so even the shell's own stray write spoils a setting but never makes a reader misbehave.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

pub const PROMPT_MAX: usize = 64;
pub const ALIAS_NAME_MAX: usize = 32;
pub const ALIAS_TEXT_MAX: usize = 200;
pub const MAX_ALIASES: usize = 32;
/// More than memory holds jobs for (about 520 in 32 MiB flat): RUN refuses for want of memory
/// before the table is full, and refuses plainly if it ever fills.
pub const MAX_CLIS: usize = 1024;
/// The shell's last failure, for WHY.
pub const MESSAGE_MAX: usize = 120;
/// The bytes that redraw the shell's prompt and line (a full line of 4-byte characters).
pub const REDRAW_MAX: usize = 2400;
pub const COMMAND_NAME_MAX: usize = 32;
/// The longest current directory name CD keeps.
pub const DIR_MAX: usize = 256;

/// A string of at most `N` bytes, stored in place.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FixedStr<const N: usize> {
    len: u16,
    bytes: [u8; N],
}

impl<const N: usize> FixedStr<N> {
    pub const fn empty() -> Self {
        FixedStr { len: 0, bytes: [0; N] }
    }

    /// The text ("" if what is stored is not valid).
    pub fn as_str(&self) -> &str {
        let len = (self.len as usize).min(N);
        core::str::from_utf8(&self.bytes[..len]).unwrap_or("")
    }

    /// Stores `s`; false (nothing changed) if it is longer than `N` bytes.
    pub fn set(&mut self, s: &str) -> bool {
        if s.len() > N {
            return false;
        }
        self.bytes[..s.len()].copy_from_slice(s.as_bytes());
        self.len = s.len() as u16;
        true
    }

    /// Stores as much of `s` as fits, cut at a character's boundary.
    pub fn set_truncated(&mut self, s: &str) {
        self.set(cut_at_char(s, N));
    }
}

/// The longest start of `s` of at most `max` bytes that ends at a character's boundary.
pub fn cut_at_char(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A running CLI process: its number (0: the slot is free), its task's number (exec's
/// `task_table`: what ring 3 names a task by, never reused), its command.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CliSlot {
    pub number: u32,
    pub task: u64,
    pub command: FixedStr<COMMAND_NAME_MAX>,
}

impl CliSlot {
    const FREE: CliSlot = CliSlot { number: 0, task: 0, command: FixedStr::empty() };
}

/// The shared state itself.
#[repr(C)]
pub struct ShellState {
    pub prompt: FixedStr<PROMPT_MAX>,
    aliases: [(FixedStr<ALIAS_NAME_MAX>, FixedStr<ALIAS_TEXT_MAX>); MAX_ALIASES],
    /// Return code and error number of the last foreground command.
    pub last_rc: i32,
    pub last_error: u32,
    clis: [CliSlot; MAX_CLIS],
    /// Whether output uses ANSI colour (COLOR): non-zero for on. A byte, not a bool: any
    /// value a stray write leaves here is one a reader may read.
    color: u8,
    /// What the last foreground command said when it failed (WHY names it).
    pub last_message: FixedStr<MESSAGE_MAX>,
    /// The number of the command task that set `last_message` (0: the shell), so that the
    /// shell keeps only the message of the command that just failed.
    pub message_task: u64,
    /// While the shell waits at its prompt: the bytes that redraw the prompt and the line being
    /// typed, so that a background job prints above them and redraws them; empty otherwise.
    pub redraw: FixedStr<REDRAW_MAX>,
    /// CLI 1's current directory as CD set it (its full name; empty: `RAM:`), which each
    /// command starts in and `%S` shows.
    pub current_dir: FixedStr<DIR_MAX>,
}

impl Default for ShellState {
    fn default() -> Self {
        ShellState {
            prompt: FixedStr::empty(),
            aliases: [(FixedStr::empty(), FixedStr::empty()); MAX_ALIASES],
            last_rc: 0,
            last_error: 0,
            clis: [CliSlot::FREE; MAX_CLIS],
            color: 1,
            last_message: FixedStr::empty(),
            message_task: 0,
            redraw: FixedStr::empty(),
            current_dir: FixedStr::empty(),
        }
    }
}

impl ShellState {
    /// Whether output uses ANSI colour.
    pub fn color(&self) -> bool {
        self.color != 0
    }

    pub fn set_color(&mut self, on: bool) {
        self.color = on as u8;
    }

    /// The current directory's name (`RAM:` until CD sets another).
    pub fn dir(&self) -> &str {
        match self.current_dir.as_str() {
            "" => "RAM:",
            d => d,
        }
    }

    /// Every alias, as (name, text).
    pub fn aliases(&self) -> Vec<(String, String)> {
        self.aliases
            .iter()
            .filter(|(n, _)| !n.as_str().is_empty())
            .map(|(n, t)| (String::from(n.as_str()), String::from(t.as_str())))
            .collect()
    }

    /// Defines (or redefines) alias `name`.
    pub fn set_alias(&mut self, name: &str, text: &str) -> Result<(), &'static str> {
        if name.is_empty() {
            return Err("Alias name missing");
        }
        if name.len() > ALIAS_NAME_MAX {
            return Err("Alias name too long");
        }
        if text.len() > ALIAS_TEXT_MAX {
            return Err("Alias text too long");
        }
        let slot = match self.aliases.iter().position(|(n, _)| n.as_str().eq_ignore_ascii_case(name)) {
            Some(i) => i,
            None => self.aliases.iter().position(|(n, _)| n.as_str().is_empty()).ok_or("Too many aliases")?,
        };
        self.aliases[slot].0.set(name);
        self.aliases[slot].1.set(text);
        Ok(())
    }

    /// Removes alias `name`; false if there is none.
    pub fn remove_alias(&mut self, name: &str) -> bool {
        let Some(a) = self.aliases.iter_mut().find(|(n, _)| !n.as_str().is_empty() && n.as_str().eq_ignore_ascii_case(name)) else {
            return false;
        };
        *a = (FixedStr::empty(), FixedStr::empty());
        true
    }

    /// The CLIs in use, in CLI order (a CLI's tasks in the order they were listed: the shell
    /// before its foreground command).
    pub fn clis(&self) -> Vec<CliSlot> {
        let mut v: Vec<CliSlot> = self.clis.iter().filter(|c| c.number != 0).copied().collect();
        v.sort_by_key(|c| c.number);
        v
    }

    /// Free places in the CLI list.
    pub fn free_cli_slots(&self) -> usize {
        self.clis.iter().filter(|c| c.number == 0).count()
    }

    /// Lists CLI `number`, run by `task`; false if the list is full.
    pub fn add_cli(&mut self, number: u32, task: u64, command: &str) -> bool {
        let Some(slot) = self.clis.iter_mut().find(|c| c.number == 0) else { return false };
        let mut name = FixedStr::empty();
        name.set(&command[..command.len().min(COMMAND_NAME_MAX)]);
        *slot = CliSlot { number, task, command: name };
        true
    }

    /// Takes the CLI run by `task` off the list.
    pub fn remove_cli(&mut self, task: u64) {
        for c in self.clis.iter_mut().filter(|c| c.task == task) {
            *c = CliSlot::FREE;
        }
    }

    /// The lowest CLI number not in use (1 is the shell).
    pub fn free_cli_number(&self) -> u32 {
        (2..).find(|n| !self.clis.iter().any(|c| c.number == *n)).unwrap_or(2)
    }
}

/// A change a command asks of the shell's state ([`ShellState::apply`]). Commands map the
/// state read-only: the jobs service makes the change, and only for a job whose command may
/// ([`Setting::allowed_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    /// PROMPT: the prompt (the first text).
    Prompt = 1,
    /// ALIAS: alias (first text) stands for the second.
    Alias = 2,
    /// UNALIAS: alias (first text) goes.
    Unalias = 3,
    /// COLOR: ANSI colour on or off.
    Color = 4,
    /// CD: the current directory (first text; empty: `RAM:`). The foreground command may
    /// reset it to `RAM:` (it found the directory gone).
    Dir = 5,
    /// The foreground command's failure message (first text), kept for WHY with the number of
    /// the task that said it.
    Failure = 6,
}

impl Setting {
    /// Every setting, in number order.
    pub const ALL: [Setting; 6] = [Setting::Prompt, Setting::Alias, Setting::Unalias, Setting::Color, Setting::Dir, Setting::Failure];

    /// The setting numbered `n` (a request's field, any value).
    pub fn from_number(n: u64) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| *s as u64 == n)
    }

    /// Whether a job running `command` (in the `foreground` or not) may ask for this setting
    /// with `first` as its first text: each setting belongs to the command that makes it;
    /// what the shell reads of its foreground command (a failure for WHY, the directory it
    /// found gone) only that command may tell.
    pub fn allowed_for(self, command: &str, first: &str, foreground: bool) -> bool {
        match self {
            Setting::Prompt => command == "PROMPT",
            Setting::Alias => command == "ALIAS",
            Setting::Unalias => command == "UNALIAS",
            Setting::Color => command == "COLOR",
            Setting::Dir => command == "CD" || (foreground && first.is_empty()),
            Setting::Failure => foreground,
        }
    }
}

impl ShellState {
    /// Makes `setting` with its texts `first` and `second` and switch `on`, for the command
    /// task numbered `task` (a failure's teller). Errors: why it was
    /// not made (a text too long, no room, no such alias); nothing changed then.
    pub fn apply(&mut self, setting: Setting, first: &str, second: &str, on: bool, task: u64) -> Result<(), &'static str> {
        match setting {
            Setting::Prompt => self.prompt.set(first).then_some(()).ok_or("Prompt too long"),
            Setting::Alias => self.set_alias(first, second),
            Setting::Unalias => self.remove_alias(first).then_some(()).ok_or("No such alias"),
            Setting::Color => {
                self.set_color(on);
                Ok(())
            }
            Setting::Dir => self.current_dir.set(first).then_some(()).ok_or("Directory name too long for CD"),
            Setting::Failure => {
                self.last_message.set_truncated(first);
                self.message_task = task;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_belongs_to_its_command() {
        for s in Setting::ALL {
            assert_eq!(Setting::from_number(s as u64), Some(s));
        }
        assert_eq!(Setting::from_number(0), None);
        assert_eq!(Setting::from_number(7), None);
        assert_eq!(Setting::from_number(u64::MAX), None);
        assert!(Setting::Prompt.allowed_for("PROMPT", "x> ", false));
        assert!(!Setting::Prompt.allowed_for("ECHO", "x> ", true));
        assert!(!Setting::Prompt.allowed_for("prompt", "x> ", true), "a command's name as COMMANDS spells it");
        assert!(Setting::Alias.allowed_for("ALIAS", "ll", true));
        assert!(!Setting::Alias.allowed_for("UNALIAS", "ll", true));
        assert!(Setting::Unalias.allowed_for("UNALIAS", "ll", true));
        assert!(!Setting::Color.allowed_for("WAIT", "", true));
        assert!(Setting::Dir.allowed_for("CD", "RAM:x", false));
        assert!(!Setting::Dir.allowed_for("WAIT", "RAM:x", true), "only CD chooses a directory");
        assert!(Setting::Dir.allowed_for("WAIT", "", true), "the foreground command may find it gone");
        assert!(!Setting::Dir.allowed_for("WAIT", "", false), "a background one may not");
        assert!(Setting::Failure.allowed_for("WAIT", "oops", true));
        assert!(!Setting::Failure.allowed_for("WAIT", "oops", false), "WHY is about the foreground command");
    }

    #[test]
    fn settings_apply_or_say_why_not() {
        let mut s = ShellState::default();
        assert_eq!(s.apply(Setting::Prompt, "x> ", "", false, 5), Ok(()));
        assert_eq!(s.prompt.as_str(), "x> ");
        assert_eq!(s.apply(Setting::Prompt, &"p".repeat(PROMPT_MAX + 1), "", false, 5), Err("Prompt too long"));
        assert_eq!(s.prompt.as_str(), "x> ", "unchanged");
        assert_eq!(s.apply(Setting::Alias, "ll", "list", false, 5), Ok(()));
        assert_eq!(s.apply(Setting::Unalias, "ll", "", false, 5), Ok(()));
        assert_eq!(s.apply(Setting::Unalias, "ll", "", false, 5), Err("No such alias"));
        assert_eq!(s.apply(Setting::Color, "", "", false, 5), Ok(()));
        assert!(!s.color());
        assert_eq!(s.apply(Setting::Dir, "RAM:x", "", false, 5), Ok(()));
        assert_eq!(s.dir(), "RAM:x");
        assert_eq!(s.apply(Setting::Dir, &"d".repeat(DIR_MAX + 1), "", false, 5), Err("Directory name too long for CD"));
        assert_eq!(s.apply(Setting::Failure, "it broke", "", false, 7), Ok(()));
        assert_eq!((s.last_message.as_str(), s.message_task), ("it broke", 7));
    }

    #[test]
    fn aliases_replace_and_fill_up() {
        let mut s = ShellState::default();
        s.set_alias("ll", "list").unwrap();
        s.set_alias("LL", "list long").unwrap();
        assert_eq!(s.aliases(), [(String::from("LL"), String::from("list long"))]);
        for i in 1..MAX_ALIASES {
            s.set_alias(&alloc::format!("a{i}"), "x").unwrap();
        }
        assert_eq!(s.set_alias("one-more", "x"), Err("Too many aliases"));
        assert_eq!(s.set_alias("", "x"), Err("Alias name missing"));
        assert!(s.remove_alias("a1"));
        assert!(!s.remove_alias("a1"));
        s.set_alias("one-more", "x").unwrap();
        assert_eq!(s.set_alias(&"n".repeat(ALIAS_NAME_MAX + 1), "x"), Err("Alias name too long"));
        assert_eq!(s.set_alias("t", &"t".repeat(ALIAS_TEXT_MAX + 1)), Err("Alias text too long"));
    }

    #[test]
    fn cli_numbers_reused() {
        let mut s = ShellState::default();
        assert!(s.add_cli(1, 100, "Shell"));
        assert_eq!(s.free_cli_number(), 2);
        assert!(s.add_cli(2, 200, "WAIT"));
        assert!(s.add_cli(3, 300, "WAIT"));
        s.remove_cli(200);
        assert_eq!(s.free_cli_number(), 2);
        assert_eq!(s.clis().iter().map(|c| c.number).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn clis_in_order_and_the_list_fills() {
        let mut s = ShellState::default();
        assert!(s.add_cli(1, 100, "Shell"));
        assert!(s.add_cli(3, 300, "WAIT"));
        assert!(s.add_cli(2, 200, "WAIT"));
        assert!(s.add_cli(1, 400, "STATUS"));
        let order: Vec<(u32, u64)> = s.clis().iter().map(|c| (c.number, c.task)).collect();
        assert_eq!(order, [(1, 100), (1, 400), (2, 200), (3, 300)]);
        assert_eq!(s.free_cli_slots(), MAX_CLIS - 4);
        let mut n = 4;
        while s.free_cli_slots() > 0 {
            assert!(s.add_cli(n, n as u64 * 100, "WAIT"));
            n += 1;
        }
        assert!(!s.add_cli(n, 1, "WAIT"), "a full list takes no more");
    }

    #[test]
    fn scribbled_text_reads_as_empty() {
        let mut f: FixedStr<4> = FixedStr::empty();
        assert!(f.set("abcd"));
        assert!(!f.set("abcde"));
        assert_eq!(f.as_str(), "abcd");
        f.set_truncated("xyzé");
        assert_eq!(f.as_str(), "xyz", "cut before the two-byte character");
        f.bytes = [0xff; 4];
        assert_eq!(f.as_str(), "");
        f.len = 999;
        assert_eq!(f.as_str(), "");
    }
}
