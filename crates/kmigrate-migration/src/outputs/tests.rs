use serde_json::{Value, json};

use super::*;
use crate::executor::{StepError, StepState};

fn with(step: &str, outputs: Value) -> State {
    let mut state = State::new("p");
    let mut st = StepState::new("f".into(), Value::Null);
    st.outputs = outputs;
    state.steps.insert(step.into(), st);
    state
}

#[test]
fn nothing_recorded_reads_as_nothing_yet() {
    let state = with("copy:orders", Value::Null);
    assert_eq!(copy(&state, "orders").unwrap(), CopyState::default());
    assert_eq!(copy(&state, "other").unwrap(), CopyState::default());
    assert_eq!(decided(&state, "billing").unwrap(), None);
    assert_eq!(cutover_time(&state).unwrap(), None);
    assert_eq!(mirror_in("mirror:orders", &Value::Null).unwrap(), MirrorState::default());
    assert_eq!(preflight_in(&Value::Null).unwrap(), None);
    assert_eq!(topic_in("topic:orders", &Value::Null).unwrap(), None);
    assert_eq!(drain_in("drain:billing", &Value::Null).unwrap(), None);
    assert_eq!(connectors_in(&Value::Null).unwrap(), None);
    assert_eq!(stop_mirror_in(&Value::Null).unwrap(), None);
    assert_eq!(verify_in(&Value::Null).unwrap(), None);
    assert_eq!(offsets_in("offsets:billing", &Value::Null).unwrap(), None);
    check(&state).unwrap();
}

#[test]
fn a_recorded_copy_reads_back() {
    let state = with("copy:orders", json!({"partitions": {"0": {"next": 5, "runs": [[0, 0, 5]]}}}));
    let copy = copy(&state, "orders").unwrap();
    assert_eq!(copy.partitions[&0].next, Some(5));
    assert_eq!(copy.copied(), 5);
}

/// Every kind's outputs as the state file holds them (as `resume.rs`'s snapshot of a finished
/// apply pins them) read back as its type and are written back the same.
#[test]
fn every_kind_reads_back_what_it_wrote() {
    fn round_trip<T: Outputs + serde::de::DeserializeOwned + std::fmt::Debug>(
        step: &str,
        written: Value,
    ) -> T {
        let typed: T = read::parse(step, &written).unwrap().unwrap();
        assert_eq!(value(&typed), written, "{step} is written back as it was read");
        check(&with(step, written)).unwrap();
        typed
    }
    let p: PreflightOutputs = round_trip(
        "preflight",
        json!({"source": {"brokers": 1, "cluster_id": "a"}, "target": {"brokers": 3, "cluster_id": null}}),
    );
    assert_eq!(p.target.brokers, 3);
    let t: TopicOutputs = round_trip(
        "topic:orders",
        json!({
            "change": {"action": "create", "configs": {"retention.ms": "-1"}, "partitions": 2},
            "desired": {"configs": {"retention.ms": "-1"}, "partitions": 2},
            "source_partitions": 2,
        }),
    );
    assert_eq!(t.desired.partitions, 2);
    let t: TopicOutputs = round_trip("topic:orders", json!({"desired": {"configs": {}, "partitions": 2}}));
    assert_eq!(t.change, None, "found created by an earlier run");
    let _: DrainOutputs = round_trip("drain:billing", json!({"partitions": 2, "topics": ["orders"]}));
    let _: ConnectorsOutputs =
        round_trip("connectors", json!({"connectors": ["a-source", "a-checkpoint"], "url": "http://c:8083"}));
    let _: StopMirrorOutputs = round_trip("stop-mirror", json!({"absent": ["b"], "deleted": ["a"]}));
    let c: CutoverOutputs = round_trip(
        "cutover",
        json!({
            "margin_ms": 0,
            "newest_source_record_ms": 1764460800019_i64,
            "source": {"kind": "newest_at_approval"},
            "time": "2025-11-30T00:00:00.020+00:00",
            "time_ms": 1764460800020_i64,
        }),
    );
    assert_eq!(c.time.timestamp_millis(), c.time_ms);
    let _: VerifyOutputs = round_trip(
        "verify",
        json!({
            "checked": [{"ahead": 0, "group": "g", "kind": "group_committed", "offsets": 2}],
            "late": [],
        }),
    );
    let o: OffsetsOutputs = round_trip(
        "offsets:billing",
        json!({
            "applied": "committed",
            "decided": {
                "cutover_time": "2025-11-30T00:00:00.020+00:00",
                "duplicates": 0,
                "partitions": [{"offset": 20, "partition": 0, "topic": "orders"}],
                "rule": {"rule": "exact-from-map"},
            },
            "mirrormaker2": [{"kmigrate": 20, "mirrormaker": 19, "partition": 0, "topic": "orders", "upstream": 20}],
        }),
    );
    assert_eq!(o.applied, Some(AppliedTo::Committed));
    let o: OffsetsOutputs = round_trip(
        "offsets:billing",
        json!({"decided": {"cutover_time": "t", "duplicates": 0, "partitions": [], "rule": {"rule": "latest"}}}),
    );
    assert_eq!(o.applied, None, "decided, not applied yet");
    let _: ExpandOutputs = round_trip("expand:^a", json!({"topics": ["a1", "a2"]}));
}

