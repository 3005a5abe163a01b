//! Artillery's value rules, as its own code applies them to a phase before it runs:
//! lodash `_.toNumber` for every numeric field, the `ms` package's duration strings, the
//! phaser's duration rule (art `packages/artillery/lib/core/phases.ts` phaser) and the local
//! runner's routing of each phase by truthiness (art `packages/artillery/lib/dist.ts`
//! divideWork). Spec: `shared/reference/importing-load-tests.md` §2.2–2.3.

use serde_json::Value;

/// `ms` (vercel/ms 2.x `parse`): `-?\d*\.?\d+`, optional spaces, an optional unit in any case;
/// no unit means milliseconds; over 100 characters or no match gives `None`. Milliseconds.
pub fn ms(s: &str) -> Option<f64> {
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    let (neg, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let num_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let num = &rest[..num_len];
    // `\d*\.?\d+`: at most one dot, ending in a digit.
    if num.is_empty()
        || num.matches('.').count() > 1
        || !num.ends_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let unit = rest[num_len..].trim_start_matches(' ').to_ascii_lowercase();
    const S: f64 = 1000.0;
    const M: f64 = S * 60.0;
    const H: f64 = M * 60.0;
    const D: f64 = H * 24.0;
    let factor = match unit.as_str() {
        "years" | "year" | "yrs" | "yr" | "y" => D * 365.25,
        "weeks" | "week" | "w" => D * 7.0,
        "days" | "day" | "d" => D,
        "hours" | "hour" | "hrs" | "hr" | "h" => H,
        "minutes" | "minute" | "mins" | "min" | "m" => M,
        "seconds" | "second" | "secs" | "sec" | "s" => S,
        "milliseconds" | "millisecond" | "msecs" | "msec" | "ms" | "" => 1.0,
        _ => return None,
    };
    let n: f64 = num.parse().ok()?;
    Some(if neg { -n } else { n } * factor)
}

/// JavaScript's `Number(string)` after trimming: decimal literals (with exponent, `.5`,
/// `5.`), `Infinity`, hex/octal/binary integers; the empty string is 0; anything else NaN.
fn js_string_to_number(s: &str) -> f64 {
    let t = s.trim();
    if t.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if t.len() > 2 && t.get(..2).is_some_and(|p| p.eq_ignore_ascii_case(prefix)) {
            return u128::from_str_radix(&t[2..], radix).map_or(f64::NAN, |v| v as f64);
        }
    }
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let (mant, exp) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let mant_ok = mant.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mant.matches('.').count() <= 1
        && mant.chars().any(|c| c.is_ascii_digit());
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['+', '-']).unwrap_or(e);
        !d.is_empty() && d.chars().all(|c| c.is_ascii_digit())
    });
    if mant_ok && exp_ok {
        t.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

/// lodash `_.toNumber` (4.17): numbers as they are, `null`/`false` 0, `true` 1, strings
/// trimmed then as `Number()` (a signed hex string is NaN); objects and arrays NaN here.
pub fn to_number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => {
            let t = s.trim();
            let u = t.strip_prefix(['+', '-']).unwrap_or(t);
            if u.len() != t.len() && u.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x")) {
                return f64::NAN;
            }
            js_string_to_number(t)
        }
        _ => f64::NAN,
    }
}

/// JavaScript truthiness of a YAML value: `null`, `false`, 0, NaN and `""` are falsy; every
/// other string (even `"0"`) is truthy.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// A value in Artillery's messages and in the expressions ensure builds: a string as it is, a
/// number as JavaScript's template literal prints it (`${v}`: `1.0` is `1`, `1e21` `1e+21`),
/// anything else as JSON (clearer than JavaScript's `[object Object]`).
pub fn js_display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => js_number(n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}

/// A number as JavaScript prints it (`String(x)`): integers without a fraction, exponent form
/// below 1e-6 and from 1e21, `NaN`, `Infinity`.
pub fn js_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-6..1e21).contains(&a) {
        // Rust's shortest round-trip digits are JavaScript's; only the notation differs.
        return format!("{x}");
    }
    let e = format!("{x:e}");
    match e.split_once('e') {
        Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
        _ => e,
    }
}

