//! Terminal input to keys: bytes from the serial port, parsed with vte, become [`Key`]s.
//! Escape sequences the shell does not use, NULs and other control bytes are dropped.
#![forbid(unsafe_code)]

use alloc::vec::Vec;
use vte::{Params, Parser, Perform};

/// A key the line editor understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Backspace,
    Delete,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    Tab,
    /// Ctrl-A .. Ctrl-Z by letter (only those the editor uses are produced).
    Ctrl(char),
}

/// Turns bytes into keys. Keeps state across calls, so a sequence may arrive split.
pub struct KeyDecoder {
    parser: Parser,
    sink: Sink,
}

struct Sink {
    keys: Vec<Key>,
    /// ESC O was seen: the next character names an SS3 key (ESC O H = Home, ...).
    ss3: bool,
}

impl Perform for Sink {
    fn print(&mut self, c: char) {
        if core::mem::take(&mut self.ss3) {
            if let Some(k) = letter_key(c) {
                self.keys.push(k);
            }
            return;
        }
        self.keys.push(Key::Char(c));
    }

    fn execute(&mut self, byte: u8) {
        self.ss3 = false;
        let key = match byte {
            b'\r' | b'\n' => Key::Enter,
            0x08 => Key::Backspace,
            b'\t' => Key::Tab,
            0x01 => Key::Ctrl('A'),
            0x03 => Key::Ctrl('C'),
            0x04 => Key::Ctrl('D'),
            0x05 => Key::Ctrl('E'),
            0x0b => Key::Ctrl('K'),
            0x15 => Key::Ctrl('U'),
            0x17 => Key::Ctrl('W'),
            _ => return, // NUL, bell, and every other control byte: ignored
        };
        self.keys.push(key);
    }

    fn csi_dispatch(&mut self, params: &Params, intermediates: &[u8], ignore: bool, action: char) {
        self.ss3 = false;
        if ignore || !intermediates.is_empty() {
            return;
        }
        let first = params.iter().next().and_then(|p| p.first().copied()).unwrap_or(0);
        let key = match action {
            '~' => match first {
                1 | 7 => Key::Home,
                4 | 8 => Key::End,
                3 => Key::Delete,
                _ => return,
            },
            c => match letter_key(c) {
                Some(k) => k,
                None => return,
            },
        };
        self.keys.push(key);
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        self.ss3 = intermediates.is_empty() && byte == b'O';
    }
}

fn letter_key(c: char) -> Option<Key> {
    Some(match c {
        'A' => Key::Up,
        'B' => Key::Down,
        'C' => Key::Right,
        'D' => Key::Left,
        'H' => Key::Home,
        'F' => Key::End,
        _ => return None,
    })
}

impl KeyDecoder {
    pub fn new() -> Self {
        KeyDecoder { parser: Parser::new(), sink: Sink { keys: Vec::new(), ss3: false } }
    }

    /// Feeds `bytes`; returns the keys completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Key> {
        for &b in bytes {
            if b == 0x7f {
                // DEL is what most terminals send for Backspace; vte ignores it.
                self.sink.ss3 = false;
                self.sink.keys.push(Key::Backspace);
            } else {
                self.parser.advance(&mut self.sink, &[b]);
            }
        }
        core::mem::take(&mut self.sink.keys)
    }
}

impl Default for KeyDecoder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Key::*;

    fn keys(b: &[u8]) -> Vec<Key> {
        KeyDecoder::new().feed(b)
    }

    #[test]
    fn plain_and_control() {
        assert_eq!(keys(b"ab\r"), vec![Char('a'), Char('b'), Enter]);
        assert_eq!(keys(b"\x01\x05\x0b\x15\x17\x03\x04\t"), vec![Ctrl('A'), Ctrl('E'), Ctrl('K'), Ctrl('U'), Ctrl('W'), Ctrl('C'), Ctrl('D'), Tab]);
        assert_eq!(keys(b"\x7f\x08"), vec![Backspace, Backspace]);
        assert_eq!(keys("é".as_bytes()), vec![Char('é')]);
    }

    #[test]
    fn escape_sequences() {
        assert_eq!(keys(b"\x1b[A\x1b[B\x1b[C\x1b[D"), vec![Up, Down, Right, Left]);
        assert_eq!(keys(b"\x1b[H\x1b[F\x1b[1~\x1b[4~\x1b[3~"), vec![Home, End, Home, End, Delete]);
        assert_eq!(keys(b"\x1bOH\x1bOF\x1bOA"), vec![Home, End, Up]);
    }

    #[test]
    fn junk_is_ignored() {
        assert_eq!(keys(b"\x00\x07\x1b[99~\x1b[5;3X\x1b]0;title\x07\x1bPq#0\x1b\\x"), vec![Char('x')]);
        assert_eq!(keys(b"\x1b[?25h\x1b(B\x1b7y"), vec![Char('y')]);
    }

    #[test]
    fn split_sequences_join() {
        let mut d = KeyDecoder::new();
        assert_eq!(d.feed(b"\x1b["), vec![]);
        assert_eq!(d.feed(b"D"), vec![Left]);
    }
}
