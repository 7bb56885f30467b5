//! One file per subcommand: its usage text at the top, glue only.

pub mod models;
pub mod transcribe;