/// A phase's `duration` or `pause` in seconds, as the phaser converts it: an integer (or a
/// string `_.toNumber` makes an integer) is seconds, anything else goes through `ms()` / 1000;
/// a falsy result is Artillery's error `Invalid <key> for phase: <value>`.
pub fn phase_seconds(key: &str, v: &Value) -> Result<f64, String> {
    let n = to_number(v);
    let secs = if n.is_finite() && n.fract() == 0.0 {
        // The phaser keeps the raw value, which is falsy when it is 0, "" or null.
        truthy(v).then_some(n)
    } else {
        match v {
            Value::String(s) => ms(s).map(|m| m / 1000.0),
            // ms(number) formats instead of parsing: `ms(0.5) / 1000` is NaN.
            _ => None,
        }
        .filter(|s| *s != 0.0 && !s.is_nan())
    };
    secs.ok_or_else(|| {
        format!(
            "Invalid {key} for phase: {} (Artillery's error); expected whole seconds (60 or \
             \"60\") or an ms duration string (\"9 seconds\", \"0.5 min\", \"2m\", \"500ms\")",
            js_display(v)
        )
    })
}

/// What divideWork does with a phase in a local run, decided on the raw values' truthiness
/// in this order: `rampTo`, `arrivalRate`, `arrivalCount`, `pause`; a phase with none of
/// them truthy is skipped ("Unknown phase spec definition, skipping"), taking no time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `rampTo` truthy: a ramp, with `arrivalRate ||= 0`.
    Ramp,
    /// `arrivalRate` truthy: its integer split; the phaser decides the type after it.
    Rate,
    Count,
    Pause,
    Skipped,
}

