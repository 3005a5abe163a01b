//! Go's `strconv.ParseFloat(s, 64)`, which k6 applies to a threshold's number and to the N of
//! `p(N)` (k6 `metrics/thresholds_parser.go`). The semantics are those of Go's
//! `src/strconv/atof.go` (`special`, `readFloat`, `underscoreOK`, `atofHex`); the code is
//! surge's own. Where it differs from Rust's `str::parse::<f64>`:
//! - `_` may separate digits (`1_000`, `0x_1p4`, `1e1_0`): only between two digits or between
//!   `0x` and a digit (`1_.5`, `1._5`, `1.5_e1`, `_1`, `1_` are refused);
//! - hexadecimal floats, whose binary exponent is required (`0x1.8p1` = 3; `0x10` is refused),
//!   rounded to nearest, ties to even, however many digits they have;
//! - a finite literal past f64's range (`1e400`, `0x1p1024`) is a [`GoFloatError::Range`]
//!   where Rust returns infinity; underflow is 0 in both;
//! - `inf` / `infinity` take a sign, `nan` does not (`-nan` is a syntax error).
//!
//! The whole string is the number: no surrounding whitespace.

use std::fmt;

/// Why a string is not a Go float.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoFloatError {
    /// Not a Go float literal (Go's `strconv.ErrSyntax`).
    Syntax,
    /// A well-formed literal that rounds past ±f64::MAX (Go's `strconv.ErrRange`, where Go
    /// returns ±Inf).
    Range { negative: bool },
}

impl fmt::Display for GoFloatError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // Go's own texts, as k6 prints them.
        f.write_str(match self {
            GoFloatError::Syntax => "invalid syntax",
            GoFloatError::Range { .. } => "value out of range",
        })
    }
}

impl std::error::Error for GoFloatError {}

/// Parses `s` as Go's `strconv.ParseFloat(s, 64)` does.
pub fn parse_f64(s: &str) -> Result<f64, GoFloatError> {
    if let Some(v) = special(s) {
        return Ok(v);
    }
    let b = s.as_bytes();
    let (negative, body) = match b.first() {
        Some(b'+') => (false, &b[1..]),
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    // Go takes `0x` as a prefix only when something follows it.
    let hex = body.len() > 2 && body[0] == b'0' && body[1] | 0x20 == b'x';
    let lit = scan(if hex { &body[2..] } else { body }, hex).ok_or(GoFloatError::Syntax)?;
    if lit.underscores && !underscores_ok(b) {
        return Err(GoFloatError::Syntax);
    }
    if hex {
        hex_value(negative, &lit)
    } else {
        // The grammar is checked: what is left is Rust's (correctly rounded) decimal parser,
        // given the exponent Go would use (see `scan`).
        let text = format!(
            "{}{}e{}",
            if negative { "-" } else { "" },
            lit.text,
            lit.exp
        );
        let v: f64 = text.parse().expect("a checked decimal literal parses");
        if v.is_infinite() {
            return Err(GoFloatError::Range { negative });
        }
        Ok(v)
    }
}

/// `[+-]inf`, `[+-]infinity` or `nan`, any case; Go takes no sign on `nan`.
fn special(s: &str) -> Option<f64> {
    let (negative, rest, signed) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..], true),
        b'-' => (true, &s[1..], true),
        _ => (false, s, false),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })
    } else if !signed && rest.eq_ignore_ascii_case("nan") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// A literal's parts, read by [`scan`].
struct Literal {
    /// The mantissa's digits and point, underscores removed (used for decimal).
    text: String,
    /// The mantissa's digit values from its first non-zero one (used for hex).
    sig: Vec<u8>,
    /// Where the point sits relative to `sig`: the mantissa is `0.sig × radix^point`.
    point: i64,
    /// The exponent (decimal or binary), capped as Go caps it.
    exp: i64,
    underscores: bool,
}

