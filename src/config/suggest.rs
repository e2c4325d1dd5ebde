//! "Did you mean ...?" suggestions: the one closeness rule and the one wording of the whole
//! program (`did you mean "x"?`). Addresses are compared by the part that differs, so that
//! names that share a prefix (`vm.nope`, `vm.web`) do not look alike for it.

use crate::addr::{ConfigAddress, ResourceAddress};

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

/// The wording of a suggestion: `did you mean "x"?`.
pub fn hint(found: impl std::fmt::Display) -> String {
    format!("did you mean \"{found}\"?")
}

/// `did you mean "x"?`, when there is a close candidate.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    closest(name, candidates).map(hint)
}

/// The declared address closest to `wanted`: a close name of the same type, or the same name
/// under a close type (`mv.web`). Whole addresses are not compared, since addresses of one type
/// share a prefix that makes any two look alike.
pub fn closest_address<'a>(
    wanted: &ConfigAddress,
    declared: impl IntoIterator<Item = &'a ConfigAddress>,
) -> Option<&'a ConfigAddress> {
    let declared: Vec<&ConfigAddress> = declared.into_iter().filter(|a| a.mode == wanted.mode).collect();
    let same_type = declared.iter().filter(|a| a.type_name == wanted.type_name).map(|a| a.name.as_str());
    if let Some(name) = closest(&wanted.name, same_type) {
        return declared.iter().copied().find(|a| a.type_name == wanted.type_name && a.name == name);
    }
    let same_name = declared.iter().filter(|a| a.name == wanted.name).map(|a| a.type_name.as_str());
    let type_name = closest(&wanted.type_name, same_name)?;
    declared.iter().copied().find(|a| a.type_name == type_name && a.name == wanted.name)
}

/// `did you mean "vm.web"?` for a reference to an undeclared resource ([`closest_address`]).
pub fn did_you_mean_address<'a>(
    wanted: &ConfigAddress,
    declared: impl IntoIterator<Item = &'a ConfigAddress>,
) -> Option<String> {
    closest_address(wanted, declared).map(hint)
}

/// `did you mean "vm.web[0]"?` for an instance that is not among `known` (the state's): when its
/// block is known, a close instance key of it (or its first instance, for an address without
/// one); otherwise an instance of the closest block ([`closest_address`]), with the same key
/// when it has one.
pub fn did_you_mean_instance<'a>(
    wanted: &ResourceAddress,
    known: impl IntoIterator<Item = &'a ResourceAddress>,
) -> Option<String> {
    let known: Vec<&ResourceAddress> = known.into_iter().collect();
    fn of<'k>(known: &[&'k ResourceAddress], config: &ConfigAddress) -> Vec<&'k ResourceAddress> {
        known.iter().copied().filter(|k| k.config == *config).collect()
    }
    let instances_of = |config: &ConfigAddress| of(&known, config).into_iter();
    if instances_of(&wanted.config).next().is_some() {
        if wanted.key == crate::addr::InstanceKey::None {
            return instances_of(&wanted.config).next().map(hint);
        }
        let keys: Vec<String> = instances_of(&wanted.config).map(|k| key_text(&k.key)).collect();
        let key = closest(&key_text(&wanted.key), keys.iter().map(String::as_str))?;
        return instances_of(&wanted.config).find(|k| key_text(&k.key) == key).map(hint);
    }
    let config = closest_address(&wanted.config, known.iter().map(|k| &k.config))?;
    let mut of_config = instances_of(config);
    let first = of_config.next()?;
    Some(hint(std::iter::once(first).chain(of_config).find(|k| k.key == wanted.key).unwrap_or(first)))
}

/// An instance key as the text it was written from (`0`, `a`), compared without brackets and
/// quotes that every key has.
fn key_text(key: &crate::addr::InstanceKey) -> String {
    match key {
        crate::addr::InstanceKey::None => String::new(),
        crate::addr::InstanceKey::Int(i) => i.to_string(),
        crate::addr::InstanceKey::Str(s) => s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(a: &str) -> ResourceAddress {
        a.parse::<ResourceAddress>().unwrap()
    }

    fn address(a: &str) -> ConfigAddress {
        instance(a).config
    }

    #[test]
    fn addresses_are_compared_by_the_part_that_differs() {
        let declared: Vec<ConfigAddress> =
            ["vm.b", "vm.web", "data.template.c", "pool.web"].iter().map(|a| address(a)).collect();
        let hint = |a: &str| did_you_mean_address(&address(a), &declared);
        assert_eq!(hint("vm.nope"), None);
        assert_eq!(hint("data.template.missing"), None);
        assert_eq!(hint("vm.wbe").as_deref(), Some("did you mean \"vm.web\"?"));
        assert_eq!(hint("mv.web").as_deref(), Some("did you mean \"vm.web\"?"));
        assert_eq!(hint("data.tempalte.c").as_deref(), Some("did you mean \"data.template.c\"?"));
    }

    #[test]
    fn instances_are_compared_by_the_part_that_differs() {
        let known: Vec<ResourceAddress> = ["vm.web[0]", "vm.web[1]", "vm.db[\"a\"]", "pool.prod", "data.node.pve1"]
            .iter()
            .map(|a| instance(a))
            .collect();
        let hint = |a: &str| did_you_mean_instance(&instance(a), &known);
        // What the state's whole-address comparison got wrong: a name that is not close.
        assert_eq!(hint("vm.nope"), None);
        assert_eq!(hint("vm.nope[0]"), None);
        assert_eq!(hint("pool.test"), None);
        assert_eq!(hint("vm.wbe[1]").as_deref(), Some("did you mean \"vm.web[1]\"?"));
        assert_eq!(hint("vm.wbe").as_deref(), Some("did you mean \"vm.web[0]\"?"));
        assert_eq!(hint("vm.web").as_deref(), Some("did you mean \"vm.web[0]\"?"));
        assert_eq!(hint("vm.db[\"aa\"]").as_deref(), Some("did you mean \"vm.db[\"a\"]\"?"));
        assert_eq!(hint("vm.db[\"b\"]"), None);
        assert_eq!(hint("vm.web[7]"), None);
        assert_eq!(hint("pool.prd").as_deref(), Some("did you mean \"pool.prod\"?"));
        assert_eq!(hint("data.node.pve2").as_deref(), Some("did you mean \"data.node.pve1\"?"));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest("nmae", ["name", "node", "tags"]), Some("name"));
        assert_eq!(closest("zzz", ["name", "node"]), None);
        assert_eq!(did_you_mean("nmae", ["name"]).as_deref(), Some("did you mean \"name\"?"));
    }
}
