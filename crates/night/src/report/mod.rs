//! What guion writes for people: the CSV files of a night, the HTML report and the coaching packs,
//! all drawn from the store alone.

pub mod coach;
pub mod csv;
pub mod html;

use crate::store::{Outcome, StoredCall};
use std::collections::BTreeSet;

/// The scripts `calls` were scored against, as "id version" joined with ", " ("—" for none), as
/// the report's and the coaching packs' headings show them.
pub fn scripts_of(calls: &[StoredCall]) -> String {
    let scripts: BTreeSet<String> = calls
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Scored { record, .. } => {
                Some(format!("{} {}", record.script.id, record.script.version))
            }
            Outcome::Failed { .. } => None,
        })
        .collect();
    if scripts.is_empty() {
        "—".to_string()
    } else {
        scripts.into_iter().collect::<Vec<_>>().join(", ")
    }
}
