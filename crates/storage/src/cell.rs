//! One column value, the same for both SQL back ends.

use anyhow::{Context, bail};

/// A column value as this application uses them: integers, text, bytes and NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Any integer column.
    Int(i64),
    /// Any text column.
    Text(String),
    /// A `BLOB` (SQLite) or `bytea` (PostgreSQL) column: a photo.
    Bytes(Vec<u8>),
    /// SQL NULL.
    Null,
}

impl Cell {
    /// The integer in this cell.
    pub fn int(&self) -> anyhow::Result<i64> {
        match self {
            Cell::Int(i) => Ok(*i),
            other => bail!("expected an integer, found {other:?}"),
        }
    }

    /// The text in this cell.
    pub fn text(&self) -> anyhow::Result<String> {
        match self {
            Cell::Text(t) => Ok(t.clone()),
            other => bail!("expected text, found {other:?}"),
        }
    }
}

/// Column `index` of `row`, or an error naming it.
pub(crate) fn column<'a>(row: &'a [Cell], index: usize, name: &str) -> anyhow::Result<&'a Cell> {
    row.get(index)
        .with_context(|| format!("row has no column {index} ({name})"))
}
