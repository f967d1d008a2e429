//! MirrorMaker 2's own translation of a strict group's offsets, beside kmigrate's start: in the
//! `offsets:<g>` step's summary and in the dry run's notes, in the same words.

use kmigrate_migration::Mm2Start;
use kmigrate_migration::preview::{Mm2Checkpoint, Mm2Preview};

/// "MirrorMaker 2's checkpoints would start orders/0 at 1 (2 records read again), orders/1 at 13
/// (the same start)" (`partitions`: how many kmigrate decided).
pub fn starts(starts: &[Mm2Start], partitions: usize) -> String {
    if starts.is_empty() {
        return "MirrorMaker 2 has written no checkpoint for this group (yet)".to_string();
    }
    let each: Vec<String> = starts
        .iter()
        .map(|s| {
            let what = match s.difference() {
                None => "kmigrate leaves it uncommitted".to_string(),
                Some(0) => "the same start".to_string(),
                Some(d) if d > 0 => format!("{d} records skipped"),
                Some(d) => format!("{} records read again", -d),
            };
            format!("{}/{} at {} ({what})", s.topic, s.partition, s.mirrormaker)
        })
        .collect();
    let mut text = format!("MirrorMaker 2's checkpoints would start {}", each.join(", "));
    if starts.len() < partitions {
        text.push_str(&format!("; no checkpoint for {} partitions", partitions - starts.len()));
    }
    text
}

/// MirrorMaker's starts alone (before kmigrate decided), for `kmigrate plan`.
fn alone(checkpoints: &[Mm2Checkpoint]) -> String {
    let each: Vec<String> = checkpoints
        .iter()
        .map(|c| format!("{}/{} at {} (source offset {})", c.topic, c.partition, c.mirrormaker, c.upstream))
        .collect();
    format!(
        "MirrorMaker 2's checkpoints would start the group now at {}; kmigrate's exact start is found at apply, by aligning the logs",
        each.join(", ")
    )
}

/// The dry run's note on MirrorMaker 2's translation of a group.
pub fn preview(m: &Mm2Preview) -> String {
    match m {
        Mm2Preview::Beside { starts: s, partitions } => starts(s, *partitions),
        Mm2Preview::Alone { checkpoints } => alone(checkpoints),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrormaker_s_start_beside_kmigrate_s_in_words() {
        let s = |partition, mirrormaker, kmigrate| Mm2Start {
            topic: "t".into(),
            partition,
            upstream: 0,
            mirrormaker,
            kmigrate,
        };
        let four = [s(0, 1, Some(3)), s(1, 13, Some(13)), s(2, 8, Some(5)), s(3, 2, None)];
        assert_eq!(
            starts(&four, 5),
            "MirrorMaker 2's checkpoints would start t/0 at 1 (2 records read again), t/1 at 13 (the same start), t/2 at 8 (3 records skipped), t/3 at 2 (kmigrate leaves it uncommitted); no checkpoint for 1 partitions"
        );
        assert_eq!(starts(&[], 2), "MirrorMaker 2 has written no checkpoint for this group (yet)");
        let alone = Mm2Preview::Alone {
            checkpoints: vec![Mm2Checkpoint { topic: "t".into(), partition: 0, upstream: 7, mirrormaker: 1 }],
        };
        assert_eq!(
            preview(&alone),
            "MirrorMaker 2's checkpoints would start the group now at t/0 at 1 (source offset 7); kmigrate's exact start is found at apply, by aligning the logs"
        );
    }
}
