//! Host tests of RAM:'s filesystem: each rule on its own, then a long random sequence of
//! operations checked against a simple model (a map from lower-cased paths to contents).

use std::collections::BTreeMap;

use super::*;
use crate::dosdefs::{MODE_NEWFILE, MODE_OLDFILE, MODE_READWRITE, OFFSET_BEGINNING, OFFSET_END};

fn fs() -> RamFs {
    RamFs::new("Ram Disk", 1 << 30)
}

fn put(fs: &mut RamFs, path: &str, data: &[u8]) {
    let fh = fs.open(0, path, MODE_NEWFILE).unwrap();
    assert_eq!(fs.write(fh, data), Ok(data.len()));
    fs.close(fh).unwrap();
}

fn mkdir(fs: &mut RamFs, path: &str) {
    let l = fs.create_dir(0, path).unwrap();
    fs.unlock(l).unwrap();
}

fn get(fs: &mut RamFs, path: &str) -> Vec<u8> {
    let fh = fs.open(0, path, MODE_OLDFILE).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 7];
    loop {
        let n = fs.read(fh, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    fs.close(fh).unwrap();
    out
}

fn list(fs: &mut RamFs, path: &str) -> Vec<String> {
    let l = fs.lock(0, path, false).unwrap();
    let mut names = Vec::new();
    let mut key = 0;
    loop {
        match fs.examine_next(l, key) {
            Ok((e, next)) => {
                names.push(e.name);
                key = next;
            }
            Err(e) => {
                assert_eq!(e, error::NO_MORE_ENTRIES);
                break;
            }
        }
    }
    fs.unlock(l).unwrap();
    names.sort();
    names
}

#[test]
fn files_and_directories() {
    let mut fs = fs();
    mkdir(&mut fs, "RAM:d");
    put(&mut fs, "RAM:d/Hello", b"hello");
    assert_eq!(get(&mut fs, "ram:D/HELLO"), b"hello", "names ignore case");
    assert_eq!(list(&mut fs, "RAM:d"), vec!["Hello"], "and keep it");
    let d = fs.lock(0, "RAM:d", false).unwrap();
    assert_eq!(get(&mut fs, "RAM:d/hello"), b"hello");
    let e = fs.examine(d).unwrap();
    assert_eq!((e.name.as_str(), e.dir_type), ("d", ST_USERDIR));
    let fh = fs.open(d, "hello", MODE_OLDFILE).unwrap();
    fs.close(fh).unwrap();
    assert_eq!(fs.name_of(d).unwrap(), "Ram Disk:d");
    let p = fs.parent(d).unwrap();
    assert_eq!(fs.examine(p).unwrap().dir_type, ST_ROOT);
    assert_eq!(fs.parent(p), Ok(0), "the root has no parent");
    fs.unlock(p).unwrap();
    fs.unlock(d).unwrap();
    assert_eq!(fs.usage().2, 0, "nothing outstanding");
}

#[test]
fn in_use_exists_not_empty_and_wrong_type() {
    let mut fs = fs();
    put(&mut fs, "f", b"x");
    mkdir(&mut fs, "d");
    put(&mut fs, "d/g", b"y");
    assert_eq!(fs.create_dir(0, "F"), Err(error::OBJECT_EXISTS));
    assert_eq!(fs.delete(0, "d"), Err(error::DIRECTORY_NOT_EMPTY));
    assert_eq!(fs.open(0, "d", MODE_OLDFILE), Err(error::OBJECT_WRONG_TYPE), "a directory read as a file");
    assert_eq!(fs.lock(0, "f/x", false), Err(error::OBJECT_WRONG_TYPE), "a path through a file");
    assert_eq!(fs.lock(0, "nothing", false), Err(error::OBJECT_NOT_FOUND));
    let fh = fs.open(0, "f", MODE_OLDFILE).unwrap();
    assert_eq!(fs.delete(0, "f"), Err(error::OBJECT_IN_USE), "an open file");
    assert_eq!(fs.open(0, "f", MODE_NEWFILE), Err(error::OBJECT_IN_USE), "NEWFILE is exclusive");
    assert_eq!(fs.lock(0, "f", true), Err(error::OBJECT_IN_USE));
    fs.close(fh).unwrap();
    let x = fs.lock(0, "d", true).unwrap();
    assert_eq!(fs.lock(0, "d", false), Err(error::OBJECT_IN_USE), "an exclusive lock excludes");
    assert_eq!(fs.dup_lock(x), Err(error::OBJECT_IN_USE));
    fs.unlock(x).unwrap();
    assert_eq!(fs.rename(0, "d", 0, "d/g2"), Err(error::OBJECT_IN_USE), "a directory into itself");
    assert_eq!(fs.rename(0, "f", 0, "d/G"), Err(error::OBJECT_EXISTS));
    fs.rename(0, "f", 0, "d/f2").unwrap();
    fs.rename(0, "d/f2", 0, "d/F2").unwrap();
    assert_eq!(list(&mut fs, "d"), vec!["F2", "g"]);
    fs.delete(0, "d/g").unwrap();
    fs.delete(0, "d/f2").unwrap();
    fs.delete(0, "d").unwrap();
    assert_eq!(fs.usage().1, 0, "everything credited back");
}

#[test]
fn bad_handles_are_refused() {
    let mut fs = fs();
    put(&mut fs, "f", b"abc");
    let l = fs.lock(0, "f", false).unwrap();
    fs.unlock(l).unwrap();
    assert_eq!(fs.unlock(l), Err(error::INVALID_LOCK), "a lock freed twice");
    assert_eq!(fs.examine(l), Err(error::INVALID_LOCK));
    let fh = fs.open(0, "f", MODE_OLDFILE).unwrap();
    assert_eq!(fs.read(l, &mut [0; 4]), Err(error::INVALID_LOCK), "a lock is not a file");
    fs.close(fh).unwrap();
    for forged in [1, fh, fh + 1, u64::MAX] {
        assert_eq!(fs.read(forged, &mut [0; 4]), Err(error::INVALID_LOCK), "{forged:#x}");
        assert_eq!(fs.write(forged, b"x"), Err(error::INVALID_LOCK));
        assert_eq!(fs.close(forged), Err(error::INVALID_LOCK));
    }
}

#[test]
fn protection_bits() {
    let mut fs = fs();
    put(&mut fs, "f", b"abc");
    fs.set_protect(0, "f", prot::DELETE | prot::WRITE).unwrap();
    assert_eq!(fs.delete(0, "f"), Err(error::DELETE_PROTECTED));
    assert_eq!(fs.open(0, "f", MODE_NEWFILE), Err(error::WRITE_PROTECTED));
    fs.set_protect(0, "f", prot::READ).unwrap();
    assert_eq!(fs.open(0, "f", MODE_OLDFILE), Err(error::READ_PROTECTED));
    fs.set_protect(0, "f", 0).unwrap();
    fs.delete(0, "f").unwrap();
}

#[test]
fn a_full_disk_keeps_what_fitted() {
    let mut fs = RamFs::new("Ram Disk", NODE_COST + 100);
    let fh = fs.open(0, "f", MODE_NEWFILE).unwrap();
    assert_eq!(fs.write(fh, &[7; 60]), Ok(60));
    assert_eq!(fs.write(fh, &[8; 60]), Ok(40), "a short write");
    assert_eq!(fs.write(fh, &[9; 1]), Err(error::DISK_FULL));
    fs.seek(fh, 0, OFFSET_BEGINNING).unwrap();
    assert_eq!(fs.write(fh, &[1; 10]), Ok(10), "overwriting costs nothing");
    fs.close(fh).unwrap();
    assert_eq!(fs.open(0, "g", MODE_NEWFILE), Err(error::DISK_FULL), "no room for an entry");
    let data = get(&mut fs, "f");
    assert_eq!(data.len(), 100);
    assert_eq!((&data[..10], data[10], data[99]), (&[1u8; 10][..], 7, 8));
    fs.delete(0, "f").unwrap();
    assert_eq!(fs.usage().1, 0);
}

#[test]
fn seek_and_size() {
    let mut fs = fs();
    let fh = fs.open(0, "f", MODE_READWRITE).unwrap();
    fs.write(fh, b"0123456789").unwrap();
    assert_eq!(fs.seek(fh, -3, OFFSET_END), Ok(10));
    let mut b = [0; 8];
    assert_eq!(fs.read(fh, &mut b), Ok(3));
    assert_eq!(&b[..3], b"789");
    assert_eq!(fs.seek(fh, 1, OFFSET_END), Err(error::SEEK_ERROR), "past the end");
    assert_eq!(fs.seek(fh, -1, OFFSET_BEGINNING), Err(error::SEEK_ERROR), "before the start");
    assert_eq!(fs.seek(fh, 0, 7), Err(error::SEEK_ERROR), "a bad mode");
    assert_eq!(fs.set_file_size(fh, 4, OFFSET_BEGINNING), Ok(4));
    assert_eq!(fs.seek(fh, 0, OFFSET_CURRENT), Ok(4), "the position moved to the new end");
    assert_eq!(fs.set_file_size(fh, 2, OFFSET_END), Ok(6));
    fs.close(fh).unwrap();
    assert_eq!(get(&mut fs, "f"), b"0123\0\0");
    assert_eq!(fs.usage().1, NODE_COST + 6);
}

#[test]
fn names_are_checked() {
    let mut fs = fs();
    let long = "n".repeat(108);
    assert_eq!(fs.open(0, &long, MODE_NEWFILE), Err(error::INVALID_COMPONENT_NAME));
    assert_eq!(fs.create_dir(0, "RAM:a:b"), Err(error::INVALID_COMPONENT_NAME));
    put(&mut fs, &"n".repeat(107), b"");
    assert_eq!(fs.create_dir(0, "RAM:"), Err(error::OBJECT_EXISTS), "the root");
    assert_eq!(fs.delete(0, "RAM:"), Err(error::OBJECT_IN_USE));
    assert_eq!(fs.lock(0, "/", false), Err(error::OBJECT_NOT_FOUND), "above the root");
}

// --- the model ---

#[derive(Clone, Debug, PartialEq)]
enum MEntry {
    Dir,
    File(Vec<u8>),
}

/// Lower-cased path components → (name as typed, what it is).
type Model = BTreeMap<Vec<String>, (String, MEntry)>;

fn key(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| s.to_ascii_lowercase()).collect()
}

