//! Redis glob patterns (`*`, `?`, `[abc]`, `[^a-z]`, `\x`), matched in O(pattern x subject)
//! time by dynamic programming, so no pattern can take exponential time (CVE-2022-36021).

enum Tok {
    Any,
    One,
    Byte(u8),
    /// A bracket class: negated, and its items as inclusive ranges.
    Class(bool, Vec<(u8, u8)>),
}

fn tokenize(p: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' => {
                // Consecutive stars are one.
                if !matches!(out.last(), Some(Tok::Any)) {
                    out.push(Tok::Any);
                }
            }
            b'?' => out.push(Tok::One),
            b'\\' if i + 1 < p.len() => {
                i += 1;
                out.push(Tok::Byte(p[i]));
            }
            b'[' => {
                i += 1;
                let neg = i < p.len() && p[i] == b'^';
                if neg {
                    i += 1;
                }
                let mut items = Vec::new();
                while i < p.len() && p[i] != b']' {
                    if p[i] == b'\\' && i + 1 < p.len() {
                        i += 1;
                        items.push((p[i], p[i]));
                    } else if i + 2 < p.len() && p[i + 1] == b'-' {
                        // As Redis: `x-y` is a range even when y is `]` (the class then runs
                        // on to the next `]` or the end of the pattern).
                        let (a, b) = (p[i], p[i + 2]);
                        items.push((a.min(b), a.max(b)));
                        i += 2;
                    } else {
                        items.push((p[i], p[i]));
                    }
                    i += 1;
                }
                out.push(Tok::Class(neg, items));
            }
            c => out.push(Tok::Byte(c)),
        }
        i += 1;
    }
    out
}

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

fn tok_matches(t: &Tok, c: u8, nocase: bool) -> bool {
    match t {
        Tok::Any | Tok::One => true,
        Tok::Byte(b) => fold(*b, nocase) == fold(c, nocase),
        Tok::Class(neg, items) => {
            let c = fold(c, nocase);
            let hit = items.iter().any(|&(a, b)| (fold(a, nocase)..=fold(b, nocase)).contains(&c));
            hit != *neg
        }
    }
}

/// Whether `subject` matches the glob `pattern`, as Redis's stringmatchlen decides it: an
/// empty subject matches only the empty pattern (callers treat a lone `*` as "no filter").
pub fn matches(pattern: &[u8], subject: &[u8], nocase: bool) -> bool {
    if subject.is_empty() {
        return pattern.is_empty();
    }
    let toks = tokenize(pattern);
    // reach[j]: the first i tokens can match the first j bytes of the subject.
    let n = subject.len();
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    for t in &toks {
        let mut next = vec![false; n + 1];
        match t {
            Tok::Any => {
                let mut any = false;
                for j in 0..=n {
                    any |= reach[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 0..n {
                    if reach[j] && tok_matches(t, subject[j], nocase) {
                        next[j + 1] = true;
                    }
                }
            }
        }
        reach = next;
    }
    reach[n]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn redis_glob_rules() {
        // Redis's stringmatchlen never matches an empty subject against a non-empty pattern.
        assert!(!matches(b"*", b"", false) && !matches(b"**", b"", false) && matches(b"", b"", false));
        // `a-]` is a range from `]` to `a`, and the class runs to the end.
        for c in [b"]", b"^", b"a"] {
            assert!(matches(b"[a-]", c, false));
        }
        assert!(!matches(b"[a-]", b"-", false) && !matches(b"[a-]b", b"ab", false));
        assert!(matches(b"[a-]b", b"b", false));
        assert!(matches(b"h?llo", b"hello", false));
        assert!(matches(b"h*llo", b"heeeello", false));
        assert!(matches(b"h[ae]llo", b"hallo", false));
        assert!(!matches(b"h[^e]llo", b"hello", false));
        assert!(matches(b"h[a-b]llo", b"hbllo", false));
        assert!(matches(b"h\\*llo", b"h*llo", false));
        assert!(!matches(b"h\\*llo", b"hello", false));
        assert!(matches(b"PORT", b"port", true));
        assert!(!matches(b"PORT", b"port", false));
        assert!(!matches(b"a*b", b"acd", false));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pat = b"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let subject = vec![b'a'; 10_000];
        let t = std::time::Instant::now();
        assert!(!matches(pat, &subject, false));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
