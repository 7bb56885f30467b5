//! The names users type for a setting with a fixed set of values (`--format vtt`, a manifest's
//! `channels` cell): each such type lists its values and their names here, and the command line and
//! the manifest reader both parse through it, so a name is spelled in one place.

/// A setting with a fixed set of values, each with the name users type.
pub trait Named: Copy + Sized + 'static {
    const ALL: &'static [Self];

    fn name(self) -> &'static str;

    /// The value named `s`, ignoring ASCII case and surrounding blanks.
    fn from_name(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name().eq_ignore_ascii_case(s))
    }
}

/// Implements [`Named`] for a fieldless enum: `named!(Format { Json => "json", Vtt => "vtt" });`.
#[macro_export]
macro_rules! named {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $crate::names::Named for $ty {
            const ALL: &'static [Self] = &[$($ty::$variant),+];

            fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }
    };
}
