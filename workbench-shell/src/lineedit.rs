//! The line editor: cursor movement, deletion, kill commands, history and completion.
//! Pure logic: it takes keys and says what happened; the shell draws with [`LineEditor::render`].
#![forbid(unsafe_code)]

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::keys::Key;

/// Lines of history kept.
pub const HISTORY: usize = 100;
/// Longest line accepted; more characters ring the bell.
pub const MAX_LINE: usize = 512;

/// What a key did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Nothing visible changed.
    None,
    /// The line changed: redraw it.
    Redraw,
    /// Enter: the finished line (also added to history if not empty).
    Submit(String),
    /// Ctrl-C: the line is abandoned.
    Interrupt,
    /// Ctrl-D on an empty line: end of input.
    EndOfInput,
    /// Nothing to do (no completion, line full, ...): ring the bell.
    Bell,
    /// Several completions: show them, then redraw.
    Candidates(Vec<String>),
}

pub struct LineEditor {
    line: Vec<char>,
    cursor: usize,
    history: VecDeque<String>,
    /// Position while browsing history (history.len() = the line being edited).
    browse: usize,
    /// The line being edited when browsing started.
    stash: String,
}

impl LineEditor {
    pub fn new() -> Self {
        LineEditor { line: Vec::new(), cursor: 0, history: VecDeque::new(), browse: 0, stash: String::new() }
    }

    /// The current line.
    pub fn line(&self) -> String {
        self.line.iter().collect()
    }

