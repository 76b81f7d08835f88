//! The Workbench shell end to end: every command, every editing key, breaks, history,
//! completion, templates, errors, a stream of junk, and 1,000 RUNs, in both builds.

use std::time::{Duration, Instant};

use lorraine_tests::{Boot, Mode, PROMPT, ShellSession};

fn shell(mode: Mode) -> ShellSession {
    ShellSession::start(&Boot::new(mode))
}

#[test]
fn every_command() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        let help = s.run("help");
        for name in ["ALIAS", "AVAIL", "BREAK", "CHANGETASKPRI", "DATE", "ECHO", "PROMPT", "RUN", "SHUTDOWN", "WAIT", "WHY"] {
            assert!(help.contains(name), "HELP lacks {name}:\n{help}");
        }
        assert!(s.run("help wait").contains("WAIT: N/N,SEC=SECS/S,MIN=MINS/S,TICKS/S"));
        let v = s.run("version");
        assert!(v.contains(&format!("Lorraine 0.1.0 ({})", mode.name())) && v.contains("CPU: ") && v.contains("Memory: "), "{v}");
        let st = s.run("status");
        assert!(st.contains("Shell") && st.contains("STATUS") && st.contains("running"), "{st}");
        avail_adds_up_and_moves(&mut s);
        let tl = s.run("tasklist");
        assert!(tl.contains("idle") && tl.contains("Shell") && tl.contains("TASKLIST"), "{tl}");
        let ll = s.run("liblist");
        assert!(ll.contains("exec.library") && ll.contains("dos.library"), "{ll}");
        let dl = s.run("devlist");
        assert!(dl.contains("timer.device") && dl.contains("serial.device"), "{dl}");
        let pl = s.run("portlist");
        assert!(pl.contains("RAM") && pl.contains("NIL") && pl.contains("dos.list"), "the DOS ports at boot: {pl}");
        let rl = s.run("reslist");
        assert!(rl.find("exec.library").unwrap() < rl.find("timer.device").unwrap(), "{rl}");
        assert_eq!(s.run("echo hello   world").trim(), "hello world");
        assert_eq!(s.run("echo \"two  spaces\"").trim(), "two  spaces");
        date_agrees_with_the_host_clock(&mut s);
        assert!(s.run("uptime").starts_with("Up "));
        assert_eq!(s.run("wait 1 ticks"), "");
        // PROMPT
        let m = s.mark();
        s.machine.type_text("prompt %N> \r");
        s.expect_since(m, "1> ", Duration::from_secs(10)).unwrap();
        let m = s.mark();
        s.machine.type_text("prompt\r");
        s.expect_since(m, PROMPT, Duration::from_secs(10)).unwrap();
        // ALIAS
        s.run("alias greet echo hello []!");
        assert_eq!(s.run("greet you").trim(), "hello you!");
        assert!(s.run("alias").contains("greet"));
        // CHANGETASKPRI on the shell: lowered in both builds; raised only in the flat build
        // (in the mmu build the shell is a ring-3 task, held to the priority it started with)
        s.run("changetaskpri -3");
        let st = s.run("status 1");
        assert!(st.lines().any(|l| l.contains("Shell") && l.contains(" -3 ")), "{st}");
        s.run("changetaskpri 3");
        let st = s.run("status 1");
        let raised = if mode.name() == "mmu" { " 0 " } else { " 3 " };
        assert!(st.lines().any(|l| l.contains("Shell") && l.contains(raised)), "{raised}: {st}");
        s.run("changetaskpri 0 process 1");
        // COLOR
        let m = s.mark();
        s.run("color off");
        s.run("foo");
        let raw = s.machine.transcript()[m..].to_string();
        assert!(raw.contains("Unknown command foo") && !raw.contains("\x1b[31m"), "colour still on");
        s.run("color on");
        // RUN, STATUS, BREAK
        let out = s.run("run wait 30");
        assert!(out.contains("[CLI 2]"), "{out}");
        assert!(s.run("status").lines().any(|l| l.trim_start().starts_with('2') && l.contains("WAIT")));
        let m = s.mark();
        s.run("break 2");
        s.expect_since(m, "***Break", Duration::from_secs(10)).unwrap();
        // WHY
        s.run("wait abc");
        assert!(s.run("why").contains("Last command failed because bad number"));
        s.run("echo fine");
        assert!(s.run("why").contains("did not set a return code"));
        // SHUTDOWN ends QEMU cleanly.
        s.machine.type_text("shutdown\r");
        let end = s.machine.wait(Duration::from_secs(10));
        assert_eq!(end.status, Some(lorraine_tests::EXIT_SUCCESS), "{}", end.transcript);
    }
}

