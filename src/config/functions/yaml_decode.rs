//! `yamldecode`: the subset of YAML 1.2 that Terraform reads. yaml-rust2 parses (a pure-Rust,
//! maintained YAML 1.2 parser); a first pass over its events refuses what Terraform refuses:
//! tags other than the core ones, an alias inside its own anchor's definition (a cycle), and
//! more than one document.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{Yaml, YamlLoader};

use super::{Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

const CORE_TAGS: &[&str] = &["str", "float", "int", "bool", "map", "seq", "null", "timestamp", "binary"];

pub(super) fn yamldecode(_: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?;
    check_subset(&text).map_err(|e| a.err(0, e))?;
    let docs = YamlLoader::load_from_str(&text).map_err(|e| a.err(0, format!("the string is not valid YAML: {e}")))?;
    match docs.first() {
        None => Ok(Value::Null),
        Some(doc) => to_value(doc).map_err(|e| a.err(0, e)),
    }
}

fn check_subset(text: &str) -> std::result::Result<(), String> {
    let mut parser = Parser::new_from_str(text);
    let mut open_anchors: Vec<usize> = Vec::new();
    let mut documents = 0;
    loop {
        let (event, _) = parser.next_token().map_err(|e| format!("the string is not valid YAML: {e}"))?;
        let tag = match &event {
            Event::Scalar(_, _, _, tag) => tag.as_ref(),
            Event::SequenceStart(_, tag) | Event::MappingStart(_, tag) => tag.as_ref(),
            _ => None,
        };
        if let Some(t) = tag {
            let core = t.handle == "tag:yaml.org,2002:" && CORE_TAGS.contains(&t.suffix.as_str());
            if !core {
                let shown = if t.handle == "tag:yaml.org,2002:" { "!!" } else { t.handle.as_str() };
                return Err(format!("unsupported tag \"{shown}{}\"", t.suffix));
            }
        }
        match event {
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err("only one YAML document is permitted".into());
                }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => open_anchors.push(anchor),
            Event::SequenceEnd | Event::MappingEnd => {
                open_anchors.pop();
            }
            Event::Alias(id) if open_anchors.contains(&id) => {
                return Err("cannot refer to an anchor from inside its own definition".into());
            }
            Event::StreamEnd => return Ok(()),
            _ => {}
        }
    }
}

fn to_value(y: &Yaml) -> std::result::Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::Number(*i as f64),
        Yaml::Real(text) => Value::Number(
            y.as_f64().filter(|n| n.is_finite()).ok_or_else(|| format!("{text} is not a number pmx can hold"))?,
        ),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Array(items) => Value::List(items.iter().map(to_value).collect::<std::result::Result<_, _>>()?),
        Yaml::Hash(h) => Value::Map(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Real(r) => r.clone(),
                        Yaml::Boolean(b) => b.to_string(),
                        Yaml::Null => "null".to_string(),
                        _ => return Err("map keys must be strings, numbers or bools".to_string()),
                    };
                    Ok((key, to_value(v)?))
                })
                .collect::<std::result::Result<_, _>>()?,
        ),
        Yaml::Alias(_) | Yaml::BadValue => return Err("a value that YAML's own tags do not allow".into()),
    })
}
