//! Value types parsed at the edge ("parse, don't validate"): names, free text, phone numbers and
//! identity documents, plus the small shared enums (channels, markets).
//!
//! Serde is `transparent` on purpose: stored events were validated when they were decided, and
//! deserialization trusts the log, so tightening a rule later never makes history unreadable.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::error::ValidationError;

macro_rules! bounded_text {
    ($($(#[$meta:meta])* $name:ident { field: $field:literal, min: $min:expr, max: $max:expr };)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MIN_CHARS: usize = $min;
            pub const MAX_CHARS: usize = $max;

            /// Trims surrounding whitespace, then checks the length in characters (not bytes, so
            /// 50 Chinese characters fit a 50-character name) and rejects control characters
            /// other than line breaks and tabs.
            pub fn parse(input: &str) -> Result<Self, ValidationError> {
                let s = input.trim();
                let chars = s.chars().count();
                if chars < Self::MIN_CHARS {
                    return Err(ValidationError::new($field, if Self::MIN_CHARS == 1 {
                        "must not be empty".to_owned()
                    } else {
                        format!("must have at least {} characters", Self::MIN_CHARS)
                    }));
                }
                if chars > Self::MAX_CHARS {
                    return Err(ValidationError::new(
                        $field,
                        format!("must have at most {} characters", Self::MAX_CHARS),
                    ));
                }
                if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
                    return Err(ValidationError::new($field, "must not contain control characters"));
                }
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

bounded_text! {
    /// A person's name (姓名): 1–50 characters.
    PersonName { field: "name", min: 1, max: 50 };
    /// A company, branch, team or product name: 1–100 characters.
    OrgName { field: "name", min: 1, max: 100 };
    /// A one-line text: topic, title, reason, occupation (1–200 characters).
    ShortText { field: "text", min: 1, max: 200 };
    /// A longer free text: notes, article bodies, segment descriptions (0–20000 characters).
    LongText { field: "text", min: 0, max: 20_000 };
    /// A postal address (1–300 characters).
    Address { field: "address", min: 1, max: 300 };
}

/// A phone number, normalised: a mainland mobile (`13812345678`, 11 digits starting 1[3-9]),
/// or a landline with area code (`010-12345678`, `0755-1234567`). A `+86`/`86` prefix and spaces
/// or hyphens in mobiles are accepted and removed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason: &str| ValidationError::new("phone", reason);
        let s = input.trim();
        if s.is_empty() {
            return Err(err("must not be empty"));
        }
        let s = s.strip_prefix("+86").unwrap_or(s).trim_start();
        if let Some((area, local)) = s.split_once('-') {
            let area_ok = area.len() >= 3
                && area.len() <= 4
                && area.starts_with('0')
                && area.bytes().all(|b| b.is_ascii_digit());
            let local_ok = (7..=8).contains(&local.len())
                && local.bytes().all(|b| b.is_ascii_digit())
                && !local.starts_with('0');
            if area_ok && local_ok {
                return Ok(Self(format!("{area}-{local}")));
            }
        }
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = match digits.strip_prefix("86") {
            Some(rest) if rest.len() == 11 => rest.to_owned(),
            _ => digits,
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(
                "must contain only digits, spaces, hyphens and a +86 prefix",
            ));
        }
        let b = digits.as_bytes();
        if b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Ok(Self(digits));
        }
        Err(err(
            "must be an 11-digit mobile (1[3-9]…) or a landline like 010-12345678",
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 居民身份证号码 per GB 11643-1999: 6-digit area code, 8-digit birth date, 3-digit sequence,
/// and a check character over the first 17 digits (weights 2^(17-i) mod 11, code "10X98765432").
/// Stored upper-case (`x` is accepted and normalised to `X`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResidentIdNumber(String);

impl ResidentIdNumber {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK_CODES: &'static [u8; 11] = b"10X98765432";

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason: String| ValidationError::new("resident_id_number", reason);
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(err(format!(
                "must have 18 characters, has {}",
                s.chars().count()
            )));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) {
            return Err(err("the first 17 characters must be digits".into()));
        }
        if !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(err("the last character must be a digit or X".into()));
        }
        if b[0] == b'0' || b[0] == b'9' {
            return Err(err("the area code must start with 1 to 8".into()));
        }
        if Self::birth_date_of(b).is_none() {
            return Err(err(format!(
                "the birth date {} is not a valid date",
                &s[6..14]
            )));
        }
        let expected = Self::check_code(b);
        if b[17] != expected {
            return Err(err(format!(
                "the check character is {}, expected {}",
                char::from(b[17]),
                char::from(expected)
            )));
        }
        Ok(Self(s))
    }

    /// Completes the first 17 digits (area code, birth date, sequence) with their check
    /// character: for registering from systems that keep the number without it, and for
    /// generating valid test and demo data.
    pub fn with_check_character(first17: &str) -> Result<Self, ValidationError> {
        let b = first17.as_bytes();
        if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
            return Err(ValidationError::new(
                "resident_id_number",
                "needs exactly 17 digits",
            ));
        }
        Self::parse(&format!("{first17}{}", char::from(Self::check_code(b))))
    }

    /// The check character for the first 17 digits (caller guarantees 17 ASCII digits).
    fn check_code(b: &[u8]) -> u8 {
        let sum: u32 = b
            .iter()
            .zip(Self::WEIGHTS)
            .map(|(d, w)| u32::from(d.wrapping_sub(b'0')) * w)
            .sum();
        // sum % 11 < 11 = CHECK_CODES.len(), so the index is in range.
        Self::CHECK_CODES[(sum % 11) as usize]
    }

    fn birth_date_of(b: &[u8]) -> Option<Date> {
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            b.get(r)?.iter().try_fold(0u32, |acc, d| {
                d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
            })
        };
        let year = i32::try_from(num(6..10)?).ok()?;
        if year < 1900 {
            return None;
        }
        let month = Month::try_from(u8::try_from(num(10..12)?).ok()?).ok()?;
        let day = u8::try_from(num(12..14)?).ok()?;
        Date::from_calendar_date(year, month, day).ok()
    }

    /// The holder's birth date, encoded in characters 7–14.
    pub fn birth_date(&self) -> Option<Date> {
        Self::birth_date_of(self.0.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the first 3 and last 4 characters masked, for display to roles
    /// that may not see personal data.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 4)
    }
}

