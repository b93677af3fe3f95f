//! The XLSX writer (`rust_xlsxwriter`): one sheet, the header row bold and frozen, numbers as
//! numbers (money as yuan with two decimals shown, rates as percentages), dates as dates, and
//! each column as wide as its longest text. The sheet is in constant-memory mode: each row
//! goes to a temporary file as it is written, so a long list is not held in memory.

use std::io::Write;
use std::path::Path;

use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet};

use super::table::{check_width, Cell, Column, ColumnKind, RowSink};
use super::ReportError;

/// Column widths in characters (a Chinese character counts two).
const WIDTH_MIN: usize = 8;
const WIDTH_MAX: usize = 60;
/// The longest sheet name Excel takes.
const SHEET_NAME_MAX: usize = 31;

/// Writes rows into a one-sheet workbook; [`XlsxSink::finish`] writes the file.
pub struct XlsxSink {
    workbook: Workbook,
    columns: Vec<Column>,
    formats: Vec<Format>,
    widths: Vec<usize>,
    /// The next row (0 is the header).
    next_row: u32,
}

impl std::fmt::Debug for XlsxSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XlsxSink")
            .field("rows", &self.next_row)
            .finish_non_exhaustive()
    }
}

/// How wide `s` shows, in the units Excel's column widths count (a CJK character is two).
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if c.is_ascii() { 1 } else { 2 }).sum()
}

/// The number format of a column's cells.
fn format_of(kind: ColumnKind) -> Format {
    let f = Format::new();
    match kind {
        ColumnKind::Text => f,
        ColumnKind::Integer => f.set_num_format("0"),
        ColumnKind::Money => f.set_num_format("#,##0.00"),
        ColumnKind::Decimal(0) => f.set_num_format("0"),
        ColumnKind::Decimal(n) => f.set_num_format(format!("0.{}", "0".repeat(usize::from(n)))),
        ColumnKind::Date => f.set_num_format("yyyy-mm-dd"),
        ColumnKind::Percent => f.set_num_format("0.00%"),
    }
}

