//! The harness must never count a broken kernel as passing: a failing test, a panic, a Guru
//! Meditation, a triple fault and two kinds of hang all end as failures that name the test.

use std::time::Duration;

use lorraine_tests::{Boot, Mode, Verdict, run_suite};

fn run(mode: Mode, append: &str, timeout: Duration) -> (Verdict, String) {
    run_suite(&Boot::new(mode).append(append), timeout)
}

fn assert_fails(mode: Mode, test: &str, extra: &str, expect_in_output: &str) {
    let (v, t) = run(mode, &format!("test={test} {extra}"), Duration::from_secs(15));
    assert!(!v.ok(), "{test} passed: {v:?}\n{t}");
    assert!(v.failures.iter().any(|f| f == test), "{test} not named: {v:?}\n{t}");
    assert!(t.contains(expect_in_output), "{test}: output lacks {expect_in_output:?}:\n{t}");
}

#[test]
fn a_failing_test_fails() {
    for mode in Mode::BOTH {
        assert_fails(mode, "selfcheck.fails", "", "FAILED: this test fails on purpose");
    }
}

#[test]
fn a_panic_fails_with_a_guru_meditation() {
    for mode in Mode::BOTH {
        assert_fails(mode, "selfcheck.panics", "", "selfcheck panic on purpose");
        let (_, t) = run(mode, "test=selfcheck.panics", Duration::from_secs(15));
        assert!(t.contains("Guru Meditation #81000F00."), "{t}");
        assert!(t.contains("exec/src/ktests/selfcheck.rs:"), "panic location missing:\n{t}");
    }
}

#[test]
fn an_exception_fails_with_a_guru_meditation() {
    for mode in Mode::BOTH {
        assert_fails(mode, "selfcheck.guru", "", "Guru Meditation #00000006.");
    }
}

#[test]
fn a_triple_fault_fails() {
    for mode in Mode::BOTH {
        let (v, t) = run(mode, "test=selfcheck.triple_fault", Duration::from_secs(15));
        assert!(!v.ok());
        assert!(v.problem.as_deref().unwrap_or("").contains("triple fault"), "{v:?}\n{t}");
        assert_eq!(v.failures, vec!["selfcheck.triple_fault"]);
    }
}

#[test]
fn a_hang_is_stopped_by_the_kernel_watchdog() {
    for mode in Mode::BOTH {
        assert_fails(mode, "selfcheck.hangs", "timeout=300", "FAILED: timed out after 300 ms");
    }
}

#[test]
fn a_hang_with_interrupts_off_is_stopped_by_the_harness() {
    let (v, t) = run(Mode::Flat, "test=selfcheck.hangs_interrupts_off", Duration::from_secs(3));
    assert!(!v.ok());
    assert_eq!(v.failures, vec!["selfcheck.hangs_interrupts_off"]);
    assert!(v.problem.unwrap().contains("timed out"), "{t}");
}
