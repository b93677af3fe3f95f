//! The CSV writer: UTF-8 with a byte-order mark by default (so Excel reads the Chinese
//! headers right), or GBK for Excel in Chinese locales. A character GBK has no code for is an
//! error naming its row and column, found before anything of that row is written.

use std::io::Write;

use encoding_rs::GBK;

use super::table::{check_width, Cell, Column, RowSink};
use super::ReportError;

/// The bytes a UTF-8 CSV starts with.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How the CSV's text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark.
    #[default]
    Utf8,
    /// GBK (no mark), for Excel in Chinese locales.
    Gbk,
}

impl std::str::FromStr for CsvEncoding {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "utf8" | "utf-8" => Ok(CsvEncoding::Utf8),
            "gbk" => Ok(CsvEncoding::Gbk),
            other => Err(ReportError::Invalid(format!(
                "unknown encoding '{other}': utf8 or gbk"
            ))),
        }
    }
}

/// Passes UTF-8 through to `inner` re-encoded as GBK, holding back a character split
/// between two writes. The sink checks every cell first, so an unencodable character here
/// is an error of the writer itself.
struct GbkWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> Write for GbkWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(s) => s.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
            }
        };
        let text = std::str::from_utf8(&self.pending[..valid])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let (bytes, _, unmappable) = GBK.encode(text);
        if unmappable {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a character GBK cannot encode",
            ));
        }
        self.inner.write_all(&bytes)?;
        self.pending.drain(..valid);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

enum Out<W: Write> {
    Utf8(csv::Writer<W>),
    Gbk(csv::Writer<GbkWriter<W>>),
}

/// Writes rows as CSV to `W` as they come.
pub struct CsvSink<W: Write> {
    out: Out<W>,
    columns: Vec<Column>,
    /// Lines written, the header included.
    lines: u64,
    text: Vec<String>,
}

impl<W: Write> std::fmt::Debug for CsvSink<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSink")
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

impl<W: Write> CsvSink<W> {
    /// A sink writing to `out`; a UTF-8 file starts with its byte-order mark at once.
    pub fn new(mut out: W, encoding: CsvEncoding) -> Result<CsvSink<W>, ReportError> {
        let out = match encoding {
            CsvEncoding::Utf8 => {
                out.write_all(UTF8_BOM)
                    .map_err(ReportError::io("writing the CSV's byte-order mark"))?;
                Out::Utf8(csv::Writer::from_writer(out))
            }
            CsvEncoding::Gbk => Out::Gbk(csv::Writer::from_writer(GbkWriter {
                inner: out,
                pending: Vec::new(),
            })),
        };
        Ok(CsvSink {
            out,
            columns: Vec::new(),
            lines: 0,
            text: Vec::new(),
        })
    }

    /// Flushes everything and returns the writer.
    pub fn finish(self) -> Result<W, ReportError> {
        fn flushed<T>(e: csv::IntoInnerError<T>) -> ReportError {
            ReportError::Io {
                context: "flushing the CSV".into(),
                source: e.into_error(),
            }
        }
        match self.out {
            Out::Utf8(w) => w.into_inner().map_err(flushed),
            Out::Gbk(w) => {
                let g = w.into_inner().map_err(flushed)?;
                if g.pending.is_empty() {
                    Ok(g.inner)
                } else {
                    Err(ReportError::Io {
                        context: "flushing the CSV".into(),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "a character cut in two",
                        ),
                    })
                }
            }
        }
    }

    /// The cells of the next line as text; for GBK, the first character GBK cannot encode
    /// is an error naming the line and the column.
    fn record<'a>(
        &mut self,
        cells: impl Iterator<Item = (String, &'a str)>,
    ) -> Result<(), ReportError> {
        self.lines += 1;
        self.text.clear();
        for (text, column) in cells {
            if matches!(self.out, Out::Gbk(_)) && !text.is_ascii() {
                if let Some(character) = text.chars().find(|c| !gbk_encodes(*c)) {
                    return Err(ReportError::Unencodable {
                        row: self.lines,
                        column: column.to_owned(),
                        character,
                        code: u32::from(character),
                    });
                }
            }
            self.text.push(text);
        }
        match &mut self.out {
            Out::Utf8(w) => w.write_record(&self.text)?,
            Out::Gbk(w) => w.write_record(&self.text)?,
        }
        Ok(())
    }
}