/// Reads `digits [. digits] [e|p [+-] digits]` after the sign and any `0x`, skipping
/// underscores (checked later); None on a syntax error. A hex mantissa needs its `p`.
fn scan(body: &[u8], hex: bool) -> Option<Literal> {
    let radix = if hex { 16 } else { 10 };
    let mut lit = Literal {
        text: String::new(),
        sig: Vec::new(),
        point: 0,
        exp: 0,
        underscores: false,
    };
    let (mut i, mut seen_point, mut any_digit) = (0, false, false);
    let (mut int_sig, mut lead_frac_zeros) = (0i64, 0i64);
    while let Some(&c) = body.get(i) {
        if c == b'_' {
            lit.underscores = true;
        } else if c == b'.' && !seen_point {
            seen_point = true;
            lit.text.push('.');
        } else if let Some(d) = char::from(c).to_digit(radix) {
            any_digit = true;
            lit.text.push(char::from(c));
            if d == 0 && lit.sig.is_empty() {
                lead_frac_zeros += i64::from(seen_point);
            } else {
                lit.sig.push(d as u8);
                int_sig += i64::from(!seen_point);
            }
        } else {
            break;
        }
        i += 1;
    }
    if !any_digit {
        return None;
    }
    lit.point = int_sig - lead_frac_zeros;
    let exp_char = if hex { b'p' } else { b'e' };
    if body.get(i).is_some_and(|&c| c | 0x20 == exp_char) {
        i += 1;
        let negative = match body.get(i) {
            Some(b'+') => {
                i += 1;
                false
            }
            Some(b'-') => {
                i += 1;
                true
            }
            _ => false,
        };
        if !body.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        while let Some(&c) = body.get(i) {
            if c == b'_' {
                lit.underscores = true;
            } else if c.is_ascii_digit() {
                // Go stops accumulating once the exponent reaches 10000: far past any finite
                // f64 for short mantissas, and the value Go then uses for long ones.
                if lit.exp < 10_000 {
                    lit.exp = lit.exp * 10 + i64::from(c - b'0');
                }
            } else {
                break;
            }
            i += 1;
        }
        if negative {
            lit.exp = -lit.exp;
        }
    } else if hex {
        return None;
    }
    (i == body.len()).then_some(lit)
}

/// Go's rule for `_`: only between two digits, or between a base prefix and a digit.
fn underscores_ok(s: &[u8]) -> bool {
    #[derive(PartialEq)]
    enum Last {
        Start,
        Digit,
        Underscore,
        Other,
    }
    let s = match s.first() {
        Some(b'+' | b'-') => &s[1..],
        _ => s,
    };
    let mut last = Last::Start;
    let mut rest = s;
    let hex = s.len() >= 2 && s[0] == b'0' && s[1] | 0x20 == b'x';
    if hex {
        // The prefix counts as a digit, so `0x_1p4` is fine.
        last = Last::Digit;
        rest = &s[2..];
    }
    for &c in rest {
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            last = Last::Digit;
        } else if c == b'_' {
            if last != Last::Digit {
                return false;
            }
            last = Last::Underscore;
        } else {
            if last == Last::Underscore {
                return false;
            }
            last = Last::Other;
        }
    }
    last != Last::Underscore
}

/// A hex literal's value: its first 16 significant digits exactly (64 bits), any non-zero digit
/// past them as a sticky bit, rounded once to f64.
fn hex_value(negative: bool, lit: &Literal) -> Result<f64, GoFloatError> {
    let sign = if negative { 1u64 << 63 } else { 0 };
    let kept = lit.sig.len().min(16);
    let mantissa = lit.sig[..kept]
        .iter()
        .fold(0u64, |m, &d| m << 4 | u64::from(d));
    if mantissa == 0 {
        return Ok(f64::from_bits(sign));
    }
    let sticky = lit.sig[kept..].iter().any(|&d| d != 0);
    let exp2 = 4 * (lit.point - kept as i64) + lit.exp;
    let bits = round_to_f64(mantissa, exp2, sticky).ok_or(GoFloatError::Range { negative })?;
    Ok(f64::from_bits(sign | bits))
}

