//! ReadArgs: AmigaDOS argument templates.
//!
//! A template is a comma-separated list of items `NAME[=ALIAS...][/A][/K][/S][/N][/M][/F]`:
//! - `/A` the argument is required;
//! - `/K` it must be given with its keyword (`TO=RAM:` or `TO RAM:`);
//! - `/S` a switch: true when its keyword appears;
//! - `/N` a number;
//! - `/M` takes every word left over (at most one /M item);
//! - `/F` takes the rest of the line as it is.
//!
//! Keywords match without regard to case, by name or any alias. Words may be quoted
//! (`"two words"`, with `*"` for a quote, `**` for a star and `*n` for a newline). A line that
//! is just `?` asks for the template: [`ArgError::Help`].
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

/// What went wrong, with AmigaDOS's error numbers and words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// The line was `?`: show the template.
    Help,
    /// 114: the template itself is malformed.
    BadTemplate,
    /// 115: a /N argument that is not a number.
    BadNumber(String),
    /// 116: a /A argument was not given.
    RequiredArgMissing(String),
    /// 117: a keyword at the end of the line without its value.
    KeyNeedsValue(String),
    /// 118: more words than the template has places for.
    TooManyArgs(String),
    /// 120: two switches that exclude each other (see [`exclusive`]).
    Conflict(String, String),
}

impl ArgError {
    /// The AmigaDOS error number (0 for Help).
    pub fn code(&self) -> u32 {
        match self {
            ArgError::Help => 0,
            ArgError::BadTemplate => 114,
            ArgError::BadNumber(_) => 115,
            ArgError::RequiredArgMissing(_) => 116,
            ArgError::KeyNeedsValue(_) => 117,
            ArgError::TooManyArgs(_) => 118,
            ArgError::Conflict(..) => 120,
        }
    }
}

impl core::fmt::Display for ArgError {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self {
            ArgError::Help => write!(f, "help requested"),
            ArgError::BadTemplate => write!(f, "Bad template"),
            ArgError::BadNumber(_) => write!(f, "Bad number"),
            ArgError::RequiredArgMissing(_) => write!(f, "Required argument missing"),
            ArgError::KeyNeedsValue(_) => write!(f, "Keyword needs value"),
            ArgError::TooManyArgs(_) => write!(f, "Wrong number of arguments"),
            ArgError::Conflict(a, b) => write!(f, "{a} and {b} cannot be used together"),
        }
    }
}

/// The value of one template item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgValue {
    Missing,
    Str(String),
    Switch(bool),
    Num(i64),
    Multi(Vec<String>),
}

#[derive(Clone, Debug)]
struct Item {
    names: Vec<String>,
    required: bool,
    keyword: bool,
    switch: bool,
    number: bool,
    multi: bool,
    rest: bool,
}

fn parse_template(template: &str) -> Result<Vec<Item>, ArgError> {
    let mut items = Vec::new();
    for spec in template.split(',') {
        let mut parts = spec.trim().split('/');
        let names: Vec<String> = parts.next().unwrap_or("").split('=').map(|n| n.trim().to_uppercase()).collect();
        if names.iter().any(String::is_empty) {
            return Err(ArgError::BadTemplate);
        }
        let mut it = Item { names, required: false, keyword: false, switch: false, number: false, multi: false, rest: false };
        for flag in parts {
            match flag.trim().to_ascii_uppercase().as_str() {
                "A" => it.required = true,
                "K" => it.keyword = true,
                "S" => it.switch = true,
                "N" => it.number = true,
                "M" => it.multi = true,
                "F" => it.rest = true,
                _ => return Err(ArgError::BadTemplate),
            }
        }
        items.push(it);
    }
    if items.iter().filter(|i| i.multi).count() > 1 {
        return Err(ArgError::BadTemplate);
    }
    Ok(items)
}

/// A word of the line and where the rest of the line starts after it.
struct Word {
    text: String,
    quoted: bool,
    start: usize,
}

fn words(line: &str) -> Vec<Word> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut text = String::new();
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'*' && i + 1 < b.len() {
                    i += 1;
                    text.push(match b[i] {
                        b'n' | b'N' => '\n',
                        b'e' | b'E' => '\x1b',
                        c => c as char,
                    });
                } else {
                    let ch = line[i..].chars().next().unwrap_or(' ');
                    text.push(ch);
                    i += ch.len_utf8() - 1;
                }
                i += 1;
            }
            i += 1; // closing quote
            out.push(Word { text, quoted: true, start });
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push(Word { text: String::from(&line[start..i]), quoted: false, start });
        }
    }
    out
}

