//! The file commands: DIR, LIST, TYPE, COPY, DELETE, RENAME, MAKEDIR, CD, INFO, JOIN,
//! CHECKSUM and FAULT (ASSIGN is in `assign.rs`). Each works through dos.library only (packets to the handlers), and takes AmigaDOS
//! patterns where AmigaDOS does (`DIR RAM:#?.txt`, `COPY RAM:#? RAM:d`, `DELETE RAM:t#?`).
//! In the mmu build they run in ring 3, as the handlers do: every packet crosses protection
//! twice.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use libraries::dos::{self, close, open};
use libraries::dos::lock::{FileLock, entries};
use libraries::dos::{create_dir, delete_file, examine, name_from_lock, unlock};
use libraries::dosdefs::{FileInfoBlock, InfoData, MODE_NEWFILE, MODE_OLDFILE, SHARED_LOCK, error, fault_text, prot};
use libraries::path::{add_part, file_part, path_part};
use libraries::readargs::ArgValue;

use super::{Ctx, switch, text};
use crate::shell::{RC_ERROR, RC_OK, RC_WARN};

/// Bytes COPY, TYPE and JOIN move per packet.
const CHUNK: usize = 16 * 1024;

fn words(code: i64) -> String {
    fault_text(code).map_or_else(|| alloc::format!("Error {code}"), String::from)
}

/// Reports a DOS error about `name` as AmigaDOS words (`RAM:x: Object not found`); WHY and
/// FAULT explain the number.
pub(super) fn dos_fail(ctx: &mut Ctx, name: &str, code: i64) -> i32 {
    let msg = if code == error::OBJECT_WRONG_TYPE {
        // One number, two cases: say which.
        let is_dir = dos::lock(name, SHARED_LOCK).ok().map(|l| {
            let mut fib = FileInfoBlock::default();
            let dir = examine(&l, &mut fib).is_ok() && fib.is_dir();
            let _ = unlock(l);
            dir
        });
        alloc::format!("{name}: {}", if is_dir == Some(true) { "Is a directory" } else { "Not a directory" })
    } else {
        alloc::format!("{name}: {}", words(code))
    };
    ctx.fail(RC_ERROR, code as u32, &msg)
}

