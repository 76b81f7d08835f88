//! The command line's front end: aliases, the command word, the prompt, completion. Pure.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;

/// The default prompt: `%N` is the CLI number.
pub const DEFAULT_PROMPT: &str = "%N.SYS:> ";

/// The prompt for CLI `cli` from `format` (`%N` = number, `%%` = a percent sign).
pub fn prompt(format: &str, cli: u32) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('N') | Some('n') => out.push_str(&alloc::format!("{cli}")),
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
pub fn expand_alias(line: &str, aliases: &[(String, String)]) -> String {
    let Some((word, rest)) = split_command(line) else { return String::from(line) };
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
        assert_eq!(prompt(DEFAULT_PROMPT, 1), "1.SYS:> ");
        assert_eq!(prompt("%N%% %x%", 12), "12% %x%");
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
