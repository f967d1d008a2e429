//! The JSON Schema of the raw values schemars cannot derive (values read leniently, the topic
//! entry's two forms) and the rules between keys, stated from the same tables validation uses.
//! The generator is `crate::schema`.

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Value, json};

use super::{Choices, Pairs, RawData, RawSyncBy, RawTopic, RawTopicMap};
use crate::model::Compression;

/// The name a choice key's value `value` is written as.
fn name_of<T: Choices + PartialEq>(value: T) -> &'static str {
    T::CHOICES.iter().find(|(_, v)| *v == value).map(|(name, _)| *name).expect("every value has a name")
}

/// `if data: <value>` (for the plan's `if`/`then`).
fn data_is(values: &[RawData]) -> Value {
    let names: Vec<&str> = values.iter().map(|v| name_of(*v)).collect();
    json!({ "properties": { "data": { "enum": names } }, "required": ["data"] })
}

/// The plan: `data: synced` needs `sync`; the other modes have none.
pub(crate) fn sync_only_when_synced(schema: &mut Schema) {
    schema.insert(
        "allOf".to_owned(),
        json!([
            { "if": data_is(&[RawData::Synced]), "then": { "required": ["sync"] } },
            {
                "if": data_is(&[RawData::NotSynced, RawData::DualWrite]),
                "then": { "properties": { "sync": false } },
            },
        ]),
    );
}

/// `sync`: kmigrate compresses only what it copies; `connect` goes with `by: mirrormaker2`, and
/// only with it.
pub(crate) fn sync_rules(schema: &mut Schema) {
    let by = |values: &[RawSyncBy]| {
        let names: Vec<&str> = values.iter().map(|v| name_of(*v)).collect();
        json!({ "properties": { "by": { "enum": names } }, "required": ["by"] })
    };
    schema.insert(
        "allOf".to_owned(),
        json!([
            {
                "if": by(&[RawSyncBy::External, RawSyncBy::MirrorMaker2]),
                "then": { "properties": { "compression": false } },
            },
            {
                "if": by(&[RawSyncBy::MirrorMaker2]),
                "then": { "required": ["connect"] },
                "else": { "properties": { "connect": false } },
            },
        ]),
    );
}

/// The plan format version: the number 1.
pub(crate) struct PlanVersion;

impl JsonSchema for PlanVersion {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "version".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "const": 1 })
    }
}

/// A choice key (`data`, `sync.by`, `offsets`, `loss`): one of the names of `T`'s [`Choices`].
pub(crate) struct Choice<T>(PhantomData<T>);

impl<T: Choices> JsonSchema for Choice<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "choice".into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("kmigrate_plan::schema::Choice<{}>", std::any::type_name::<T>()).into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = T::CHOICES.iter().map(|(name, _)| *name).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

/// `sync.compression`: a codec name ([`Compression::ALL`]).
pub(crate) struct Codec;

impl JsonSchema for Codec {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "codec".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = Compression::ALL.iter().map(|c| c.as_str()).collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

/// `key: value` settings: a non-empty key, a scalar value (passed on as written).
impl JsonSchema for Pairs {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "settings".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "propertyNames": { "minLength": 1 },
            "additionalProperties": { "type": ["string", "number", "boolean"] },
        })
    }
}

/// A `topics:` entry: a name, or a mapping (read by `RawTopic`'s own visitor).
impl JsonSchema for RawTopic {
    fn schema_name() -> Cow<'static, str> {
        "topic".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A topic: its name (`- orders`), or a mapping with a `name` or a `pattern` and \
                            optional `partitions` and `config`.",
            "oneOf": [
                { "type": "string", "minLength": 1, "description": "The topic's name." },
                generator.subschema_for::<RawTopicMap>(),
            ],
        })
    }
}
