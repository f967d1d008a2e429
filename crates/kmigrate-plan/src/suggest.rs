//! "did you mean ...?" for misspelt keys, values and names.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
///
/// `-`, `.` and `_` are treated alike and case is ignored, so `bootstrap.servers` suggests
/// `bootstrap_servers` and `Not_Synced` suggests `not-synced`.
pub(crate) fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let norm = normalize(input);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let cn = normalize(c);
        let d = levenshtein(&norm, &cn);
        let shorter = cn.chars().count().min(norm.chars().count());
        let limit = (cn.chars().count().max(norm.chars().count()) / 3).max(1);
        if d <= limit && d < shorter && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn normalize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_candidates_only() {
        let keys = ["bootstrap_servers", "properties"];
        assert_eq!(did_you_mean("bootstrap.servers", keys), Some("bootstrap_servers"));
        assert_eq!(did_you_mean("bootstrap-server", keys), Some("bootstrap_servers"));
        assert_eq!(did_you_mean("propertys", keys), Some("properties"));
        assert_eq!(did_you_mean("zookeeper", keys), None);
        assert_eq!(did_you_mean("Not_Synced", ["synced", "not-synced"]), Some("not-synced"));
        assert_eq!(did_you_mean("x", ["y"]), None);
    }
}
