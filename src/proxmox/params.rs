//! Request parameters, form-encoded the way PVE expects (booleans as 1/0).

use std::fmt::Display;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn new() -> Self {
        Params(Vec::new())
    }

    /// Sets `key` (replacing an earlier value).
    pub fn set(mut self, key: &str, value: impl Display) -> Self {
        self.insert(key, value.to_string());
        self
    }

    pub fn set_bool(self, key: &str, value: bool) -> Self {
        self.set(key, if value { 1 } else { 0 })
    }

    pub fn set_opt(self, key: &str, value: Option<impl Display>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub fn insert(&mut self, key: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Params::new();
        for (k, v) in iter {
            p.insert(&k.into(), v.into());
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_and_replacement() {
        let p = Params::new().set("cores", 2).set_bool("onboot", true).set_bool("start", false).set("cores", 4);
        assert_eq!(serde_urlencoded::to_string(&p.0).unwrap(), "cores=4&onboot=1&start=0");
    }
}
