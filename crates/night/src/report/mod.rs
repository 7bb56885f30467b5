//! What guion writes for people: the CSV files of a night and the HTML report, both drawn from the
//! store alone.

pub mod csv;
pub mod html;
