//! "Did you mean ...?" suggestions.

/// The closest candidate to `name`, if one is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        // Jaro-Winkler is harsh on short names (`mv` for `vm`): one edit is close there too.
        .filter(|(score, c)| *score >= 0.8 || (name.len() >= 2 && strsim::osa_distance(name, c) <= 1))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// `did you mean "x"?`, when there is a close candidate.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(|c| format!("did you mean \"{c}\"?"))
}

/// `did you mean "vm.web"?` for a reference to an undeclared resource: a close name of the
/// same type, or the same name under a close type (`mv.web`). Whole addresses are not compared,
/// since addresses of one type share a prefix that makes any two look alike.
pub fn did_you_mean_address<'a>(
    wanted: &crate::addr::ConfigAddress,
    declared: impl IntoIterator<Item = &'a crate::addr::ConfigAddress>,
) -> Option<String> {
    let declared: Vec<&crate::addr::ConfigAddress> = declared.into_iter().filter(|a| a.mode == wanted.mode).collect();
    let same_type = declared.iter().filter(|a| a.type_name == wanted.type_name).map(|a| a.name.as_str());
    if let Some(name) = closest(&wanted.name, same_type) {
        let found = declared.iter().find(|a| a.type_name == wanted.type_name && a.name == name)?;
        return Some(format!("did you mean \"{found}\"?"));
    }
    let same_name = declared.iter().filter(|a| a.name == wanted.name).map(|a| a.type_name.as_str());
    let type_name = closest(&wanted.type_name, same_name)?;
    let found = declared.iter().find(|a| a.type_name == type_name && a.name == wanted.name)?;
    Some(format!("did you mean \"{found}\"?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(a: &str) -> crate::addr::ConfigAddress {
        a.parse::<crate::addr::ResourceAddress>().unwrap().config
    }

    #[test]
    fn addresses_are_compared_by_the_part_that_differs() {
        let declared: Vec<crate::addr::ConfigAddress> =
            ["vm.b", "vm.web", "data.template.c", "pool.web"].iter().map(|a| address(a)).collect();
        let hint = |a: &str| did_you_mean_address(&address(a), &declared);
        assert_eq!(hint("vm.nope"), None);
        assert_eq!(hint("data.template.missing"), None);
        assert_eq!(hint("vm.wbe").as_deref(), Some("did you mean \"vm.web\"?"));
        assert_eq!(hint("mv.web").as_deref(), Some("did you mean \"vm.web\"?"));
        assert_eq!(hint("data.tempalte.c").as_deref(), Some("did you mean \"data.template.c\"?"));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("nmae", ["name", "node", "tags"]), Some("name"));
        assert_eq!(closest("zzz", ["name", "node"]), None);
    }
}
