//! What the fuzz targets share: the promises every parser of untrusted input keeps besides
//! not panicking.

/// The project's errors are one line as printed (`run::error_line`): a CI log, a pre-commit
/// hook and a terminal show them whole, and a newline or an escape sequence from a hostile
/// file (a TOML string echoed in the message) must not break that.
pub fn assert_one_line(e: &anyhow::Error) {
    let line = applivery_leaks::run::error_line(e);
    assert!(
        !line.chars().any(|c| c.is_control() && c != '\t'),
        "an error that is not one plain line: {line:?}"
    );
}

/// Text for the parsers that read text files: they read them with `read_to_string`, so
/// anything else never reaches them.
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