    /// The cursor position, in characters.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Past lines, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &String> {
        self.history.iter()
    }

    fn set_line(&mut self, s: &str) {
        self.line = s.chars().collect();
        self.cursor = self.line.len();
    }

    /// Applies `key`. `complete(word, first)` lists what the word before the cursor may become
    /// (`first`: it is the command word).
    pub fn key(&mut self, key: Key, complete: impl Fn(&str, bool) -> Vec<String>) -> Action {
        match key {
            Key::Char(c) => {
                if self.line.len() >= MAX_LINE {
                    return Action::Bell;
                }
                self.line.insert(self.cursor, c);
                self.cursor += 1;
            }
            Key::Enter => {
                let line = self.line();
                if !line.trim().is_empty() && self.history.back() != Some(&line) {
                    if self.history.len() == HISTORY {
                        self.history.pop_front();
                    }
                    self.history.push_back(line.clone());
                }
                self.line.clear();
                self.cursor = 0;
                self.browse = self.history.len();
                return Action::Submit(line);
            }
            Key::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.line.remove(self.cursor);
            }
            Key::Delete if self.cursor < self.line.len() => {
                self.line.remove(self.cursor);
            }
            Key::Left if self.cursor > 0 => self.cursor -= 1,
            Key::Right if self.cursor < self.line.len() => self.cursor += 1,
            Key::Home | Key::Ctrl('A') => self.cursor = 0,
            Key::End | Key::Ctrl('E') => self.cursor = self.line.len(),
            Key::Ctrl('K') => self.line.truncate(self.cursor),
            Key::Ctrl('U') => {
                self.line.drain(..self.cursor);
                self.cursor = 0;
            }
            Key::Ctrl('W') => {
                let mut start = self.cursor;
                while start > 0 && self.line[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && self.line[start - 1] != ' ' {
                    start -= 1;
                }
                self.line.drain(start..self.cursor);
                self.cursor = start;
            }
            Key::Ctrl('C') => {
                self.line.clear();
                self.cursor = 0;
                self.browse = self.history.len();
                return Action::Interrupt;
            }
            Key::Ctrl('D') if self.line.is_empty() => return Action::EndOfInput,
            Key::Up if self.browse > 0 => {
                if self.browse == self.history.len() {
                    self.stash = self.line();
                }
                self.browse -= 1;
                let l = self.history[self.browse].clone();
                self.set_line(&l);
            }
            Key::Down if self.browse < self.history.len() => {
                self.browse += 1;
                let l = if self.browse == self.history.len() { core::mem::take(&mut self.stash) } else { self.history[self.browse].clone() };
                self.set_line(&l);
            }
            Key::Tab => return self.complete(complete),
            _ => return Action::None,
        }
        Action::Redraw
    }

    /// Completes the word before the cursor: `complete(word, first)` lists what it may become
    /// (`first`: it is the command word). One candidate replaces the word, followed by a space
    /// unless it ends in `/` or `:` (a directory or device, to go on into); several extend it
    /// to their longest common prefix and are shown.
    fn complete(&mut self, complete: impl Fn(&str, bool) -> Vec<String>) -> Action {
        let start = self.line[..self.cursor].iter().rposition(|c| *c == ' ').map_or(0, |i| i + 1);
        let word: String = self.line[start..self.cursor].iter().collect();
        let first = self.line[..start].iter().all(|c| *c == ' ');
        let found = complete(&word, first);
        let replace = |this: &mut Self, with: &str| {
            let rest: Vec<char> = this.line[this.cursor..].to_vec();
            this.line.truncate(start);
            this.line.extend(with.chars());
            this.cursor = this.line.len();
            this.line.extend(rest);
        };
        match found.len() {
            0 => Action::Bell,
            1 => {
                let end = if found[0].ends_with(['/', ':']) { "" } else { " " };
                replace(self, &alloc::format!("{}{end}", found[0]));
                Action::Redraw
            }
            _ => {
                // Extend to the longest common prefix, then show the choices.
                let mut prefix: Vec<char> = found[0].chars().collect();
                for f in &found[1..] {
                    let n = prefix.iter().zip(f.chars()).take_while(|(a, b)| a.eq_ignore_ascii_case(b)).count();
                    prefix.truncate(n);
                }
                if prefix.len() > word.chars().count() {
                    replace(self, &prefix.iter().collect::<String>());
                }
                Action::Candidates(found)
            }
        }
    }

    /// The bytes that redraw the line after `prompt`: to the line's start, prompt, text, clear
    /// to the end, and back to the cursor.
    pub fn render(&self, prompt: &str) -> String {
        let mut s = alloc::format!("\r{prompt}{}\x1b[K", self.line());
        let back = self.line.len() - self.cursor;
        if back > 0 {
            s.push_str(&alloc::format!("\x1b[{back}D"));
        }
        s
    }
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyDecoder;

    fn none(_: &str, _: bool) -> Vec<String> {
        Vec::new()
    }

    fn typed(e: &mut LineEditor, bytes: &[u8]) -> Vec<Action> {
        let cmds = ["AVAIL", "ALIAS", "ECHO", "STATUS"];
        let complete = |w: &str, first: bool| {
            if first {
                cmds.iter().filter(|c| c.starts_with(&w.to_uppercase())).map(|c| c.to_string()).collect()
            } else {
                ["RAM:dir/", "RAM:doc"].iter().filter(|p| p.starts_with(w)).map(|p| p.to_string()).collect()
            }
        };
        KeyDecoder::new().feed(bytes).into_iter().map(|k| e.key(k, complete)).collect()
    }

    fn submit(e: &mut LineEditor, bytes: &[u8]) -> String {
        match typed(e, bytes).pop() {
            Some(Action::Submit(s)) => s,
            other => panic!("no submit: {other:?}"),
        }
    }

    #[test]
    fn editing_keys() {
        let mut e = LineEditor::new();
        assert_eq!(submit(&mut e, b"helo\x1b[Dl\r"), "hello");
        assert_eq!(submit(&mut e, b"world\x01X\x05Y\r"), "XworldY");
        assert_eq!(submit(&mut e, b"abcd\x1b[H\x1b[3~\x1b[F\x7f\r"), "bc");
        assert_eq!(submit(&mut e, b"one two three\x17\r"), "one two ");
        assert_eq!(submit(&mut e, b"one two\x1b[D\x1b[D\x1b[D\x0b\r"), "one ");
        assert_eq!(submit(&mut e, b"one two\x1b[D\x1b[D\x1b[D\x15\r"), "two");
        assert_eq!(submit(&mut e, b"x\x1b[C\x1b[C\x1b[Dy\r"), "yx");
    }

    #[test]
    fn history_up_and_down() {
        let mut e = LineEditor::new();
        for l in ["first", "second", "third"] {
            submit(&mut e, alloc::format!("{l}\r").as_bytes());
        }
        assert_eq!(submit(&mut e, b"\x1b[A\r"), "third");
        assert_eq!(submit(&mut e, b"\x1b[A\x1b[A\r"), "second");
        assert_eq!(submit(&mut e, b"\x1b[A\x1b[A\x1b[A\x1b[A\r"), "first");
        assert_eq!(submit(&mut e, b"draft\x1b[A\x1b[B\r"), "draft");
        for i in 0..200 {
            e.key(Key::Char('x'), none);
            let _ = i;
            e.key(Key::Enter, none);
            e.key(Key::Char('y'), none);
            e.key(Key::Enter, none);
        }
        assert!(e.history().count() >= 50);
        assert_eq!(e.history().count(), HISTORY);
    }

    #[test]
    fn ctrl_c_and_ctrl_d() {
        let mut e = LineEditor::new();
        assert_eq!(typed(&mut e, b"abc\x03").pop(), Some(Action::Interrupt));
        assert_eq!(e.line(), "");
        assert_eq!(typed(&mut e, b"\x04").pop(), Some(Action::EndOfInput));
        assert_eq!(typed(&mut e, b"a\x04").pop(), Some(Action::None), "Ctrl-D ends only an empty line");
    }

    #[test]
    fn tab_completion() {
        let mut e = LineEditor::new();
        assert_eq!(typed(&mut e, b"ec\t").pop(), Some(Action::Redraw));
        assert_eq!(e.line(), "ECHO ");
        let mut e = LineEditor::new();
        assert_eq!(typed(&mut e, b"a\t").pop(), Some(Action::Candidates(vec!["AVAIL".into(), "ALIAS".into()])));
        let mut e = LineEditor::new();
        assert_eq!(typed(&mut e, b"zz\t").pop(), Some(Action::Bell));
        let mut e = LineEditor::new();
        assert_eq!(typed(&mut e, b"echo x\t").pop(), Some(Action::Bell), "an argument completes as a path");
        let mut e = LineEditor::new();
        assert_eq!(typed(&mut e, b"type RAM:d\t").pop(), Some(Action::Candidates(vec!["RAM:dir/".into(), "RAM:doc".into()])));
        let mut e = LineEditor::new();
        typed(&mut e, b"type RAM:do\t");
        assert_eq!(e.line(), "type RAM:doc ", "a file: a space after it");
        let mut e = LineEditor::new();
        typed(&mut e, b"dir RAM:di\t");
        assert_eq!(e.line(), "dir RAM:dir/", "a directory: go on into it");
    }

    #[test]
    fn long_lines_are_capped() {
        let mut e = LineEditor::new();
        for _ in 0..MAX_LINE {
            e.key(Key::Char('a'), none);
        }
        assert_eq!(e.key(Key::Char('a'), none), Action::Bell);
    }

    #[test]
    fn render_places_the_cursor() {
        let mut e = LineEditor::new();
        typed(&mut e, b"abc\x1b[D\x1b[D");
        assert_eq!(e.render("1.SYS:> "), "\r1.SYS:> abc\x1b[K\x1b[2D");
    }
}
