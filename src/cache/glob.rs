//! Redis's glob patterns (`SCAN … MATCH`), matched in-process the same way,
//! so a pattern clears the same keys from L1 as from Redis: `*` any run,
//! `?` one character, `[abc]`, `[a-z]`, `[^a]` one of a set, `\x` a literal.

/// Whether `text` matches `pattern` under Redis's rules.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    match_from(&pattern, &text)
}

fn match_from(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let step = match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => class(&pattern[p..], text[t]),
            Some('\\') if p + 1 < pattern.len() => (pattern[p + 1] == text[t]).then_some(2),
            Some(&literal) => (literal == text[t]).then_some(1),
            None => None,
        };
        match step {
            Some(width) => {
                p += width;
                t += 1;
            }
            None => match star {
                // Let the last `*` absorb one more character and retry.
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Matches one character against the class starting at `pattern[0] == '['`;
/// returns the class's width in the pattern when it matches. An unclosed
/// class matches like Redis: up to the end of the pattern.
fn class(pattern: &[char], c: char) -> Option<usize> {
    let mut i = 1;
    let negated = pattern.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut found = false;
    while i < pattern.len() && pattern[i] != ']' {
        if pattern[i] == '\\' && i + 1 < pattern.len() {
            found |= pattern[i + 1] == c;
            i += 2;
        } else if i + 2 < pattern.len() && pattern[i + 1] == '-' && pattern[i + 2] != ']' {
            let (low, high) = (
                pattern[i].min(pattern[i + 2]),
                pattern[i].max(pattern[i + 2]),
            );
            found |= (low..=high).contains(&c);
            i += 3;
        } else {
            found |= pattern[i] == c;
            i += 1;
        }
    }
    let width = (i + 1).min(pattern.len());
    (found != negated).then_some(width)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_match_like_redis() {
        let key = "mfuko:v1:report:financial:1:g0:x";
        assert!(matches("mfuko:v1:report:*", key));
        assert!(!matches(
            "mfuko:v1:report:*",
            "mfuko:v1:dashboard:landlord:1:g0:x"
        ));
        assert!(matches("*:1:g*", key));
        assert!(!matches("*:1:g*", "mfuko:v1:report:financial:11:g0:x"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(matches("h?llo", "hello") && !matches("h?llo", "hllo"));
        assert!(matches("h[ae]llo", "hallo") && !matches("h[ae]llo", "hillo"));
        assert!(matches("h[^e]llo", "hallo") && !matches("h[^e]llo", "hello"));
        assert!(matches("h[a-c]llo", "hbllo") && !matches("h[a-c]llo", "hdllo"));
        assert!(matches(r"a\*b", "a*b") && !matches(r"a\*b", "axb"));
        assert!(matches("*", "") && matches("a*", "a") && !matches("a?", "a"));
        assert!(matches("*report*financial*", key));
    }
}
