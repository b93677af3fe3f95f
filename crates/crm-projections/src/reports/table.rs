//! A report's shape: typed columns and rows of typed cells, and the sink rows are written to
//! (a [`Table`] in memory, or a CSV or XLSX writer that streams them to a file).

use crm_domain::Money;
use time::Date;

use super::ReportError;

/// What a column holds, which decides how a writer shows it (an XLSX number format, a CSV
/// text form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    /// Yuan, to the 1/10000 the domain keeps (`Money`).
    Money,
    /// A fixed-point number with this many decimals (a score in hundredths: 2).
    Decimal(u8),
    Date,
    /// A rate kept in basis points (1/100 of a percent).
    Percent,
}

/// A column: its header (Chinese and English, e.g. "客户号 Customer") and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    pub kind: ColumnKind,
}

pub(crate) const fn col(header: &'static str, kind: ColumnKind) -> Column {
    Column { header, kind }
}

/// One cell. `Empty` is a value the row does not have (no manager, no market share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Empty,
    Text(String),
    Integer(i64),
    Money(Money),
    /// `value / 10^scale`.
    Decimal {
        value: i64,
        scale: u8,
    },
    Date(Date),
    /// Basis points: 1234 is 12.34 %.
    Percent(i64),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A count as an integer cell (saturating: counts never reach `i64::MAX`).
    pub fn count(n: usize) -> Cell {
        Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }

    pub fn opt_text(s: Option<String>) -> Cell {
        s.map_or(Cell::Empty, Cell::Text)
    }

    /// The cell as text, the way the CSV writer prints it: money with its four decimals,
    /// decimals with theirs, dates as YYYY-MM-DD, rates as "12.34%".
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Integer(n) => n.to_string(),
            Cell::Money(m) => m.to_string(),
            Cell::Decimal { value, scale } => fixed(*value, *scale),
            Cell::Date(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            Cell::Percent(bp) => format!("{}%", fixed(*bp, 2)),
        }
    }

    /// The number a spreadsheet stores for the cell (money in yuan, a percent as a fraction),
    /// if it is a number.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Integer(n) => Some(*n as f64),
            Cell::Money(m) => Some(m.minor() as f64 / Money::SCALE as f64),
            Cell::Decimal { value, scale } => Some(*value as f64 / 10f64.powi(i32::from(*scale))),
            Cell::Percent(bp) => Some(*bp as f64 / 10_000.0),
            Cell::Empty | Cell::Text(_) | Cell::Date(_) => None,
        }
    }
}

/// `value / 10^scale` with exactly `scale` decimals.
fn fixed(value: i64, scale: u8) -> String {
    if scale == 0 {
        return value.to_string();
    }
    let unit = 10u64.pow(u32::from(scale));
    let abs = value.unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:0width$}",
        abs / unit,
        abs % unit,
        width = usize::from(scale)
    )
}

/// Where a report's rows go, one at a time: `begin` once with the title and columns, then
/// `row` per row (as many cells as columns), then the writer's own finish.
pub trait RowSink {
    fn begin(&mut self, title: &str, columns: &[Column]) -> Result<(), ReportError>;
    fn row(&mut self, cells: &[Cell]) -> Result<(), ReportError>;
}

/// A whole report in memory (tests, small reports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub title: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// The index of the column whose header starts with `prefix` (e.g. "客户号").
    pub fn column(&self, prefix: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.header.starts_with(prefix))
    }
}

impl RowSink for Table {
    fn begin(&mut self, title: &str, columns: &[Column]) -> Result<(), ReportError> {
        self.title = title.to_owned();
        self.columns = columns.to_vec();
        self.rows.clear();
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        check_width(self.columns.len(), cells.len())?;
        self.rows.push(cells.to_vec());
        Ok(())
    }
}

/// A row must have one cell per column.
pub(crate) fn check_width(columns: usize, cells: usize) -> Result<(), ReportError> {
    if columns == cells {
        Ok(())
    } else {
        Err(ReportError::Shape { columns, cells })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_print_as_fixed_point_text_and_numbers() {
        assert_eq!(Cell::Percent(1234).to_text(), "12.34%");
        assert_eq!(Cell::Percent(-5).to_text(), "-0.05%");
        assert_eq!(
            Cell::Decimal {
                value: 705,
                scale: 2
            }
            .to_text(),
            "7.05"
        );
        assert_eq!(Cell::Decimal { value: 7, scale: 0 }.to_text(), "7");
        assert_eq!(
            Cell::Money(Money::from_minor(12_345_678)).to_text(),
            "1234.5678"
        );
        assert_eq!(
            Cell::Date(time::macros::date!(2026 - 03 - 07)).to_text(),
            "2026-03-07"
        );
        assert_eq!(Cell::Percent(1234).number(), Some(0.1234));
        assert_eq!(
            Cell::Money(Money::from_minor(12_345_000)).number(),
            Some(1234.5)
        );
        assert_eq!(Cell::Empty.to_text(), "");
        assert_eq!(Cell::text("x").number(), None);
    }
}