pub fn route(
    ramp_to: Option<&Value>,
    arrival_rate: Option<&Value>,
    arrival_count: Option<&Value>,
    pause: Option<&Value>,
) -> Route {
    let t = |v: Option<&Value>| v.is_some_and(truthy);
    if t(ramp_to) {
        Route::Ramp
    } else if t(arrival_rate) {
        Route::Rate
    } else if t(arrival_count) {
        Route::Count
    } else if t(pause) {
        Route::Pause
    } else {
        Route::Skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn js_number_prints_as_javascript() {
        for (x, s) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (123456789012.0, "123456789012"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(js_number(x), s);
        }
        // js_display: the template literal's text for numbers, JSON for structures.
        assert_eq!(js_display(&json!(60.0)), "60");
        assert_eq!(js_display(&json!(1e21)), "1e+21");
        assert_eq!(js_display(&json!("5 potatoes")), "5 potatoes");
        assert_eq!(js_display(&json!({"a": 1})), r#"{"a":1}"#);
    }

    #[test]
    fn ms_package_examples() {
        // vercel/ms README and test/index.test.js ("should convert ... to ms").
        assert_eq!(ms("2 days"), Some(172_800_000.0));
        assert_eq!(ms("1d"), Some(86_400_000.0));
        assert_eq!(ms("10h"), Some(36_000_000.0));
        assert_eq!(ms("2.5 hrs"), Some(9_000_000.0));
        assert_eq!(ms("2h"), Some(7_200_000.0));
        assert_eq!(ms("1m"), Some(60_000.0));
        assert_eq!(ms("5s"), Some(5000.0));
        assert_eq!(ms("1y"), Some(31_557_600_000.0));
        assert_eq!(ms("100"), Some(100.0));
        assert_eq!(ms("-3 days"), Some(-259_200_000.0));
        assert_eq!(ms("-1h"), Some(-3_600_000.0));
        assert_eq!(ms("-200"), Some(-200.0));
        assert_eq!(ms(".5ms"), Some(0.5));
        assert_eq!(ms("1   s"), Some(1000.0));
        assert_eq!(ms("1.5H"), Some(5_400_000.0));
        assert_eq!(ms("53 milliseconds"), Some(53.0));
        assert_eq!(ms("1 week"), Some(604_800_000.0));
        // No match: invalid, compound, trailing dot, too long.
        assert_eq!(ms("☃"), None);
        assert_eq!(ms("10-.5"), None);
        assert_eq!(ms("ms"), None);
        assert_eq!(ms("1h30m"), None);
        assert_eq!(ms("5."), None);
        assert_eq!(ms(""), None);
        assert_eq!(ms(&"1".repeat(101)), None);
        assert_eq!(ms(" 5s"), None);
    }

    #[test]
    fn lodash_to_number() {
        assert_eq!(to_number(&json!(3.2)), 3.2);
        assert_eq!(to_number(&json!("3.2")), 3.2);
        assert_eq!(to_number(&json!(" 15 ")), 15.0);
        assert_eq!(to_number(&json!("1e3")), 1000.0);
        assert_eq!(to_number(&json!("")), 0.0);
        assert_eq!(to_number(&json!(null)), 0.0);
        assert_eq!(to_number(&json!(true)), 1.0);
        assert_eq!(to_number(&json!("0x1F")), 31.0);
        assert_eq!(to_number(&json!("0b101")), 5.0);
        assert_eq!(to_number(&json!("0o17")), 15.0);
        assert_eq!(to_number(&json!(".5")), 0.5);
        assert_eq!(to_number(&json!("5.")), 5.0);
        assert_eq!(to_number(&json!("-Infinity")), f64::NEG_INFINITY);
        for nan in ["-0x1F", "abc", "5s", "inf", "NaN", "1e", "1_000"] {
            assert!(to_number(&json!(nan)).is_nan(), "{nan}");
        }
        assert!(to_number(&json!([1])).is_nan());
    }

    /// importing-load-tests.md §2.2 "Results (run in Node)".
    #[test]
    fn phase_durations_as_node_computes_them() {
        let ok = |v: Value| phase_seconds("duration", &v).unwrap();
        assert_eq!(ok(json!(60)), 60.0);
        assert_eq!(ok(json!("60")), 60.0);
        assert_eq!(ok(json!("1e3")), 1000.0);
        assert_eq!(ok(json!("9 seconds")), 9.0);
        assert_eq!(ok(json!("0.5 min")), 30.0);
        assert_eq!(ok(json!("1m")), 60.0);
        assert_eq!(ok(json!("1.5m")), 90.0);
        assert_eq!(ok(json!("10S")), 10.0);
        assert_eq!(ok(json!("-5s")), -5.0);
        assert_eq!(ok(json!("1.5")), 0.0015);
        // "0" is a truthy string: accepted as 0.
        assert_eq!(ok(json!("0")), 0.0);
        for bad in [json!(0), json!(0.5), json!(""), json!(null), json!("1h30m")] {
            let e = phase_seconds("duration", &bad).unwrap_err();
            assert!(e.starts_with("Invalid duration for phase: "), "{e}");
        }
        assert!(phase_seconds("duration", &json!("5 potatoes"))
            .unwrap_err()
            .starts_with("Invalid duration for phase: 5 potatoes"));
        assert!(phase_seconds("pause", &json!(0))
            .unwrap_err()
            .starts_with("Invalid pause for phase: 0"));
    }

    #[test]
    fn divide_work_routes_by_truthiness() {
        let (z, one, s0) = (json!(0), json!(1), json!("0"));
        assert_eq!(route(Some(&one), None, None, None), Route::Ramp);
        assert_eq!(route(Some(&z), Some(&one), None, None), Route::Rate);
        assert_eq!(route(None, Some(&z), None, None), Route::Skipped);
        assert_eq!(route(None, Some(&s0), None, None), Route::Rate);
        assert_eq!(route(None, Some(&z), Some(&one), None), Route::Count);
        assert_eq!(route(None, None, Some(&z), None), Route::Skipped);
        assert_eq!(route(None, None, None, Some(&one)), Route::Pause);
        assert_eq!(route(Some(&z), Some(&z), None, None), Route::Skipped);
    }
}
