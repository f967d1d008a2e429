//! Compiling plans into the step DAG: which steps exist, and the dependencies the operators'
//! procedure requires.

use std::collections::BTreeSet;

use kmigrate_dag::{Expansion, StepGraph, StepId, StepKind, compile};

fn plan(data: &str, groups: &str) -> kmigrate_plan::Plan {
    let yaml = format!(
        r#"version: 1
name: t
source: {{ bootstrap_servers: "old:9092" }}
target: {{ bootstrap_servers: "new:9092" }}
topics:
  - orders
  - name: payments
    partitions: 12
  - pattern: "^audit\\."
{data}
cutover: {{ at: "2026-11-25T02:00:00+08:00" }}
consumers:
  defaults: {{ offsets: broker-managed, loss: strict }}
  groups:
{groups}
"#
    );
    let parsed = kmigrate_plan::parse("t.yaml", &yaml);
    parsed.plan.unwrap_or_else(|| panic!("{yaml}\n{:#?}", parsed.diagnostics))
}

const GROUPS: &str = "    - id: billing
    - id: analytics
      offsets: self-stored
      export: out/analytics.csv
    - id: audit-reader
      topics: [payments]
";

fn ids(g: &StepGraph) -> Vec<String> {
    g.steps().map(|s| s.id.to_string()).collect()
}

/// Every step that `id` (transitively) waits for.
fn ancestors(g: &StepGraph, id: &StepId) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![id.clone()];
    while let Some(n) = todo.pop() {
        for d in g.dependencies(&n) {
            if out.insert(d.id.to_string()) {
                todo.push(d.id.clone());
            }
        }
    }
    out
}

#[test]
fn synced_by_kmigrate_has_copies_and_the_procedures_dependencies() {
    let g = compile(&plan("data: synced\nsync: { by: kmigrate }", GROUPS), &Expansion::new()).unwrap();
    assert_eq!(
        ids(&g),
        [
            "preflight",
            "expand:^audit\\.",
            "topic:orders",
            "topic:payments",
            "copy:orders",
            "copy:payments",
            "cutover",
            "synced",
            "drain:billing",
            "drain:audit-reader",
            "offsets:billing",
            "offsets:analytics",
            "offsets:audit-reader",
            "verify"
        ]
    );
    // copy after its topic; the cutover after every topic exists on the target.
    assert!(ancestors(&g, &StepId::copy("orders")).contains("topic:orders"));
    let cutover = ancestors(&g, &StepId::cutover());
    assert!(
        ["preflight", "topic:orders", "topic:payments", "expand:^audit\\."]
            .iter()
            .all(|s| cutover.contains(*s))
    );
    // drain after cutover; offsets after cutover, its drain and the copies of what it reads.
    assert!(ancestors(&g, &StepId::drain("billing")).contains("cutover"));
    let billing = ancestors(&g, &StepId::offsets("billing"));
    assert!(
        ["cutover", "drain:billing", "copy:orders", "copy:payments", "synced"]
            .iter()
            .all(|s| billing.contains(*s))
    );
    // A group that names its topics waits only for those copies.
    let reader = ancestors(&g, &StepId::offsets("audit-reader"));
    assert!(reader.contains("copy:payments") && !reader.contains("copy:orders"));
    // Self-stored groups are not observable on the broker: no drain unless the plan asks.
    assert!(g.get(&StepId::drain("analytics")).is_none());
    // verify is last and waits for everything.
    assert_eq!(ancestors(&g, &StepId::verify()).len(), g.len() - 1);
}

#[test]
fn which_steps_exist_follows_the_strategy() {
    let kinds = |g: &StepGraph| g.steps().map(|s| s.kind()).collect::<BTreeSet<_>>();
    for data in ["data: synced\nsync: { by: external }", "data: not-synced", "data: dual-write"] {
        let g = compile(&plan(data, GROUPS), &Expansion::new()).unwrap();
        assert!(!kinds(&g).contains(&StepKind::Copy), "{data}: no copy unless kmigrate copies");
    }
    let g = compile(
        &plan(
            "data: not-synced",
            "    - id: app\n      offsets: self-stored\n      export: a.csv\n      drain: true\n",
        ),
        &Expansion::new(),
    )
    .unwrap();
    assert!(g.get(&StepId::drain("app")).is_some(), "drain: true observes a self-stored group");
}

