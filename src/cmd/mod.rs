//! One file per subcommand: its usage text at the top, glue only.

pub mod batch;
pub mod call;
pub mod models;
pub mod report;
pub mod script;
pub mod train;
pub mod transcribe;
