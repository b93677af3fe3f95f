//! Finding a customer by how a clerk types a Chinese name (#16): pinyin initials (`zs`, `ZS`
//! for 张三), full pinyin (`zhangsan`), or a mix of the two (`zhangs`, `zsan`), as a run of
//! consecutive characters anywhere in the name (`sm` finds 王思明), every reading of a
//! character with several (曾 zeng/ceng, 单 shan/dan) accepted. `ü` is typed as `v` (吕 lv).
//!
//! Nothing is stored: the name's readings come from the `pinyin` crate's tables when the
//! customer list's text filter is checked, so the hot row does not grow and a correction of a
//! name is searchable at once.

use pinyin::ToPinyinMulti;

/// Typed text longer than this is not taken for pinyin (no name is that long in pinyin).
const TEXT_MAX: usize = 48;
/// Characters of a name looked at.
const NAME_MAX: usize = 64;

/// Whether `text`, read as pinyin (ASCII letters and spaces only, case ignored, spaces
/// dropped), spells a run of consecutive characters of `name`: each character by its initial
/// or its whole reading, the last one by any start of its reading. Letters and digits of the
/// name stand for themselves. Text that is not pinyin never matches here.
pub fn pinyin_matches(text: &str, name: &str) -> bool {
    let mut typed = [0u8; TEXT_MAX];
    let mut n = 0;
    for b in text.bytes() {
        match b {
            b' ' => {}
            b'a'..=b'z' | b'A'..=b'Z' => {
                if n == TEXT_MAX {
                    return false;
                }
                typed[n] = b.to_ascii_lowercase();
                n += 1;
            }
            _ => return false,
        }
    }
    if n == 0 {
        return false;
    }
    let typed = &typed[..n];
    let mut chars = ['\0'; NAME_MAX];
    let mut len = 0;
    for c in name.chars().take(NAME_MAX) {
        chars[len] = c;
        len += 1;
    }
    spells(typed, &chars[..len])
}

/// `reach[i]`: the first `i` typed letters are spelt by the characters before the one being
/// looked at, starting at some character. A run may start at every character, so `reach[0]`
/// holds throughout.
fn spells(typed: &[u8], chars: &[char]) -> bool {
    let n = typed.len();
    let mut reach = [false; TEXT_MAX + 1];
    for &c in chars {
        reach[0] = true;
        let mut next = [false; TEXT_MAX + 1];
        for i in (0..n).filter(|i| reach[*i]) {
            let rest = &typed[i..];
            let mut step = |reading: &[u8]| -> bool {
                // The rest is a start of this reading: the run ends here, spelt.
                if reading.starts_with(rest) {
                    return true;
                }
                if rest.starts_with(reading) {
                    next[i + reading.len()] = true;
                }
                if reading.first() == rest.first() {
                    next[i + 1] = true;
                }
                false
            };
            if c.is_ascii_alphanumeric() {
                if step(&[c.to_ascii_lowercase() as u8]) {
                    return true;
                }
                continue;
            }
            let Some(readings) = c.to_pinyin_multi() else {
                continue;
            };
            for reading in readings {
                let mut buf = [0u8; 8];
                let mut k = 0;
                for ch in reading.plain().chars() {
                    let b = if ch == 'ü' { b'v' } else { ch as u32 as u8 };
                    if k < buf.len() && b.is_ascii_lowercase() {
                        buf[k] = b;
                        k += 1;
                    }
                }
                if k > 0 && step(&buf[..k]) {
                    return true;
                }
            }
        }
        reach = next;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::pinyin_matches as m;

    #[test]
    fn initials_full_pinyin_and_a_mix_find_the_name() {
        assert!(m("zs", "张三"));
        assert!(m("ZS", "张三"));
        assert!(m("zhangsan", "张三"));
        assert!(m("zhang san", "张三"));
        assert!(m("zhangs", "张三"));
        assert!(m("zsan", "张三"));
        assert!(m("zha", "张三"));
        // A run anywhere in the name.
        assert!(m("sm", "王思明"));
        assert!(m("ming", "王思明"));
        assert!(m("wsm", "王思明"));
    }

    #[test]
    fn what_the_name_does_not_spell_is_no_match() {
        assert!(!m("ls", "张三"));
        assert!(!m("zsm", "张三"));
        assert!(!m("wm", "王思明"), "not consecutive");
        assert!(!m("zhangsanfeng", "张三"));
        assert!(!m("", "张三"));
        assert!(!m("   ", "张三"));
        // Not pinyin: digits, CJK, punctuation are left to the plain text match.
        assert!(!m("张", "张三"));
        assert!(!m("z1", "张三"));
        assert!(!m("z-s", "张三"));
    }

    #[test]
    fn every_reading_of_a_heteronym_counts_and_u_umlaut_is_v() {
        // 曾 is zeng and ceng; 单 shan and dan.
        assert!(m("zg", "曾国"));
        assert!(m("cg", "曾国"));
        assert!(m("shan", "单"));
        assert!(m("dan", "单"));
        assert!(m("lv", "吕布"));
        assert!(m("lb", "吕布"));
    }

    #[test]
    fn letters_and_digits_in_a_name_stand_for_themselves() {
        assert!(m("abcgs", "ABC公司"));
        assert!(m("gs", "ABC公司"));
        assert!(!m("abd", "ABC公司"));
    }

    #[test]
    fn long_or_odd_input_does_not_panic() {
        let long = "z".repeat(10_000);
        assert!(!m(&long, "张三"));
        let name: String = "张".repeat(10_000);
        assert!(m("zz", &name));
        assert!(!m("zs", "\u{0}\u{FFFF}🦀"));
    }
}
