//! DOS through the serial shell, in both builds: redirection, the file commands on RAM:, and
//! every error as AmigaDOS words it.

use lorraine_tests::{Boot, Mode, ShellSession};

#[test]
fn files_through_the_shell() {
    for mode in Mode::BOTH {
        let mut s = ShellSession::start(&Boot::new(mode));
        let run = |s: &mut ShellSession, cmd: &str| s.run(cmd);
        assert_eq!(run(&mut s, "echo hello >RAM:a").trim(), "", "{mode:?}: redirected output is not shown");
        assert_eq!(run(&mut s, "type RAM:a").trim(), "hello", "{mode:?}");
        run(&mut s, "echo again >>RAM:a");
        assert_eq!(run(&mut s, "type RAM:a").trim(), "hello\nagain", "{mode:?}: >> appends");
        assert!(run(&mut s, "copy RAM:a RAM:b").contains("RAM:a copied"), "{mode:?}");
        assert_eq!(run(&mut s, "type ram:B").trim(), "hello\nagain", "{mode:?}: names ignore case");
        assert_eq!(run(&mut s, "makedir RAM:d").trim(), "", "{mode:?}");
        let copied = run(&mut s, "copy RAM:#? RAM:d");
        assert!(copied.contains("RAM:a copied") && copied.contains("RAM:b copied"), "{mode:?}: {copied}");
        assert!(copied.contains("RAM:d (dir) not copied"), "{mode:?}: the destination is not copied into itself: {copied}");
        let all = run(&mut s, "dir RAM: ALL");
        for line in ["     d (dir)", "       a", "       b", "  a", "  b"] {
            assert!(all.lines().any(|l| l == line), "{mode:?}: no line {line:?} in\n{all}");
        }
        let hex = run(&mut s, "type RAM:a HEX");
        assert!(hex.contains("0000: 68656c6c 6f0a6167 61696e0a") && hex.contains("hello.again."), "{mode:?}: {hex}");
        // LIST into a file, then the file shows the listing.
        assert_eq!(run(&mut s, "list >RAM:l RAM:").trim(), "", "{mode:?}");
        let l = run(&mut s, "type RAM:l");
        assert!(l.contains("Directory \"RAM:\"") && l.contains("d                             Dir ----rwed"), "{mode:?}: {l}");
        assert!(run(&mut s, "rename RAM:b RAM:c").trim().is_empty(), "{mode:?}");
        assert!(run(&mut s, "dir RAM:?").contains("  c"), "{mode:?}: patterns in DIR");
        // CD, and %S in the prompt: a directory is named by its volume, as AmigaDOS names it.
        run(&mut s, "cd RAM:d");
        assert_eq!(run(&mut s, "cd").trim(), "Ram Disk:d", "{mode:?}");
        assert_eq!(run(&mut s, "type a").trim(), "hello\nagain", "{mode:?}: a name relative to the current directory");
        s.run_until("prompt \"%N.%S> \"", "1.Ram Disk:d> ");
        let shown = s.run_until("cd /", "1.Ram Disk:> ");
        assert!(shown.contains("1.Ram Disk:> "), "{mode:?}: {shown}");
        run(&mut s, "prompt");
        let join = run(&mut s, "join RAM:a RAM:c AS RAM:j");
        assert!(join.trim().is_empty(), "{mode:?}: {join}");
        assert_eq!(run(&mut s, "type RAM:j").matches("hello").count(), 2, "{mode:?}");
        // ASSIGN: a name for a directory.
        assert!(run(&mut s, "assign WORK: RAM:d").trim().is_empty(), "{mode:?}");
        assert_eq!(run(&mut s, "type WORK:a").trim(), "hello\nagain", "{mode:?}: through the assign");
        let listed = run(&mut s, "assign");
        assert!(listed.contains("WORK            Ram Disk:d"), "{mode:?}: {listed}");
        assert!(listed.contains("Volumes:\nRam Disk [Mounted]") && listed.contains("Devices:\nRAM CON NIL"), "{mode:?}: {listed}");
        assert_eq!(run(&mut s, "type \"Ram Disk:d/a\"").trim(), "hello\nagain", "{mode:?}: through RAM:'s volume name");
        assert!(run(&mut s, "assign RAMX: RAM:a").contains("RAM:a: Not a directory"), "{mode:?}: a file is no directory");
        assert!(run(&mut s, "assign RAM: RAM:d").contains("RAM:: Object exists"), "{mode:?}: a device keeps its name");
        run(&mut s, "assign WORK: REMOVE");
        assert!(run(&mut s, "type WORK:a").contains("WORK:a: Device (or volume) is not mounted"), "{mode:?}");
        let info = run(&mut s, "info");
        assert!(info.contains("RAM:") && info.contains("Read/Write") && info.contains("Ram Disk"), "{mode:?}: {info}");
        let del = run(&mut s, "delete RAM:d ALL");
        assert!(del.contains("RAM:d/a  Deleted") && del.contains("RAM:d  Deleted"), "{mode:?}: {del}");
        // Tab completes paths: a file, then a directory to go on into.
        run(&mut s, "echo completed >RAM:longname.txt");
        run(&mut s, "makedir RAM:sub RAM:sub/deeper");
        assert!(run(&mut s, "type RAM:longn\t").contains("completed"), "{mode:?}: a file name completed");
        run(&mut s, "echo deep >RAM:sub/deeper/f");
        assert!(run(&mut s, "type RAM:su\tde\tf").contains("deep"), "{mode:?}: directories completed");
        assert!(run(&mut s, "echo still here").contains("still here"), "{mode:?}");
    }
}