fn multi(v: &ArgValue) -> Vec<String> {
    match v {
        ArgValue::Multi(v) => v.clone(),
        ArgValue::Str(s) => alloc::vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The objects `name` stands for: itself, or with a pattern in its last part, the entries of
/// its directory that match (sorted by name). Each with its full name.
fn expand(name: &str) -> Result<Vec<(String, FileInfoBlock)>, (String, i64)> {
    let last = file_part(name);
    let pattern = dos::parse_pattern(last).map_err(|_| (String::from(name), error::INVALID_COMPONENT_NAME))?;
    if !pattern.is_wild() {
        let l = dos::lock(name, SHARED_LOCK).map_err(|e| (String::from(name), e))?;
        let mut fib = FileInfoBlock::default();
        let r = examine(&l, &mut fib);
        let _ = unlock(l);
        r.map_err(|e| (String::from(name), e))?;
        return Ok(alloc::vec![(String::from(name), fib)]);
    }
    let dir = path_part(name);
    let l = dos::lock(dir, SHARED_LOCK).map_err(|e| (String::from(dir), e))?;
    let list = entries(&l);
    let _ = unlock(l);
    let mut out: Vec<(String, FileInfoBlock)> =
        list.map_err(|e| (String::from(dir), e))?.into_iter().filter(|f| dos::match_pattern(&pattern, f.name())).map(|f| (add_part(dir, f.name()), f)).collect();
    out.sort_by_key(|a| a.1.name().to_ascii_lowercase());
    Ok(out)
}

/// The entries of directory `name`, sorted, directories first.
fn listing(name: &str) -> Result<Vec<FileInfoBlock>, i64> {
    let l = dos::lock(name, SHARED_LOCK)?;
    let r = entries(&l);
    let _ = unlock(l);
    let mut v = r?;
    v.sort_by_key(|f| (!f.is_dir(), f.name().to_ascii_lowercase()));
    Ok(v)
}

fn dir_tree(ctx: &mut Ctx, name: &str, depth: usize, all: bool) -> Result<(), (String, i64)> {
    for f in listing(name).map_err(|e| (String::from(name), e))? {
        let pad = " ".repeat(5 * depth);
        if f.is_dir() {
            let _ = writeln!(ctx.con, "{pad}     {} (dir)", f.name());
            if all {
                dir_tree(ctx, &add_part(name, f.name()), depth + 1, all)?;
            }
        } else {
            let _ = writeln!(ctx.con, "{pad}  {}", f.name());
        }
    }
    Ok(())
}

/// DIR [dir|pattern] [ALL]
pub(super) fn dir(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let name = String::from(text(&a[0]).unwrap_or(""));
    let all = switch(&a[1]);
    if dos::parse_pattern(file_part(&name)).is_ok_and(|p| p.is_wild()) {
        return match expand(&name) {
            Ok(found) => {
                for (full, f) in found {
                    let _ = writeln!(ctx.con, "{}{}", if f.is_dir() { "     " } else { "  " }, f.name());
                    if f.is_dir() && all && let Err((n, e)) = dir_tree(ctx, &full, 1, all) {
                        return dos_fail(ctx, &n, e);
                    }
                }
                RC_OK
            }
            Err((n, e)) => dos_fail(ctx, &n, e),
        };
    }
    match dir_tree(ctx, &name, 0, all) {
        Ok(()) => RC_OK,
        Err((n, e)) => dos_fail(ctx, &n, e),
    }
}

/// `hsparwed` as LIST shows it: h, s, p, a when set; r, w, e, d when allowed (their bits
/// clear).
fn prot_text(bits: u32) -> String {
    let mut s = String::new();
    for (bit, c) in [(1 << 7, 'h'), (prot::SCRIPT, 's'), (prot::PURE, 'p'), (prot::ARCHIVE, 'a')] {
        s.push(if bits & bit != 0 { c } else { '-' });
    }
    for (bit, c) in [(prot::READ, 'r'), (prot::WRITE, 'w'), (prot::EXECUTE, 'e'), (prot::DELETE, 'd')] {
        s.push(if bits & bit == 0 { c } else { '-' });
    }
    s
}

fn list_one(ctx: &mut Ctx, f: &FileInfoBlock, totals: &mut (u64, u64, u64)) {
    let mut date = String::new();
    let _ = exec::date::format_amiga(f.date, &mut date);
    let size = if f.is_dir() { String::from("Dir") } else { alloc::format!("{}", f.size) };
    let _ = writeln!(ctx.con, "{:<24} {:>8} {} {}", f.name(), size, prot_text(f.protection), date);
    if f.is_dir() {
        totals.1 += 1;
    } else {
        totals.0 += 1;
        totals.2 += f.size;
    }
}

/// LIST [dir|pattern ...] [ALL]
pub(super) fn list(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let mut names = multi(&a[0]);
    if names.is_empty() {
        names.push(String::new());
    }
    let all = switch(&a[1]);
    let mut totals = (0, 0, 0);
    let mut queue: Vec<String> = Vec::new();
    for name in names {
        match expand(&name) {
            Ok(found) if found.len() == 1 && found[0].1.is_dir() && !dos::parse_pattern(file_part(&name)).is_ok_and(|p| p.is_wild()) => {
                queue.push(name)
            }
            Ok(found) => {
                for (_, f) in found {
                    list_one(ctx, &f, &mut totals);
                }
            }
            Err((n, e)) => return dos_fail(ctx, &n, e),
        }
    }
    while let Some(dir) = queue.pop() {
        let _ = writeln!(ctx.con, "Directory \"{}\"", if dir.is_empty() { "" } else { &dir });
        match listing(&dir) {
            Ok(v) => {
                for f in &v {
                    list_one(ctx, f, &mut totals);
                }
                if all {
                    queue.extend(v.iter().filter(|f| f.is_dir()).map(|f| add_part(&dir, f.name())));
                }
            }
            Err(e) => return dos_fail(ctx, &dir, e),
        }
    }
    let _ = writeln!(ctx.con, "{} files - {} directories - {} bytes", totals.0, totals.1, totals.2);
    RC_OK
}

fn hex_dump(ctx: &mut Ctx, offset: usize, bytes: &[u8]) {
    for (i, row) in bytes.chunks(16).enumerate() {
        let mut line = alloc::format!("{:04x}:", offset + i * 16);
        for (j, b) in row.iter().enumerate() {
            if j % 4 == 0 {
                line.push(' ');
            }
            let _ = write!(line, "{b:02x}");
        }
        let pad = 16 * 2 + 4 - (row.len() * 2 + row.len().div_ceil(4));
        line.push_str(&" ".repeat(pad + 1));
        line.extend(row.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }));
        let _ = writeln!(ctx.con, "{line}");
    }
}