#[test]
fn unreadable_outputs_are_errors_naming_the_step() {
    for (step, outputs) in [
        ("copy:orders", json!({"partitions": {"0": {"next": "five"}}})),
        ("copy:orders", json!([1, 2])),
        ("offsets:billing", json!({"decided": {"partitions": 3}})),
        ("offsets:billing", json!({"applied": "committed"})),
        ("offsets:billing", json!({"decided": null, "applied": "sent"})),
        ("cutover", json!({"time": "yesterday"})),
        ("cutover", json!({"time": 17})),
        ("cutover", json!({"time": "2025-11-30T00:00:00Z", "time_ms": "soon"})),
        ("expand:^a", json!({"topics": "a1"})),
        ("mirror:orders", json!({"caught_up": "yes"})),
        ("preflight", json!({"source": {"brokers": "one"}})),
        ("preflight", json!("reachable")),
        ("topic:orders", json!({"desired": {"partitions": "two", "configs": {}}})),
        ("topic:orders", json!({"created": true, "partitions": 3})),
        ("topic:orders", json!({"desired": {"partitions": 2, "configs": {}}, "change": {"action": "grow"}})),
        ("drain:billing", json!({"partitions": -1, "topics": []})),
        ("connectors", json!({"connectors": "a-source"})),
        ("stop-mirror", json!({"deleted": [1]})),
        ("verify", json!({"checked": [{"kind": "guessed"}], "late": []})),
        ("synced", json!({"anything": 1})),
    ] {
        let err = check(&with(step, outputs.clone())).unwrap_err();
        assert_eq!(err.step, step, "{outputs}");
    }
    let err = copy(&with("copy:orders", json!({"partitions": 1})), "orders").unwrap_err();
    assert!(err.to_string().contains("copy:orders"), "{err}");
}

/// Each accessor, handed unreadable outputs, is an error (a step that reads them fails with an
/// internal error), never its "nothing yet".
#[test]
fn every_accessor_refuses_unreadable_outputs() {
    let bad = json!({"bad": true});
    let no = |r: Result<(), OutputsError>, what: &str| assert!(r.is_err(), "{what} read {bad} as something");
    no(copy_in("copy:t", &json!(1)).map(drop), "copy_in");
    no(decided_in("offsets:g", &bad).map(drop), "decided_in");
    no(offsets_in("offsets:g", &bad).map(drop), "offsets_in");
    no(cutover_time_in(&bad).map(drop), "cutover_time_in");
    no(cutover_in(&bad).map(drop), "cutover_in");
    no(expanded_in("expand:p", &bad).map(drop), "expanded_in");
    no(mirror_in("mirror:t", &json!({"caught_up": 1})).map(drop), "mirror_in");
    no(preflight_in(&bad).map(drop), "preflight_in");
    no(topic_in("topic:t", &bad).map(drop), "topic_in");
    no(drain_in("drain:g", &bad).map(drop), "drain_in");
    no(connectors_in(&bad).map(drop), "connectors_in");
    no(stop_mirror_in(&bad).map(drop), "stop_mirror_in");
    no(verify_in(&bad).map(drop), "verify_in");
    let e = StepError::from(verify_in(&bad).unwrap_err());
    assert!(e.to_string().contains("internal error"), "{e}");
}
