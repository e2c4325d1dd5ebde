//! Timestamps: RFC 3339 strings, as Terraform has them (`formatdate`, `timeadd`, `timecmp`).

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

use super::{Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

fn timestamp(a: &Args, i: usize) -> std::result::Result<DateTime<FixedOffset>, FunctionError> {
    let text = a.string(i)?;
    DateTime::parse_from_rfc3339(&text)
        .map_err(|e| a.err(i, format!("{text:?} is not an RFC 3339 timestamp (like 2018-01-02T23:12:01Z): {e}")))
}

fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `timeadd(timestamp, duration)`: durations as Go writes them (`1h30m`, `-10m`, `1.5h`, `300ms`).
pub(super) fn timeadd(_: &FunctionContext, a: &Args) -> Result {
    let t = timestamp(a, 0)?;
    let text = a.string(1)?;
    let nanos = parse_duration(&text).ok_or_else(|| {
        a.err(1, format!("{text:?} is not a duration: use numbers with units ns, us, ms, s, m or h, like \"1h30m\""))
    })?;
    let sum = t
        .checked_add_signed(chrono::Duration::nanoseconds(nanos))
        .ok_or_else(|| a.err(1, "the result is outside the range of timestamps"))?;
    Ok(Value::String(rfc3339(&sum)))
}

/// Go's `time.ParseDuration`, in nanoseconds.
fn parse_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    let nanos = if negative { -total } else { total };
    (nanos.abs() < 9.2e18).then_some(nanos.round() as i64)
}

/// -1, 0 or 1: whether the first instant is before, the same as or after the second.
pub(super) fn timecmp(_: &FunctionContext, a: &Args) -> Result {
    let (x, y) = (timestamp(a, 0)?, timestamp(a, 1)?);
    Ok(Value::Number(match x.cmp(&y) {
        std::cmp::Ordering::Less => -1.0,
        std::cmp::Ordering::Equal => 0.0,
        std::cmp::Ordering::Greater => 1.0,
    }))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `formatdate(spec, timestamp)` with Terraform's sequences (`YYYY`, `MMM`, `DD`, `EEEE`, `hh`,
/// `HH`, `aa`, `mm`, `ss`, `ZZZ`...); other letters are an error, `'quoted'` text is literal.
pub(super) fn formatdate(_: &FunctionContext, a: &Args) -> Result {
    let spec = a.string(0)?;
    let t = timestamp(a, 1)?;
    let chars: Vec<char> = spec.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // A quoted literal; '' inside (or alone) is a quote.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(a.err(0, "unterminated literal '")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        out.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        out.push(*ch);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|x| **x == c).count();
        let seq: String = chars[i..i + run].iter().collect();
        i += run;
        let offset = t.offset().local_minus_utc();
        let zone = |colon: bool| {
            let sign = if offset < 0 { '-' } else { '+' };
            let (h, m) = (offset.abs() / 3600, offset.abs() % 3600 / 60);
            if colon {
                format!("{sign}{h:02}:{m:02}")
            } else {
                format!("{sign}{h:02}{m:02}")
            }
        };
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let text = match seq.as_str() {
            "YYYY" => format!("{:04}", t.year()),
            "YY" => format!("{:02}", t.year() % 100),
            "MMMM" => MONTHS[t.month0() as usize].to_string(),
            "MMM" => MONTHS[t.month0() as usize][..3].to_string(),
            "MM" => format!("{:02}", t.month()),
            "M" => t.month().to_string(),
            "DD" => format!("{:02}", t.day()),
            "D" => t.day().to_string(),
            "EEEE" => DAYS[t.weekday().num_days_from_monday() as usize].to_string(),
            "EEE" => DAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
            "hh" => format!("{:02}", t.hour()),
            "h" => t.hour().to_string(),
            "HH" => format!("{hour12:02}"),
            "H" => hour12.to_string(),
            "AA" => (if t.hour() < 12 { "AM" } else { "PM" }).to_string(),
            "aa" => (if t.hour() < 12 { "am" } else { "pm" }).to_string(),
            "mm" => format!("{:02}", t.minute()),
            "m" => t.minute().to_string(),
            "ss" => format!("{:02}", t.second()),
            "s" => t.second().to_string(),
            "ZZZZZ" => zone(true),
            "ZZZZ" => zone(false),
            "ZZZ" if offset == 0 => "UTC".to_string(),
            "ZZZ" => zone(false),
            "Z" if offset == 0 => "Z".to_string(),
            "Z" => zone(true),
            other => {
                return Err(a.err(0, format!("invalid date format sequence {other:?}: quote literal letters, like 'T'")))
            }
        };
        out.push_str(&text);
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_as_go_writes_them() {
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("-10m"), Some(-600_000_000_000));
        assert_eq!(parse_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1d"), None);
    }
}
