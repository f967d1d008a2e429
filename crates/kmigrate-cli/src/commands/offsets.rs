//! `kmigrate offsets translate`: an application's self-stored source offsets → target offsets.

use std::collections::BTreeMap;

use kmigrate_kafka::{Cluster, TopicPartition};
use kmigrate_migration::StateStore;
use kmigrate_migration::export;
use serde_json::json;

use crate::args::TranslateArgs;
use crate::commands::{InternalError, load_valid_plan, state_dir};
use crate::exit;
use crate::printer::Printer;

pub fn translate(args: &TranslateArgs, printer: &Printer) -> Result<u8, InternalError> {
    let Some(plan) = load_valid_plan(&args.plan, printer) else { return Ok(exit::FAILURE) };
    let fail = |msg: String| {
        printer.note(format!("error: {msg}"));
        Ok(exit::FAILURE)
    };
    if !plan.groups.iter().any(|g| g.id == args.group) {
        return fail(format!("group {} is not in the plan {}", args.group, args.plan.display()));
    }
    if !plan.copies_data() {
        return fail("the plan does not copy data with kmigrate (`data: synced`, `sync: { by: kmigrate }`): there is no offset map to translate with".into());
    }
    let text = match std::fs::read_to_string(&args.from_file) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", args.from_file.display())),
    };
    let source = match export::parse_csv(&text) {
        Ok(s) => s,
        Err(e) => return fail(format!("{}: {e}", args.from_file.display())),
    };
    let store = StateStore::new(state_dir(&args.plan, &args.state), &plan.name);
    let state = match kmigrate_migration::load_state(&store) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return fail(format!(
                "{} has never been applied (no state at {})",
                args.plan.display(),
                store.path().display()
            ));
        }
        Err(e) => return Err(Box::new(miette::MietteDiagnostic::new(e.to_string()))),
    };
    let uncopied = kmigrate_migration::translate::uncopied(&state, &source)
        .map_err(|e| Box::new(miette::MietteDiagnostic::new(e.to_string())) as InternalError)?;
    if !uncopied.is_empty() {
        let list: Vec<String> = uncopied.iter().map(ToString::to_string).collect();
        return fail(format!(
            "kmigrate has not copied {} (only partitions a `copy:` step of this plan copied can be translated; run apply first)",
            list.join(", ")
        ));
    }
    let (_, target) = match kmigrate_migration::cluster_configs(&plan, &|k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(missing) => {
            for d in &missing {
                printer.diagnostic(d);
            }
            return Ok(exit::FAILURE);
        }
    };
    let parts: Vec<TopicPartition> = source.keys().cloned().collect();
    let marks = crate::runtime::block_on(async {
        let cluster = Cluster::connect(target, args.connect_timeout).await?;
        cluster.watermarks(&parts).await
    })?;
    let marks = match marks {
        Ok(m) => m,
        Err(e) => return fail(e.to_string()),
    };
    let translated = match kmigrate_migration::translate::translate_offsets(&state, &source, &marks) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let duplicates: u64 = translated.iter().map(|t| t.duplicates).sum();
    let target_offsets: BTreeMap<TopicPartition, i64> = translated
        .iter()
        .map(|t| (TopicPartition::new(t.topic.clone(), t.partition), t.target_offset))
        .collect();
    let csv = export::to_csv(&target_offsets);
    if let Some(to) = &args.to
        && let Err(e) = kmigrate_executor::write_atomically(to, csv.as_bytes())
    {
        return fail(format!("cannot write {}: {e}", to.display()));
    }
    if printer.is_json() {
        printer.json(&json!({ "format_version": 1, "group": args.group, "partitions": translated, "duplicates": duplicates }));
    } else if args.to.is_none() {
        printer.out_raw(&csv);
    }
    if !printer.is_json() {
        if let Some(to) = &args.to {
            printer.note(format!(
                "wrote {} target offsets of {} to {}",
                translated.len(),
                args.group,
                to.display()
            ));
        }
        if duplicates > 0 {
            printer.note(format!(
                "note: {} will read {duplicates} copied records again: producers' new records landed on the target before them",
                args.group
            ));
        }
    }
    Ok(exit::SUCCESS)
}
