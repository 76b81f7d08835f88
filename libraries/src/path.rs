//! AmigaDOS path names: `DEVICE:dir/dir/name`, where `:` alone is the root of the current
//! volume, a leading `/` is the parent of the current directory, and each further empty
//! component (`a//b`) one more step up. Pure logic, tested on the host.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

use crate::dosdefs::{MAX_NAME, error};

/// One step of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Name(&'a str),
    Parent,
}

/// A path taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path<'a> {
    /// The part before `:`: `Some("RAM")` for `RAM:x`, `Some("")` for `:x` (the root of the
    /// current volume), `None` for a path relative to the current directory.
    pub device: Option<&'a str>,
    pub steps: Vec<Step<'a>>,
}

/// Whether `name` can be one component: 1 to 107 characters, none of them `:`, `/` or a
/// control character.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= MAX_NAME && !name.chars().any(|c| c == ':' || c == '/' || c.is_control())
}

/// Takes `path` apart. Errors: `INVALID_COMPONENT_NAME` for a second `:`, a name over 107
/// characters or one with a control character.
pub fn parse(path: &str) -> Result<Path<'_>, i64> {
    let (device, rest) = match path.find(':') {
        Some(i) => (Some(&path[..i]), &path[i + 1..]),
        None => (None, path),
    };
    if rest.contains(':') || device.is_some_and(|d| d.contains('/')) {
        return Err(error::INVALID_COMPONENT_NAME);
    }
    let mut steps = Vec::new();
    if !rest.is_empty() {
        let parts: Vec<&str> = rest.split('/').collect();
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                // A trailing `/` ends the path; any other empty part goes one level up.
                if i != last {
                    steps.push(Step::Parent);
                }
            } else if valid_name(part) {
                steps.push(Step::Name(part));
            } else {
                return Err(error::INVALID_COMPONENT_NAME);
            }
        }
    }
    Ok(Path { device, steps })
}

/// The last component of `path` (`FilePart()`): what follows the last `/` or `:`.
pub fn file_part(path: &str) -> &str {
    match path.rfind(['/', ':']) {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// `path` without its last component (`PathPart()`): `RAM:a/b` gives `RAM:a`, `RAM:a` gives
/// `RAM:`.
pub fn path_part(path: &str) -> &str {
    match path.rfind(['/', ':']) {
        Some(i) if path.as_bytes()[i] == b':' => &path[..=i],
        Some(i) => &path[..i],
        None => "",
    }
}

/// `dir` and `name` joined as `AddPart()` does: `RAM:` + `a` is `RAM:a`, `RAM:a` + `b` is
/// `RAM:a/b`.
pub fn add_part(dir: &str, name: &str) -> alloc::string::String {
    let mut s = alloc::string::String::from(dir);
    if !(s.is_empty() || s.ends_with(':') || s.ends_with('/')) {
        s.push('/');
    }
    s.push_str(name);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::*;

    #[test]
    fn device_root_parent_and_names() {
        assert_eq!(parse("RAM:a/b").unwrap(), Path { device: Some("RAM"), steps: vec![Name("a"), Name("b")] });
        assert_eq!(parse(":x").unwrap(), Path { device: Some(""), steps: vec![Name("x")] });
        assert_eq!(parse("RAM:").unwrap(), Path { device: Some("RAM"), steps: vec![] });
        assert_eq!(parse("").unwrap(), Path { device: None, steps: vec![] });
        assert_eq!(parse("/").unwrap().steps, vec![Parent]);
        assert_eq!(parse("//x").unwrap().steps, vec![Parent, Parent, Name("x")]);
        assert_eq!(parse("a//b").unwrap().steps, vec![Name("a"), Parent, Name("b")]);
        assert_eq!(parse("a/").unwrap().steps, vec![Name("a")]);
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(parse("RAM:a:b"), Err(error::INVALID_COMPONENT_NAME));
        assert_eq!(parse("a/b\u{7}"), Err(error::INVALID_COMPONENT_NAME));
        let long = "x".repeat(108);
        assert_eq!(parse(&long), Err(error::INVALID_COMPONENT_NAME));
        assert!(parse(&"x".repeat(107)).is_ok());
        assert!(!valid_name("a/b") && !valid_name("a:") && !valid_name(""));
    }

    #[test]
    fn parts() {
        assert_eq!(file_part("RAM:a/b"), "b");
        assert_eq!(file_part("RAM:b"), "b");
        assert_eq!(path_part("RAM:a/b"), "RAM:a");
        assert_eq!(path_part("RAM:a"), "RAM:");
        assert_eq!(add_part("RAM:", "a"), "RAM:a");
        assert_eq!(add_part("RAM:a", "b"), "RAM:a/b");
        assert_eq!(add_part("", "b"), "b");
    }
}