/// Parses `line` against `template`. Result: one value per template item, in template order.
pub fn read_args(template: &str, line: &str) -> Result<Vec<ArgValue>, ArgError> {
    let items = parse_template(template)?;
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim() == "?" {
        return Err(ArgError::Help);
    }
    let mut values: Vec<ArgValue> = items.iter().map(|i| if i.switch { ArgValue::Switch(false) } else { ArgValue::Missing }).collect();
    let ws = words(line);
    let mut used = alloc::vec![false; ws.len()];
    let find = |name: &str| items.iter().position(|it| it.names.iter().any(|n| n.eq_ignore_ascii_case(name)));

    // Keywords first: `KEY value`, `KEY=value`, switches, and `/F` keywords taking the rest.
    let mut i = 0;
    while i < ws.len() {
        if ws[i].quoted {
            i += 1;
            continue;
        }
        let (key, inline) = match ws[i].text.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (ws[i].text.as_str(), None),
        };
        let Some(k) = find(key) else {
            i += 1;
            continue;
        };
        let it = &items[k];
        used[i] = true;
        if it.switch {
            values[k] = ArgValue::Switch(true);
        } else if it.rest {
            let from = match inline {
                Some(_) => ws[i].start + key.len() + 1,
                None => ws.get(i + 1).map_or(line.len(), |w| w.start),
            };
            values[k] = ArgValue::Str(String::from(line[from..].trim()));
            used[i..].iter_mut().for_each(|u| *u = true);
            break;
        } else {
            let value = match inline {
                Some(v) => String::from(v),
                None => {
                    let Some(next) = ws.get(i + 1) else { return Err(ArgError::KeyNeedsValue(it.names[0].clone())) };
                    used[i + 1] = true;
                    i += 1;
                    next.text.clone()
                }
            };
            values[k] = if it.multi { ArgValue::Multi(alloc::vec![value]) } else { ArgValue::Str(value) };
        }
        i += 1;
    }

    // Then positional words fill the items not yet given, in template order; a /M item takes
    // every word from where it stands, and required items after it take theirs back from its
    // end (as AmigaDOS does: `COPY a b c TO-less` copies a and b to c).
    let multi_at = items.iter().position(|it| it.multi && !it.keyword);
    let mut next_item = 0;
    for (w, word) in ws.iter().enumerate() {
        if used[w] {
            continue;
        }
        while next_item < items.len()
            && (items[next_item].keyword || items[next_item].switch || (!items[next_item].multi && values[next_item] != ArgValue::Missing))
        {
            next_item += 1;
        }
        let Some(it) = items.get(next_item) else { return Err(ArgError::TooManyArgs(word.text.clone())) };
        if it.rest {
            values[next_item] = ArgValue::Str(String::from(line[word.start..].trim()));
            break;
        }
        if !it.multi {
            values[next_item] = ArgValue::Str(word.text.clone());
            next_item += 1;
            continue;
        }
        // The /M item: it takes this word and every one after it.
        match &mut values[next_item] {
            ArgValue::Multi(v) => v.push(word.text.clone()),
            v => *v = ArgValue::Multi(alloc::vec![word.text.clone()]),
        }
    }
    if let Some(m) = multi_at {
        for k in (m + 1..items.len()).rev() {
            let it = &items[k];
            if it.required && !it.keyword && !it.switch && values[k] == ArgValue::Missing
                && let ArgValue::Multi(v) = &mut values[m]
                && v.len() > 1
            {
                values[k] = ArgValue::Str(v.pop().unwrap_or_default());
            }
        }
    }

    for (it, v) in items.iter().zip(values.iter_mut()) {
        if it.number {
            if let ArgValue::Str(s) = v {
                *v = ArgValue::Num(s.parse().map_err(|_| ArgError::BadNumber(s.clone()))?);
            } else if let ArgValue::Multi(_) = v {
                return Err(ArgError::BadTemplate);
            }
        }
        if it.required && *v == ArgValue::Missing {
            return Err(ArgError::RequiredArgMissing(it.names[0].clone()));
        }
    }
    Ok(values)
}

