//! CON:'s input, as plain logic (tested on the host): the bytes typed at the console and the
//! READ packets waiting for them, in the two modes AmigaDOS's console has (`SetMode()`):
//!
//! - **cooked** (a handle's mode when opened): CON: edits a line as it is typed — printable
//!   bytes are echoed, Backspace or DEL erases one, Ctrl-X or Ctrl-U the whole line, Return
//!   ends it (echoed as CR LF, given to the reader with a `\n`), Ctrl-\ on an empty line is
//!   the end of file (a READ of 0 bytes). Ctrl-C ends every cooked read with `***Break` and
//!   is passed on to the raw readers (the shell, which breaks its command).
//! - **raw**: bytes go to the reader as they arrive, unedited and not echoed. The shell reads
//!   so and edits its lines itself, with history and completion, as AmigaOS 3.x's shell adds
//!   those on top of the console.
//!
//! - **breaks** (Lorraine's): a READ answered only by a Ctrl-C, which it takes out of the
//!   typed bytes, leaving the rest for the next reader. The shell reads so while its command
//!   runs, so that what is typed meanwhile waits in the console for the command or for the
//!   shell's next line (AmigaOS's console signals the break to its process itself).
//!
//! While a cooked read waits, typing goes into its line (a command reading Input() gets the
//! keys before the shell); otherwise the raw reads take the bytes in the order they came.
//! Everything here is bounded: [`LINE_MAX`] bytes in a line being edited, [`AHEAD_MAX`] typed
//! ahead; what comes beyond is dropped (the serial line's own buffer holds the rest, as CON:
//! reads from serial.device only while a read waits).
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

/// Longest line a cooked read edits; typing beyond it is ignored.
pub const LINE_MAX: usize = 512;
/// Bytes kept typed ahead of any read.
pub const AHEAD_MAX: usize = 1024;
/// Reads that may wait at once; a READ beyond them is refused (OBJECT_IN_USE).
pub const WAITING_MAX: usize = 8;

const CTRL_C: u8 = 0x03;
const CTRL_U: u8 = 0x15;
const CTRL_X: u8 = 0x18;
const CTRL_BACKSLASH: u8 = 0x1c;
const BACKSPACE: u8 = 0x08;
const DEL: u8 = 0x7f;

/// A console handle's mode (`SetMode()`, ACTION_SCREEN_MODE's argument: 0 cooked, 1 or
/// DOSTRUE raw, 2 breaks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Cooked,
    Raw,
    Breaks,
}

impl Mode {
    /// The mode ACTION_SCREEN_MODE's argument names.
    pub fn from_arg(arg: i64) -> Mode {
        match arg {
            0 => Mode::Cooked,
            2 => Mode::Breaks,
            _ => Mode::Raw,
        }
    }

    /// ACTION_SCREEN_MODE's argument for the mode.
    pub fn arg(self) -> i64 {
        match self {
            Mode::Cooked => 0,
            Mode::Raw => 1,
            Mode::Breaks => 2,
        }
    }
}

/// A READ that waits for input: the caller's token for the packet, how many bytes it takes,
/// and its handle's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting<T> {
    pub token: T,
    pub len: usize,
    pub mode: Mode,
}

/// How a waiting read is answered.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<T> {
    /// These bytes (empty: the end of file).
    Bytes(T, Vec<u8>),
    /// Ctrl-C was typed while it waited (ERROR_BREAK).
    Break(T),
}

/// The console's input: bytes typed ahead, the line being edited, and the reads that wait.
pub struct ConInput<T> {
    ahead: VecDeque<u8>,
    line: Vec<u8>,
    /// Of a line ended by Return: what a cooked read has not taken yet.
    done: VecDeque<u8>,
    /// Ctrl-\ was typed on an empty line: the next cooked read gets the end of file.
    eof: bool,
    waiting: VecDeque<Waiting<T>>,
}