#[test]
fn an_expansion_adds_the_matched_topics_behind_their_expand_step() {
    let p = plan("data: synced\nsync: { by: kmigrate }", GROUPS);
    let expansion: Expansion =
        [("^audit\\.".to_string(), vec!["audit.login".into(), "orders".into(), "audit.logout".into()])]
            .into();
    let g = compile(&p, &expansion).unwrap();
    // `orders` is named explicitly: the pattern does not claim it a second time.
    assert_eq!(g.steps().filter(|s| s.subject() == Some("orders")).count(), 2);
    for t in ["audit.login", "audit.logout"] {
        assert!(ancestors(&g, &StepId::topic(t)).contains("expand:^audit\\."));
        assert!(ancestors(&g, &StepId::copy(t)).contains(&format!("topic:{t}")));
        assert!(ancestors(&g, &StepId::offsets("billing")).contains(&format!("copy:{t}")));
        assert!(ancestors(&g, &StepId::cutover()).contains(&format!("topic:{t}")));
    }
    // The expansion leaves the other steps' definitions, and so their fingerprints, unchanged.
    let before = compile(&p, &Expansion::new()).unwrap();
    for s in before.steps() {
        assert_eq!(g.get(&s.id).unwrap().fingerprint(), s.fingerprint(), "{}", s.id);
    }
}

#[test]
fn fingerprints_change_with_the_definition_not_with_secrets() {
    let a = plan("data: not-synced", "    - id: billing\n");
    let b = plan("data: not-synced", "    - id: billing\n      loss: tolerant\n");
    let fp = |p: &kmigrate_plan::Plan, id: &StepId| {
        compile(p, &Expansion::new()).unwrap().get(id).unwrap().fingerprint()
    };
    assert_ne!(fp(&a, &StepId::offsets("billing")), fp(&b, &StepId::offsets("billing")));
    assert_eq!(fp(&a, &StepId::topic("orders")), fp(&b, &StepId::topic("orders")));
}

/// A plan whose clusters carry credentials, as templates and written out (validate warns about
/// the latter): no step's definition holds a property value, and changing a password changes no
/// fingerprint (a rotated secret must not make apply refuse a done step).
#[test]
fn no_secret_reaches_a_step_definition_or_fingerprint() {
    let secured = |password: &str| {
        let yaml = format!(
            r#"version: 1
name: t
source:
  bootstrap_servers: "old:9093"
  properties:
    security.protocol: SASL_SSL
    sasl.mechanism: SCRAM-SHA-512
    sasl.username: "user-marker-4711"
    sasl.password: "{password}"
target:
  bootstrap_servers: "new:9093"
  properties:
    security.protocol: SSL
    ssl.key.password: "${{KEY_PASSWORD_MARKER}}"
topics:
  - orders
  - pattern: "^audit\\."
data: synced
sync: {{ by: kmigrate }}
cutover: {{ manual: true }}
consumers:
  groups:
    - id: billing
    - id: analytics
      offsets: self-stored
      export: out/analytics.csv
"#
        );
        let parsed = kmigrate_plan::parse("t.yaml", &yaml);
        let plan = parsed.plan.unwrap_or_else(|| panic!("{yaml}\n{:#?}", parsed.diagnostics));
        // The secrets are in the plan the steps are compiled from.
        assert!(plan.source.properties.iter().any(|p| p.key == "sasl.password"), "{plan:?}");
        assert!(
            format!("{plan:?}").contains(password) && format!("{plan:?}").contains("KEY_PASSWORD_MARKER")
        );
        let expansion = Expansion::from([("^audit\\.".to_string(), vec!["audit.log".to_string()])]);
        compile(&plan, &expansion).unwrap()
    };
    let (one, two) = (secured("password-marker-1"), secured("password-marker-2"));
    assert!(one.steps().count() >= 10, "{:?}", ids(&one));
    for step in one.steps() {
        let definition = serde_json::to_string(&step.definition).unwrap();
        for marker in ["password-marker-1", "KEY_PASSWORD_MARKER", "user-marker-4711", "SCRAM-SHA-512"] {
            assert!(!definition.contains(marker), "{}: {definition}", step.id);
        }
        assert_eq!(step.fingerprint(), two.get(&step.id).unwrap().fingerprint(), "{}", step.id);
    }
}

#[test]
fn every_sample_plan_compiles_and_renders() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plans");
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    assert!(paths.len() >= 8);
    for path in paths.iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
        let parsed = kmigrate_plan::load(path).unwrap();
        let plan = parsed.plan.unwrap_or_else(|| panic!("{} is invalid", path.display()));
        let g = compile(&plan, &Expansion::new()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_snapshot!(format!("dot-{name}"), kmigrate_dag::to_dot(&g, &plan.name));
        assert!(kmigrate_dag::to_mermaid(&g).starts_with("flowchart LR"));
    }
}
