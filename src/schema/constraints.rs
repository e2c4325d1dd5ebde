//! Checking a resource's [`Constraint`]s against a configuration body. The body is seen through
//! [`ConfigBody`], so the config loader (spans, expressions) and tests (plain HCL) can both use it.

use super::*;

/// What the constraint checker needs to know about a block body.
pub trait ConfigBody {
    /// Whether the attribute is set.
    fn has(&self, attribute: &str) -> bool;
    /// Calls `f` with each nested block of this name and its label (the slot, for a slotted
    /// block). A callback rather than a list, so that implementations may wrap on the fly.
    fn each_block(&self, name: &str, f: &mut dyn FnMut(Option<&str>, &dyn ConfigBody));
}

/// A broken rule: where (`block` and its label, or the resource itself), which attributes are
/// involved (to point at them), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub block: Option<(&'static str, Option<String>)>,
    pub attributes: Vec<&'static str>,
    pub message: String,
}

impl ResourceType {
    /// Every rule of this type that `body` breaks.
    pub fn check_constraints(&self, body: &dyn ConfigBody) -> Vec<Violation> {
        let mut out = vec![];
        for rule in &self.constraints {
            match rule {
                Constraint::ExactlyOneOf { block, attributes } => each_body(body, *block, &mut |at, b| {
                    let set: Vec<&'static str> = attributes.iter().copied().filter(|a| b.has(a)).collect();
                    if set.len() != 1 {
                        let names = quoted(attributes).join(" or ");
                        let message = match set.len() {
                            0 => format!("{} needs one of {names}", place(*block, &at)),
                            _ => format!(
                                "{} sets {}: only one of them may be set",
                                place(*block, &at),
                                quoted(&set).join(" and ")
                            ),
                        };
                        let attributes = if set.is_empty() { vec![] } else { set };
                        out.push(Violation { block: block.map(|n| (n, at)), attributes, message });
                    }
                }),
                Constraint::Requires { block, when, then } => each_body(body, *block, &mut |at, b| {
                    if b.has(when) && !b.has(then) {
                        out.push(Violation {
                            block: block.map(|n| (n, at.clone())),
                            attributes: vec![when],
                            message: format!(
                                "{} sets \"{when}\" but not \"{then}\", which it requires",
                                place(*block, &at)
                            ),
                        });
                    }
                }),
                Constraint::OnlyInSlots { block, attribute, slots } => {
                    body.each_block(block, &mut |label, b| {
                        let Some(slot) = label else { return };
                        if b.has(attribute) && pattern_matches(slots, slot) == Some(false) {
                            out.push(Violation {
                                message: format!("\"{attribute}\" is not supported on {block} \"{slot}\" (only slots matching {slots})"),
                                block: Some((block, Some(slot.to_string()))),
                                attributes: vec![attribute],
                            });
                        }
                    });
                }
            }
        }
        out
    }
}

/// Runs `f` on the resource body (`block` = None) or on each instance of `block`.
fn each_body(body: &dyn ConfigBody, block: Option<&'static str>, f: &mut dyn FnMut(Option<String>, &dyn ConfigBody)) {
    match block {
        None => f(None, body),
        Some(name) => body.each_block(name, &mut |label, b| f(label.map(str::to_string), b)),
    }
}

fn place(block: Option<&str>, label: &Option<String>) -> String {
    match (block, label) {
        (None, _) => "the block".to_string(),
        (Some(b), Some(l)) => format!("{b} \"{l}\""),
        (Some(b), None) => b.to_string(),
    }
}

fn quoted(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("\"{n}\"")).collect()
}

