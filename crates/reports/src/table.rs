//! A report table as every output shares it: JSON for the API, CSV, XLSX and PDF for people.

use serde::Serialize;
use utoipa::ToSchema;

/// One cell: exporters keep numbers as numbers (a spreadsheet can sum them).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A share, 0..1; shown as a percentage.
    Share(f64),
    /// A signed number such as the net score (-1..1) or a change.
    Num(f64),
    Empty,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Column {
    /// Stable key, e.g. `registrar`, `count`, `satisfaction`.
    pub key: String,
    /// Heading in the installation's language.
    pub title: String,
    /// `text`, `int`, `share` or `num`.
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Table {
    /// E.g. `registrars`, `desks`, `hours`, `days`, `ratings`.
    pub name: String,
    /// Heading in the installation's language, e.g. "Регистраторы, 01.11.2026 – 30.11.2026".
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}