/// AVAIL's figures add up (available + in use = maximum, the largest block fits in what is
/// available), and they move when memory is taken: a background job's task and stack.
fn avail_adds_up_and_moves(s: &mut ShellSession) {
    let rows = |s: &mut ShellSession| {
        let av = s.run("avail");
        let row = |name: &str| -> Vec<u64> {
            let line = av.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} row:\n{av}"));
            line.split_whitespace().skip(1).filter_map(|w| w.parse().ok()).collect()
        };
        let (exec, heap) = (row("exec"), row("heap"));
        assert_eq!(exec.len(), 4, "{av}");
        assert_eq!(heap.len(), 3, "{av}");
        assert_eq!(exec[0] + exec[1], exec[2], "exec: available + in use != maximum:\n{av}");
        assert!(exec[3] <= exec[0] && exec[3] > 0, "exec: largest block not within what is available:\n{av}");
        assert_eq!(heap[0] + heap[1], heap[2], "heap: available + in use != maximum:\n{av}");
        exec
    };
    let before = rows(s);
    assert_eq!(s.run("avail total").trim().parse::<u64>().unwrap(), before[0], "AVAIL TOTAL is the available figure");
    assert!(s.run("run wait 30").contains("[CLI 2]"));
    let during = rows(s);
    assert_eq!(during[2], before[2], "the maximum moved");
    assert!(during[0] < before[0], "a running job took no exec memory: {before:?} then {during:?}");
    let m = s.mark();
    s.run("break 2");
    s.expect_since(m, "***Break", Duration::from_secs(10)).unwrap();
}

/// DATE prints the RTC's time, which QEMU sets from the host's UTC clock: the same second as
/// the host's `date -u` while the command ran (one second either side for the RTC's rounding).
fn date_agrees_with_the_host_clock(s: &mut ShellSession) {
    let unix = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let before = unix();
    let out = s.run("date");
    let after = unix();
    let printed = out.trim();
    let host = |t: u64| {
        let o = std::process::Command::new("date").args(["-u", "-d", &format!("@{t}"), "+%A %d-%b-%y %H:%M:%S"]).output().unwrap();
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    };
    let seen: Vec<String> = (before - 1..=after + 1).map(host).collect();
    assert!(seen.iter().any(|h| h == printed), "DATE printed {printed:?}; the host's clock said {seen:?}");
}

#[test]
fn editing_keys() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        let cases: &[(&str, &str)] = &[
            ("echo wrld\x1b[D\x1b[D\x1b[Do", "world"),         // left, insert
            ("echo ab\x1b[D\x1b[D\x1b[Cx", "axb"),             // right
            ("cho x\x1b[He", "x"),                              // Home
            ("echo a\x1b[H\x1b[Fb", "ab"),                      // End
            ("echo abc\x7f\x7fX", "aX"),                        // Backspace (DEL)
            ("echo abc\x08Y", "abY"),                           // Backspace (BS)
            ("echo abc\x1b[D\x1b[D\x1b[3~", "ac"),              // Delete
            ("cho q\x01e", "q"),                                // Ctrl-A
            ("echo r\x01\x05s", "rs"),                          // Ctrl-E
            ("echo keep cut\x1b[D\x1b[D\x1b[D\x0b", "keep"),    // Ctrl-K
            ("junk\x15echo u", "u"),                            // Ctrl-U
            ("echo one two\x17three", "one three"),             // Ctrl-W
            ("echo \x00n\x07u\x1b[99~l", "nul"),                // NULs, bells, unknown sequences ignored
        ];
        for (keys, want) in cases {
            assert_eq!(s.run(keys).trim(), *want, "keys {keys:?}");
        }
        // Ctrl-C abandons the line.
        let m = s.mark();
        s.machine.type_text("echo never\x03");
        s.expect_since(m, "^C", Duration::from_secs(5)).unwrap();
        assert_eq!(s.run("echo after").trim(), "after");
    }
}

