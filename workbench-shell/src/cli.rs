//! The command line's front end: aliases, the command word, the prompt, completion. Pure.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

/// The default prompt: `%N` is the CLI number.
pub const DEFAULT_PROMPT: &str = "%N.SYS:> ";

/// The prompt for CLI `cli` from `format`: `%N` = the CLI number, `%R` = the last return code,
/// `%%` = a percent sign. (`%S`, the current directory, waits for DOS.)
pub fn prompt(format: &str, cli: u32, rc: i32) -> String {
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

/// The names among `names` that start with `word` (any case), as written in `names`.
pub fn complete(names: &[&str], word: &str) -> Vec<String> {
    names.iter().filter(|n| n.len() >= word.len() && n[..word.len()].eq_ignore_ascii_case(word)).map(|n| String::from(*n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(prompt(DEFAULT_PROMPT, 1, 0), "1.SYS:> ");
        assert_eq!(prompt("%N%% %x%", 12, 0), "12% %x%");
        assert_eq!(prompt("%R %N>", 1, 20), "20 1>");
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