/// TYPE file|pattern ... [HEX]
pub(super) fn type_cmd(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let hex = switch(&a[1]);
    for name in multi(&a[0]) {
        let found = match expand(&name) {
            Ok(f) => f,
            Err((n, e)) => return dos_fail(ctx, &n, e),
        };
        for (full, _) in found {
            let mut f = match open(&full, MODE_OLDFILE) {
                Ok(f) => f,
                Err(e) => return dos_fail(ctx, &full, e),
            };
            let mut buf = alloc::vec![0u8; CHUNK];
            let mut offset = 0;
            loop {
                if super::broken() {
                    return ctx.fail(RC_WARN, error::BREAK as u32, "***Break");
                }
                let n = match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => return dos_fail(ctx, &full, e),
                };
                if hex {
                    hex_dump(ctx, offset, &buf[..n]);
                } else {
                    ctx.con.write(&String::from_utf8_lossy(&buf[..n]));
                }
                offset += n;
            }
            let _ = close(f);
        }
    }
    RC_OK
}

/// Copies file `from` to file `to`. Errors: (the name, the code).
fn copy_file(from: &str, to: &str) -> Result<(), (String, i64)> {
    let mut src = open(from, MODE_OLDFILE).map_err(|e| (String::from(from), e))?;
    let mut dst = open(to, MODE_NEWFILE).map_err(|e| (String::from(to), e))?;
    let mut buf = alloc::vec![0u8; CHUNK];
    loop {
        let n = src.read(&mut buf).map_err(|e| (String::from(from), e))?;
        if n == 0 {
            break;
        }
        let w = dst.write(&buf[..n]).map_err(|e| (String::from(to), e))?;
        if w < n {
            return Err((String::from(to), error::DISK_FULL));
        }
    }
    close(dst).map_err(|e| (String::from(to), e))?;
    let _ = close(src);
    Ok(())
}

/// The full name of what `name` names, or `None`.
fn full_name(name: &str) -> Option<String> {
    let l = dos::lock(name, SHARED_LOCK).ok()?;
    let n = name_from_lock(&l).ok();
    let _ = unlock(l);
    n
}

/// Copies directory `from` into a new or existing directory `to`, and all below it.
fn copy_tree(ctx: &mut Ctx, from: &str, to: &str, quiet: bool) -> Result<(), (String, i64)> {
    match create_dir(to) {
        Ok(l) => {
            let _ = unlock(l);
        }
        Err(error::OBJECT_EXISTS) => {}
        Err(e) => return Err((String::from(to), e)),
    }
    for f in listing(from).map_err(|e| (String::from(from), e))? {
        let (src, dst) = (add_part(from, f.name()), add_part(to, f.name()));
        if f.is_dir() {
            copy_tree(ctx, &src, &dst, quiet)?;
        } else {
            copy_file(&src, &dst)?;
            if !quiet {
                let _ = writeln!(ctx.con, "  {src} copied");
            }
        }
    }
    Ok(())
}

/// COPY from|pattern ... [TO] to [ALL] [QUIET]
pub(super) fn copy(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let to = String::from(text(&a[1]).unwrap_or(""));
    let (all, quiet) = (switch(&a[2]), switch(&a[3]));
    let mut sources = Vec::new();
    for name in multi(&a[0]) {
        match expand(&name) {
            Ok(found) => sources.extend(found),
            Err((n, e)) => return dos_fail(ctx, &n, e),
        }
    }
    let to_dir = full_name(&to).filter(|_| {
        let mut fib = FileInfoBlock::default();
        dos::lock(&to, SHARED_LOCK).is_ok_and(|l| {
            let dir = examine(&l, &mut fib).is_ok() && fib.is_dir();
            let _ = unlock(l);
            dir
        })
    });
    if to_dir.is_none() && (sources.len() > 1 || sources.first().is_some_and(|s| s.1.is_dir())) {
        return dos_fail(ctx, &to, error::OBJECT_WRONG_TYPE);
    }
    for (src, f) in sources {
        let dst = if to_dir.is_some() { add_part(&to, f.name()) } else { to.clone() };
        if f.is_dir() {
            // A directory into itself or below itself would copy for ever: skipped.
            let inside = match (full_name(&src), &to_dir) {
                (Some(s), Some(t)) => t.eq_ignore_ascii_case(&s) || t.to_ascii_lowercase().starts_with(&alloc::format!("{}/", s.to_ascii_lowercase())),
                _ => false,
            };
            if !all || inside {
                let _ = writeln!(ctx.con, "  {src} (dir) not copied{}", if inside { ": the destination is inside it" } else { " (ALL copies directories)" });
                continue;
            }
            if let Err((n, e)) = copy_tree(ctx, &src, &dst, quiet) {
                return dos_fail(ctx, &n, e);
            }
        } else {
            if let Err((n, e)) = copy_file(&src, &dst) {
                return dos_fail(ctx, &n, e);
            }
            if !quiet {
                let _ = writeln!(ctx.con, "  {src} copied");
            }
        }
    }
    RC_OK
}

