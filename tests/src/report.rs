//! `make bench`'s report: parsing the kernel's `bench ...` lines, and writing the JSON, the
//! Markdown table and the SVG plot.

use std::collections::BTreeMap;
use std::fmt::Write;

/// One benchmark figure from the kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub name: String,
    pub size: u64,
    pub touch: bool,
    pub n: u64,
    pub median: u64,
    pub p99: u64,
    /// Events per operation, as the kernel counted them (`exec/src/events.rs`), in the
    /// kernel's order: switch, gate, cr3, tlb, pte, copied.
    pub events: Vec<(String, f64)>,
}

/// The events' names in the kernel's lines, and their column headings.
pub const EVENTS: [(&str, &str); 6] = [
    ("switch", "switches"),
    ("gate", "gate calls"),
    ("cr3", "CR3 loads"),
    ("tlb", "TLB flushes (invlpg)"),
    ("pte", "PTEs written"),
    ("copied", "bytes copied"),
];

impl Figure {
    /// Events of `name` per operation (0 when the line had none).
    pub fn event(&self, name: &str) -> f64 {
        self.events.iter().find(|(n, _)| n == name).map_or(0.0, |e| e.1)
    }

    /// The row label: `msg_round_trip 64 B (reads body)`.
    pub fn label(&self) -> String {
        let mut s = self.name.clone();
        if self.name.starts_with("scale_") {
            let _ = write!(s, " 64 B body, {} more tasks, ports and queued messages", self.size);
        } else if self.name.starts_with("msg_") && self.size == 0 {
            // The smallest message is its header alone; the others carry `size` bytes of body.
            s.push_str(" header only");
        } else if self.name.starts_with("msg_") || self.name.starts_with("dos_") {
            let _ = write!(s, " {}", size_label(self.size));
        }
        if self.touch {
            s.push_str(" (reads body)");
        }
        s
    }
}

/// Bytes of exec's message header (`exec::port::Message`), which every benchmark message has
/// before its body.
pub const MESSAGE_HEADER: u64 = 72;

