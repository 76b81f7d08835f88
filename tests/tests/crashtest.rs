//! CRASHTEST end to end: in mmu-mode every scenario is contained and the shell goes on; the
//! flat build runs the scenarios it survives and reports them as not contained.

use std::time::Duration;

use lorraine_tests::{Boot, Mode, ShellSession};

const ALL: [&str; 10] = [
    "wild-write", "kernel-write", "null-deref", "jump-into-data", "write-code", "stack-overflow", "divide-by-zero",
    "double-reply", "kernel-pointer-put", "port-after-delete",
];
/// The ones the flat build lives through (the others halt it: that is the tradeoff shown).
const FLAT_SURVIVES: [&str; 5] = ["wild-write", "kernel-write", "null-deref", "jump-into-data", "write-code"];

#[test]
fn lists_its_scenarios() {
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    let out = s.run("crashtest ?");
    assert!(out.contains("CRASHTEST: SCENARIO/A"), "{out}");
    for name in ALL {
        assert!(out.contains(name), "{name} missing: {out}");
    }
    assert!(s.run("crashtest nonsense").contains("No scenario nonsense"));
}

#[test]
fn mmu_contains_every_scenario() {
    let mut s = ShellSession::start(&Boot::new(Mode::Mmu));
    for name in ALL {
        let out = s.run(&format!("crashtest {name}"));
        let refused = ["double-reply", "kernel-pointer-put", "port-after-delete"].contains(&name);
        assert!(refused || out.contains("Guru Meditation #"), "{name}: no Guru for the culprit:\n{out}");
        assert!(out.contains("victim: alive, its memory intact"), "{name}:\n{out}");
        assert!(out.contains("Result: contained"), "{name}:\n{out}");
    }
    assert_eq!(s.run("echo still here").trim(), "still here");
    let tl = s.run("tasklist");
    assert!(!tl.contains("crash-"), "a crash task is left:\n{tl}");
}

#[test]
fn flat_runs_what_it_survives_and_says_so() {
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    for name in FLAT_SURVIVES {
        let out = s.run(&format!("crashtest {name}"));
        assert!(out.contains("Result: NOT contained"), "{name}:\n{out}");
    }
    // exec's own message check catches a double reply even without protection.
    let dr = s.run("crashtest double-reply");
    assert!(dr.contains("Message replied twice") && dr.contains("Result: contained"), "{dr}");
    let wild = s.run("crashtest wild-write");
    assert!(wild.contains("its memory OVERWRITTEN"), "{wild}");
    assert_eq!(s.run("echo still here").trim(), "still here");
}

/// The flat build does not survive a task that recurses without end, but it must say so: the
/// overflow runs into an unmapped guard page, and the double fault that follows (the page
/// fault cannot be delivered on the overflowed stack) reaches the Guru Meditation on the
/// emergency stack. A triple fault instead would restart the machine without a word (here,
/// with -no-reboot, QEMU exits).
#[test]
fn flat_stack_overflow_ends_in_a_guru() {
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    let mark = s.mark();
    s.machine.type_text("crashtest stack-overflow\r");
    let halted = s.machine.expect("Dead-end alert: the system has halted.", Duration::from_secs(20));
    let out = s.since(mark);
    assert!(halted.is_ok(), "no dead-end alert (a triple fault?):\n{out}");
    assert!(out.contains("Software Failure.") && out.contains("Guru Meditation #00000008."), "{out}");
    assert!(out.contains("Double Fault (#DF), vector 8") && out.contains("Task: crash-stack-overflow"), "{out}");
    assert!(!out.contains("Lorraine "), "the machine restarted:\n{out}");
}