/// A sheet name Excel accepts: no `[]:*?/\`, at most 31 characters, not empty.
fn sheet_name(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(SHEET_NAME_MAX)
        .collect();
    let trimmed = cleaned.trim().trim_matches('\'');
    if trimmed.is_empty() {
        "Report".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl XlsxSink {
    /// A workbook whose sheet keeps its rows in a temporary file in `temp_dir` (the output's
    /// directory, so a large report needs no space elsewhere).
    pub fn new(temp_dir: &Path) -> Result<XlsxSink, ReportError> {
        // rust_xlsxwriter cannot report a temporary file it fails to make (it panics): try
        // one first where it will make them, so an unwritable place is an error here.
        for dir in [temp_dir.to_path_buf(), std::env::temp_dir()] {
            tempfile::tempfile_in(&dir).map_err(ReportError::io(format!(
                "making a temporary file in {} for the XLSX rows",
                dir.display()
            )))?;
        }
        let mut workbook = Workbook::new();
        workbook.set_tempdir(temp_dir)?;
        workbook.add_worksheet_with_constant_memory();
        Ok(XlsxSink {
            workbook,
            columns: Vec::new(),
            formats: Vec::new(),
            widths: Vec::new(),
            next_row: 0,
        })
    }

    fn sheet(&mut self) -> Result<&mut Worksheet, ReportError> {
        Ok(self.workbook.worksheet_from_index(0)?)
    }

    /// Sets the column widths and writes the workbook to `out`.
    pub fn finish<W: Write + Send>(mut self, out: W) -> Result<W, ReportError> {
        let widths: Vec<f64> = self
            .widths
            .iter()
            .map(|w| (*w).clamp(WIDTH_MIN, WIDTH_MAX) as f64 + 1.0)
            .collect();
        let sheet = self.sheet()?;
        for (i, w) in widths.into_iter().enumerate() {
            sheet.set_column_width(u16::try_from(i).unwrap_or(u16::MAX), w)?;
        }
        let mut out = out;
        self.workbook.save_to_writer(&mut out)?;
        Ok(out)
    }

    /// Writes one cell; returns how wide it shows.
    fn cell(
        sheet: &mut Worksheet,
        format: &Format,
        row: u32,
        col: u16,
        cell: &Cell,
    ) -> Result<usize, ReportError> {
        Ok(match cell {
            Cell::Empty => 0,
            Cell::Text(s) => {
                sheet.write_string(row, col, s)?;
                display_width(s)
            }
            Cell::Date(d) => {
                let year = u16::try_from(d.year()).map_err(|_| {
                    ReportError::Invalid(format!("the date {d} is outside Excel's years"))
                })?;
                let date = ExcelDateTime::from_ymd(year, u8::from(d.month()), d.day())?;
                sheet.write_datetime_with_format(row, col, &date, format)?;
                10
            }
            other => match other.number() {
                Some(n) => {
                    sheet.write_number_with_format(row, col, n, format)?;
                    // What Excel shows: the text form and its thousands separators.
                    let digits = other.to_text().len();
                    digits + digits / 3
                }
                None => 0,
            },
        })
    }
}

impl RowSink for XlsxSink {
    fn begin(&mut self, title: &str, columns: &[Column]) -> Result<(), ReportError> {
        self.columns = columns.to_vec();
        self.formats = columns.iter().map(|c| format_of(c.kind)).collect();
        self.widths = columns.iter().map(|c| display_width(c.header)).collect();
        let bold = Format::new().set_bold().set_align(FormatAlign::Center);
        let name = sheet_name(title);
        let sheet = self.sheet()?;
        sheet.set_name(name)?;
        for (i, c) in columns.iter().enumerate() {
            let col = u16::try_from(i)
                .map_err(|_| ReportError::Invalid(format!("{i} columns are too many")))?;
            sheet.write_string_with_format(0, col, c.header, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.next_row = 1;
        Ok(())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        check_width(self.columns.len(), cells.len())?;
        let row = self.next_row;
        let sheet = self.workbook.worksheet_from_index(0)?;
        for (i, ((cell, format), width)) in cells
            .iter()
            .zip(&self.formats)
            .zip(self.widths.iter_mut())
            .enumerate()
        {
            let col = u16::try_from(i).unwrap_or(u16::MAX);
            *width = (*width).max(XlsxSink::cell(sheet, format, row, col, cell)?);
        }
        self.next_row = row.checked_add(1).ok_or_else(|| {
            ReportError::Invalid("more rows than a sheet holds (1,048,576)".into())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;

    #[test]
    fn dates_are_dates_rates_are_fractions_and_empty_cells_are_left_out() {
        use crate::reports::table::col;
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let mut sink = XlsxSink::new(dir.path()).unwrap();
        let columns = [
            col("日期 Date", ColumnKind::Date),
            col("转化率 Conversion rate", ColumnKind::Percent),
            col("客户经理 Customer manager", ColumnKind::Text),
        ];
        sink.begin("t", &columns).unwrap();
        sink.row(&[
            Cell::Date(time::macros::date!(2026 - 11 - 30)),
            Cell::Percent(1234),
            Cell::Empty,
        ])
        .unwrap();
        assert!(sink.row(&[Cell::Empty]).is_err(), "one cell per column");
        let bytes = sink.finish(Vec::new()).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut sheet = String::new();
        zip.by_name("xl/worksheets/sheet1.xml")
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        // 2026-11-30 is day 46356 of Excel's calendar.
        assert!(sheet.contains("<c r=\"A2\" s=\""), "{sheet}");
        assert!(sheet.contains("<v>46356</v>"), "{sheet}");
        assert!(sheet.contains("<v>0.1234</v>"), "{sheet}");
        assert!(
            !sheet.contains("r=\"C2\""),
            "an empty cell is not written: {sheet}"
        );
        let mut styles = String::new();
        zip.by_name("xl/styles.xml")
            .unwrap()
            .read_to_string(&mut styles)
            .unwrap();
        assert!(
            styles.contains("yyyy-mm-dd") && styles.contains("0.00%"),
            "{styles}"
        );
    }

    #[test]
    fn sheet_names_are_ones_excel_takes() {
        assert_eq!(
            sheet_name("营业部排名 Branch ranking 2026-11"),
            "营业部排名 Branch ranking 2026-11"
        );
        assert_eq!(sheet_name("a/b:c"), "abc");
        assert_eq!(sheet_name("[]"), "Report");
        assert_eq!(sheet_name(&"x".repeat(40)).chars().count(), 31);
        assert_eq!(display_width("客户 A"), 6);
    }
}
