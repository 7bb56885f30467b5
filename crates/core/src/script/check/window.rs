//! A step's `window`: each bound valid on its own, and together satisfiable by a plausible call.

use super::Checker;
use super::fields::describe;
use crate::script::Window;
use toml::Spanned;
use toml::de::DeValue;

/// A typical inbound service call runs three to six minutes: a window that only calls shorter than this
/// can satisfy fails on almost every call.
const PLAUSIBLE_CALL_S: f64 = 180.0;

const WINDOW_KEYS: &[&str] = &["start_s", "end_s", "last_s", "end_pct"];

impl Checker<'_> {
    pub(super) fn window(&mut self, item: &Spanned<DeValue<'_>>) -> Option<Window> {
        let at = item.span().start;
        let DeValue::Table(table) = item.get_ref() else {
            self.error(
                at,
                format!(
                    "`window` must be a table such as {{ end_s = 30 }}, not {}",
                    describe(item.get_ref())
                ),
            );
            return None;
        };
        self.deny_unknown(table, WINDOW_KEYS, "`window`");
        let mut bound = |key: &str, valid: fn(f64) -> bool, rule: &str| {
            let item = table.get(key)?;
            let value = self.number_of(item, key)?;
            if valid(value) {
                Some(Spanned::new(item.span(), value))
            } else {
                self.error(item.span().start, format!("`{key}` {rule}, not {value}"));
                None
            }
        };
        let start_s = bound("start_s", |v| v >= 0.0, "must be 0 or more");
        let end_s = bound("end_s", |v| v > 0.0, "must be more than 0");
        let last_s = bound("last_s", |v| v > 0.0, "must be more than 0");
        let end_pct = bound(
            "end_pct",
            |v| v > 0.0 && v <= 100.0,
            "must be a percentage of the call, more than 0 and at most 100",
        );
        if [&start_s, &end_s, &last_s, &end_pct]
            .iter()
            .all(|b| b.is_none())
        {
            // With keys present, each was wrong and has said so already.
            if table.is_empty() {
                self.error(
                    at,
                    "`window` has no bound: give start_s, end_s, last_s or end_pct",
                );
            }
            return None;
        }

        if let (Some(start), Some(end)) = (&start_s, &end_s)
            && start.get_ref() >= end.get_ref()
        {
            self.error(
                start.span().start,
                format!(
                    "`start_s` ({}) must be before `end_s` ({}): no moment of the call is in this window",
                    start.get_ref(),
                    end.get_ref()
                ),
            );
        }
        if let Some(last) = &last_s {
            let l = *last.get_ref();
            // From the end and from the start at once: only calls short enough for the two to meet.
            let longest = [
                end_s
                    .as_ref()
                    .map(|e| (e.get_ref() + l, format!("end_s {}", e.get_ref()))),
                end_pct.as_ref().filter(|p| *p.get_ref() < 100.0).map(|p| {
                    (
                        l / (1.0 - p.get_ref() / 100.0),
                        format!("end_pct {}", p.get_ref()),
                    )
                }),
            ];
            for (longest, other) in longest.into_iter().flatten() {
                if longest < PLAUSIBLE_CALL_S {
                    self.warning(
                        last.span().start,
                        format!(
                            "`last_s` {l} with {other} holds only in calls shorter than {longest:.0} s: \
                             the step would have to be said both near the start and in the last {l} s"
                        ),
                    );
                }
            }
        }
        let value = |b: Option<Spanned<f64>>| b.map(Spanned::into_inner);
        Some(Window {
            start_s: value(start_s),
            end_s: value(end_s),
            last_s: value(last_s),
            end_pct: value(end_pct),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::script::tests::{check, one_step, where_, with_variants};

    #[test]
    fn windows_need_a_bound_that_some_moment_satisfies() {
        assert_eq!(
            check(&with_variants("window = {}")),
            ["8:10: error: `window` has no bound: give start_s, end_s, last_s or end_pct"]
        );
        assert_eq!(
            check(&with_variants(
                "window = { start_s = -1, end_s = 0, last_s = -5, end_pct = 150 }"
            )),
            [
                "8:22: error: `start_s` must be 0 or more, not -1",
                "8:34: error: `end_s` must be more than 0, not 0",
                "8:46: error: `last_s` must be more than 0, not -5",
                "8:60: error: `end_pct` must be a percentage of the call, more than 0 and at most 100, not 150",
            ]
        );
        assert_eq!(
            where_(&with_variants("window = { end_pct = 0 }")),
            ["8:22: error"]
        );
        assert_eq!(
            check(&one_step(
                "variants.es = [\"hola\"]\n[step.window]\nstart_s = 30\nend_s = 30"
            )),
            [
                "10:11: error: `start_s` (30) must be before `end_s` (30): no moment of the call is in this window"
            ]
        );
    }

    #[test]
    fn windows_from_both_ends_warn_when_only_short_calls_fit() {
        assert_eq!(
            check(&with_variants("window = { end_pct = 20, last_s = 60 }")),
            [
                "8:35: warning: `last_s` 60 with end_pct 20 holds only in calls shorter than 75 s: \
              the step would have to be said both near the start and in the last 60 s"
            ]
        );
        // A late step allowed anywhere in a long first stretch is plausible.
        assert_eq!(
            check(&with_variants("window = { end_s = 600, last_s = 60 }")),
            [] as [&str; 0]
        );
        assert_eq!(
            check(&with_variants("window = { start_s = 10, end_s = 30 }")),
            [] as [&str; 0]
        );
    }
}
