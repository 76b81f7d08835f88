//! CRASHTEST end to end: in mmu-mode every scenario is contained and the shell goes on; the
//! flat build runs the scenarios it survives and does with each what the scenario list says.

use std::time::Duration;

use lorraine_tests::{Boot, Mode, ShellSession};
use workbench_shell::scenarios::{Flat, Scenario};

#[test]
fn lists_its_scenarios() {
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    let out = s.run_until("crashtest ?", "CRASHTEST: SCENARIO/A: ");
    for name in Scenario::ALL.map(Scenario::name) {
        assert!(out.contains(name), "{name} missing: {out}");
    }
    assert!(s.run("nonsense").contains("No scenario nonsense"), "the answer is the argument");
    assert!(s.run("crashtest nonsense").contains("No scenario nonsense"));
}

#[test]
fn mmu_contains_every_scenario() {
    let mut s = ShellSession::start(&Boot::new(Mode::Mmu));
    for sc in Scenario::ALL {
        let name = sc.name();
        let out = s.run(&format!("crashtest {name}"));
        assert!(sc.bad_call() || out.contains("Guru Meditation #"), "{name}: no Guru for the culprit:\n{out}");
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
    for sc in Scenario::ALL.into_iter().filter(|sc| !sc.alone_in_flat()) {
        let name = sc.name();
        let out = match sc.flat() {
            Flat::Halts | Flat::Hangs => continue,
            Flat::NotContained => s.run(&format!("crashtest {name}")),
            Flat::Caught => {
                let out = s.run(&format!("crashtest {name}"));
                assert!(out.contains("Recoverable Alert") && out.contains("Result: contained"), "{name}:\n{out}");
                out
            }
        };
        if sc.flat() == Flat::NotContained {
            assert!(out.contains("misdeed: not caught") && out.contains("Result: NOT contained"), "{name}:\n{out}");
        }
    }
    // exec's own message check catches a double reply even without protection.
    assert!(s.run("crashtest double-reply").contains("Message replied twice"));
    let wild = s.run("crashtest wild-write");
    assert!(wild.contains("its memory OVERWRITTEN"), "{wild}");
    for name in ["kernel-write", "kernel-pointer-put"] {
        let out = s.run(&format!("crashtest {name}"));
        assert!(out.contains("kernel memory: OVERWRITTEN"), "{name}:\n{out}");
    }
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

/// The attacks that leave the flat build damaged run on a machine of their own each: nothing
/// stops them (the misdeed is done, not caught), where mmu-mode refuses them.
#[test]
fn flat_lets_the_attacks_through() {
    for sc in Scenario::ALL.into_iter().filter(|s| s.alone_in_flat() && s.flat() == Flat::NotContained) {
        let mut s = ShellSession::start(&Boot::new(Mode::Flat));
        let out = s.run(&format!("crashtest {}", sc.name()));
        assert!(out.contains("Result: NOT contained"), "{}:\n{out}", sc.name());
    }
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    let out = s.run("crashtest priority-hijack");
    assert!(out.contains("shell priority: RAISED from 0 to 100") && out.contains("Result: NOT contained"), "{out}");
}

/// A task that forbids switching and spins stops the flat build without a word: nothing else
/// ever runs again (in mmu-mode it is removed after its bound).
#[test]
fn flat_hangs_on_a_forbid_spin() {
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    let m = s.mark();
    s.machine.type_text("crashtest forbid-spin\r");
    let out = s.expect_since(m, "1.SYS:> ", Duration::from_secs(5));
    assert!(out.is_err(), "the shell answered:\n{out:?}");
    assert!(!s.since(m).contains("Guru Meditation"), "{}", s.since(m));
}

/// The scenarios the flat build does not survive stop it with a Guru Meditation, each in a
/// fresh boot (stack-overflow apart: see `flat_stack_overflow_ends_in_a_guru`).
#[test]
fn flat_halts_where_the_list_says() {
    for sc in Scenario::ALL.into_iter().filter(|s| s.flat() == Flat::Halts && *s != Scenario::StackOverflow) {
        flat_guru(sc);
    }
}

fn flat_guru(sc: Scenario) {
    let mut s = ShellSession::start(&Boot::new(Mode::Flat));
    let m = s.mark();
    s.machine.type_text(&format!("crashtest {}\r", sc.name()));
    let out = s.expect_since(m, "Guru Meditation #", std::time::Duration::from_secs(20)).unwrap();
    assert!(!out.contains("Result: "), "{}: the flat build went on:\n{out}", sc.name());
}
