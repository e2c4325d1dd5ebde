//! CIDR arithmetic for IPv4 and IPv6 (addresses as u128 so both work the same way).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::{Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

/// A prefix: its network address, prefix length and the address width (32 or 128).
struct Prefix {
    base: u128,
    len: u32,
    bits: u32,
    v6: bool,
}

impl Prefix {
    fn host_bits(&self) -> u32 {
        self.bits - self.len
    }

    fn addr(&self, value: u128) -> IpAddr {
        if self.v6 {
            IpAddr::V6(Ipv6Addr::from(value))
        } else {
            IpAddr::V4(Ipv4Addr::from(value as u32))
        }
    }
}

fn prefix(a: &Args, i: usize) -> std::result::Result<Prefix, FunctionError> {
    let text = a.string(i)?;
    let net: IpNet =
        text.parse().map_err(|_| a.err(i, format!("{text:?} is not a CIDR prefix such as \"10.0.0.0/16\"")))?;
    let net = net.trunc();
    Ok(match net {
        IpNet::V4(n) => {
            Prefix { base: u32::from(n.network()) as u128, len: n.prefix_len() as u32, bits: 32, v6: false }
        }
        IpNet::V6(n) => Prefix { base: u128::from(n.network()), len: n.prefix_len() as u32, bits: 128, v6: true },
    })
}

/// 2^bits as u128, or `None` when it does not fit (a whole IPv6 space).
fn size(bits: u32) -> Option<u128> {
    1u128.checked_shl(bits)
}

/// Whether an address or a prefix lies within a prefix (OpenTofu's `cidrcontains`); both of
/// one family.
pub(super) fn cidrcontains(_: &FunctionContext, a: &Args) -> Result {
    let outer = prefix(a, 0)?;
    let text = a.string(1)?;
    let inner = match text.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => Prefix { base: u32::from(ip) as u128, len: 32, bits: 32, v6: false },
        Ok(IpAddr::V6(ip)) => Prefix { base: u128::from(ip), len: 128, bits: 128, v6: true },
        Err(_) => prefix(a, 1).map_err(|_| {
            a.err(1, format!("{text:?} is neither an IP address nor a CIDR prefix such as \"10.0.1.0/24\""))
        })?,
    };
    if inner.v6 != outer.v6 {
        return Err(a.fail("the prefix and the address must both be IPv4 or both IPv6"));
    }
    let keep = |p: &Prefix, len: u32| if len == 0 { 0 } else { p.base >> (p.bits - len) };
    Ok(Value::Bool(inner.len >= outer.len && keep(&inner, outer.len) == keep(&outer, outer.len)))
}

pub(super) fn cidrhost(_: &FunctionContext, a: &Args) -> Result {
    let p = prefix(a, 0)?;
    let hostnum = a.number(1)?;
    if hostnum.fract() != 0.0 {
        return Err(a.err(1, "the host number must be a whole number"));
    }
    let span = size(p.host_bits());
    let offset = if hostnum < 0.0 {
        let back = (-hostnum) as u128;
        match span {
            Some(span) if back <= span => span - back,
            _ => return Err(a.err(1, format!("host number {hostnum} is outside the prefix"))),
        }
    } else {
        let fwd = hostnum as u128;
        if span.is_some_and(|span| fwd >= span) {
            return Err(
                a.err(1, format!("host number {hostnum} is outside the prefix ({} addresses)", span.unwrap_or(0)))
            );
        }
        fwd
    };
    Ok(Value::String(p.addr(p.base + offset).to_string()))
}

pub(super) fn cidrnetmask(_: &FunctionContext, a: &Args) -> Result {
    let p = prefix(a, 0)?;
    if p.v6 {
        return Err(a.err(0, "only IPv4 prefixes have a dotted netmask"));
    }
    let mask = if p.len == 0 { 0 } else { u32::MAX << (32 - p.len) };
    Ok(Value::String(Ipv4Addr::from(mask).to_string()))
}

fn subnet(a: &Args, p: &Prefix, newbits: i64, netnum: u128) -> std::result::Result<(u128, u32), FunctionError> {
    if newbits < 0 {
        return Err(a.err(1, format!("newbits must not be negative, got {newbits}")));
    }
    let new_len = p.len as i64 + newbits;
    if new_len > p.bits as i64 {
        return Err(a.err(
            1,
            format!("cannot add {newbits} bits to a /{} prefix: only {} bits are left", p.len, p.host_bits()),
        ));
    }
    let new_len = new_len as u32;
    if size(newbits as u32).is_some_and(|count| netnum >= count) {
        return Err(a.err(2, format!("network number {netnum} does not fit in {newbits} bits")));
    }
    let shift = p.bits - new_len;
    Ok((p.base | netnum.checked_shl(shift).unwrap_or(0), new_len))
}