/// How the model resolves a path: the errors ramfs gives, in the order it checks.
fn m_lookup(m: &Model, path: &[&str]) -> core::result::Result<(), i64> {
    for i in 0..path.len() {
        if i > 0 && !matches!(m.get(&key(&path[..i])), Some((_, MEntry::Dir))) {
            return Err(error::OBJECT_WRONG_TYPE);
        }
        if !m.contains_key(&key(&path[..=i])) {
            return Err(error::OBJECT_NOT_FOUND);
        }
    }
    Ok(())
}

fn m_parent(m: &Model, path: &[&str]) -> core::result::Result<(), i64> {
    let parent = &path[..path.len() - 1];
    m_lookup(m, parent)?;
    if !parent.is_empty() && !matches!(m.get(&key(parent)), Some((_, MEntry::Dir))) {
        return Err(error::OBJECT_WRONG_TYPE);
    }
    Ok(())
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_operations_match_the_model() {
    const NAMES: [&str; 4] = ["a", "B", "c", "Ab"];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut fs = fs();
    let mut m: Model = BTreeMap::new();
    for step in 0..20_000 {
        let depth = 1 + rng.below(3) as usize;
        let path: Vec<&str> = (0..depth).map(|_| NAMES[rng.below(4) as usize]).collect();
        let p = path.join("/");
        let k = key(&path);
        let op = rng.below(8);
        let ctx = format!("step {step}: op {op} on {p}");
        match op {
            0 => {
                let expect = m_parent(&m, &path).and_then(|_| if m.contains_key(&k) { Err(error::OBJECT_EXISTS) } else { Ok(()) });
                let got = fs.create_dir(0, &p).map(|l| fs.unlock(l).unwrap());
                assert_eq!(got, expect, "{ctx}");
                if got.is_ok() {
                    m.insert(k, (path.last().unwrap().to_string(), MEntry::Dir));
                }
            }
            1 | 2 => {
                let data: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
                let mode = if op == 1 { MODE_NEWFILE } else { MODE_READWRITE };
                let expect = match m.get(&k) {
                    Some((_, MEntry::Dir)) => Err(error::OBJECT_WRONG_TYPE),
                    Some(_) => Ok(()),
                    None => m_parent(&m, &path),
                };
                let got = fs.open(0, &p, mode);
                assert_eq!(got.map(|_| ()), expect, "{ctx}");
                let Ok(fh) = got else { continue };
                let entry = m.entry(k).or_insert((path.last().unwrap().to_string(), MEntry::File(Vec::new())));
                let MEntry::File(content) = &mut entry.1 else { unreachable!() };
                if op == 1 {
                    content.clear();
                }
                let at = rng.below(content.len() as u64 + 1) as usize;
                fs.seek(fh, at as i64, OFFSET_BEGINNING).unwrap();
                assert_eq!(fs.write(fh, &data), Ok(data.len()), "{ctx}");
                let end = (at + data.len()).max(content.len());
                content.resize(end, 0);
                content[at..at + data.len()].copy_from_slice(&data);
                if rng.below(4) == 0 {
                    let size = rng.below(content.len() as u64 + 8) as usize;
                    assert_eq!(fs.set_file_size(fh, size as i64, OFFSET_BEGINNING), Ok(size as u64), "{ctx}");
                    content.resize(size, 0);
                }
                fs.close(fh).unwrap();
            }
            3 => {
                let to_depth = 1 + rng.below(3) as usize;
                let to: Vec<&str> = (0..to_depth).map(|_| NAMES[rng.below(4) as usize]).collect();
                let tk = key(&to);
                let expect = m_lookup(&m, &path)
                    .and_then(|_| m_parent(&m, &to))
                    .and_then(|_| if m.contains_key(&tk) && tk != k { Err(error::OBJECT_EXISTS) } else { Ok(()) })
                    .and_then(|_| if tk.len() > k.len() && tk[..k.len()] == k[..] { Err(error::OBJECT_IN_USE) } else { Ok(()) });
                assert_eq!(fs.rename(0, &p, 0, &to.join("/")), expect, "{ctx} to {}", to.join("/"));
                if expect.is_ok() {
                    let moved: Vec<(Vec<String>, (String, MEntry))> =
                        m.iter().filter(|(x, _)| x.len() >= k.len() && x[..k.len()] == k[..]).map(|(x, v)| (x.clone(), v.clone())).collect();
                    for (x, _) in &moved {
                        m.remove(x);
                    }
                    for (x, mut v) in moved {
                        let mut nk = tk.clone();
                        nk.extend_from_slice(&x[k.len()..]);
                        if x == k {
                            v.0 = to.last().unwrap().to_string();
                        }
                        m.insert(nk, v);
                    }
                }
            }
            4 => {
                let expect = m_lookup(&m, &path).and_then(|_| {
                    let has_children = m.keys().any(|x| x.len() > k.len() && x[..k.len()] == k[..]);
                    if has_children { Err(error::DIRECTORY_NOT_EMPTY) } else { Ok(()) }
                });
                assert_eq!(fs.delete(0, &p), expect, "{ctx}");
                if expect.is_ok() {
                    m.remove(&k);
                }
            }
            _ => {
                let expect = m_lookup(&m, &path);
                let got = fs.lock(0, &p, false);
                assert_eq!(got.map(|_| ()), expect, "{ctx}");
                let Ok(l) = got else { continue };
                let e = fs.examine(l).unwrap();
                let (name, entry) = m[&k].clone();
                assert_eq!(e.name, name, "{ctx}: case kept");
                fs.unlock(l).unwrap();
                match entry {
                    MEntry::File(content) => {
                        assert_eq!(e.size, content.len() as u64, "{ctx}");
                        assert_eq!(get(&mut fs, &p), content, "{ctx}");
                    }
                    MEntry::Dir => {
                        let mut want: Vec<String> =
                            m.iter().filter(|(x, _)| x.len() == k.len() + 1 && x[..k.len()] == k[..]).map(|(_, v)| v.0.clone()).collect();
                        want.sort();
                        assert_eq!(list(&mut fs, &p), want, "{ctx}");
                    }
                }
            }
        }
        // What the disk is charged is what the model holds.
        let data: u64 = m.values().map(|(_, e)| if let MEntry::File(c) = e { c.len() as u64 } else { 0 }).sum();
        assert_eq!(fs.usage().1, data + NODE_COST * m.len() as u64, "{ctx}: usage");
        assert_eq!(fs.usage().2, 0, "{ctx}: nothing left open");
    }
    assert!(m.len() > 3, "the sequence built something ({} objects)", m.len());
}

#[test]
fn end_seek_mode() {
    let mut fs = fs();
    put(&mut fs, "f", b"abc");
    let fh = fs.open(0, "f", MODE_OLDFILE).unwrap();
    assert_eq!(fs.seek(fh, 0, OFFSET_END), Ok(0));
    assert_eq!(fs.read(fh, &mut [0; 4]), Ok(0), "end of file");
    fs.close(fh).unwrap();
}

#[test]
fn read_with_and_write_with_lend_the_file_and_take_what_was_used() {
    let mut fs = fs();
    put(&mut fs, "f", b"0123456789");
    let used = fs.used;
    let fh = fs.open(0, "f", MODE_READWRITE).unwrap();
    // A reader that takes part of what it is lent: the position moves by that.
    assert_eq!(fs.read_with(fh, 6, |b| { assert_eq!(b, b"012345"); Ok(4) }), Ok(4));
    assert_eq!(fs.read_with(fh, 100, |b| { assert_eq!(b, b"456789"); Ok(b.len()) }), Ok(6));
    assert_eq!(fs.read_with(fh, 100, |b| Ok(b.len())), Ok(0), "at the end: nothing lent");
    // A writer that fills part of the room over the file's end and past it: the old bytes
    // come back where it did not write, and only the growth it used is charged.
    fs.seek(fh, 8, OFFSET_BEGINNING).unwrap();
    assert_eq!(fs.write_with(fh, 5, |slot| { assert_eq!(slot.len(), 5); slot[..3].copy_from_slice(b"abc"); Ok(3) }), Ok(3));
    assert_eq!(fs.used, used + 1);
    // A writer that fails: nothing changes.
    fs.seek(fh, 2, OFFSET_BEGINNING).unwrap();
    assert_eq!(fs.write_with(fh, 20, |slot| { slot.fill(b'!'); Err(error::REQUIRED_ARG_MISSING) }), Err(error::REQUIRED_ARG_MISSING));
    assert_eq!(fs.used, used + 1);
    // One that fills less than the bytes it overwrites: the rest are the old ones.
    assert_eq!(fs.write_with(fh, 4, |slot| { slot.fill(b'#'); Ok(2) }), Ok(2));
    fs.close(fh).unwrap();
    assert_eq!(get(&mut fs, "f"), b"01##4567abc");
}
