//! The command line's front end: aliases, the command word, the prompt, completion. Pure.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

/// The default prompt: `%N` is the CLI number.
pub const DEFAULT_PROMPT: &str = "%N.SYS:> ";

/// The prompt for CLI `cli` from `format`: `%N` = the CLI number, `%R` = the last return code,
/// `%S` = the current directory (`dir`), `%%` = a percent sign.
pub fn prompt(format: &str, cli: u32, rc: i32, dir: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('N') | Some('n') => out.push_str(&alloc::format!("{cli}")),
            Some('R') | Some('r') => out.push_str(&alloc::format!("{rc}")),
            Some('S') | Some('s') => out.push_str(dir),
            Some(other) => {
                out.push('%');
                if other != '%' {
                    out.push(other);
                }
            }
            None => out.push('%'),
        }
    }
    out
}

/// The text of `raw` if it is one quoted word (`"..."`, with ReadArgs's `*` escapes), as ECHO
/// takes it; `None` otherwise.
pub fn unquote(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if !raw.starts_with('"') {
        return None;
    }
    match libraries::readargs::read_args("WORD/A", raw) {
        Ok(v) => match v.into_iter().next() {
            Some(libraries::readargs::ArgValue::Str(s)) => Some(s),
            _ => None,
        },
        Err(_) => None,
    }
}

/// PROMPT's argument as the prompt it sets: a quoted one exactly (quotes stripped), an
/// unquoted one with a space after it.
pub fn prompt_text(raw: &str) -> String {
    unquote(raw).unwrap_or_else(|| alloc::format!("{raw} "))
}

/// `line` without its comment: from a `;` outside quotes to the end, as AmigaShell has it.
pub fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '*' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// A command word as typed: a quoted one (`"ECHO"`, which reaches the built-in past an alias
/// of that name) without its quotes.
pub fn bare_word(word: &str) -> &str {
    word.strip_prefix('"').and_then(|w| w.strip_suffix('"')).unwrap_or(word)
}

/// The first word of `line` and the rest (trimmed); `None` for a blank line.
pub fn split_command(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    Some(match line.split_once(char::is_whitespace) {
        Some((cmd, rest)) => (cmd, rest.trim()),
        None => (line, ""),
    })
}

/// Replaces an alias at the start of `line` (one level, as AmigaDOS does): `[]` in the alias
/// text takes the rest of the line, otherwise the rest is appended.
/// A quoted command word is never an alias.
pub fn expand_alias(line: &str, aliases: &[(String, String)]) -> String {
    let Some((word, rest)) = split_command(line) else { return String::from(line) };
    if word.starts_with('"') {
        return String::from(line);
    }
    match aliases.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)) {
        None => String::from(line),
        Some((_, text)) if text.contains("[]") => text.replacen("[]", rest, 1),
        Some((_, text)) if rest.is_empty() => text.clone(),
        Some((_, text)) => alloc::format!("{text} {rest}"),
    }
}

/// Where a command's output or input goes instead of the console: `>file`, `>>file` (append),
/// `<file`, each anywhere on the line after the command word, outside quotes, at the start of
/// a word (so `PROMPT %N>` keeps its `>`), with or without a space before the name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Redirection {
    /// The output file, and whether to append to it.
    pub output: Option<(String, bool)>,
    pub input: Option<String>,
}

/// Takes the redirections out of a command's arguments. Result: the arguments left and the
/// redirection; an error for a `>` or `<` without a name, or two of one kind.
pub fn split_redirection(args: &str) -> Result<(String, Redirection), &'static str> {
    let mut rest = String::new();
    let mut r = Redirection::default();
    let mut chars = args.chars().peekable();
    let mut quoted = false;
    let mut escaped = false;
    while let Some(c) = chars.next() {
        let word_start = rest.is_empty() || rest.ends_with(char::is_whitespace);
        if quoted || escaped || (c != '>' && c != '<') || !word_start {
            match c {
                _ if escaped => escaped = false,
                '*' if quoted => escaped = true,
                '"' => quoted = !quoted,
                _ => {}
            }
            rest.push(c);
            continue;
        }
        let append = c == '>' && chars.next_if_eq(&'>').is_some();
        while chars.next_if(|c| *c == ' ').is_some() {}
        let mut name = String::new();
        while let Some(n) = chars.next_if(|c| !c.is_whitespace()) {
            name.push(n);
        }
        if name.is_empty() || name.starts_with(['>', '<']) {
            return Err("Redirection without a file name");
        }
        let twice = if c == '>' { r.output.replace((name, append)).is_some() } else { r.input.replace(name).is_some() };
        if twice {
            return Err("Redirected twice");
        }
    }
    Ok((String::from(rest.trim()), r))
}

