//! The error type shared by all tapwatch parsers.

/// Why a parser rejected its input.
///
/// Small and `Copy`: it is returned on the packet path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input ends before the structure does; `needed` more bytes would be required.
    #[error("input too short: {needed} more bytes needed")]
    Incomplete {
        /// Bytes missing (at least).
        needed: usize,
    },
    /// The bytes are present but violate the protocol.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

impl ParseError {
    /// Maps a nom error from a complete-input parser into a [`ParseError`].
    pub(crate) fn from_nom(e: nom::Err<nom::error::Error<&[u8]>>, what: &'static str) -> Self {
        match e {
            nom::Err::Incomplete(nom::Needed::Size(n)) => ParseError::Incomplete { needed: n.get() },
            nom::Err::Incomplete(nom::Needed::Unknown) => ParseError::Incomplete { needed: 1 },
            nom::Err::Error(_) | nom::Err::Failure(_) => ParseError::Invalid(what),
        }
    }
}
