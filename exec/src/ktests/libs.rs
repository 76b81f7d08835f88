use core::sync::atomic::{AtomicU32, Ordering};

use crate::global::Global;
use crate::ktest::TestResult;
use crate::library::*;
use crate::{ensure, ensure_eq};

fn add_one_impl(x: u32) -> u32 {
    x + 1
}

crate::vector_table! {
    /// A library for the tests.
    pub struct TestVectors in TEST_VECTORS;
    safe fn add_one(x: u32) -> u32 = add_one_impl;
}

static EXPUNGED: AtomicU32 = AtomicU32::new(0);

fn on_expunge(_: *mut Library) {
    EXPUNGED.fetch_add(1, Ordering::SeqCst);
}

fn make(name: &'static str) -> Global<Library> {
    let mut l = Library::new(name, 3, 1, "test 3.1 (23.11.2026)", &TEST_VECTORS);
    l.expunge = on_expunge;
    Global::new(l)
}

pub fn open_close_counts() -> TestResult {
    let lib = make("counts.library");
    // SAFETY: the base lives on this frame and is removed before it ends.
    unsafe {
        add_library(lib.get());
        let a = open_library("counts.library", 0);
        let b = open_library("counts.library", 3);
        ensure_eq!(a, lib.get());
        ensure_eq!(b, lib.get());
        ensure_eq!((*lib.get()).open_cnt, 2);
        close_library(a);
        close_library(b);
        ensure_eq!((*lib.get()).open_cnt, 0);
        ensure!(rem_library(lib.get()));
    }
    ensure!(open_library("counts.library", 0).is_null());
    Ok(())
}

pub fn version_refused() -> TestResult {
    let lib = make("version.library");
    // SAFETY: as above.
    unsafe {
        add_library(lib.get());
        ensure!(open_library("version.library", 4).is_null(), "version 3 opened as 4");
        ensure_eq!((*lib.get()).open_cnt, 0);
        ensure!(!open_library("version.library", 3).is_null());
        close_library(lib.get());
        rem_library(lib.get());
    }
    ensure!(open_library("no.library", 0).is_null());
    Ok(())
}

pub fn delayed_expunge() -> TestResult {
    let lib = make("delayed.library");
    let before = EXPUNGED.load(Ordering::SeqCst);
    // SAFETY: as above.
    unsafe {
        add_library(lib.get());
        let l = open_library("delayed.library", 0);
        ensure!(!rem_library(lib.get()), "expunged while open");
        ensure_eq!(EXPUNGED.load(Ordering::SeqCst), before);
        ensure!((*lib.get()).flags & LIBF_DELEXP != 0);
        close_library(l);
    }
    ensure_eq!(EXPUNGED.load(Ordering::SeqCst), before + 1);
    ensure!(open_library("delayed.library", 0).is_null(), "still listed after expunge");
    Ok(())
}

fn add_two(x: u32) -> u32 {
    x + 2
}

pub fn set_function_patch_and_restore() -> TestResult {
    let lib = make("patch.library");
    // SAFETY: the replacement has add_one's signature; restored before returning.
    unsafe {
        add_library(lib.get());
        ensure_eq!(add_one(1), 2);
        let old = set_function(lib.get(), 0, add_two as *const ());
        ensure_eq!(old, add_one_impl as *const ());
        ensure_eq!(add_one(1), 3);
        ensure!((*lib.get()).flags & LIBF_CHANGED != 0);
        ensure!(set_function(lib.get(), 1, add_two as *const ()).is_null(), "out-of-range index accepted");
        ensure_eq!(set_function(lib.get(), 0, old), add_two as *const ());
        ensure_eq!(add_one(1), 2);
        rem_library(lib.get());
    }
    Ok(())
}

fn fake_find_task(_: Option<&str>) -> *mut crate::task::Task {
    core::ptr::null_mut()
}

/// exec.library opens by name, and set_function on it changes what sys:: calls do.
pub fn exec_is_a_library() -> TestResult {
    let exec = open_library("exec.library", crate::sys::EXEC_VERSION);
    ensure!(!exec.is_null());
    // SAFETY: index 6 is find_task (forbid, permit, disable, enable, add_task, rem_task,
    // find_task); the stand-in has its signature and is removed before returning.
    unsafe {
        ensure_eq!((*exec).vector_count(), size_of::<crate::sys::ExecVectors>() / 8);
        let old = set_function(exec, 6, fake_find_task as *const ());
        let patched = crate::sys::find_task(None);
        set_function(exec, 6, old);
        ensure!(patched.is_null(), "the patch did not take");
        ensure!(!crate::sys::find_task(None).is_null());
        close_library(exec);
    }
    Ok(())
}

pub fn residents_by_priority() -> TestResult {
    let list: alloc::vec::Vec<_> = crate::resident::residents().collect();
    ensure!(list.len() >= 4, "only {} residents", list.len());
    ensure_eq!(list[0].name, "exec.library");
    ensure!(list.windows(2).all(|w| w[0].pri >= w[1].pri), "not in priority order");
    for name in ["timer.device", "serial.device", "dos.library"] {
        ensure!(list.iter().any(|r| r.name == name), "{name} missing");
    }
    Ok(())
}