/// 统一社会信用代码 per GB 32100-2015: 18 characters from "0123456789ABCDEFGHJKLMNPQRTUWXY",
/// the last one a check character (mod 31).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnifiedSocialCreditCode(String);

impl UnifiedSocialCreditCode {
    const ALPHABET: &'static [u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];

    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let err = |reason: String| ValidationError::new("unified_social_credit_code", reason);
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        if b.len() != 18 {
            return Err(err(format!(
                "must have 18 characters, has {}",
                s.chars().count()
            )));
        }
        let mut values = [0usize; 18];
        for (i, c) in b.iter().enumerate() {
            match Self::ALPHABET.iter().position(|a| a == c) {
                Some(v) => values[i] = v,
                None => return Err(err(format!("character {} is not allowed", char::from(*c)))),
            }
        }
        let sum: usize = values[..17]
            .iter()
            .zip(Self::WEIGHTS)
            .map(|(v, w)| v * w)
            .sum();
        // Reduced mod 31, so `expected` indexes ALPHABET (31 characters) in range; `i` below 18
        // indexes `values` in range because the input was checked to be 18 bytes.
        let expected = (31 - sum % 31) % 31;
        if values[17] != expected {
            return Err(err(format!(
                "the check character is {}, expected {}",
                char::from(b[17]),
                char::from(Self::ALPHABET[expected])
            )));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A passport or other travel-document number: 5–20 ASCII letters and digits, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PassportNumber(String);

impl PassportNumber {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let s = input.trim().to_ascii_uppercase();
        if !(5..=20).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                "passport_number",
                "must be 5 to 20 ASCII letters and digits",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An identity document (证件). Individuals hold a resident ID or a passport; institutions a
/// business licence carrying the unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IdDocument {
    /// 居民身份证
    ResidentId { number: ResidentIdNumber },
    /// 护照; `country` is the issuing country's ISO 3166 alpha-3 code as given.
    Passport {
        country: ShortText,
        number: PassportNumber,
    },
    /// 营业执照 (统一社会信用代码)
    BusinessLicence { code: UnifiedSocialCreditCode },
}

impl IdDocument {
    /// The key the identity-resolution lookup indexes (same key = same party).
    pub fn identity_key(&self) -> String {
        match self {
            IdDocument::ResidentId { number } => format!("RID:{}", number.as_str()),
            IdDocument::Passport { country, number } => {
                format!(
                    "PP:{}:{}",
                    country.as_str().to_ascii_uppercase(),
                    number.as_str()
                )
            }
            IdDocument::BusinessLicence { code } => format!("USCC:{}", code.as_str()),
        }
    }

    pub fn is_for_individuals(&self) -> bool {
        !matches!(self, IdDocument::BusinessLicence { .. })
    }
}

fn mask(s: &str, keep_start: usize, keep_end: usize) -> String {
    let n = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i < keep_start || i + keep_end >= n {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// 渠道: where a contact happened or a ticket came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// 柜台
    Counter,
    Phone,
    /// 呼叫中心
    CallCentre,
    App,
    Internet,
    Email,
    WeChat,
    /// 银行柜台 (bank-securities cooperation outlets)
    BankCounter,
    SelfService,
    /// 走访
    Visit,
}

/// An exchange or trading venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Market {
    /// 上交所
    Shanghai,
    /// 深交所
    Shenzhen,
    /// 北交所
    Beijing,
    /// 港股通
    HongKongConnect,
    /// Off-exchange (OTC wealth products, funds bought directly).
    OverTheCounter,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid resident ID from its first 17 digits by computing the check character, so
    /// the valid samples below are correct by construction (and double-checked by literals).
    fn with_check(first17: &str) -> String {
        let code = ResidentIdNumber::check_code(first17.as_bytes());
        format!("{first17}{}", char::from(code))
    }

    #[track_caller]
    fn check_id(input: &str, expect: Result<(), &str>) {
        let got = ResidentIdNumber::parse(input).map(|_| ()).map_err(|e| {
            assert_eq!(e.field, "resident_id_number");
            e.reason
        });
        assert_eq!(
            got.as_ref().map_err(String::as_str),
            expect.as_ref().map_err(|s| *s),
            "{input:?}"
        );
    }

    #[test]
    fn resident_id_numbers_are_validated_per_gb_11643() {
        // Well-known published samples with hand-checked check characters.
        check_id("11010519491231002X", Ok(()));
        check_id("11010519491231002x", Ok(()));
        check_id(
            "440524188001010014",
            Err("the birth date 18800101 is not a valid date"),
        );
        check_id("110101199003074477", Ok(()));
        check_id(
            "310104200002291233",
            Err("the check character is 3, expected 6"),
        );
        check_id("310104200002291236", Ok(()));
        for first17 in [
            "11010519800101001",
            "44030419991231123",
            "51010820040229456",
            "65010219700615789",
        ] {
            check_id(&with_check(first17), Ok(()));
        }
        check_id("", Err("must have 18 characters, has 0"));
        check_id("11010519491231002", Err("must have 18 characters, has 17"));
        check_id(
            "110105194912310021X",
            Err("must have 18 characters, has 19"),
        );
        check_id(
            "11010519491231A02X",
            Err("the first 17 characters must be digits"),
        );
        check_id(
            "11010519491231002Y",
            Err("the last character must be a digit or X"),
        );
        check_id(
            "01010519491231002X",
            Err("the area code must start with 1 to 8"),
        );
        check_id(
            "110105194913310020",
            Err("the birth date 19491331 is not a valid date"),
        );
        check_id(
            "110105190102290021",
            Err("the birth date 19010229 is not a valid date"),
        );
        check_id(
            "110105194912310021",
            Err("the check character is 1, expected X"),
        );
        check_id(
            "中华人民共和国身份证号码",
            Err("must have 18 characters, has 12"),
        );
    }

    #[test]
    fn a_number_completed_with_its_check_character_is_valid() {
        let full = ResidentIdNumber::with_check_character("11010519491231002").expect("valid");
        assert_eq!(full.as_str(), "11010519491231002X");
        assert!(ResidentIdNumber::with_check_character("1101051949123100").is_err());
        assert!(
            ResidentIdNumber::with_check_character("11010519491331002").is_err(),
            "month 13"
        );
    }

    #[test]
    fn resident_id_exposes_birth_date_and_masks() {
        let id = ResidentIdNumber::parse("11010519491231002X").expect("valid sample");
        assert_eq!(
            id.birth_date(),
            Date::from_calendar_date(1949, Month::December, 31).ok()
        );
        assert_eq!(id.masked(), "110***********002X");
    }

    #[test]
    fn unified_social_credit_codes_carry_a_mod_31_check() {
        assert!(UnifiedSocialCreditCode::parse("91350100M000100Y43").is_ok());
        assert!(UnifiedSocialCreditCode::parse("91110000100000589A").is_ok());
        let e = UnifiedSocialCreditCode::parse("91350100M000100Y44").expect_err("bad check");
        assert_eq!(e.field, "unified_social_credit_code");
        assert!(UnifiedSocialCreditCode::parse("91350100M000100I43").is_err());
        assert!(UnifiedSocialCreditCode::parse("913501").is_err());
    }

    #[test]
    fn phones_accept_mobiles_and_landlines() {
        let ok = |s: &str| Phone::parse(s).map(|p| p.as_str().to_owned());
        assert_eq!(ok("13812345678").as_deref(), Ok("13812345678"));
        assert_eq!(ok("+86 138 1234 5678").as_deref(), Ok("13812345678"));
        assert_eq!(ok("8613812345678").as_deref(), Ok("13812345678"));
        assert_eq!(ok("010-12345678").as_deref(), Ok("010-12345678"));
        assert_eq!(ok("0755-1234567").as_deref(), Ok("0755-1234567"));
        for bad in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "abc",
            "010-0123456",
            "95588",
        ] {
            assert_eq!(
                Phone::parse(bad).map_err(|e| e.field),
                Err("phone"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_are_trimmed_non_empty_and_bounded_in_characters() {
        assert_eq!(
            PersonName::parse("  张三 ")
                .map(|n| n.to_string())
                .as_deref(),
            Ok("张三")
        );
        assert_eq!(
            PersonName::parse("   ").map_err(|e| e.reason),
            Err("must not be empty".to_owned())
        );
        assert!(PersonName::parse(&"王".repeat(50)).is_ok());
        assert_eq!(
            PersonName::parse(&"王".repeat(51)).map_err(|e| (e.field, e.reason)),
            Err(("name", "must have at most 50 characters".to_owned()))
        );
        assert!(PersonName::parse("a\u{0}b").is_err());
        assert!(LongText::parse("").is_ok());
    }
}