/// Deletes `name` and, for a directory, everything below it.
fn delete_tree(ctx: &mut Ctx, name: &str, quiet: bool) -> Result<(), (String, i64)> {
    let list = listing(name).map_err(|e| (String::from(name), e))?;
    for f in list {
        let full = add_part(name, f.name());
        if f.is_dir() {
            delete_tree(ctx, &full, quiet)?;
        } else {
            delete_file(&full).map_err(|e| (full.clone(), e))?;
            if !quiet {
                let _ = writeln!(ctx.con, "  {full}  Deleted");
            }
        }
    }
    delete_file(name).map_err(|e| (String::from(name), e))?;
    if !quiet {
        let _ = writeln!(ctx.con, "  {name}  Deleted");
    }
    Ok(())
}

/// DELETE name|pattern ... [ALL] [QUIET]
pub(super) fn delete(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let (all, quiet) = (switch(&a[1]), switch(&a[2]));
    for name in multi(&a[0]) {
        let found = match expand(&name) {
            Ok(f) if f.is_empty() => return dos_fail(ctx, &name, error::OBJECT_NOT_FOUND),
            Ok(f) => f,
            Err((n, e)) => return dos_fail(ctx, &n, e),
        };
        for (full, f) in found {
            let r = if f.is_dir() && all {
                delete_tree(ctx, &full, quiet)
            } else {
                delete_file(&full).map_err(|e| (full.clone(), e)).map(|_| {
                    if !quiet {
                        let _ = writeln!(ctx.con, "  {full}  Deleted");
                    }
                })
            };
            if let Err((n, e)) = r {
                return dos_fail(ctx, &n, e);
            }
        }
    }
    RC_OK
}

/// RENAME from [TO|AS] to
pub(super) fn rename(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let (from, to) = (text(&a[0]).unwrap_or(""), text(&a[1]).unwrap_or(""));
    match dos::rename(from, to) {
        Ok(()) => RC_OK,
        Err(e) => {
            let (from, to) = (String::from(from), String::from(to));
            dos_fail(ctx, &alloc::format!("{from} to {to}"), e)
        }
    }
}

/// MAKEDIR name ...
pub(super) fn makedir(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    for name in multi(&a[0]) {
        match create_dir(&name) {
            Ok(l) => {
                let _ = unlock(l);
            }
            Err(e) => return dos_fail(ctx, &name, e),
        }
    }
    RC_OK
}

/// CD [dir]: shows the current directory, or makes `dir` it (for CLI 1's next commands and
/// the prompt's `%S`).
pub(super) fn cd(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let Some(name) = text(&a[0]) else {
        let d = ctx.read_state(|s| String::from(s.dir()));
        let _ = writeln!(ctx.con, "{d}");
        return RC_OK;
    };
    let name = String::from(name);
    let l: FileLock = match dos::lock(&name, SHARED_LOCK) {
        Ok(l) => l,
        Err(e) => return dos_fail(ctx, &name, e),
    };
    let mut fib = FileInfoBlock::default();
    let r = examine(&l, &mut fib).and_then(|_| if fib.is_dir() { name_from_lock(&l) } else { Err(error::OBJECT_WRONG_TYPE) });
    let _ = unlock(l);
    match r {
        Ok(full) => {
            if let Err(e) = crate::settings::ask_change(crate::state::Setting::Dir, &full, "", false) {
                let code = if matches!(e, crate::settings::SettingError::Refused(_)) { error::LINE_TOO_LONG } else { error::ACTION_NOT_KNOWN };
                return ctx.fail(RC_ERROR, code as u32, &alloc::format!("{e}"));
            }
            RC_OK
        }
        Err(e) => dos_fail(ctx, &name, e),
    }
}