/// The names among `names` that start with `word` (any case), as written in `names`.
pub fn complete(names: &[&str], word: &str) -> Vec<String> {
    names.iter().filter(|n| n.len() >= word.len() && n[..word.len()].eq_ignore_ascii_case(word)).map(|n| String::from(*n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(prompt(DEFAULT_PROMPT, 1, 0, "RAM:"), "1.SYS:> ");
        assert_eq!(prompt("%N%% %x%", 12, 0, ""), "12% %x%");
        assert_eq!(prompt("%R %N>", 1, 20, ""), "20 1>");
        assert_eq!(prompt("%N.%S> ", 1, 0, "RAM:d"), "1.RAM:d> ");
    }

    #[test]
    fn redirection() {
        let out = |n: &str, a| Redirection { output: Some((n.to_string(), a)), input: None };
        assert_eq!(split_redirection("hello >RAM:a"), Ok(("hello".to_string(), out("RAM:a", false))));
        assert_eq!(split_redirection(">> RAM:a hello"), Ok(("hello".to_string(), out("RAM:a", true))));
        assert_eq!(split_redirection("\"a > b\" >x"), Ok(("\"a > b\"".to_string(), out("x", false))), "quoted");
        let both = split_redirection("<in x >out").unwrap();
        assert_eq!((both.0.as_str(), both.1.input.as_deref(), both.1.output), ("x", Some("in"), Some(("out".to_string(), false))));
        assert_eq!(split_redirection("plain words"), Ok(("plain words".to_string(), Redirection::default())));
        assert!(split_redirection("x >").is_err());
        assert!(split_redirection("x >a >b").is_err());
        assert!(split_redirection("x > >b").is_err());
        assert_eq!(split_redirection("%N> "), Ok(("%N>".to_string(), Redirection::default())), "inside a word");
        assert_eq!(split_redirection("a>b"), Ok(("a>b".to_string(), Redirection::default())));
    }

    #[test]
    fn prompt_arguments() {
        assert_eq!(prompt_text("\"%N.Foo:> \""), "%N.Foo:> ");
        assert_eq!(prompt_text("\"\""), "");
        assert_eq!(prompt_text("%N>"), "%N> ");
        assert_eq!(prompt_text("\"a*\"b\""), "a\"b");
        assert_eq!(unquote("\"quoted value\""), Some("quoted value".to_string()));
        assert_eq!(unquote("\"a\" b"), None, "more than one word");
        assert_eq!(unquote("plain"), None);
    }

    #[test]
    fn comments() {
        assert_eq!(strip_comment("echo hi ; comment"), "echo hi ");
        assert_eq!(strip_comment("echo \"a;b\" ;c"), "echo \"a;b\" ");
        assert_eq!(strip_comment("echo \"*\";\";x"), "echo \"*\";\"");
        assert_eq!(strip_comment("; all comment"), "");
        assert_eq!(strip_comment("echo none"), "echo none");
    }

    #[test]
    fn quoted_command_words() {
        assert_eq!(bare_word("\"echo\""), "echo");
        assert_eq!(bare_word("echo"), "echo");
        let a = vec![("echo".to_string(), "status".to_string())];
        assert_eq!(expand_alias("echo x", &a), "status x");
        assert_eq!(expand_alias("\"echo\" x", &a), "\"echo\" x");
    }

    #[test]
    fn commands_and_aliases() {
        assert_eq!(split_command("  echo  hello world "), Some(("echo", "hello world")));
        assert_eq!(split_command("avail"), Some(("avail", "")));
        assert_eq!(split_command("   "), None);
        let a = vec![("ll".to_string(), "ECHO listing []!".to_string()), ("hi".to_string(), "ECHO hi".to_string())];
        assert_eq!(expand_alias("ll here", &a), "ECHO listing here!");
        assert_eq!(expand_alias("HI there", &a), "ECHO hi there");
        assert_eq!(expand_alias("hi", &a), "ECHO hi");
        assert_eq!(expand_alias("echo x", &a), "echo x");
    }

    #[test]
    fn completion() {
        let names = ["AVAIL", "ALIAS", "ECHO"];
        assert_eq!(complete(&names, "a"), vec!["AVAIL", "ALIAS"]);
        assert_eq!(complete(&names, "EC"), vec!["ECHO"]);
        assert!(complete(&names, "x").is_empty());
        assert_eq!(complete(&names, "").len(), 3);
    }
}