/// The f64 bits (sign aside) nearest to `m × 2^exp2` (plus a little more when `sticky`), ties to
/// even; None past f64::MAX. `m` is not 0.
fn round_to_f64(m: u64, exp2: i64, sticky: bool) -> Option<u64> {
    const FRAC_BITS: i64 = 52;
    const MIN_QUANTUM: i64 = -1074; // the subnormal spacing, 2^-1074
    let top = 63 - i64::from(m.leading_zeros()) + exp2; // m's leading bit is 2^top
    let mut quantum = (top - FRAC_BITS).max(MIN_QUANTUM);
    let shift = quantum - exp2;
    let mut kept = if shift <= 0 {
        // Exact: at most 53 bits once shifted into place.
        m << -shift
    } else if shift >= 128 {
        0 // below half the quantum: rounds to 0
    } else {
        let wide = u128::from(m);
        let kept = (wide >> shift) as u64;
        let half = (wide >> (shift - 1)) & 1 == 1;
        let below = wide & ((1u128 << (shift - 1)) - 1) != 0 || sticky;
        kept + u64::from(half && (below || kept & 1 == 1))
    };
    if kept == 1 << (FRAC_BITS + 1) {
        kept >>= 1;
        quantum += 1;
    }
    if kept < 1 << FRAC_BITS {
        // Subnormal (or 0): the quantum is 2^-1074 and the exponent field 0.
        return Some(kept);
    }
    let biased = quantum + FRAC_BITS + 1023;
    (biased < 0x7ff).then_some((biased as u64) << FRAC_BITS | kept & ((1 << FRAC_BITS) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_pcg::Pcg64Mcg;
    use GoFloatError::{Range, Syntax};

    fn bits(r: Result<f64, GoFloatError>) -> Result<u64, GoFloatError> {
        r.map(f64::to_bits)
    }

    fn check(s: &str, want: Result<f64, GoFloatError>) {
        assert_eq!(bits(parse_f64(s)), bits(want), "{s:?}");
    }

    const POS: GoFloatError = Range { negative: false };
    const NEG: GoFloatError = Range { negative: true };

    #[test]
    fn accepted_and_refused() {
        let tiny = f64::from_bits(1); // 2^-1074
        let one_up = f64::from_bits(1f64.to_bits() + 1); // 1 + 2^-52
        let cases: &[(&str, Result<f64, GoFloatError>)] = &[
            // Go's spec examples (hexadecimal and underscored literals).
            ("0x1p-2", Ok(0.25)),
            ("0x2.p10", Ok(2048.0)),
            ("0x1.Fp+0", Ok(1.9375)),
            ("0X.8p-0", Ok(0.5)),
            ("0x.8p-0", Ok(0.5)),
            ("0x_1FFFp-16", Ok(0.1249847412109375)),
            ("0x1Fp-2", Ok(7.75)),
            ("0x1p4", Ok(16.0)),
            ("0x1.8p1", Ok(3.0)),
            ("0x15ep-2", Ok(87.5)), // e is a hex digit: 0x15e × 2^-2
            ("1_5.", Ok(15.0)),
            ("0.15e+0_2", Ok(15.0)),
            ("1_000", Ok(1000.0)),
            ("1e1_0", Ok(1e10)),
            ("0_1", Ok(1.0)),
            ("-0x1p4", Ok(-16.0)),
            ("+0x1p4", Ok(16.0)),
            ("0x1p+4_0", Ok(1099511627776.0)),
            // Rust's decimal syntax.
            (".5", Ok(0.5)),
            ("5.", Ok(5.0)),
            ("5.e1", Ok(50.0)),
            ("1E+5", Ok(1e5)),
            ("-0", Ok(-0.0)),
            ("007", Ok(7.0)),
            // Specials.
            ("inf", Ok(f64::INFINITY)),
            ("-Infinity", Ok(f64::NEG_INFINITY)),
            ("+INF", Ok(f64::INFINITY)),
            // Hex rounding: ties to even, sticky bits, subnormals.
            ("0x1.fffffffffffff8p0", Ok(2.0)),
            ("0x1.00000000000008p0", Ok(1.0)),
            ("0x1.000000000000081p0", Ok(one_up)),
            ("0x1.0000000000000800000001p0", Ok(one_up)),
            ("0x1.00000000000008000000000p0", Ok(1.0)),
            (
                "0x1.00000000000018p0",
                Ok(f64::from_bits(1f64.to_bits() + 2)),
            ),
            ("0x1p-1074", Ok(tiny)),
            ("0x1p-1075", Ok(0.0)),
            ("-0x1p-1075", Ok(-0.0)),
            ("0x1.8p-1075", Ok(tiny)),
            ("0x1.0000001p-1075", Ok(tiny)),
            ("0x3p-1076", Ok(tiny)),
            ("0x1p-1022", Ok(f64::MIN_POSITIVE)),
            ("0x1.fffffffffffffp-1023", Ok(f64::MIN_POSITIVE)),
            ("0x1.fffffffffffffp1023", Ok(f64::MAX)),
            ("0x1.fffffffffffff7ffp1023", Ok(f64::MAX)),
            ("0x1p-99999", Ok(0.0)),
            ("0x0p99999", Ok(0.0)),
            ("-0x0p0", Ok(-0.0)),
            // Range errors; underflow is not one.
            ("1e400", Err(POS)),
            ("-1e400", Err(NEG)),
            ("0x1p1024", Err(POS)),
            ("-0x1p1024", Err(NEG)),
            ("0x1.fffffffffffff8p1023", Err(POS)),
            ("1.7976931348623159e308", Err(POS)),
            ("1e-400", Ok(0.0)),
            // Syntax errors.
            ("0x.p1", Err(Syntax)),
            ("1p-2", Err(Syntax)),
            ("1p4", Err(Syntax)),
            ("0x1.5e-2", Err(Syntax)),
            ("0x10", Err(Syntax)),
            ("0x15e-2", Err(Syntax)),
            ("0x", Err(Syntax)),
            ("0xp1", Err(Syntax)),
            ("1_.5", Err(Syntax)),
            ("1._5", Err(Syntax)),
            ("1.5_e1", Err(Syntax)),
            ("1.5e_1", Err(Syntax)),
            ("1.5e1_", Err(Syntax)),
            ("_1", Err(Syntax)),
            ("1_", Err(Syntax)),
            ("1__0", Err(Syntax)),
            ("0x1_p4", Err(Syntax)),
            ("0x1p_4", Err(Syntax)),
            ("0_x1p4", Err(Syntax)),
            ("+nan", Err(Syntax)),
            ("-nan", Err(Syntax)),
            ("NaNa", Err(Syntax)),
            ("infinit", Err(Syntax)),
            ("infx", Err(Syntax)),
            ("", Err(Syntax)),
            ("+", Err(Syntax)),
            (".", Err(Syntax)),
            (" 1", Err(Syntax)),
            ("1 ", Err(Syntax)),
            ("1e", Err(Syntax)),
            ("1.2.3", Err(Syntax)),
            ("500ms", Err(Syntax)),
            ("1,5", Err(Syntax)),
            ("١", Err(Syntax)), // a non-ASCII digit
        ];
        for (s, want) in cases {
            check(s, *want);
        }
        assert!(parse_f64("nan").unwrap().is_nan());
        assert!(parse_f64("NaN").unwrap().is_nan());
    }

    /// Go's own float64 table (`src/strconv/atof_test.go`, `atoftests`): input, Go's `%g` of
    /// the result ("+Inf"/"-Inf" with a range error when `range` is set).
    #[test]
    fn go_atof_table() {
        let long2 = "2".repeat(4000);
        let zeros = "0".repeat(10000);
        let owned = [
            (format!("2.{long2}e+1"), "22.22222222222222", false),
            (format!("0x2.{long2}p221"), "7.18931911124017e+66", false),
            (
                format!("1.00000000000000011102230246251565404236316680908203125{zeros}1"),
                "1.0000000000000002",
                false,
            ),
            (
                format!("0x1.00000000000008{zeros}1p0"),
                "1.0000000000000002",
                false,
            ),
        ];
        #[rustfmt::skip]
        let table: &[(&str, &str, bool)] = &[
            ("1", "1", false), ("+1", "1", false), ("1e23", "1e+23", false), ("1E23", "1e+23", false),
            ("100000000000000000000000", "1e+23", false), ("1e-100", "1e-100", false),
            ("99999999999999974834176", "9.999999999999997e+22", false),
            ("100000000000000016777216", "1.0000000000000003e+23", false),
            ("-0", "-0", false), ("625e-3", "0.625", false),
            ("0x1p0", "1", false), ("0x1ep-1", "15", false), ("-0x1_ep-1", "-15", false),
            ("0x1p-200", "6.223015277861142e-61", false), ("0x1p200", "1.6069380442589903e+60", false),
            ("0x1fFe2.P0", "131042", false), ("-0x2p3", "-16", false), ("0x0.fp4", "15", false),
            ("0e+01234567890123456789", "0", false), ("-0.00e-01234567890123456789", "-0", false),
            ("0x0p+01234567890123456789", "0", false), ("-0x0.00p-01234567890123456789", "-0", false),
            ("0e348", "0", false), ("-0x0p1026", "-0", false),
            ("-Infinity", "-Inf", false), ("+INFINITY", "+Inf", false),
            ("1.7976931348623157e308", "1.7976931348623157e+308", false),
            ("0x1fffffffffffffp+971", "1.7976931348623157e+308", false),
            ("-0x.1fffffffffffffp1027", "-1.7976931348623157e+308", false),
            ("-1.7976931348623159e308", "-Inf", true), ("0x2p1023", "+Inf", true),
            ("0x.1p1028", "+Inf", true), ("-0x.2p1027", "-Inf", true),
            ("1.7976931348623158e308", "1.7976931348623157e+308", false),
            ("0x1.fffffffffffff7fffp1023", "1.7976931348623157e+308", false),
            ("1.797693134862315808e308", "+Inf", true), ("-0x1.fffffffffffff8p1023", "-Inf", true),
            ("0x1fffffffffffff.8p+971", "+Inf", true), ("-0x1fffffffffffff8p+967", "-Inf", true),
            ("0x.1fffffffffffff8p1027", "+Inf", true), ("-0x.1fffffffffffff9p1027", "-Inf", true),
            ("2e308", "+Inf", true), ("1e400000", "+Inf", true), ("-1e400000", "-Inf", true),
            ("0x1p2000000000", "+Inf", true), ("-0x1p2000", "-Inf", true),
            ("5e-324", "5e-324", false), ("3e-324", "5e-324", false), ("2e-324", "0", false),
            ("1e-400000", "0", false),
            ("0x1.fffffffffffff7p-1010", "1.8227805048890992e-304", false),
            ("0x1.fffffffffffff8p-1010", "1.8227805048890994e-304", false),
            ("0x1.fffffffffffff8p-1022", "4.450147717014403e-308", false),
            ("0x0.fffffffffffff0p-1022", "2.225073858507201e-308", false),
            ("0x0.ffffffffffffe7p-1022", "2.2250738585072004e-308", false),
            ("0x1.ffffffffffffe8p-1023", "2.225073858507201e-308", false),
            ("0x0.00000003456788p-1022", "1.694649e-317", false),
            ("0x0.00000003456789p-1022", "1.6946496e-317", false),
            ("0x0.0000000345678800000000000000000000000001p-1022", "1.6946496e-317", false),
            ("0x0.00000000000058p-1022", "3e-323", false), ("0x0.00000000000057p-1022", "2.5e-323", false),
            ("0x0.000000000000081p-1022", "5e-324", false), ("0x0.00000000000008p-1022", "0", false),
            ("0x0.00000000000007fp-1022", "0", false),
            ("1e-4294967296", "0", false), ("1e+18446744073709551616", "+Inf", true),
            ("0x1p-18446744073709551616", "0", false), ("0x1p+4294967296", "+Inf", true),
            ("0x1p+2", "4", false), ("0x.1p-2", "0.015625", false),
            ("2.2250738585072011e-308", "2.225073858507201e-308", false),
            ("4.630813248087435e+307", "4.630813248087435e+307", false),
            ("0x2.2222222222222p221", "7.18931911124017e+66", false),
            ("1.00000000000000011102230246251565404236316680908203125", "1", false),
            ("0x1.00000000000007Fp0", "1", false), ("0x1.00000000000009p0", "1.0000000000000002", false),
            ("1_23.50_0_0e+1_2", "1.235e+14", false), ("0x_1_2.3_4_5p+1_2", "74565", false),
        ];
        let rows = table
            .iter()
            .map(|&(s, g, r)| (s, g, r))
            .chain(owned.iter().map(|(s, g, r)| (s.as_str(), *g, *r)));
        for (s, go, range) in rows {
            let want: f64 = go.replace("Inf", "inf").parse().unwrap();
            let want = if range {
                Err(Range {
                    negative: want < 0.0,
                })
            } else {
                Ok(want)
            };
            check(s, want);
        }
        #[rustfmt::skip]
        let syntax = [
            "", "1x", "1.1.", "0x1e2", "1p2", "1e", "1e-", ".e-1", "1\x00.2", "0x", "0x.", "0x1",
            "0x.1", "0x1p", "0x.1p", "0x1p+", "0x.1p+", "0x1p-", "0x.1p-",
            "-_123.5e+12", "+_123.5e+12", "_123.5e+12", "1__23.5e+12", "123_.5e+12", "123._5e+12",
            "123.5_e+12", "123.5__0e+12", "123.5e_+12", "123.5e+_12", "123.5e_-12", "123.5e-_12",
            "123.5e+1__2", "123.5e+12_",
            "-_0x12.345p+12", "+_0x12.345p+12", "_0x12.345p+12", "0x__12.345p+12", "0x1__2.345p+12",
            "0x12_.345p+12", "0x12._345p+12", "0x12.3__45p+12", "0x12.345_p+12", "0x12.345p_+12",
            "0x12.345p+_12", "0x12.345p_-12", "0x12.345p-_12", "0x12.345p+1__2", "0x12.345p+12_",
        ];
        for s in syntax {
            check(s, Err(Syntax));
        }
    }

    /// Go stops reading an exponent once it reaches 10000; with enough leading zeros that shows.
    #[test]
    fn exponent_capped_as_go_caps_it() {
        // 10^-9996 × 10^100005 is past f64's range, but Go reads the exponent as 10000 (its
        // digits 1, 10, 100, 1000, 10000, then no more): 10^4.
        check(&format!("0.{}1e100005", "0".repeat(9_995)), Ok(1e4));
        // 10^-100006 × 10^100006 is 1; Go reads 10^-100006 × 10^10000: 0.
        check(&format!("0.{}1e100006", "0".repeat(100_005)), Ok(0.0));
        // Below the cap the exponent is read in full.
        check(&format!("0.{}1e10006", "0".repeat(10_005)), Ok(1.0));
        check(&format!("0x0.{}1p40004", "0".repeat(9_999)), Ok(16.0));
        // The same cap on a binary exponent: 2^-10000 × 2^10000, not past the range.
        check(&format!("0x0.{}1p100004", "0".repeat(2_499)), Ok(1.0));
    }

    /// For decimal strings without underscores, Go and Rust agree: the same value when Rust's is
    /// finite, a range error when Rust's is infinite, a syntax error when Rust refuses.
    #[test]
    fn property_decimal_matches_rust() {
        let mut rng = Pcg64Mcg::seed_from_u64(0x060f_10a7);
        let pick = |rng: &mut Pcg64Mcg, from: &[u8]| from[rng.gen_range(0..from.len())] as char;
        for i in 0..100_000 {
            let s: String = match i % 4 {
                // Noise over the decimal alphabet.
                0 => (0..rng.gen_range(0..10))
                    .map(|_| pick(&mut rng, b"0123456789.eE+-"))
                    .collect(),
                // Shaped: sign, digits, point, digits, exponent.
                1 | 2 => {
                    let mut s = String::new();
                    let digits = |rng: &mut Pcg64Mcg, n: usize| -> String {
                        (0..rng.gen_range(0..=n))
                            .map(|_| pick(rng, b"0123456789"))
                            .collect()
                    };
                    if rng.gen_bool(0.3) {
                        s.push(pick(&mut rng, b"+-"));
                    }
                    s += &digits(&mut rng, 25);
                    if rng.gen_bool(0.5) {
                        s.push('.');
                        s += &digits(&mut rng, 25);
                    }
                    if rng.gen_bool(0.6) {
                        s.push(pick(&mut rng, b"eE"));
                        if rng.gen_bool(0.5) {
                            s.push(pick(&mut rng, b"+-"));
                        }
                        s += &digits(&mut rng, 4);
                    }
                    s
                }
                // Any f64, printed both ways.
                _ => {
                    let x = f64::from_bits(rng.gen());
                    if rng.gen_bool(0.5) {
                        format!("{x:e}")
                    } else {
                        format!("{x}")
                    }
                }
            };
            let want = match s.parse::<f64>() {
                Ok(v) if v.is_nan() => continue, // "NaN" from a NaN bit pattern
                Ok(v) if v.is_infinite() && !s.to_lowercase().contains("inf") => {
                    Err(Range { negative: v < 0.0 })
                }
                Ok(v) => Ok(v),
                Err(_) => Err(Syntax),
            };
            assert_eq!(bits(parse_f64(&s)), bits(want), "{s:?}");
        }
    }

    #[test]
    fn errors_display_as_go() {
        assert_eq!(Syntax.to_string(), "invalid syntax");
        assert_eq!(POS.to_string(), "value out of range");
    }
}
