//! Compile-time benchmark: parse + validate + compile a generated plan of 5,000 topics and
//! 1,000 consumer groups, data synced by kmigrate (so every topic also has a copy step).
//!
//!     cargo bench -p kmigrate-dag --bench compile
//!
//! Two shapes: groups that name the 5 topics they read (`topics:`), and groups that do not (each
//! then waits for the `synced` milestone that follows all 5,000 copies).

use std::fmt::Write;
use std::time::{Duration, Instant};

fn plan_yaml(topics: usize, groups: usize, narrowed: bool) -> String {
    let mut y = String::from(
        "version: 1\nname: bench\nsource:\n  bootstrap_servers: \"old:9092\"\ntarget:\n  bootstrap_servers: \"new:9092\"\ntopics:\n",
    );
    for t in 0..topics {
        let _ = writeln!(y, "  - topic-{t:05}");
    }
    y.push_str("data: synced\nsync:\n  by: kmigrate\ncutover:\n  at: \"2026-11-25T02:00:00+08:00\"\nconsumers:\n  defaults: { offsets: broker-managed, loss: strict }\n  groups:\n");
    for g in 0..groups {
        let _ = writeln!(y, "    - id: group-{g:04}");
        if narrowed {
            let reads: Vec<String> = (0..5).map(|i| format!("topic-{:05}", (g * 5 + i) % topics)).collect();
            let _ = writeln!(y, "      topics: [{}]", reads.join(", "));
        }
    }
    y
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(label: &str, narrowed: bool, runs: usize) {
    let yaml = plan_yaml(5_000, 1_000, narrowed);
    let (mut parse, mut compile) = (Vec::new(), Vec::new());
    let mut shape = (0, 0);
    for _ in 0..runs {
        let t0 = Instant::now();
        let parsed = kmigrate_plan::parse("bench.yaml", &yaml);
        let t1 = Instant::now();
        let plan =
            parsed.plan.unwrap_or_else(|| panic!("generated plan is invalid: {:?}", parsed.diagnostics));
        let graph = kmigrate_dag::compile(&plan, &Default::default()).expect("compiles");
        let t2 = Instant::now();
        parse.push(t1 - t0);
        compile.push(t2 - t1);
        shape = (graph.len(), graph.edge_count());
    }
    println!(
        "{label:<28} {:>6} steps {:>9} edges   parse+validate {:>8.1?}   compile+seal {:>8.1?}   (median of {runs})",
        shape.0,
        shape.1,
        median(parse),
        median(compile)
    );
}

fn main() {
    // `cargo test` runs bench targets only with --benches; keep it cheap there.
    let runs = if std::env::args().any(|a| a == "--bench") { 11 } else { 1 };
    measure("groups name their topics", true, runs);
    measure("groups read every topic", false, runs.min(3));
}