impl std::fmt::Display for Constraint {
    /// The rule in words, for the reference docs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scope = |block: &Option<&str>| match block {
            Some(b) => format!("In each `{b}` block, "),
            None => String::new(),
        };
        match self {
            Constraint::ExactlyOneOf { block, attributes } => {
                let names: Vec<String> = attributes.iter().map(|a| format!("`{a}`")).collect();
                let text = format!("{}exactly one of {} must be set.", scope(block), names.join(", "));
                f.write_str(&capitalize(&text))
            }
            Constraint::Requires { block, when, then } => {
                let text = format!("{}`{when}` requires `{then}`.", scope(block));
                f.write_str(&capitalize(&text))
            }
            Constraint::OnlyInSlots { block, attribute, slots } => {
                write!(f, "`{block}.{attribute}` is only allowed in slots matching `{slots}`.")
            }
        }
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body made of attribute names and labelled blocks.
    #[derive(Default)]
    struct Body {
        attributes: Vec<&'static str>,
        blocks: Vec<(&'static str, Option<String>, Body)>,
    }

    impl ConfigBody for Body {
        fn has(&self, attribute: &str) -> bool {
            self.attributes.contains(&attribute)
        }
        fn each_block(&self, name: &str, f: &mut dyn FnMut(Option<&str>, &dyn ConfigBody)) {
            for (_, label, body) in self.blocks.iter().filter(|(n, _, _)| *n == name) {
                f(label.as_deref(), body);
            }
        }
    }

    fn attrs(names: &[&'static str]) -> Body {
        Body { attributes: names.to_vec(), blocks: vec![] }
    }

    #[test]
    fn a_template_lookup_needs_exactly_one_of_name_and_vmid() {
        let template = registry().data_source("template").expect("template");
        assert!(template.check_constraints(&attrs(&["name"])).is_empty());
        assert!(template.check_constraints(&attrs(&["vmid", "node"])).is_empty());
        let none = template.check_constraints(&attrs(&["node"]));
        assert_eq!(none.len(), 1);
        assert!(none[0].message.contains("needs one of \"name\" or \"vmid\""), "{}", none[0].message);
        let both = template.check_constraints(&attrs(&["name", "vmid"]));
        assert_eq!(both[0].attributes, ["name", "vmid"]);
        assert!(both[0].message.contains("only one of them"), "{}", both[0].message);
    }

    #[test]
    fn slot_only_attributes_are_refused_elsewhere() {
        let vm = registry().resource("vm").expect("vm");
        let body = Body {
            attributes: vec!["node"],
            blocks: vec![
                ("disk", Some("scsi0".into()), attrs(&["size", "ssd", "iothread"])),
                ("disk", Some("virtio0".into()), attrs(&["size", "ssd", "iothread"])),
                ("disk", Some("sata0".into()), attrs(&["size", "iothread"])),
            ],
        };
        let problems = vm.check_constraints(&body);
        let slots: Vec<_> = problems.iter().map(|v| (v.block.clone(), v.attributes.clone())).collect();
        assert_eq!(
            slots,
            [
                (Some(("disk", Some("virtio0".to_string()))), vec!["ssd"]),
                (Some(("disk", Some("sata0".to_string()))), vec!["iothread"])
            ]
        );
    }

    #[test]
    fn a_new_mount_point_volume_needs_a_size() {
        let ct = registry().resource("container").expect("container");
        let with = |mp: Body| Body { attributes: vec![], blocks: vec![("mountpoint", Some("mp0".into()), mp)] };
        assert!(ct.check_constraints(&with(attrs(&["storage", "size", "path"]))).is_empty());
        assert!(ct.check_constraints(&with(attrs(&["volume", "path"]))).is_empty());
        let missing_size = ct.check_constraints(&with(attrs(&["storage", "path"])));
        assert_eq!(missing_size.len(), 1);
        assert!(missing_size[0].message.contains("mountpoint \"mp0\" sets \"storage\" but not \"size\""));
        let neither = ct.check_constraints(&with(attrs(&["path"])));
        assert!(neither[0].message.contains("needs one of \"storage\" or \"volume\""), "{}", neither[0].message);
    }

    #[test]
    fn rules_read_as_sentences() {
        let rule = Constraint::Requires { block: Some("mountpoint"), when: "storage", then: "size" };
        assert_eq!(rule.to_string(), "In each `mountpoint` block, `storage` requires `size`.");
        let rule = Constraint::ExactlyOneOf { block: None, attributes: vec!["name", "vmid"] };
        assert_eq!(rule.to_string(), "Exactly one of `name`, `vmid` must be set.");
    }
}