#[test]
fn history_and_completion_and_templates() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        s.run("echo one");
        s.run("echo two");
        assert_eq!(s.run("\x1b[A\x1b[A").trim(), "one");
        assert_eq!(s.run("\x1b[A\x1b[A\x1b[B").trim(), "one", "down after up");
        for i in 0..55 {
            s.machine.send_fast(format!("echo h{i}\r").as_bytes());
        }
        let m = s.mark();
        s.machine.send_fast(b"echo sync\r");
        s.expect_since(m, "sync\n", Duration::from_secs(20)).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let up50: String = "\x1b[A".repeat(51);
        assert_eq!(s.run(&up50).trim(), "h5", "50 lines back");
        // Tab completion: unique, then several candidates.
        assert_eq!(s.run("ech\tdone").trim(), "done");
        let m = s.mark();
        s.machine.type_text("a\t");
        let out = s.expect_since(m, "AVAIL", Duration::from_secs(5)).unwrap();
        assert!(out.contains("ALIAS") && out.contains("AVAIL"), "{out}");
        s.machine.type_text("\x03");
        // Templates.
        // `COMMAND ?` shows the template and takes the arguments from the next line.
        assert!(s.run_until("wait ?", "TICKS/S: ").contains("WAIT: N/N,SEC=SECS/S,MIN=MINS/S,TICKS/S: "));
        assert_eq!(s.run("1 ticks"), "");
        assert!(s.run_until("break ?", "F/S: ").contains("BREAK: PROCESS/A/N,C/S,D/S,E/S,F/S: "));
        assert!(s.run("9").contains("Process 9 does not exist"));
        assert!(s.run("version ?").contains("VERSION: (no arguments)"));
    }
}

#[test]
fn errors_as_amigados_says_them() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        assert!(s.run("frobnicate").contains("Unknown command frobnicate"));
        assert!(s.run("why").contains("object not found: Unknown command frobnicate"));
        assert!(s.run("wait abc").contains("Bad number"));
        // Too long to count in nanoseconds (each would wrap to a wait of 0.3 s and 26 s).
        assert!(s.run("wait 18446744074").contains("Bad number"));
        assert!(s.run("wait 307445735 min").contains("Bad number"));
        assert!(s.run("break").contains("Required argument missing"));
        assert!(s.run("why").contains("required argument missing"));
        assert!(s.run("version extra").contains("Wrong number of arguments"));
        assert!(s.run("break 9").contains("Process 9 does not exist"));
        assert!(s.run("changetaskpri 500").contains("Priority out of range"));
    }
}

#[test]
fn ctrl_c_stops_wait() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        let m = s.mark();
        s.machine.type_text("wait 100\r");
        std::thread::sleep(Duration::from_millis(500));
        let t0 = Instant::now();
        s.machine.type_text("\x03");
        let out = s.expect_since(m, &format!("Break\n{PROMPT}"), Duration::from_secs(10)).unwrap();
        // WAIT wakes on the Ctrl-C signal itself, not at its next timer: the prompt is back at
        // once (2 s leaves room for a busy host; the wait had 99 s left).
        assert!(t0.elapsed() < Duration::from_secs(2), "Ctrl-C took {:?} to end WAIT:\n{out}", t0.elapsed());
        assert_eq!(s.run("echo still here").trim(), "still here");
    }
}

