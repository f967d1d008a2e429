//! From the YAML deserializer's locations to [`Loc`]s: used by parsing (`parse`), YAML errors
//! (`yaml_error`) and validation (`validate`), none of which imports another for it.

use serde_saphyr::Location;

use crate::model::Loc;

/// Converts a deserializer location into a [`Loc`] (byte offsets into `text`).
pub(crate) fn loc_of(text: &str, l: &Location) -> Loc {
    if *l == Location::UNKNOWN {
        return Loc::default();
    }
    let span = l.span();
    let (offset, len) = match (span.byte_offset(), span.byte_len()) {
        (Some(o), Some(n)) => (to_usize(o), to_usize(n)),
        // Character offsets (reader sources): convert to bytes.
        _ => {
            let start = char_to_byte(text, to_usize(span.offset()));
            let end = char_to_byte(text, to_usize(span.offset() + span.len()));
            (start, end - start)
        }
    };
    Loc {
        line: u32::try_from(l.line()).unwrap_or(u32::MAX),
        column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        offset,
        len,
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)
}
