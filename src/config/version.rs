//! `pmx { required_version = ">= 0.1, < 2" }`: Terraform's version constraints, checked against
//! the running pmx.

/// Whether `version` (`MAJOR.MINOR.PATCH`) meets every comma-separated constraint: `=`, `!=`,
/// `>`, `>=`, `<`, `<=`, or `~>` (only the rightmost given part may grow: `~> 1.2` is `>= 1.2,
/// < 2`, `~> 1.2.3` is `>= 1.2.3, < 1.3`). A bare version means `=`.
pub fn satisfies(constraints: &str, version: &str) -> Result<bool, String> {
    let have = parse(version).ok_or_else(|| format!("cannot read the version {version:?}"))?;
    let mut all = true;
    for part in constraints.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err("an empty constraint".to_string());
        }
        let (op, rest) = ["~>", ">=", "<=", "!=", "=", ">", "<"]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|r| (*op, r.trim())))
            .unwrap_or(("=", part));
        let given = rest.split('.').count();
        let want = parse(rest).ok_or_else(|| format!("{part:?} is not a version constraint (try \">= 0.1\")"))?;
        let ok = match op {
            "=" => have == want,
            "!=" => have != want,
            ">" => have > want,
            ">=" => have >= want,
            "<" => have < want,
            "<=" => have <= want,
            _ => {
                // ~>: at least `want`, below the next release of the second-to-last given part.
                let upper = match given {
                    1 => [want[0] + 1, 0, 0],
                    2 => [want[0] + 1, 0, 0],
                    _ => [want[0], want[1] + 1, 0],
                };
                have >= want && have < upper
            }
        };
        all &= ok;
    }
    Ok(all)
}

/// `1`, `1.2` or `1.2.3` (a `-pre` suffix is ignored) as three numbers.
fn parse(text: &str) -> Option<[u64; 3]> {
    let core = text.trim().trim_start_matches('v').split(['-', '+']).next()?;
    let mut out = [0u64; 3];
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        out[i] = p.parse().ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::satisfies;

    #[test]
    fn terraform_style_constraints() {
        assert_eq!(satisfies(">= 0.1", "0.1.0"), Ok(true));
        assert_eq!(satisfies(">= 0.1, < 0.2", "0.1.7"), Ok(true));
        assert_eq!(satisfies(">= 99.0", "0.1.0"), Ok(false));
        assert_eq!(satisfies("0.1.0", "0.1.0"), Ok(true));
        assert_eq!(satisfies("!= 0.1.0", "0.1.0"), Ok(false));
        assert_eq!(satisfies("~> 0.1", "0.9.3"), Ok(true));
        assert_eq!(satisfies("~> 0.1", "1.0.0"), Ok(false));
        assert_eq!(satisfies("~> 0.1.2", "0.1.9"), Ok(true));
        assert_eq!(satisfies("~> 0.1.2", "0.2.0"), Ok(false));
        assert!(satisfies(">= banana", "0.1.0").unwrap_err().contains("not a version constraint"));
        assert!(satisfies(">= 0.1,", "0.1.0").is_err());
    }
}