/// Checks that at most one of the switches `switches` (index into `values`, keyword) is
/// given: a template cannot say that two switches exclude each other (`ON/S,OFF/S`), so the
/// command names them.
pub fn exclusive(values: &[ArgValue], switches: &[(usize, &str)]) -> Result<(), ArgError> {
    let mut given = switches.iter().filter(|(i, _)| values.get(*i) == Some(&ArgValue::Switch(true)));
    match (given.next(), given.next()) {
        (Some((_, a)), Some((_, b))) => Err(ArgError::Conflict(String::from(*a), String::from(*b))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ArgValue::*;

    fn s(x: &str) -> ArgValue {
        Str(x.into())
    }

    #[test]
    fn accepted() {
        let cases: &[(&str, &str, Vec<ArgValue>)] = &[
            ("NAME/A", "foo", vec![s("foo")]),
            ("NAME/A", "\"two words\"", vec![s("two words")]),
            ("FROM/A,TO/A", "a b", vec![s("a"), s("b")]),
            ("FROM/A,TO/K/A", "a TO b", vec![s("a"), s("b")]),
            ("FROM/A,TO/K/A", "TO=b a", vec![s("a"), s("b")]),
            ("FROM/A,TO=AS/K", "x as y", vec![s("x"), s("y")]),
            ("N/N,ALL/S", "42 all", vec![Num(42), Switch(true)]),
            ("N/N,ALL/S", "", vec![Missing, Switch(false)]),
            ("N/N", "-7", vec![Num(-7)]),
            ("FILES/M/A,QUIET/S", "a b c QUIET", vec![Multi(vec!["a".into(), "b".into(), "c".into()]), Switch(true)]),
            ("FROM/M/A,TO/A,ALL/S", "a b c ALL", vec![Multi(vec!["a".into(), "b".into()]), Str("c".into()), Switch(true)]),
            ("FROM/M/A,TO/A", "a TO b", vec![Multi(vec!["a".into()]), Str("b".into())]),
            ("DEST,FROM/M", "d a b", vec![Str("d".into()), Multi(vec!["a".into(), "b".into()])]),
            ("TEXT/F", "hello,  world  ", vec![s("hello,  world")]),
            ("CMD/A,ARGS/F", "echo hi there", vec![s("echo"), s("hi there")]),
            ("STRING/M", "", vec![Missing]),
            ("TASK/A/N,C/S,D/S,E/S,F/S", "3 c", vec![Num(3), Switch(true), Switch(false), Switch(false), Switch(false)]),
            ("TEXT/F", "\"*\"quoted*\" **star\"", vec![s("\"*\"quoted*\" **star\"")]),
            ("W/A", "\"a*\"b**c*n\"", vec![s("a\"b*c\n")]),
        ];
        for (t, line, want) in cases {
            assert_eq!(read_args(t, line).as_ref(), Ok(want), "template {t:?} line {line:?}");
        }
    }

    #[test]
    fn rejected() {
        let cases: &[(&str, &str, ArgError)] = &[
            ("NAME/A", "", ArgError::RequiredArgMissing("NAME".into())),
            ("N/N", "abc", ArgError::BadNumber("abc".into())),
            ("NAME", "a b", ArgError::TooManyArgs("b".into())),
            ("FROM,TO/K", "a TO", ArgError::KeyNeedsValue("TO".into())),
            ("TO/K/A", "b", ArgError::TooManyArgs("b".into())),
            ("NAME/A", "?", ArgError::Help),
            ("NAME/Q", "x", ArgError::BadTemplate),
            ("A/M,B/M", "x", ArgError::BadTemplate),
            (",X", "x", ArgError::BadTemplate),
        ];
        for (t, line, want) in cases {
            assert_eq!(read_args(t, line).as_ref(), Err(want), "template {t:?} line {line:?}");
        }
    }

    #[test]
    fn exclusive_switches() {
        let v = read_args("N/N,SEC/S,MIN/S,TICKS/S", "1 SEC MIN").unwrap();
        let sw = [(1, "SEC"), (2, "MIN"), (3, "TICKS")];
        assert_eq!(exclusive(&v, &sw), Err(ArgError::Conflict("SEC".into(), "MIN".into())));
        assert_eq!(exclusive(&v, &sw).unwrap_err().code(), 120);
        assert_eq!(exclusive(&v, &sw).unwrap_err().to_string(), "SEC and MIN cannot be used together");
        let v = read_args("N/N,SEC/S,MIN/S,TICKS/S", "1 MIN").unwrap();
        assert_eq!(exclusive(&v, &sw), Ok(()));
        assert_eq!(exclusive(&[], &sw), Ok(()));
    }

    #[test]
    fn codes_and_words() {
        assert_eq!(ArgError::BadNumber("x".into()).code(), 115);
        assert_eq!(ArgError::RequiredArgMissing("x".into()).to_string(), "Required argument missing");
        assert_eq!(ArgError::BadNumber("x".into()).to_string(), "Bad number");
    }
}
