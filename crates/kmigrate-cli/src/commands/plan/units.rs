//! Human units for config values and sizes: `604800000 (7d)`, `107374182400 (100 GiB)`.

/// `value`, followed by its human reading when the config is a duration (`*.ms`) or a size
/// (`*.bytes`) and the number is large enough for that to help.
pub fn annotate(name: &str, value: &str) -> String {
    let Ok(n) = value.trim().parse::<i64>() else { return value.to_string() };
    let human = if name.ends_with(".ms") {
        millis(n)
    } else if name.ends_with(".bytes") {
        (n == -1)
            .then(|| "unlimited".to_string())
            .or_else(|| u64::try_from(n).ok().filter(|b| *b >= 1024).map(bytes))
    } else {
        None
    };
    match human {
        Some(h) => format!("{value} ({h})"),
        None => value.to_string(),
    }
}

/// `7d`, `1d 12h`, `90s` → `1m 30s`; -1 is `unlimited`; below a second, nothing.
fn millis(ms: i64) -> Option<String> {
    if ms == -1 {
        return Some("unlimited".into());
    }
    if ms < 1000 {
        return None;
    }
    let mut left = ms;
    let mut parts = Vec::new();
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if left >= size {
            parts.push(format!("{}{unit}", left / size));
            left %= size;
        }
    }
    Some(parts.join(" "))
}

/// `0 B`, `512 B`, `1 KiB`, `1.5 MiB`, `100 GiB`.
pub fn bytes(b: u64) -> String {
    const UNITS: [(&str, u64); 4] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if b >= size {
            return if b.is_multiple_of(size) {
                format!("{} {unit}", b / size)
            } else {
                format!("{:.1} {unit}", b as f64 / size as f64)
            };
        }
    }
    format!("{b} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_as_people_write_them() {
        assert_eq!(annotate("retention.ms", "604800000"), "604800000 (7d)");
        assert_eq!(annotate("retention.ms", "86400000"), "86400000 (1d)");
        assert_eq!(annotate("retention.ms", "-1"), "-1 (unlimited)");
        assert_eq!(annotate("segment.ms", "129600000"), "129600000 (1d 12h)");
        assert_eq!(annotate("delete.retention.ms", "90500"), "90500 (1m 30s 500ms)");
        assert_eq!(annotate("flush.ms", "100"), "100");
        assert_eq!(annotate("retention.bytes", "107374182400"), "107374182400 (100 GiB)");
        assert_eq!(annotate("max.message.bytes", "1048588"), "1048588 (1.0 MiB)");
        assert_eq!(annotate("retention.bytes", "-1"), "-1 (unlimited)");
        assert_eq!(annotate("segment.bytes", "512"), "512");
        assert_eq!(annotate("cleanup.policy", "compact"), "compact");
        assert_eq!(annotate("retention.ms", "7d"), "7d");
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
    }
}