/// INFO: the disks (RAM:) with their size and use.
pub(super) fn info(ctx: &mut Ctx, _: &[ArgValue]) -> i32 {
    let _ = writeln!(ctx.con, "Unit      Size      Used      Free Full  Errs  Status      In use  Name");
    // RAM: is the one disk there is (NIL: holds nothing).
    let dev = "RAM:";
    {
        let mut d = InfoData::default();
        let r = dos::lock(dev, SHARED_LOCK).and_then(|l| {
            let r = dos::info(&l, &mut d);
            let _ = unlock(l);
            r
        });
        if let Err(e) = r {
            return dos_fail(ctx, dev, e);
        }
        let block = d.bytes_per_block as u64;
        let (size, used) = (d.num_blocks as u64 * block, d.num_blocks_used as u64 * block);
        let full = (used * 100).checked_div(size).unwrap_or(100);
        let b = libraries::format::bytes;
        let volume = libraries::dos::volumes().into_iter().find(|(_, d)| d.eq_ignore_ascii_case(dev)).map(|v| v.0).unwrap_or_default();
        let _ = writeln!(ctx.con, "{dev:<6}{:>8}  {:>8}  {:>8} {full:>3}%  {:>4}  Read/Write  {:>6}  {volume}", b(size), b(used), b(size - used), d.num_soft_errors, d.in_use - 1);
    }
    RC_OK
}

/// JOIN file|pattern ... AS|TO to
pub(super) fn join(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let to = String::from(text(&a[1]).unwrap_or(""));
    let mut sources = Vec::new();
    for name in multi(&a[0]) {
        match expand(&name) {
            Ok(found) => sources.extend(found.into_iter().map(|(n, _)| n)),
            Err((n, e)) => return dos_fail(ctx, &n, e),
        }
    }
    let mut dst = match open(&to, MODE_NEWFILE) {
        Ok(f) => f,
        Err(e) => return dos_fail(ctx, &to, e),
    };
    let mut buf = alloc::vec![0u8; CHUNK];
    for src in sources {
        let mut f = match open(&src, MODE_OLDFILE) {
            Ok(f) => f,
            Err(e) => return dos_fail(ctx, &src, e),
        };
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if dst.write(&buf[..n]) != Ok(n) {
                        return dos_fail(ctx, &to, error::DISK_FULL);
                    }
                }
                Err(e) => return dos_fail(ctx, &src, e),
            }
        }
        let _ = close(f);
    }
    match close(dst) {
        Ok(()) => RC_OK,
        Err(e) => dos_fail(ctx, &to, e),
    }
}

/// FAULT n ...: the words for error numbers.
pub(super) fn fault(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let nums: Vec<String> = multi(&a[0]);
    if nums.is_empty() {
        return ctx.fail(RC_ERROR, error::REQUIRED_ARG_MISSING as u32, "Required argument missing");
    }
    for n in nums {
        match n.parse::<i64>() {
            Ok(code) => {
                let _ = writeln!(ctx.con, "Fault {code}: {}", words(code));
            }
            Err(_) => return ctx.fail(RC_ERROR, error::BAD_NUMBER as u32, "Bad number"),
        }
    }
    RC_OK
}

/// CHECKSUM file: its length and FNV-1a checksum, to compare two files without typing them.
pub(super) fn checksum(ctx: &mut Ctx, a: &[ArgValue]) -> i32 {
    let name = String::from(text(&a[0]).unwrap_or(""));
    let mut f = match open(&name, MODE_OLDFILE) {
        Ok(f) => f,
        Err(e) => return dos_fail(ctx, &name, e),
    };
    let mut buf = alloc::vec![0u8; CHUNK];
    let (mut len, mut sum) = (0u64, 0x811c_9dc5u32);
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                len += n as u64;
                for &b in &buf[..n] {
                    sum = (sum ^ b as u32).wrapping_mul(0x0100_0193);
                }
            }
            Err(e) => return dos_fail(ctx, &name, e),
        }
    }
    let _ = close(f);
    let _ = writeln!(ctx.con, "{len} bytes, checksum {sum:08x}");
    RC_OK
}

/// What the path `word` may become, for Tab: the entries of its directory whose names start
/// with its last part, each as `word`'s directory part and the name, a directory with `/`
/// after it. `current` is the directory a name without a device is relative to.
pub fn complete_path(word: &str, current: &str) -> Vec<String> {
    let (dir, start) = (path_part(word), file_part(word));
    let lookup = if dir.contains(':') { String::from(dir) } else { add_part(current, dir) };
    let Ok(found) = listing(&lookup) else { return Vec::new() };
    found
        .iter()
        .filter(|f| f.name().len() >= start.len() && f.name()[..start.len()].eq_ignore_ascii_case(start))
        .map(|f| alloc::format!("{}{}", add_part(dir, f.name()), if f.is_dir() { "/" } else { "" }))
        .collect()
}