pub fn size_label(size: u64) -> String {
    match size {
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1024 && s % 1024 == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

/// Subtracts what timing costs (the `empty` row: two TSC reads and a store, timed as any row)
/// from every other figure of one build. Result: what was subtracted (0 without an empty row).
pub fn subtract_overhead(figs: &mut [Figure]) -> u64 {
    let overhead = figs.iter().find(|f| f.name == "empty").map_or(0, |f| f.median);
    for f in figs.iter_mut().filter(|f| f.name != "empty") {
        f.median = f.median.saturating_sub(overhead);
        f.p99 = f.p99.saturating_sub(overhead);
    }
    overhead
}

/// The rows a kernel said it could not run (`bench missing name=...`).
pub fn missing(transcript: &str) -> Vec<String> {
    transcript.lines().filter_map(|l| l.trim().strip_prefix("bench missing ").map(String::from)).collect()
}

/// Parses every `bench name=... size=... touch=... n=... median=... p99=... [ev=...]` line.
pub fn parse(transcript: &str) -> Vec<Figure> {
    transcript
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("bench name=")?;
            let mut kv: BTreeMap<&str, &str> = BTreeMap::new();
            kv.insert("name", rest.split_whitespace().next()?);
            for part in rest.split_whitespace().skip(1) {
                let (k, v) = part.split_once('=')?;
                kv.insert(k, v);
            }
            Some(Figure {
                name: kv.get("name")?.to_string(),
                size: kv.get("size")?.parse().ok()?,
                touch: *kv.get("touch")? == "1",
                n: kv.get("n")?.parse().ok()?,
                median: kv.get("median")?.parse().ok()?,
                p99: kv.get("p99")?.parse().ok()?,
                events: kv
                    .get("ev")
                    .map(|ev| ev.split(',').filter_map(|p| p.split_once(':')).filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?))).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// A Linux reference figure, in nanoseconds.
#[derive(Clone, Debug)]
pub struct Reference {
    pub name: String,
    pub median_ns: u64,
    pub p99_ns: u64,
}

/// Everything one `make bench` run produced.
pub struct Report {
    pub date: String,
    /// How the kernel figures were measured ("guest instructions (TCG, -icount shift=0)").
    pub unit: String,
    pub flat: Vec<Figure>,
    pub mmu: Vec<Figure>,
    pub linux: Vec<Reference>,
    /// A note on the mmu column: which rows are the same ring-0 path and which are ring 3.
    pub mmu_note: String,
    pub containment_note: String,
    /// CRASHTEST: scenario, what the flat build did, what the mmu build did.
    pub containment: Vec<(String, String, String)>,
    /// What timing costs, subtracted from every figure of each build (flat, mmu).
    pub overhead: (u64, u64),
}

fn find<'a>(v: &'a [Figure], f: &Figure) -> Option<&'a Figure> {
    v.iter().find(|g| g.name == f.name && g.size == f.size && g.touch == f.touch)
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Lorraine benchmark, {}\n", self.date);
        let _ = writeln!(s, "Kernel figures: median and p99 per operation, in {}.\n", self.unit);
        let _ = writeln!(
            s,
            "What timing costs (the `empty` row: two TSC reads and a store) is subtracted from every other figure: {} in the flat build, {} in the mmu build.\n",
            self.overhead.0, self.overhead.1
        );
        let _ = writeln!(s, "{}\n", self.mmu_note);
        let _ = writeln!(
            s,
            "A message's size is the bytes of body after its {}-byte header (\"header only\": none). Every run of a row is checked outside the timed part: the same message came back with its header, the client's stamp and the server's answer intact.\n",
            MESSAGE_HEADER
        );
        let _ = writeln!(s, "| benchmark | flat median | flat p99 | mmu median | mmu p99 | mmu / flat |");
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
        for f in &self.flat {
            let (mm, mp, ratio) = match find(&self.mmu, f) {
                Some(m) => (m.median.to_string(), m.p99.to_string(), format!("{:.2}", m.median as f64 / f.median.max(1) as f64)),
                None => ("-".into(), "-".into(), "-".into()),
            };
            let _ = writeln!(s, "| {} | {} | {} | {mm} | {mp} | {ratio} |", f.label(), f.median, f.p99);
        }
        // Rows only the mmu build has (ring-3 copy and transfer): compared with the flat
        // pointer round trip of the same size and body access.
        for m in self.mmu.iter().filter(|m| find(&self.flat, m).is_none()) {
            let (base_name, tag) = if m.name.starts_with("scale_") {
                ("scale_round_trip_combined", "pointer, combined")
            } else if m.name.starts_with("msg_round_trip_") && m.name.ends_with("_combined") {
                ("msg_round_trip_combined", "pointer, combined")
            } else if m.name.starts_with("msg_round_trip_") {
                ("msg_round_trip", "pointer")
            } else if m.name.starts_with("msg_own_port_") {
                ("msg_own_port", "pointer")
            } else if m.name == "dos_read_ring3" {
                ("dos_read", "ring-0 client")
            } else {
                ("null_call", "direct")
            };
            let base = self.flat.iter().find(|f| f.name == base_name && f.size == m.size && f.touch == m.touch);
            let (fm, fp, ratio) = match base {
                Some(f) => (format!("{} ({tag})", f.median), f.p99.to_string(), format!("{:.2}", m.median as f64 / f.median.max(1) as f64)),
                None => ("-".into(), "-".into(), "-".into()),
            };
            let _ = writeln!(s, "| {} | {fm} | {fp} | {} | {} | {ratio} |", m.label(), m.median, m.p99);
        }
        s.push_str(&self.events_table());
        let _ = writeln!(s, "\nLinux reference on the host, same run (nanoseconds of wall-clock time, two processes pinned to one CPU):\n");
        let _ = writeln!(s, "| benchmark | median ns | p99 ns |");
        let _ = writeln!(s, "|---|---:|---:|");
        for r in &self.linux {
            let _ = writeln!(s, "| {} | {} | {} |", r.name, r.median_ns, r.p99_ns);
        }
        let _ = writeln!(s, "\n{}\n", self.containment_note);
        if !self.containment.is_empty() {
            let _ = writeln!(s, "| CRASHTEST scenario | flat | mmu |");
            let _ = writeln!(s, "|---|---|---|");
            for (name, flat, mmu) in &self.containment {
                let _ = writeln!(s, "| {name} | {flat} | {mmu} |");
            }
        }
        s
    }

    /// Events per operation beside the instructions, for the rows at 64 B and 1 MiB and the
    /// unsized ones, both builds.
    fn events_table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nEvents per operation, counted by the kernel over every run of the row (warm-ups included; \
             in the mmu build's ring-3 rows from the task's go to its end). An instruction count hides \
             them: under TCG a CR3 load is one instruction, on hardware without PCID it also empties \
             the TLB (but for the kernel heap's global pages), and each later memory access pays for the page walk; a context switch, a gate call \
             and a copied byte cost cycles an instruction count does not weigh.\n"
        );
        let heads: Vec<&str> = EVENTS.iter().map(|e| e.1).collect();
        let _ = writeln!(s, "| benchmark | build | instructions | {} |", heads.join(" | "));
        let _ = writeln!(s, "|---|---|---:|{}", "---:|".repeat(EVENTS.len()));
        for (build, figs) in [("flat", &self.flat), ("mmu", &self.mmu)] {
            for f in figs.iter().filter(|f| !f.events.is_empty() && !f.touch && (f.size == 64 || f.size == 1 << 20 || f.size == 0 && !f.name.starts_with("msg_"))) {
                let cells: Vec<String> = EVENTS.iter().map(|(k, _)| if *k == "copied" { format!("{:.0}", f.event(k)) } else { format!("{:.2}", f.event(k)) }).collect();
                let _ = writeln!(s, "| {} | {build} | {} | {} |", f.label(), f.median, cells.join(" | "));
            }
        }
        s
    }

    pub fn json(&self) -> String {
        let fig = |v: &[Figure]| {
            v.iter()
                .map(|f| {
                    let ev: Vec<String> = f.events.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!(
                        "{{\"name\":\"{}\",\"size\":{},\"touch\":{},\"n\":{},\"median\":{},\"p99\":{},\"events\":{{{}}}}}",
                        f.name,
                        f.size,
                        f.touch,
                        f.n,
                        f.median,
                        f.p99,
                        ev.join(",")
                    )
                })
                .collect::<Vec<_>>()
                .join(",\n    ")
        };
        let linux = self
            .linux
            .iter()
            .map(|r| format!("{{\"name\":\"{}\",\"median_ns\":{},\"p99_ns\":{}}}", r.name, r.median_ns, r.p99_ns))
            .collect::<Vec<_>>()
            .join(",\n    ");
        let containment = self
            .containment
            .iter()
            .map(|(n, f, m)| format!("{{\"scenario\":\"{n}\",\"flat\":\"{f}\",\"mmu\":\"{m}\"}}"))
            .collect::<Vec<_>>()
            .join(",\n    ");
        format!(
            "{{\n  \"date\": \"{}\",\n  \"unit\": \"{}\",\n  \"mmu_note\": \"{}\",\n  \"flat\": [\n    {}\n  ],\n  \"mmu\": [\n    {}\n  ],\n  \"linux_ns\": [\n    {}\n  ],\n  \"containment\": [\n    {}\n  ]\n}}\n",
            self.date,
            self.unit,
            self.mmu_note.replace('"', "'"),
            fig(&self.flat),
            fig(&self.mmu),
            linux,
            containment
        )
    }

    /// Round trip against message size, log-log, one line per build and body access.
    pub fn svg(&self) -> String {
        let pick = |figs: &[Figure], name: &str, touch: bool| -> Vec<(u64, u64)> {
            figs.iter().filter(|f| f.name == name && f.touch == touch).map(|f| (f.size.max(56), f.median.max(1))).collect()
        };
        // (label, colour, points)
        type Series<'a> = (String, &'a str, Vec<(u64, u64)>);
        let mut series: Vec<Series> = Vec::new();
        for (label, figs, name, color) in [
            ("flat pointer", &self.flat, "msg_round_trip", "#1f77b4"),
            ("flat pointer, do_msg + reply_wait", &self.flat, "msg_round_trip_combined", "#9467bd"),
            ("mmu copy", &self.mmu, "msg_round_trip_copy", "#d62728"),
            ("mmu transfer", &self.mmu, "msg_round_trip_transfer", "#2ca02c"),
            ("mmu copy, do_msg + reply_wait", &self.mmu, "msg_round_trip_copy_combined", "#ff7f0e"),
        ] {
            for touch in [false, true] {
                let pts = pick(figs, name, touch);
                if !pts.is_empty() {
                    series.push((format!("{label}{}", if touch { ", receiver reads body" } else { "" }), color, pts));
                }
            }
        }
        let (w, h, l, r, t, b) = (760.0, 460.0, 80.0, 20.0, 40.0, 60.0);
        let all: Vec<(u64, u64)> = series.iter().flat_map(|s| s.2.iter().copied()).collect();
        let lg = |v: u64| (v as f64).log10();
        let (x0, x1) = (lg(all.iter().map(|p| p.0).min().unwrap_or(1)).floor(), lg(all.iter().map(|p| p.0).max().unwrap_or(10)).ceil());
        let (y0, y1) = (lg(all.iter().map(|p| p.1).min().unwrap_or(1)).floor(), lg(all.iter().map(|p| p.1).max().unwrap_or(10)).ceil());
        let sx = |v: u64| l + (lg(v) - x0) / (x1 - x0).max(1.0) * (w - l - r);
        let sy = |v: u64| h - b - (lg(v) - y0) / (y1 - y0).max(1.0) * (h - t - b);
        let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        let _ = writeln!(s, "<text x=\"{l}\" y=\"24\" font-size=\"15\">Message round trip between two tasks ({})</text>", self.unit);
        for e in x0 as i32..=x1 as i32 {
            let x = sx(10u64.pow(e as u32));
            let _ = writeln!(s, "<line x1=\"{x}\" y1=\"{t}\" x2=\"{x}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">1e{e}</text>", h - b, h - b + 16.0);
        }
        for e in y0 as i32..=y1 as i32 {
            let y = sy(10u64.pow(e as u32));
            let _ = writeln!(s, "<line x1=\"{l}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">1e{e}</text>", w - r, l - 6.0, y + 4.0);
        }
        let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">message size (bytes, log)</text>", (l + w - r) / 2.0, h - 20.0);
        let _ = writeln!(s, "<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">per round trip (log)</text>", (t + h - b) / 2.0, (t + h - b) / 2.0);
        for (i, (name, color, pts)) in series.iter().enumerate() {
            let dash = if name.contains("reads") { " stroke-dasharray=\"6 4\"" } else { "" };
            let path: Vec<String> = pts.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
            let _ = writeln!(s, "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash} points=\"{}\"/>", path.join(" "));
            let ly = t + 16.0 + i as f64 * 18.0;
            let _ = writeln!(s, "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/><text x=\"{}\" y=\"{}\">{name}</text>", l + 10.0, l + 40.0, l + 46.0, ly + 4.0);
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_lines() {
        let t = "junk\nbench name=msg_round_trip size=64 touch=1 n=10000 median=724 p99=730\nbench begin mode=flat\nbench name=null_call size=0 touch=0 n=10 median=45 p99=45\n";
        let f = parse(t);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0], Figure { name: "msg_round_trip".into(), size: 64, touch: true, n: 10000, median: 724, p99: 730, events: vec![] });
        let e = parse("bench name=msg_round_trip_copy size=64 touch=0 n=5 median=2000 p99=2100 ev=switch:2.00,gate:4.00,cr3:8.00,tlb:0.00,pte:0.50,copied:128\n");
        assert_eq!((e[0].event("cr3"), e[0].event("pte"), e[0].event("copied"), e[0].event("none")), (8.0, 0.5, 128.0, 0.0));
        assert_eq!(missing("bench missing name=x size=64: its tasks did not start\nbench end\n"), vec!["name=x size=64: its tasks did not start".to_string()]);
        assert_eq!(f[0].label(), "msg_round_trip 64 B (reads body)");
        assert_eq!(size_label(1 << 20), "1 MiB");
    }

    #[test]
    fn renders() {
        let f = parse("bench name=msg_round_trip size=64 touch=0 n=1 median=600 p99=600\nbench name=msg_round_trip size=4096 touch=0 n=1 median=600 p99=600\n");
        let r = Report {
            date: "2026-11-23".into(),
            unit: "guest instructions".into(),
            flat: f.clone(),
            mmu: f,
            linux: vec![Reference { name: "pipe".into(), median_ns: 5000, p99_ns: 7000 }],
            mmu_note: "note".into(),
            containment_note: "none".into(),
            containment: vec![("wild-write".into(), "not contained".into(), "contained".into())],
            overhead: (3, 3),
        };
        let md = r.markdown();
        assert!(md.contains("| msg_round_trip 64 B | 600 | 600 | 600 | 600 | 1.00 |"), "{md}");
        assert!(r.svg().contains("<polyline"));
        assert!(md.contains("| wild-write | not contained | contained |"), "{md}");
        assert!(r.json().contains("\"median\":600"));
    }

    #[test]
    fn combined_row_is_shared_and_plotted() {
        let line = |b: &str| format!("bench name={b} size=64 touch=0 n=1 median=200 p99=200\n");
        let flat = parse(&(line("msg_round_trip") + &line("msg_round_trip_combined")));
        let mmu = parse(&line("msg_round_trip_combined"));
        let r = Report {
            date: "d".into(),
            unit: "u".into(),
            flat,
            mmu,
            linux: vec![],
            mmu_note: String::new(),
            containment_note: String::new(),
            containment: vec![],
            overhead: (0, 0),
        };
        assert!(r.markdown().contains("| msg_round_trip_combined 64 B | 200 | 200 | 200 | 200 | 1.00 |"), "{}", r.markdown());
        assert!(r.svg().contains("do_msg + reply_wait"));
    }
}
