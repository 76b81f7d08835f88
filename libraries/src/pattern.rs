//! AmigaDOS wildcards (`ParsePatternNoCase` / `MatchPatternNoCase`): `?` one character,
//! `#p` any number of `p` (so `#?` anything), `(a|b)` either, `~p` anything `p` does not
//! match, `[a-z]` a class (`[~a-z]` its complement), `%` the empty string, `'` quotes the
//! next character. Case-insensitive, like the Amiga. Pure logic, tested on the host.
//!
//! Matching backtracks; a name is at most 107 characters and a pattern is typed by a person,
//! so the cost is bounded in practice (it is a command's, never exec's).
#![forbid(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec::Vec;

/// One element of a parsed pattern.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Char(char),
    Any,
    /// Ranges, and whether the class is complemented.
    Class(Vec<(char, char)>, bool),
    Empty,
    Repeat(Box<Item>),
    Not(Box<Item>),
    /// Alternatives, each a sequence.
    Group(Vec<Vec<Item>>),
}

/// A parsed pattern (`ParsePattern()`'s token buffer).
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    seq: Vec<Item>,
    wild: bool,
}

/// Why a pattern did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternError {
    /// A `(` without its `)`, or a `)` without its `(`.
    Unbalanced,
    /// `#`, `~` or `'` with nothing after it, or an unclosed `[`.
    Incomplete,
}

fn fold(c: char) -> char {
    c.to_ascii_lowercase()
}

struct Parser<'a> {
    chars: core::iter::Peekable<core::str::Chars<'a>>,
    wild: bool,
}

impl Parser<'_> {
    /// Alternatives up to `)` or the end.
    fn alternatives(&mut self, nested: bool) -> Result<Vec<Vec<Item>>, PatternError> {
        let mut alts = Vec::new();
        let mut seq = Vec::new();
        loop {
            match self.chars.peek().copied() {
                None if nested => return Err(PatternError::Unbalanced),
                None => break,
                Some(')') if nested => {
                    self.chars.next();
                    break;
                }
                Some(')') => return Err(PatternError::Unbalanced),
                Some('|') => {
                    self.chars.next();
                    self.wild = true;
                    alts.push(core::mem::take(&mut seq));
                }
                Some(_) => seq.push(self.item()?),
            }
        }
        alts.push(seq);
        Ok(alts)
    }

    fn item(&mut self) -> Result<Item, PatternError> {
        let c = self.chars.next().ok_or(PatternError::Incomplete)?;
        Ok(match c {
            '?' => {
                self.wild = true;
                Item::Any
            }
            '%' => {
                self.wild = true;
                Item::Empty
            }
            '#' => {
                self.wild = true;
                Item::Repeat(Box::new(self.item()?))
            }
            '~' => {
                self.wild = true;
                Item::Not(Box::new(self.item()?))
            }
            '(' => {
                self.wild = true;
                Item::Group(self.alternatives(true)?)
            }
            '[' => {
                self.wild = true;
                self.class()?
            }
            '\'' => Item::Char(fold(self.chars.next().ok_or(PatternError::Incomplete)?)),
            c => Item::Char(fold(c)),
        })
    }

    fn class(&mut self) -> Result<Item, PatternError> {
        let negated = self.chars.next_if_eq(&'~').is_some();
        let mut ranges = Vec::new();
        loop {
            let c = self.chars.next().ok_or(PatternError::Incomplete)?;
            if c == ']' {
                return Ok(Item::Class(ranges, negated));
            }
            let lo = fold(c);
            let hi = if self.chars.next_if_eq(&'-').is_some() {
                fold(self.chars.next().ok_or(PatternError::Incomplete)?)
            } else {
                lo
            };
            ranges.push((lo, hi));
        }
    }
}