/// In the mmu build the shell and its commands (WAIT, TASKLIST) run in ring 3, while the idle
/// task and the system and jobs services stay in ring 0; in the flat build all run in ring 0.
/// BREAK still ends the ring-3 command.
#[test]
fn commands_ring_by_build() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        assert!(s.run("run wait 30").contains("[CLI 2]"));
        let tl = s.run("tasklist");
        let ring = |name: &str| {
            let line = tl.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} in:\n{tl}"));
            line.split_whitespace().last().unwrap().to_string()
        };
        let expected = if mode.name() == "mmu" { "3" } else { "0" };
        assert_eq!(ring("WAIT"), expected, "{tl}");
        assert_eq!(ring("TASKLIST"), expected, "{tl}");
        assert_eq!(ring("Shell"), expected, "{tl}");
        assert_eq!(ring("idle"), "0", "{tl}");
        assert_eq!(ring("jobs"), "0", "{tl}");
        if mode.name() == "mmu" {
            assert_eq!(ring("shell.watch"), "0", "{tl}");
        }
        s.run("break 2");
        let st = s.run("status");
        assert!(!st.contains("WAIT"), "BREAK did not end the ring-3 WAIT:\n{st}");
        assert_eq!(s.run("echo ring three").trim(), "ring three");
    }
}

/// Ctrl-D ends the shell for good: in the mmu build its watcher, which starts a new shell
/// after a fault, starts none.
#[test]
fn ctrl_d_ends_the_shell() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        let m = s.mark();
        s.machine.type_text("\x04");
        s.expect_since(m, "Process 1 ending", Duration::from_secs(5)).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let after = s.since(m);
        assert!(!after.contains("a new one starts") && !after.contains("Workbench shell"), "{}: a shell after Ctrl-D:\n{after}", mode.name());
    }
}

#[test]
fn reboot_restarts_the_machine() {
    let mut boot = Boot::new(Mode::Flat);
    boot.allow_reboot = true;
    let mut s = ShellSession::start(&boot);
    let m = s.mark();
    s.machine.type_text("reboot\r");
    s.expect_since(m, "Rebooting.", Duration::from_secs(10)).unwrap();
    s.expect_since(m, "Lorraine 0.1.0 (flat)", Duration::from_secs(20)).unwrap();
    s.expect_since(m, PROMPT, Duration::from_secs(20)).unwrap();
}

/// 10,000 random bytes, escape sequences and NULs among them, sent in bursts: the shell then
/// still answers, and no alert was raised.
#[test]
fn random_bytes_then_echo_ok() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut data = Vec::with_capacity(10_000);
        while data.len() < 10_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            match seed % 10 {
                0 => data.extend_from_slice(b"\x1b["),
                1 => data.push(0),
                2 => data.extend_from_slice(b"\x1bO"),
                _ => data.push((seed >> 24) as u8),
            }
        }
        // Ctrl-D would end the shell: that is tested on its own.
        data.retain(|&b| b != 0x04);
        let m = s.mark();
        for chunk in data.chunks(256) {
            s.machine.send_fast(chunk);
            std::thread::sleep(Duration::from_millis(30));
        }
        std::thread::sleep(Duration::from_millis(500));
        s.machine.type_text("\x03");
        let m2 = s.mark();
        s.machine.type_text("echo ok\r");
        s.expect_since(m2, "ok\n", Duration::from_secs(30)).unwrap();
        let t = s.machine.transcript()[m..].to_string();
        assert!(!t.contains("Guru Meditation"), "an alert was raised:\n{t}");
    }
}

/// AVAIL is back where it was after 1,000 RUN commands.
#[test]
fn avail_back_after_1000_runs() {
    for mode in Mode::BOTH {
        let mut s = shell(mode);
        let before = s.avail_total();
        for i in 0..1000 {
            let m = s.mark();
            s.machine.send_fast(b"run echo x\r");
            s.expect_since(m, "[CLI ", Duration::from_secs(10)).unwrap_or_else(|e| panic!("RUN {i}: {e}"));
        }
        s.await_avail(before, &format!("{mode:?}: after 1,000 RUNs"));
    }
}
