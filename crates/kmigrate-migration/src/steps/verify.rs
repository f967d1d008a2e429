//! `verify`: check the end state. Committed offsets on the target are at (or, once consumers
//! restarted there, past) what `offsets:<g>` computed; export files exist and hold exactly the
//! computed offsets; every copied partition matches the source (see `copy::verify`).

use kmigrate_kafka::TopicPartition;
use kmigrate_plan::{Loss, OffsetStore};

use super::context::Context;
use super::errors::kafka_error;
use super::{copy, export};
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{Checked, StepSummary, StepWarning};
use crate::outputs::{self, VerifyOutputs};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    for group in &ctx.plan.groups {
        let Some(decided) = h.checkpoint.read(|s| outputs::decided(s, &group.id))? else {
            problems.push(format!("group {}: no offsets were recorded", group.id));
            continue;
        };
        let want = decided.offsets();
        match group.offsets {
            OffsetStore::BrokerManaged => {
                let parts: Vec<TopicPartition> = want.keys().cloned().collect();
                let have =
                    ctx.target().await?.committed_offsets(&group.id, &parts).await.map_err(kafka_error)?;
                let mut ahead = 0;
                for (p, o) in &want {
                    match have.get(p).copied().flatten() {
                        Some(c) if c == *o => {}
                        Some(c) if c > *o => ahead += 1,
                        Some(c) => {
                            problems.push(format!("group {} on {p}: committed {c}, expected {o}", group.id))
                        }
                        None => problems
                            .push(format!("group {} on {p}: nothing committed, expected {o}", group.id)),
                    }
                }
                checked.push(Checked::GroupCommitted { group: group.id.clone(), offsets: want.len(), ahead });
            }
            OffsetStore::SelfStored => {
                let Some(rel) = &group.export else { continue };
                let path = ctx.plan_dir.join(rel);
                match std::fs::read_to_string(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| export::parse_csv(&t))
                {
                    Ok(found) if found == want => {
                        checked.push(Checked::GroupExported { group: group.id.clone(), path })
                    }
                    Ok(_) => problems.push(format!(
                        "{} no longer holds the computed offsets of group {}",
                        path.display(),
                        group.id
                    )),
                    Err(e) => problems.push(format!("{}: {e}", path.display())),
                }
            }
        }
    }
    let copies = copy::verify(ctx, h).await?;
    problems.extend(copies.problems);
    if let Some(verified) = copies.summary {
        checked.push(Checked::Copies(verified));
    }
    if !copies.late.is_empty() {
        // A strict group must not miss a record: fail. Otherwise say so and go on.
        if ctx.plan.groups.iter().any(|g| g.loss == Loss::Strict) {
            problems.push(format!(
                "{}. Producers still wrote to the source after the copy ended: stop them (switch them to the target), then copy these records (e.g. `kcat -C -o <from> -c <count>` piped to the target) or run the migration again with a later cutover",
                crate::facts::late_records(&copies.late)
            ));
        } else {
            h.warn(StepWarning::RecordsAfterCopy { late: copies.late.clone() });
            checked.push(Checked::RecordsAfterCopy { late: copies.late.clone() });
        }
    }
    if !problems.is_empty() {
        return Err(StepError::fatal(problems.join("\n")));
    }
    Ok(StepOutcome::Done {
        outputs: outputs::value(&VerifyOutputs { checked: checked.clone(), late: copies.late }),
        summary: StepSummary::Verify { checked },
    })
}