#[test]
fn errors_as_amigados_words_them() {
    for mode in Mode::BOTH {
        let mut s = ShellSession::start(&Boot::new(mode));
        let check = |s: &mut ShellSession, cmd: &str, words: &str| {
            let out = s.run(cmd);
            assert!(out.contains(words), "{mode:?}: {cmd} said {out:?}, not {words:?}");
        };
        check(&mut s, "type RAM:nothing", "RAM:nothing: Object not found");
        check(&mut s, "why", "Object not found");
        check(&mut s, "fault 205 216", "Fault 216: Directory not empty");
        s.run("makedir RAM:e");
        s.run("echo x >RAM:e/f");
        check(&mut s, "makedir RAM:e", "RAM:e: Object exists");
        check(&mut s, "delete RAM:e", "RAM:e: Directory not empty");
        check(&mut s, "type RAM:e", "RAM:e: Is a directory");
        check(&mut s, "dir RAM:e/f/g", "Not a directory");
        check(&mut s, "cd RAM:e/f", "RAM:e/f: Not a directory");
        check(&mut s, "rename RAM:e RAM:e/inside", "Object in use");
        check(&mut s, "echo x >NOSUCH:f", "Can't open redirection file NOSUCH:f: Device (or volume) is not mounted");
        check(&mut s, "echo x >", "Redirection without a file name");
        let long = "n".repeat(108);
        check(&mut s, &format!("makedir RAM:{long}"), "Invalid filename component");
        check(&mut s, "delete RAM:e ALL", "RAM:e  Deleted");
        assert!(s.run("echo still here").contains("still here"), "{mode:?}");
    }
}

/// A 1 MiB file made with COPY and read back: its checksum (the sum of its bytes) is the same.
#[test]
fn a_mib_file_copies_whole() {
    for mode in Mode::BOTH {
        let mut s = ShellSession::start(&Boot::new(mode));
        // A line of 256 bytes, JOINed 16 times over, three times over: 1 MiB.
        let line = "x".repeat(255);
        s.run(&format!("echo \"{line}\" >RAM:k1"));
        for (from, to) in [("RAM:k1", "RAM:k2"), ("RAM:k2", "RAM:k3"), ("RAM:k3", "RAM:m")] {
            let out = s.run(&format!("join {} AS {to}", [from; 16].join(" ")));
            assert!(out.trim().is_empty(), "{mode:?}: {out}");
        }
        s.run("copy RAM:m RAM:m2");
        let list = s.run("list RAM:m#?");
        assert_eq!(list.matches(" 1048576 ").count(), 2, "{mode:?}: both 1 MiB: {list}");
        let sum = s.run("checksum RAM:m2");
        assert!(sum.contains("1048576 bytes"), "{mode:?}: {sum}");
        assert_eq!(sum.trim(), s.run("checksum RAM:m").trim(), "{mode:?}");
    }
}

/// Input through CON:, in both builds: ASK reads a cooked line that CON: edits and echoes;
/// `<` gives a command a file as its Input(); an answer typed ahead, before the command has
/// started, waits in CON: for it; Ctrl-C breaks a command waiting for a line; the shell's own
/// line (read raw through CON:) still works after all of it.
#[test]
fn console_input_through_con() {
    use std::time::Duration;
    for mode in Mode::BOTH {
        let mut s = ShellSession::start(&Boot::new(mode));
        s.run_until("prompt \"rc=%R> \"", "rc=0> ");
        // A cooked line: a wrong answer asks again; Backspace edits, and CON: echoes it.
        s.run_until("ask Go?", "Go? ");
        let m = s.mark();
        s.machine.type_text("maybe\r");
        s.expect_since(m, "Go? ", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let m = s.mark();
        s.machine.type_text("yex\x7fs\r");
        let out = s.expect_since(m, "rc=5> ", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(out.contains("yex\x08 \x08s\n"), "{mode:?}: the answer and its edit are echoed: {out:?}");
        // Typed ahead of the command's start: the answer waits in CON:.
        let m = s.mark();
        s.machine.type_text("ask Ahead?\rno\r");
        s.expect_since(m, "rc=0> ", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        // `<`: the answers come from a file, the first not yes or no.
        s.run_until("echo >RAM:answers \"what\"", "rc=0> ");
        s.run_until("echo >>RAM:answers \"y\"", "rc=0> ");
        let out = s.run_until("ask <RAM:answers Sure?", "rc=5> ");
        assert_eq!(out.matches("Sure?").count(), 2, "{mode:?}: asked twice: {out:?}");
        let out = s.run_until("ask <RAM:none Sure?", "rc=10> ");
        assert!(out.contains("Can't open redirection file RAM:none: Object not found"), "{mode:?}: {out:?}");
        // Ctrl-C while ASK waits for its line.
        s.run_until("ask Break?", "Break? ");
        let m = s.mark();
        s.machine.type_text("half\x03");
        let out = s.expect_since(m, "rc=10> ", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(out.contains("***Break"), "{mode:?}: {out:?}");
        // The end of file (Ctrl-\) is a no.
        s.run_until("ask Eof?", "Eof? ");
        let m = s.mark();
        s.machine.type_text("\x1c");
        s.expect_since(m, "rc=0> ", Duration::from_secs(10)).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(s.run_until("echo still here", "rc=0> ").contains("still here"), "{mode:?}");
    }
}