/// Whether GBK has a code for `c`.
fn gbk_encodes(c: char) -> bool {
    let mut buf = [0u8; 4];
    !GBK.encode(c.encode_utf8(&mut buf)).2
}

impl<W: Write> RowSink for CsvSink<W> {
    fn begin(&mut self, _title: &str, columns: &[Column]) -> Result<(), ReportError> {
        self.columns = columns.to_vec();
        let headers: Vec<(String, &'static str)> = columns
            .iter()
            .map(|c| (c.header.to_owned(), c.header))
            .collect();
        self.record(headers.into_iter())
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), ReportError> {
        check_width(self.columns.len(), cells.len())?;
        let columns: Vec<&'static str> = self.columns.iter().map(|c| c.header).collect();
        self.record(cells.iter().map(Cell::to_text).zip(columns))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;
    use crate::reports::table::{col, ColumnKind};

    const COLUMNS: [Column; 2] = [
        col("客户名称 Name", ColumnKind::Text),
        col("资产 Assets", ColumnKind::Money),
    ];

    fn written(encoding: CsvEncoding, names: &[&str]) -> Result<Vec<u8>, ReportError> {
        let mut sink = CsvSink::new(Vec::new(), encoding)?;
        sink.begin("t", &COLUMNS)?;
        for n in names {
            sink.row(&[
                Cell::text(*n),
                Cell::Money(crm_domain::Money::from_minor(15_000)),
            ])?;
        }
        sink.finish()
    }

    #[test]
    fn utf8_starts_with_the_mark_and_gbk_round_trips() {
        let names = ["张三", "李四, \"小李\"", "Zhao"];
        let utf8 = written(CsvEncoding::Utf8, &names).unwrap();
        assert!(utf8.starts_with(UTF8_BOM));
        let text = std::str::from_utf8(&utf8[3..]).unwrap();
        assert_eq!(
            text,
            "客户名称 Name,资产 Assets\n张三,1.5000\n\"李四, \"\"小李\"\"\",1.5000\nZhao,1.5000\n"
        );
        let gbk = written(CsvEncoding::Gbk, &names).unwrap();
        assert!(!gbk.starts_with(UTF8_BOM));
        assert_ne!(gbk, utf8[3..]);
        let (decoded, _, errors) = GBK.decode(&gbk);
        assert!(!errors);
        assert_eq!(decoded, text);
    }

    #[test]
    fn a_character_gbk_cannot_encode_names_its_row_and_column() {
        // U+1F600 (an emoji) has no GBK code; the third line is the second customer.
        let err = written(CsvEncoding::Gbk, &["张三", "王五😀"]).err();
        match err {
            Some(ReportError::Unencodable {
                row,
                column,
                character,
                ..
            }) => {
                assert_eq!(
                    (row, column.as_str(), character),
                    (3, "客户名称 Name", '😀')
                );
            }
            other => panic!("{other:?}"),
        }
        // The same name is fine in UTF-8.
        assert!(written(CsvEncoding::Utf8, &["王五😀"]).is_ok());
    }

    #[test]
    fn a_character_split_between_writes_is_held_back() {
        let mut w = GbkWriter {
            inner: Vec::new(),
            pending: Vec::new(),
        };
        let bytes = "营业部".as_bytes();
        w.write_all(&bytes[..4]).unwrap();
        w.write_all(&bytes[4..]).unwrap();
        assert!(w.pending.is_empty());
        assert_eq!(GBK.decode(&w.inner).0, "营业部");
    }
}