pub(super) fn cidrsubnet(_: &FunctionContext, a: &Args) -> Result {
    let p = prefix(a, 0)?;
    let newbits = a.int(1)?;
    let netnum = a.int(2)?;
    if netnum < 0 {
        return Err(a.err(2, format!("network number must not be negative, got {netnum}")));
    }
    let (base, len) = subnet(a, &p, newbits, netnum as u128)?;
    Ok(Value::String(format!("{}/{len}", p.addr(base))))
}

pub(super) fn cidrsubnets(_: &FunctionContext, a: &Args) -> Result {
    let p = prefix(a, 0)?;
    let end = p.base + size(p.host_bits()).unwrap_or(u128::MAX);
    let mut next = p.base;
    let mut out = Vec::new();
    for i in 1..a.len() {
        let newbits = a.int(i)?;
        if newbits < 1 || p.len as i64 + newbits > p.bits as i64 {
            return Err(a.err(i, format!("newbits {newbits} must be between 1 and {}", p.host_bits())));
        }
        let len = p.len + newbits as u32;
        let block = size(p.bits - len).unwrap_or(u128::MAX);
        // align to this subnet's own size, as Terraform does
        let start = next.div_ceil(block).saturating_mul(block);
        if start >= end || end - start < block {
            return Err(a.err(i, format!("not enough room left in the prefix for a /{len} subnet")));
        }
        out.push(Value::String(format!("{}/{len}", p.addr(start))));
        next = start + block;
    }
    Ok(Value::List(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn cidrhost_forwards_and_backwards() {
        assert_eq!(ok("cidrhost", vec![s("10.12.112.0/20"), n(16.0)]), s("10.12.112.16"));
        assert_eq!(ok("cidrhost", vec![s("10.12.112.0/20"), n(268.0)]), s("10.12.113.12"));
        assert_eq!(ok("cidrhost", vec![s("10.0.0.0/24"), n(-1.0)]), s("10.0.0.255"));
        assert_eq!(ok("cidrhost", vec![s("fd00:fd12:3456:7890::/56"), n(34.0)]), s("fd00:fd12:3456:7800::22"));
        assert!(err("cidrhost", vec![s("10.0.0.0/24"), n(256.0)]).message.contains("outside"));
        assert!(err("cidrhost", vec![s("10.0.0.0"), n(1.0)]).message.contains("not a CIDR prefix"));
    }

    #[test]
    fn cidrnetmask_v4_only() {
        assert_eq!(ok("cidrnetmask", vec![s("172.16.0.0/12")]), s("255.240.0.0"));
        assert_eq!(ok("cidrnetmask", vec![s("0.0.0.0/0")]), s("0.0.0.0"));
        assert!(err("cidrnetmask", vec![s("fd00::/8")]).message.contains("IPv4"));
    }

    #[test]
    fn cidrsubnet_numbers() {
        assert_eq!(ok("cidrsubnet", vec![s("172.16.0.0/12"), n(4.0), n(2.0)]), s("172.18.0.0/16"));
        assert_eq!(ok("cidrsubnet", vec![s("10.1.2.0/24"), n(4.0), n(15.0)]), s("10.1.2.240/28"));
        assert_eq!(
            ok("cidrsubnet", vec![s("fd00:fd12:3456:7890::/56"), n(16.0), n(162.0)]),
            s("fd00:fd12:3456:7800:a200::/72")
        );
        assert!(err("cidrsubnet", vec![s("10.0.0.0/24"), n(4.0), n(16.0)]).message.contains("does not fit"));
        assert!(err("cidrsubnet", vec![s("10.0.0.0/30"), n(4.0), n(0.0)]).message.contains("only 2 bits"));
    }

    #[test]
    fn cidrsubnets_allocates_in_order() {
        assert_eq!(
            ok("cidrsubnets", vec![s("10.1.0.0/16"), n(4.0), n(4.0), n(8.0), n(4.0)]),
            strs(&["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"])
        );
        assert_eq!(ok("cidrsubnets", vec![s("10.0.0.0/8")]), strs(&[]));
        assert!(err("cidrsubnets", vec![s("10.0.0.0/30"), n(1.0), n(1.0), n(1.0)]).message.contains("not enough room"));
    }
}
