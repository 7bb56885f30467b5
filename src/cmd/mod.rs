//! One file per subcommand: its usage text at the top, glue only.

pub mod batch;
pub mod call;
pub mod models;
pub mod report;
pub mod script;
pub mod train;
pub mod transcribe;

use guion::classify::{ClassifierOptions, EncoderOptions};
use std::path::PathBuf;

/// The flags `guion call` and `guion batch` share: what judges meaning, and whether PII is shown.
#[derive(clap::Args, Clone)]
pub struct MeaningArgs {
    /// Words only: no tone, values or steps by meaning (no encoder needed).
    #[arg(long)]
    pub no_meaning: bool,

    /// A tone head from `guion train` (default: the one scripts/setup trained).
    #[arg(long, value_name = "FILE")]
    pub tone_head: Option<PathBuf>,

    /// A brand's value head from `guion train --kind value` (default: the script's value examples).
    #[arg(long, value_name = "FILE")]
    pub value_head: Option<PathBuf>,

    /// Do not give Whisper the script's brand names and key words (its initial prompt), per language.
    #[arg(long)]
    pub no_script_prompt: bool,

    /// Keep PII (card numbers, DNI/NIE, phone numbers, e-mail addresses) in what is shown, stored
    /// and written, for audits that may see it.
    #[arg(long = "no-redact", action = clap::ArgAction::SetFalse)]
    pub redact: bool,
}

impl MeaningArgs {
    pub fn classifier(&self) -> ClassifierOptions {
        ClassifierOptions {
            encoder: EncoderOptions::default(),
            tone_head: self.tone_head.clone(),
            value_head: self.value_head.clone(),
        }
    }
}