impl<T: Copy + PartialEq> Default for ConInput<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + PartialEq> ConInput<T> {
    pub fn new() -> Self {
        ConInput { ahead: VecDeque::new(), line: Vec::new(), done: VecDeque::new(), eof: false, waiting: VecDeque::new() }
    }

    /// Whether a waiting read needs more typed bytes (CON: reads serial.device only then):
    /// a cooked or raw one once the bytes typed ahead are used up, a breaks one until a
    /// Ctrl-C comes (past [`AHEAD_MAX`] typed ahead, only a Ctrl-C is kept: see [`typed`]).
    ///
    /// [`typed`]: ConInput::typed
    pub fn wants_input(&self) -> bool {
        let mut modes = self.waiting.iter().map(|w| w.mode);
        let breaks = modes.clone().any(|m| m == Mode::Breaks);
        (self.ahead.is_empty() && modes.any(|m| m != Mode::Breaks)) || breaks
    }

    /// The tokens of the reads that wait.
    pub fn waiting_tokens(&self) -> impl Iterator<Item = T> + '_ {
        self.waiting.iter().map(|w| w.token)
    }

    /// Whether a read for which `f` holds waits.
    pub fn is_waiting(&self, f: impl Fn(&Waiting<T>) -> bool) -> bool {
        self.waiting.iter().any(f)
    }

    /// Queues a read. Result: `false` (not queued) when [`WAITING_MAX`] already wait.
    pub fn wait(&mut self, w: Waiting<T>) -> bool {
        if self.waiting.len() >= WAITING_MAX {
            return false;
        }
        self.waiting.push_back(w);
        true
    }

    /// Takes the reads for which `gone` holds out of the queue (their handle was closed):
    /// the caller answers them.
    pub fn cancel(&mut self, mut gone: impl FnMut(&Waiting<T>) -> bool) -> Vec<T> {
        let mut out = Vec::new();
        self.waiting.retain(|w| {
            let g = gone(w);
            if g {
                out.push(w.token);
            }
            !g
        });
        out
    }

    /// Adds typed bytes: beyond [`AHEAD_MAX`] typed ahead they are dropped, but for a Ctrl-C
    /// (one more, so that a break is never lost to a full buffer).
    pub fn typed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let full = self.ahead.len() >= AHEAD_MAX;
            if !full || (b == CTRL_C && self.ahead.len() == AHEAD_MAX) {
                self.ahead.push_back(b);
            }
        }
    }

    /// Answers what can be answered now, in order; `echo` gets what CON: writes back to the
    /// console for the line being edited.
    pub fn answer(&mut self, echo: &mut Vec<u8>) -> Vec<Answer<T>> {
        let mut out = Vec::new();
        loop {
            if let Some(i) = self.waiting.iter().position(|w| w.mode == Mode::Cooked) {
                if self.eof || !self.done.is_empty() {
                    let w = self.waiting.remove(i).expect("found above");
                    out.push(Answer::Bytes(w.token, self.take_line(w.len)));
                    continue;
                }
                let Some(b) = self.ahead.pop_front() else { break };
                self.edit(b, echo, &mut out);
                continue;
            }
            if self.ahead.is_empty() {
                break;
            }
            if let (Some(i), Some(at)) = (self.waiting.iter().position(|w| w.mode == Mode::Breaks), self.ahead.iter().position(|&b| b == CTRL_C)) {
                let w = self.waiting.remove(i).expect("found above");
                self.ahead.remove(at);
                out.push(Answer::Bytes(w.token, vec![CTRL_C]));
                continue;
            }
            let Some(i) = self.waiting.iter().position(|w| w.mode == Mode::Raw) else { break };
            let w = self.waiting.remove(i).expect("found above");
            let n = w.len.min(self.ahead.len());
            out.push(Answer::Bytes(w.token, self.ahead.drain(..n).collect()));
        }
        out
    }

    /// Up to `len` bytes of the line that was ended (empty at the end of file, which it uses up).
    fn take_line(&mut self, len: usize) -> Vec<u8> {
        if self.done.is_empty() {
            self.eof = false;
            return Vec::new();
        }
        let n = len.min(self.done.len());
        self.done.drain(..n).collect()
    }

    /// One typed byte into the line being edited.
    fn edit(&mut self, b: u8, echo: &mut Vec<u8>, out: &mut Vec<Answer<T>>) {
        match b {
            b'\r' | b'\n' => {
                echo.extend_from_slice(b"\r\n");
                self.done.extend(self.line.drain(..));
                self.done.push_back(b'\n');
            }
            BACKSPACE | DEL if !self.line.is_empty() => {
                self.line.pop();
                echo.extend_from_slice(b"\x08 \x08");
            }
            CTRL_U | CTRL_X => {
                for _ in self.line.drain(..) {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
            CTRL_BACKSLASH if self.line.is_empty() => self.eof = true,
            CTRL_C => {
                // Every cooked read ends; the raw or breaks readers get the Ctrl-C (the shell
                // breaks its command with it).
                echo.extend_from_slice(b"^C\r\n");
                self.line.clear();
                self.waiting.retain(|w| {
                    if w.mode == Mode::Cooked {
                        out.push(Answer::Break(w.token));
                    }
                    w.mode != Mode::Cooked
                });
                // Only to a reader waiting for it: one left typed ahead would break the next
                // cooked read at once.
                if !self.waiting.is_empty() {
                    self.ahead.push_front(CTRL_C);
                }
            }
            0x20..=0x7e | 0x80..=0xff if self.line.len() < LINE_MAX => {
                self.line.push(b);
                echo.push(b);
            }
            // Other control bytes and escape sequences (cursor keys) are not edited; a full
            // line takes no more.
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cooked(token: u32, len: usize) -> Waiting<u32> {
        Waiting { token, len, mode: Mode::Cooked }
    }
    fn raw(token: u32, len: usize) -> Waiting<u32> {
        Waiting { token, len, mode: Mode::Raw }
    }
    fn breaks(token: u32) -> Waiting<u32> {
        Waiting { token, len: 1, mode: Mode::Breaks }
    }

    #[test]
    fn a_breaks_read_takes_only_ctrl_c_and_leaves_the_rest_typed_ahead() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.wait(breaks(1));
        c.typed(b"yes\r");
        assert!(c.answer(&mut echo).is_empty());
        assert!(c.wants_input(), "still watching for Ctrl-C behind the typing");
        c.typed(b"x\x03");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, vec![CTRL_C])]);
        // The command's cooked read comes late and still gets its line.
        c.wait(cooked(2, 64));
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(2, b"yes\n".to_vec())]);
        c.wait(raw(3, 64));
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(3, b"x".to_vec())]);
        // Ctrl-C on a cooked line reaches a breaks reader too.
        c.wait(breaks(4));
        c.wait(cooked(5, 64));
        c.typed(b"a\x03");
        assert_eq!(c.answer(&mut echo), vec![Answer::Break(5), Answer::Bytes(4, vec![CTRL_C])]);
        assert_eq!((Mode::from_arg(0), Mode::from_arg(-1), Mode::from_arg(2)), (Mode::Cooked, Mode::Raw, Mode::Breaks));
    }

    #[test]
    fn a_full_buffer_still_takes_ctrl_c_and_a_lone_break_is_not_kept() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.wait(breaks(1));
        c.typed(&[b'x'; AHEAD_MAX + 10]);
        assert!(c.answer(&mut echo).is_empty());
        assert!(c.wants_input(), "a breaks reader listens even with the buffer full");
        c.typed(b"y\x03");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, vec![CTRL_C])]);
        // Ctrl-C on a cooked line with nobody else reading: the read breaks, and the next
        // cooked read is not broken by a leftover.
        let mut c = ConInput::new();
        c.wait(cooked(2, 64));
        c.typed(b"\x03");
        assert_eq!(c.answer(&mut echo), vec![Answer::Break(2)]);
        c.wait(cooked(3, 64));
        c.typed(b"ok\r");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(3, b"ok\n".to_vec())]);
        assert!(!c.is_waiting(|_| true));
    }

    #[test]
    fn a_cooked_read_gets_the_edited_line_with_its_echo() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        assert!(c.wait(cooked(1, 100)));
        c.typed(b"yex\x7fs");
        assert!(c.answer(&mut echo).is_empty(), "no Return yet");
        assert!(c.wants_input());
        c.typed(b"\r");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, b"yes\n".to_vec())]);
        assert_eq!(echo, b"yex\x08 \x08s\r\n");
    }

    #[test]
    fn a_short_cooked_read_leaves_the_rest_of_the_line_for_the_next() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.wait(cooked(1, 2));
        c.typed(b"abc\r");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, b"ab".to_vec())]);
        c.wait(cooked(2, 10));
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(2, b"c\n".to_vec())]);
    }

    #[test]
    fn raw_reads_take_bytes_as_they_come_in_order_and_unechoed() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.typed(b"abc");
        assert!(!c.wants_input(), "typed ahead: nothing to wait for");
        c.wait(raw(1, 2));
        c.wait(raw(2, 8));
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, b"ab".to_vec()), Answer::Bytes(2, b"c".to_vec())]);
        assert!(echo.is_empty());
    }

    #[test]
    fn a_cooked_read_takes_the_keys_before_a_raw_one() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.wait(raw(1, 64)); // the shell, waiting for keys while its command runs
        c.wait(cooked(2, 64)); // the command reading Input()
        c.typed(b"no\r");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(2, b"no\n".to_vec())]);
        c.typed(b"x");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, b"x".to_vec())]);
    }

    #[test]
    fn ctrl_c_breaks_cooked_reads_and_reaches_the_raw_reader() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.wait(raw(1, 64));
        c.wait(cooked(2, 64));
        c.typed(b"ha\x03");
        assert_eq!(c.answer(&mut echo), vec![Answer::Break(2), Answer::Bytes(1, vec![CTRL_C])]);
        // The half-typed line went with the break.
        c.wait(cooked(3, 64));
        c.typed(b"\r");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(3, b"\n".to_vec())]);
    }

    #[test]
    fn ctrl_backslash_on_an_empty_line_is_the_end_of_file_once() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        c.wait(cooked(1, 64));
        c.typed(&[CTRL_BACKSLASH]);
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(1, Vec::new())]);
        c.wait(cooked(2, 64));
        c.typed(b"a\x1c\r");
        assert_eq!(c.answer(&mut echo), vec![Answer::Bytes(2, b"a\n".to_vec())], "not on a line with text");
    }

    #[test]
    fn bounds_hold() {
        let mut c = ConInput::new();
        let mut echo = Vec::new();
        for t in 0..WAITING_MAX as u32 {
            assert!(c.wait(raw(t, 1)));
        }
        assert!(!c.wait(raw(99, 1)), "one read too many");
        assert_eq!(c.cancel(|w| w.token % 2 == 0).len(), WAITING_MAX / 2);
        c.typed(&[b'z'; AHEAD_MAX * 2]);
        assert_eq!(c.answer(&mut echo).len(), WAITING_MAX / 2);
        // A line longer than LINE_MAX keeps its first LINE_MAX bytes.
        let mut c = ConInput::new();
        c.wait(cooked(1, 4096));
        c.typed(&[b'q'; LINE_MAX + 10]);
        c.typed(b"\r");
        match &c.answer(&mut echo)[..] {
            [Answer::Bytes(1, b)] => assert_eq!(b.len(), LINE_MAX + 1),
            other => panic!("{other:?}"),
        }
    }
}
