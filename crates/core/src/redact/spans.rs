//! The findings: byte spans of text to hide, merged where they overlap, then replaced.

use super::Pii;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) kind: Pii,
}

impl Span {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Sorts the findings and merges overlapping ones into one span, named after the longest member (the
/// more specific kind on a tie), so that no part of a hidden number or address stays behind.
pub(super) fn merge(mut found: Vec<Span>) -> Vec<Span> {
    found.retain(|span| span.start < span.end);
    found.sort_by_key(|span| (span.start, std::cmp::Reverse(span.end)));
    let mut merged: Vec<(Span, Span)> = Vec::with_capacity(found.len());
    for span in found {
        if let Some((union, longest)) = merged.last_mut()
            && span.start < union.end
        {
            union.end = union.end.max(span.end);
            let better =
                (span.len(), span.kind.specificity()) > (longest.len(), longest.kind.specificity());
            if better {
                *longest = span;
            }
            union.kind = longest.kind;
            continue;
        }
        merged.push((span, span));
    }
    merged.into_iter().map(|(union, _)| union).collect()
}

pub(super) fn replace(text: &str, spans: &[Span]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        out.push_str(&text[at..span.start]);
        out.push_str(span.kind.placeholder());
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::tests::{kinds, redact};

    #[test]
    fn overlapping_findings_become_one_span() {
        assert_eq!(redact("612345678@gmail.com"), "[EMAIL]");
        assert_eq!(kinds("612345678@gmail.com"), vec![Pii::Email]);
        assert_eq!(
            merge(vec![
                Span {
                    start: 0,
                    end: 5,
                    kind: Pii::Phone
                },
                Span {
                    start: 3,
                    end: 12,
                    kind: Pii::Email
                },
                Span {
                    start: 20,
                    end: 22,
                    kind: Pii::Id
                },
            ]),
            vec![
                Span {
                    start: 0,
                    end: 12,
                    kind: Pii::Email
                },
                Span {
                    start: 20,
                    end: 22,
                    kind: Pii::Id
                },
            ]
        );
    }
}
