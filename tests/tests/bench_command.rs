//! BENCH: a row of exec's benchmark timed in the running system, printed as `make bench`
//! prints its rows, in both builds.

use lorraine_tests::{Boot, Mode, ShellSession};

/// The figures of the row `label` in BENCH's output: (median, p99).
fn figures(out: &str, label: &str) -> (u64, u64) {
    let line = out.lines().find(|l| l.starts_with(&format!("| {label} |"))).unwrap_or_else(|| panic!("no row {label}:\n{out}"));
    let cells: Vec<&str> = line.split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
    (cells[1].parse().unwrap(), cells[2].parse().unwrap())
}

#[test]
fn bench_times_a_row() {
    for mode in Mode::BOTH {
        let mut s = ShellSession::start(&Boot::new(mode));
        let out = s.run_until("bench ?", "BENCH: ROW,SIZE/K/N,COUNT/K/N,READ/S: ");
        assert!(out.contains("BENCH: ROW,SIZE/K/N,COUNT/K/N,READ/S"), "{mode:?}: {out}");
        let rows = s.run("");
        assert!(rows.contains("Rows: null_call msg_own_port msg_round_trip msg_round_trip_combined signal_ping_pong"), "{mode:?}: {rows}");
        assert!(s.run("bench nosuch").contains("No row nosuch"), "{mode:?}");
        assert!(s.run("bench null_call count 0").contains("COUNT 1 to 100000"), "{mode:?}");
        let (median, p99) = figures(&s.run("bench null_call count 200"), "null_call");
        assert!(median > 0 && p99 >= median, "{mode:?}: {median} {p99}");
        let out = s.run("bench msg_round_trip size 4096 count 200 read");
        let (rt, _) = figures(&out, "msg_round_trip 4 KiB (reads body)");
        assert!(rt > median, "{mode:?}: a round trip ({rt}) no dearer than a null call ({median})");
        let (combined, _) = figures(&s.run("bench msg_round_trip_combined count 200"), "msg_round_trip_combined 64 B");
        assert!(combined > 0, "{mode:?}");
        assert_eq!(s.run("echo still here").trim(), "still here");
    }
}