impl Pattern {
    /// Parses `source` (`ParsePatternNoCase()`).
    pub fn parse(source: &str) -> Result<Pattern, PatternError> {
        let mut p = Parser { chars: source.chars().peekable(), wild: false };
        let mut alts = p.alternatives(false)?;
        let seq = if alts.len() == 1 { alts.pop().unwrap_or_default() } else { alloc::vec![Item::Group(alts)] };
        Ok(Pattern { seq, wild: p.wild })
    }

    /// Whether the pattern has wildcards (`ParsePattern()` returns 1 then, 0 otherwise): a
    /// name without them names one object and needs no directory scan.
    pub fn is_wild(&self) -> bool {
        self.wild
    }

    /// Whether `name` matches, ignoring case (`MatchPatternNoCase()`).
    pub fn matches(&self, name: &str) -> bool {
        let text: Vec<char> = name.chars().map(fold).collect();
        seq_matches(&self.seq, &text)
    }
}

/// Whether `seq` matches all of `text`.
fn seq_matches(seq: &[Item], text: &[char]) -> bool {
    let Some((first, rest)) = seq.split_first() else { return text.is_empty() };
    match first {
        // One-character items need no search over lengths.
        Item::Char(_) | Item::Any | Item::Class(..) => {
            !text.is_empty() && item_matches(first, &text[..1]) && seq_matches(rest, &text[1..])
        }
        _ => (0..=text.len()).any(|end| item_matches(first, &text[..end]) && seq_matches(rest, &text[end..])),
    }
}

/// Whether `item` matches all of `text`.
fn item_matches(item: &Item, text: &[char]) -> bool {
    match item {
        Item::Char(c) => text == [*c],
        Item::Any => text.len() == 1,
        Item::Class(ranges, negated) => {
            text.len() == 1 && ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&text[0])) != *negated
        }
        Item::Empty => text.is_empty(),
        Item::Repeat(inner) => {
            text.is_empty() || (1..=text.len()).any(|end| item_matches(inner, &text[..end]) && item_matches(item, &text[end..]))
        }
        Item::Not(inner) => !item_matches(inner, text),
        Item::Group(alts) => alts.iter().any(|seq| seq_matches(seq, text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, name: &str) -> bool {
        Pattern::parse(p).unwrap().matches(name)
    }

    #[test]
    fn wildcards() {
        assert!(m("#?", "") && m("#?", "anything"));
        assert!(m("#?.info", "Disk.INFO") && !m("#?.info", "Disk.inf"));
        assert!(m("a?c", "abc") && !m("a?c", "ac") && !m("a?c", "abbc"));
        assert!(m("#a", "") && m("#a", "AAA") && !m("#a", "ab"));
        assert!(m("#(ab)", "ababAB") && !m("#(ab)", "aba"));
        assert!(m("(foo|bar)", "BAR") && !m("(foo|bar)", "baz"));
        assert!(m("x(foo|%)", "x") && m("x(foo|%)", "xfoo"));
        assert!(m("foo|bar", "bar"));
        assert!(m("[a-c]x", "Bx") && !m("[a-c]x", "dx"));
        assert!(m("[~a-c]x", "dx") && !m("[~a-c]x", "ax"));
        assert!(m("'?", "?") && !m("'?", "a"));
    }

    #[test]
    fn not() {
        assert!(m("~(#?.info)", "disk") && !m("~(#?.info)", "disk.info"));
        assert!(m("~a", "b") && m("~a", "") && !m("~a", "A"));
    }

    #[test]
    fn plain_names_are_not_wild() {
        assert!(!Pattern::parse("readme").unwrap().is_wild());
        assert!(Pattern::parse("read#?").unwrap().is_wild());
        assert!(m("ReadMe", "README"));
    }

    #[test]
    fn bad_patterns() {
        assert_eq!(Pattern::parse("(a|b"), Err(PatternError::Unbalanced));
        assert_eq!(Pattern::parse("a)"), Err(PatternError::Unbalanced));
        assert_eq!(Pattern::parse("a#"), Err(PatternError::Incomplete));
        assert_eq!(Pattern::parse("[a-"), Err(PatternError::Incomplete));
    }
}
