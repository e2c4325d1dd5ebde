//! Terraform function parity: every example on the function pages of Terraform's and
//! OpenTofu's documentation (`developer.hashicorp.com/terraform/language/functions/NAME`,
//! `opentofu.org/docs/language/functions/NAME`), evaluated by the real binary (`pmx console
//! --format json`, all cases through one process) and compared with the documented result.
//!
//! A case that cannot apply to pmx, or a function pmx does not have, is listed with the reason
//! (`Expect::NotInPmx`) rather than left out, and every function pmx has must have a case.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

/// What the documentation says an expression gives.
enum Expect {
    /// The value, as JSON.
    Value(&'static str),
    /// An error whose message contains this.
    Error(&'static str),
    /// Known only after apply in pmx, as in a Terraform plan (`timestamp()`, `uuid()`).
    Unknown,
    /// Not evaluated, and why.
    NotInPmx(&'static str),
}
use Expect::*;

/// (function page, expression, what it gives). The page names the documentation page the
/// example comes from (`tofu/` for OpenTofu's).
#[rustfmt::skip]
const CASES: &[(&str, &str, Expect)] = &[
    // ----- numeric
    ("abs", "abs(23)", Value("23")),
    ("abs", "abs(0)", Value("0")),
    ("abs", "abs(-12.4)", Value("12.4")),
    ("ceil", "ceil(5)", Value("5")),
    ("ceil", "ceil(5.1)", Value("6")),
    ("floor", "floor(5)", Value("5")),
    ("floor", "floor(4.9)", Value("4")),
    ("log", "log(50, 10)", Value("1.6989700043360185")),
    ("log", "log(16, 2)", Value("4")),
    ("log", "ceil(log(15, 2))", Value("4")),
    ("log", "ceil(log(16, 2))", Value("4")),
    ("log", "ceil(log(17, 2))", Value("5")),
    ("max", "max(12, 54, 3)", Value("54")),
    ("max", "max([12, 54, 3]...)", Value("54")),
    ("min", "min(12, 54, 3)", Value("3")),
    ("min", "min([12, 54, 3]...)", Value("3")),
    ("parseint", r#"parseint("100", 10)"#, Value("100")),
    ("parseint", r#"parseint("FF", 16)"#, Value("255")),
    ("parseint", r#"parseint("-10", 16)"#, Value("-16")),
    ("parseint", r#"parseint("1011111011101111", 2)"#, Value("48879")),
    ("parseint", r#"parseint("aA", 62)"#, Value("656")),
    ("parseint", r#"parseint("12", 2)"#, Error("12")),
    ("pow", "pow(3, 2)", Value("9")),
    ("pow", "pow(4, 0)", Value("1")),
    ("signum", "signum(-13)", Value("-1")),
    ("signum", "signum(0)", Value("0")),
    ("signum", "signum(344)", Value("1")),
    // ----- string
    ("chomp", r#"chomp("hello\n")"#, Value(r#""hello""#)),
    ("chomp", r#"chomp("hello\r\n")"#, Value(r#""hello""#)),
    ("chomp", r#"chomp("hello\n\n")"#, Value(r#""hello""#)),
    ("endswith", r#"endswith("hello world", "world")"#, Value("true")),
    ("endswith", r#"endswith("hello world", "hello")"#, Value("false")),
    ("format", r#"format("Hello, %s!", "Ander")"#, Value(r#""Hello, Ander!""#)),
    ("format", r#"format("There are %d lights", 4)"#, Value(r#""There are 4 lights""#)),
    ("format", r#"format("Hello, %s!", var.name)"#, Value(r#""Hello, Valentina!""#)),
    ("format", r#""Hello, ${var.name}!""#, Value(r#""Hello, Valentina!""#)),
    // the width table: %9.2f, %9f, %.2f; widths count characters (grapheme clusters)
    ("format", r#"format("%9.2f|%.2f|%9f", 3.14159, 3.14159, 3.5)"#, Value(r#""     3.14|3.14| 3.500000""#)),
    ("format", r#"format("%-5s|%5s|%05d|%+d|% d", "ab", "👾🕹️", 42, 5, 5)"#, Value(r#""ab   |   👾🕹️|00042|+5| 5""#)),
    ("format", r#"format("%v %v %v %#v", "s", 1.5, true, ["a"])"#, Value(r#""s 1.5 true [\"a\"]""#)),
    ("formatlist", r#"formatlist("Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"])"#, Value(r#"["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"]"#)),
    ("formatlist", r#"formatlist("%s, %s!", "Salutations", ["Valentina", "Ander", "Olivia", "Sam"])"#, Value(r#"["Salutations, Valentina!", "Salutations, Ander!", "Salutations, Olivia!", "Salutations, Sam!"]"#)),
    ("indent", r#""  items: ${indent(2, "[\n  foo,\n  bar,\n]\n")}""#, Value(r#""  items: [\n    foo,\n    bar,\n  ]\n  ""#)),
    ("join", r#"join(", ", ["foo", "bar", "baz"])"#, Value(r#""foo, bar, baz""#)),
    ("join", r#"join(", ", ["foo"])"#, Value(r#""foo""#)),
    ("lower", r#"lower("HELLO")"#, Value(r#""hello""#)),
    ("lower", r#"lower("АЛЛО!")"#, Value(r#""алло!""#)),
    ("regex", r#"regex("[a-z]+", "53453453.345345aaabbbccc23454")"#, Value(r#""aaabbbccc""#)),
    ("regex", r#"regex("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)", "2019-02-01")"#, Value(r#"["2019", "02", "01"]"#)),
    ("regex", r#"regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")"#, Value(r#"{"authority": "terraform.io", "scheme": "https"}"#)),
    ("regex", r#"regex("[a-z]+", "53453453.34534523454")"#, Error("match")),
    ("regexall", r#"regexall("[a-z]+", "1234abcd5678efgh9")"#, Value(r#"["abcd", "efgh"]"#)),
    ("regexall", r#"length(regexall("[a-z]+", "1234abcd5678efgh9"))"#, Value("2")),
    ("regexall", r#"length(regexall("[a-z]+", "123456789")) > 0"#, Value("false")),
    ("replace", r#"replace("1 + 2 + 3", "+", "-")"#, Value(r#""1 - 2 - 3""#)),
    ("replace", r#"replace("hello world", "/w.*d/", "everybody")"#, Value(r#""hello everybody""#)),
    ("split", r#"split(",", "foo,bar,baz")"#, Value(r#"["foo", "bar", "baz"]"#)),
    ("split", r#"split(",", "foo")"#, Value(r#"["foo"]"#)),
    ("split", r#"split(",", "")"#, Value(r#"[""]"#)),
    ("startswith", r#"startswith("hello world", "hello")"#, Value("true")),
    ("startswith", r#"startswith("hello world", "world")"#, Value("false")),
    ("strcontains", r#"strcontains("hello world", "wor")"#, Value("true")),
    ("strcontains", r#"strcontains("hello world", "wod")"#, Value("false")),
    ("strrev", r#"strrev("hello")"#, Value(r#""olleh""#)),
    ("strrev", r#"strrev("a ☃")"#, Value(r#""☃ a""#)),
    ("strrev", r#"strrev("e\u0301a")"#, Value(r#""ae\u0301""#)),
    ("substr", r#"substr("hello world", 1, 4)"#, Value(r#""ello""#)),
    ("substr", r#"substr("🤔🤷", 0, 1)"#, Value(r#""🤔""#)),
    ("substr", r#"substr("hello world", -5, -1)"#, Value(r#""world""#)),
    ("substr", r#"substr("👾🕹️x", 1, 1)"#, Value(r#""🕹️""#)),
    ("tofu/templatestring", r#"templatestring("Hello, Jodie!", {})"#, Value(r#""Hello, Jodie!""#)),
    ("tofu/templatestring", r#"templatestring("Hello, $${name}!", { name = "Alice" })"#, Value(r#""Hello, Alice!""#)),
    // the page prints "List Items : ..." though its template has no space before the colon
    ("tofu/templatestring", r#"templatestring("List Items: $${join(\", \", list)}", { list=["value1","value2","value3"] })"#, Value(r#""List Items: value1, value2, value3""#)),
    ("tofu/templatestring", r#"templatestring("%%{ for key, value in list ~}  $${key}:$${value} %%{ endfor ~}", { list={key1="value1", key2="value2", key3="value3"} })"#, Value(r#""key1:value1 key2:value2 key3:value3 ""#)),
    ("title", r#"title("hello world")"#, Value(r#""Hello World""#)),
    ("trim", r#"trim("?!hello?!", "!?")"#, Value(r#""hello""#)),
    ("trim", r#"trim("foobar", "far")"#, Value(r#""oob""#)),
    ("trim", r#"trim("   hello! world.!  ", "! ")"#, Value(r#""hello! world.""#)),
    ("trimprefix", r#"trimprefix("helloworld", "hello")"#, Value(r#""world""#)),
    ("trimprefix", r#"trimprefix("helloworld", "cat")"#, Value(r#""helloworld""#)),
    ("trimsuffix", r#"trimsuffix("helloworld", "world")"#, Value(r#""hello""#)),
    ("trimspace", r#"trimspace("  hello\n\n")"#, Value(r#""hello""#)),
    ("upper", r#"upper("hello")"#, Value(r#""HELLO""#)),
    ("upper", r#"upper("алло!")"#, Value(r#""АЛЛО!""#)),
    // ----- collection
    ("alltrue", r#"alltrue(["true", true])"#, Value("true")),
    ("alltrue", "alltrue([true, false])", Value("false")),
    ("anytrue", r#"anytrue(["true"])"#, Value("true")),
    ("anytrue", "anytrue([true])", Value("true")),
    ("anytrue", "anytrue([true, false])", Value("true")),
    ("anytrue", "anytrue([])", Value("false")),
    ("chunklist", r#"chunklist(["a", "b", "c", "d", "e"], 2)"#, Value(r#"[["a", "b"], ["c", "d"], ["e"]]"#)),
    ("chunklist", r#"chunklist(["a", "b", "c", "d", "e"], 1)"#, Value(r#"[["a"], ["b"], ["c"], ["d"], ["e"]]"#)),
    ("coalesce", r#"coalesce("a", "b")"#, Value(r#""a""#)),
    ("coalesce", r#"coalesce("", "b")"#, Value(r#""b""#)),
    ("coalesce", "coalesce(1, 2)", Value("1")),
    ("coalesce", r#"coalesce(["", "b"]...)"#, Value(r#""b""#)),
    ("coalesce", r#"coalesce(1, "hello")"#, Value(r#""1""#)),
    ("coalesce", r#"coalesce(true, "hello")"#, Value(r#""true""#)),
    ("coalesce", r#"coalesce({}, "hello")"#, Error("same type")),
    ("coalescelist", r#"coalescelist(["a", "b"], ["c", "d"])"#, Value(r#"["a", "b"]"#)),
    ("coalescelist", r#"coalescelist([], ["c", "d"])"#, Value(r#"["c", "d"]"#)),
    ("coalescelist", r#"coalescelist([[], ["c", "d"]]...)"#, Value(r#"["c", "d"]"#)),
    ("compact", r#"compact(["a", "", "b", null, "c"])"#, Value(r#"["a", "b", "c"]"#)),
    ("concat", r#"concat(["a", ""], ["b", "c"])"#, Value(r#"["a", "", "b", "c"]"#)),
    ("contains", r#"contains(["a", "b", "c"], "a")"#, Value("true")),
    ("contains", r#"contains(["a", "b", "c"], "d")"#, Value("false")),
    ("distinct", r#"distinct(["a", "b", "a", "c", "d", "b"])"#, Value(r#"["a", "b", "c", "d"]"#)),
    ("element", r#"element(["a", "b", "c"], 1)"#, Value(r#""b""#)),
    ("element", r#"element(["a", "b", "c"], 3)"#, Value(r#""a""#)),
    ("element", r#"element(["a", "b", "c"], length(["a", "b", "c"])-1)"#, Value(r#""c""#)),
    ("tofu/element", r#"element(["a", "b", "c"], -1)"#, Value(r#""c""#)),
    ("tofu/element", r#"["a", "b", "c"][1]"#, Value(r#""b""#)),
    ("flatten", r#"flatten([["a", "b"], [], ["c"]])"#, Value(r#"["a", "b", "c"]"#)),
    ("flatten", r#"flatten([[["a", "b"], []], ["c"]])"#, Value(r#"["a", "b", "c"]"#)),
    ("index", r#"index(["a", "b", "c"], "b")"#, Value("1")),
    ("keys", "keys({a=1, c=2, d=3})", Value(r#"["a", "c", "d"]"#)),
    ("length", "length([])", Value("0")),
    ("length", r#"length(["a", "b"])"#, Value("2")),
    ("length", r#"length({"a" = "b"})"#, Value("1")),
    ("length", r#"length("hello")"#, Value("5")),
    ("length", r#"length("👾🕹️")"#, Value("2")),
    ("lookup", r#"lookup({a="ay", b="bee"}, "a", "what?")"#, Value(r#""ay""#)),
    ("lookup", r#"lookup({a="ay", b="bee"}, "c", "what?")"#, Value(r#""what?""#)),
    ("matchkeys", r#"matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])"#, Value(r#"["i-abc", "i-def"]"#)),
    // the page prints ["i-def", "i-abc"]; Terraform iterates a map in key order, so i-abc comes first
    ("matchkeys", r#"[for i, z in {"i-123"="us-west","i-abc"="us-east","i-def"="us-east"}: i if z == "us-east"]"#, Value(r#"["i-abc", "i-def"]"#)),
    ("matchkeys", r#"[for x in [{id="i-123",zone="us-west"},{id="i-abc",zone="us-east"}]: x.id if x.zone == "us-east"]"#, Value(r#"["i-abc"]"#)),
    ("merge", r#"merge({a="b", c="d"}, {e="f", c="z"})"#, Value(r#"{"a": "b", "c": "z", "e": "f"}"#)),
    ("merge", r#"merge({a="b"}, {a=[1,2], c="z"}, {d=3})"#, Value(r#"{"a": [1, 2], "c": "z", "d": 3}"#)),
    ("merge", r#"merge([{a="b", c="d"}, {}, {e="f", c="z"}]...)"#, Value(r#"{"a": "b", "c": "z", "e": "f"}"#)),
    ("one", "one([])", Value("null")),
    ("one", r#"one(["hello"])"#, Value(r#""hello""#)),
    ("one", r#"one(["hello", "goodbye"])"#, Error("one")),
    ("one", "one(toset([]))", Value("null")),
    ("one", r#"one(toset(["hello"]))"#, Value(r#""hello""#)),
    ("one", r#"one(toset(["hello","goodbye"]))"#, Error("one")),
    ("range", "range(3)", Value("[0, 1, 2]")),
    ("range", "range(1, 4)", Value("[1, 2, 3]")),
    ("range", "range(1, 8, 2)", Value("[1, 3, 5, 7]")),
    ("range", "range(1, 4, 0.5)", Value("[1, 1.5, 2, 2.5, 3, 3.5]")),
    ("range", "range(4, 1)", Value("[4, 3, 2]")),
    ("range", "range(10, 5, -2)", Value("[10, 8, 6]")),
    ("range", r#"{ for name, count in {foo = 2, bar = 4} : name => [for i in range(count) : format("%s%02d", name, i)] }"#, Value(r#"{"bar": ["bar00", "bar01", "bar02", "bar03"], "foo": ["foo00", "foo01"]}"#)),
    ("reverse", "reverse([1, 2, 3])", Value("[3, 2, 1]")),
    ("setintersection", r#"setintersection(["a", "b"], ["b", "c"], ["b", "d"])"#, Value(r#"["b"]"#)),
    ("setintersection", "setintersection([3,3.3,4], [4,3.3,65,99], [4.0,3.3])", Value("[3.3, 4]")),
    ("setintersection", r#"setintersection(["bob","jane",3], ["jane",3,"ajax",10], ["3","jane",26,"nomad"])"#, Value(r#"["3", "jane"]"#)),
    ("setproduct", r#"setproduct(["development", "staging", "production"], ["app1", "app2"])"#, Value(r#"[["development", "app1"], ["development", "app2"], ["staging", "app1"], ["staging", "app2"], ["production", "app1"], ["production", "app2"]]"#)),
    ("setproduct", r#"setproduct(["development", "staging", "production"], [])"#, Value("[]")),
    ("setproduct", r#"setproduct(["a"], ["b"])"#, Value(r#"[["a", "b"]]"#)),
    ("setproduct", r#"setproduct(["staging", "production"], ["a", 2])"#, Value(r#"[["staging", "a"], ["staging", "2"], ["production", "a"], ["production", "2"]]"#)),
    ("setsubtract", r#"setsubtract(["a", "b", "c"], ["a", "c"])"#, Value(r#"["b"]"#)),
    ("setsubtract", r#"setunion(setsubtract(["a", "b", "c"], ["a", "c", "d"]), setsubtract(["a", "c", "d"], ["a", "b", "c"]))"#, Value(r#"["b", "d"]"#)),
    // the page prints d, b, c, a (an unordered set); Terraform's sets of strings are sorted
    ("setunion", r#"setunion(["a", "b"], ["b", "c"], ["d"])"#, Value(r#"["a", "b", "c", "d"]"#)),
    ("slice", r#"slice(["a", "b", "c", "d"], 1, 3)"#, Value(r#"["b", "c"]"#)),
    ("sort", r#"sort(["e", "d", "a", "x"])"#, Value(r#"["a", "d", "e", "x"]"#)),
    ("sum", "sum([10, 13, 6, 4.5])", Value("33.5")),
    ("transpose", r#"transpose({"a" = ["1", "2"], "b" = ["2", "3"]})"#, Value(r#"{"1": ["a"], "2": ["a", "b"], "3": ["b"]}"#)),
    ("values", "values({a=3, c=2, d=1})", Value("[3, 2, 1]")),
    ("zipmap", r#"zipmap(["a", "b"], [1, 2])"#, Value(r#"{"a": 1, "b": 2}"#)),
    // ----- encoding
    ("base64decode", r#"base64decode("SGVsbG8gV29ybGQ=")"#, Value(r#""Hello World""#)),
    ("base64encode", r#"base64encode("Hello World")"#, Value(r#""SGVsbG8gV29ybGQ=""#)),
    ("tofu/base64gunzip", r#"base64gunzip("H4sIAAAAAAAA/8pIzcnJBwQAAP//hqYQNgUAAAA=")"#, NotInPmx("not in pmx, with base64gzip: no gzip payloads in Proxmox")),
    ("base64gzip", r#"base64gzip("hello")"#, NotInPmx("not in pmx: gzip-compressed payloads are for cloud APIs that take them (user_data); Proxmox's cloud-init snippets are plain text")),
    ("csvdecode", r#"csvdecode("a,b,c\n1,2,3\n4,5,6")"#, Value(r#"[{"a": "1", "b": "2", "c": "3"}, {"a": "4", "b": "5", "c": "6"}]"#)),
    ("csvdecode", r#"[for i in csvdecode("local_id,type\nfoo1,\"t2, \"\"micro\"\"\"\nbar1,m3\n") : "${i.local_id}=${i.type}"]"#, Value(r#"["foo1=t2, \"micro\"", "bar1=m3"]"#)),
    ("jsondecode", r#"jsondecode("{\"hello\": \"world\"}")"#, Value(r#"{"hello": "world"}"#)),
    ("jsondecode", r#"jsondecode("true")"#, Value("true")),
    ("jsonencode", r#"jsonencode({"hello"="world"})"#, Value(r#""{\"hello\":\"world\"}""#)),
    ("jsonencode", r#"jsonencode("<b>&")"#, Value(r#""\"\\u003cb\\u003e\\u0026\"""#)),
    ("textdecodebase64", r#"textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")"#, NotInPmx("not in pmx: character sets other than UTF-8 (base64decode covers UTF-8)")),
    ("textencodebase64", r#"textencodebase64("Hello World", "UTF-16LE")"#, NotInPmx("not in pmx: character sets other than UTF-8 (base64encode covers UTF-8)")),
    ("tofu/urldecode", r#"urldecode("Hello+World%21")"#, Value(r#""Hello World!""#)),
    ("tofu/urldecode", r#"urldecode("%E2%98%83")"#, Value(r#""☃""#)),
    ("tofu/urldecode", r#"urldecode("foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz")"#, Value(r#""foo:bar@localhost?foo=bar&bar=baz""#)),
    ("urlencode", r#"urlencode("Hello World!")"#, Value(r#""Hello+World%21""#)),
    ("urlencode", r#"urlencode("☃")"#, Value(r#""%E2%98%83""#)),
    ("urlencode", r#""http://example.com/search?q=${urlencode("terraform urlencode")}""#, Value(r#""http://example.com/search?q=terraform+urlencode""#)),
    ("yamldecode", r#"yamldecode("hello: world")"#, Value(r#"{"hello": "world"}"#)),
    ("yamldecode", r#"yamldecode("true")"#, Value("true")),
    ("yamldecode", r#"yamldecode("{a: &foo [1, 2, 3], b: *foo}")"#, Value(r#"{"a": [1, 2, 3], "b": [1, 2, 3]}"#)),
    ("yamldecode", r#"yamldecode("{a: &foo [1, *foo, 3]}")"#, Error("inside its own definition")),
    ("yamldecode", r#"yamldecode("{a: !not-supported foo}")"#, Error("unsupported tag \"!not-supported\"")),
    ("yamldecode", r#"yamldecode("a: 1\n---\nb: 2\n")"#, Error("only one YAML document")),
    ("yamlencode", r#"yamlencode({"a":"b", "c":"d"})"#, Value(r#""\"a\": \"b\"\n\"c\": \"d\"\n""#)),
    ("yamlencode", r#"yamlencode({"foo":[1, 2, 3], "bar": "baz"})"#, Value(r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n""#)),
    ("yamlencode", r#"yamlencode({"foo":[1, {"a":"b","c":"d"}, 3], "bar": "baz"})"#, Value(r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n""#)),
    // ----- filesystem (relative to the project folder; the test writes hello.txt, files/ and backends.tftpl)
    ("abspath", "startswith(abspath(path.root), \"/\")", Value("true")),
    ("basename", r#"basename("foo/bar/baz.txt")"#, Value(r#""baz.txt""#)),
    ("dirname", r#"dirname("foo/bar/baz.txt")"#, Value(r#""foo/bar""#)),
    ("file", r#"file("${path.module}/hello.txt")"#, Value(r#""Hello World""#)),
    ("file", r#"file("/etc/hostname")"#, NotInPmx("a file outside the project is refused when the configuration is shared (plan files and CI checkouts): covered by pmx's own tests")),
    ("filebase64", r#"filebase64("${path.module}/hello.txt")"#, Value(r#""SGVsbG8gV29ybGQ=""#)),
    ("filebase64sha256", r#"filebase64sha256("hello.txt") == base64sha256(file("hello.txt"))"#, Value("true")),
    ("filebase64sha512", r#"filebase64sha512("hello.txt") == base64sha512(file("hello.txt"))"#, Value("true")),
    ("fileexists", r#"fileexists("${path.module}/hello.txt")"#, Value("true")),
    ("filemd5", r#"filemd5("hello.txt") == md5(file("hello.txt"))"#, Value("true")),
    ("fileset", r#"fileset(path.module, "files/*.txt")"#, Value(r#"["files/hello.txt", "files/world.txt"]"#)),
    ("fileset", r#"fileset(path.module, "files/{hello,world}.txt")"#, Value(r#"["files/hello.txt", "files/world.txt"]"#)),
    ("fileset", r#"fileset("${path.module}/files", "*")"#, Value(r#"["hello.txt", "world.txt"]"#)),
    // the page lists subdirectory/anotherfile.txt last; a set of strings is sorted
    ("fileset", r#"fileset("${path.module}/files", "**")"#, Value(r#"["hello.txt", "subdirectory/anotherfile.txt", "world.txt"]"#)),
    ("fileset", r#"fileset(path.module, "files/**/anotherfile.txt")"#, Value(r#"["files/subdirectory/anotherfile.txt"]"#)),
    ("fileset", r#"fileset(path.module, "files/[^h]*")"#, Value(r#"["files/world.txt"]"#)),
    ("fileset", r#"fileset(path.module, "files/?orld.tx[tx]")"#, Value(r#"["files/world.txt"]"#)),
    ("filesha1", r#"filesha1("hello.txt") == sha1(file("hello.txt"))"#, Value("true")),
    ("filesha256", r#"filesha256("hello.txt") == sha256(file("hello.txt"))"#, Value("true")),
    ("filesha512", r#"filesha512("hello.txt") == sha512(file("hello.txt"))"#, Value("true")),
    ("pathexpand", r#"pathexpand("~/.ssh/id_rsa")"#, NotInPmx("not in pmx: a path under the home folder of whoever runs pmx makes plans differ between people and CI")),
    ("templatefile", r#"templatefile("${path.module}/backends.tftpl", { port = 8080, ip_addrs = ["10.0.0.1", "10.0.0.2"] })"#, Value(r#""backend 10.0.0.1:8080\nbackend 10.0.0.2:8080\n""#)),
    // ----- date and time
    ("formatdate", r#"formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")"#, Value(r#""02 Jan 2018 23:12 UTC""#)),
    ("formatdate", r#"formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")"#, Value(r#""Tuesday, 02-Jan-18 23:12:01 UTC""#)),
    ("formatdate", r#"formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")"#, Value(r#""Tue, 02 Jan 2018 23:12:01 -0800""#)),
    ("formatdate", r#"formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")"#, Value(r#""Jan 02, 2018""#)),
    ("formatdate", r#"formatdate("HH:mmaa", "2018-01-02T23:12:01Z")"#, Value(r#""11:12pm""#)),
    ("formatdate", r#"formatdate("h'h'mm", "2018-01-02T23:12:01-08:00")"#, Value(r#""23h12""#)),
    ("formatdate", r#"formatdate("H 'o''clock'", "2018-01-02T23:12:01-08:00")"#, Value(r#""11 o'clock""#)),
    ("plantimestamp", r#"can(formatdate("YYYY", plantimestamp()))"#, Value("true")),
    ("timeadd", r#"timeadd("2024-08-16T12:45:05Z", "10m")"#, Value(r#""2024-08-16T12:55:05Z""#)),
    ("timeadd", r#"timeadd("2024-08-16T12:45:05Z", "-10m")"#, Value(r#""2024-08-16T12:35:05Z""#)),
    ("timecmp", r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z")"#, Value("0")),
    ("timecmp", r#"timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z")"#, Value("-1")),
    ("timecmp", r#"timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00Z")"#, Value("1")),
    ("timecmp", r#"timecmp("2017-11-22T01:00:00Z", "2017-11-22T00:00:00-01:00")"#, Value("0")),
    // the page prints the current time; in pmx, as in a Terraform plan, it is known after apply
    ("timestamp", "timestamp()", Unknown),
    // ----- hash and crypto
    ("base64sha256", r#"base64sha256("hello world")"#, Value(r#""uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=""#)),
    ("base64sha512", r#"base64sha512("hello world")"#, Value(r#""MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw==""#)),
    ("bcrypt", r#"bcrypt("hello world")"#, NotInPmx("not in pmx: a fresh salt on every run makes every plan differ; Proxmox hashes cloud-init passwords itself")),
    ("md5", r#"md5("hello world")"#, Value(r#""5eb63bbbe01eeed093cb22bb8f5acdc3""#)),
    ("rsadecrypt", "rsadecrypt(local.ct, local.key)", NotInPmx("not in pmx: it decrypts cloud (EC2) Windows passwords, which Proxmox does not produce")),
    ("sha1", r#"sha1("hello world")"#, Value(r#""2aae6c35c94fcfb415dbe95f408b9ce91ee846ed""#)),
    ("sha256", r#"sha256("hello world")"#, Value(r#""b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9""#)),
    ("sha512", r#"sha512("hello world")"#, Value(r#""309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f""#)),
    // the page prints a random UUID; in pmx, as in a Terraform plan, it is known after apply
    ("uuid", "uuid()", Unknown),
    ("uuidv5", r#"uuidv5("dns", "www.terraform.io")"#, Value(r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#)),
    ("uuidv5", r#"uuidv5("url", "https://www.terraform.io/")"#, Value(r#""9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5""#)),
    ("uuidv5", r#"uuidv5("oid", "1.3.6.1.4")"#, Value(r#""af9d40a5-7a36-5c07-b23a-851cd99fbfa5""#)),
    ("uuidv5", r#"uuidv5("x500", "CN=Example,C=GB")"#, Value(r#""84e09961-4aa4-57f8-95b7-03edb1073253""#)),
    ("uuidv5", r#"uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.terraform.io")"#, Value(r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#)),
    ("uuidv5", r#"uuidv5("743ac3c0-3bf7-4a5b-9e6c-59360447c757", "LIBS:diskfont.library")"#, Value(r#""ede1a974-df7e-5f17-84b9-76208818b2c8""#)),
    // ----- IP network
    ("cidrhost", r#"cidrhost("10.12.112.0/20", 16)"#, Value(r#""10.12.112.16""#)),
    ("cidrhost", r#"cidrhost("10.12.112.0/20", 268)"#, Value(r#""10.12.113.12""#)),
    ("cidrhost", r#"cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)"#, Value(r#""fd00:fd12:3456:7890::22""#)),
    ("cidrhost", r#"cidrhost("10.0.0.0/8", 2)"#, Value(r#""10.0.0.2""#)),
    ("cidrhost", r#"cidrhost("10.0.0.0/8", -2)"#, Value(r#""10.255.255.254""#)),
    ("cidrhost", r#"cidrhost("10.1.2.240/28", 1)"#, Value(r#""10.1.2.241""#)),
    ("cidrhost", r#"cidrhost("10.1.2.240/28", 14)"#, Value(r#""10.1.2.254""#)),
    ("cidrnetmask", r#"cidrnetmask("172.16.0.0/12")"#, Value(r#""255.240.0.0""#)),
    ("cidrsubnet", r#"cidrsubnet("172.16.0.0/12", 4, 2)"#, Value(r#""172.18.0.0/16""#)),
    ("cidrsubnet", r#"cidrsubnet("10.1.2.0/24", 4, 15)"#, Value(r#""10.1.2.240/28""#)),
    ("cidrsubnet", r#"cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)"#, Value(r#""fd00:fd12:3456:7800:a200::/72""#)),
    ("cidrsubnets", r#"cidrsubnets("10.1.0.0/16", 4, 4, 8, 4)"#, Value(r#"["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]"#)),
    ("cidrsubnets", r#"cidrsubnets("fd00:fd12:3456:7890::/56", 16, 16, 16, 32)"#, Value(r#"["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72", "fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]"#)),
    ("cidrsubnets", r#"[for cidr_block in cidrsubnets("10.0.0.0/8", 8, 8, 8, 8) : cidrsubnets(cidr_block, 4, 4)]"#, Value(r#"[["10.0.0.0/20", "10.0.16.0/20"], ["10.1.0.0/20", "10.1.16.0/20"], ["10.2.0.0/20", "10.2.16.0/20"], ["10.3.0.0/20", "10.3.16.0/20"]]"#)),
    ("tofu/cidrcontains", r#"cidrcontains("192.168.2.0/20", "192.168.2.1")"#, Value("true")),
    ("tofu/cidrcontains", r#"cidrcontains("192.168.2.0/20", "192.168.2.0/22")"#, Value("true")),
    ("tofu/cidrcontains", r#"cidrcontains("192.168.2.0/20", "192.126.2.1")"#, Value("false")),
    ("tofu/cidrcontains", r#"cidrcontains("192.168.2.0/20", "192.126.2.0/18")"#, Value("false")),
    ("tofu/cidrcontains", r#"cidrcontains("fe80::/48", "fe80::1")"#, Value("true")),
    ("tofu/cidrcontains", r#"cidrcontains("fe80::/48", "fe81::1")"#, Value("false")),
    // ----- type conversion
    ("can", "can(local.foo.bar)", Value("true")),
    ("can", "can(local.foo.boop)", Value("false")),
    ("can", "can(local.nonexist)", Error("undeclared")),
    ("defaults", "defaults(var.x, {})", NotInPmx("removed from Terraform in 1.3 (optional attributes with defaults replace it)")),
    ("ephemeralasnull", "ephemeralasnull(var.x)", NotInPmx("pmx has no ephemeral values")),
    ("issensitive", r#"issensitive(sensitive("x"))"#, Value("true")),
    ("issensitive", r#"issensitive("x")"#, Value("false")),
    ("nonsensitive", "nonsensitive(sensitive(local.foo.bar))", Value(r#""baz""#)),
    ("sensitive", "sensitive(local.foo)", Value(r#""(sensitive value)""#)),
    ("tobool", "tobool(true)", Value("true")),
    ("tobool", r#"tobool("true")"#, Value("true")),
    ("tobool", "tobool(null)", Value("null")),
    ("tobool", r#"tobool("no")"#, Error("bool")),
    ("tobool", "tobool(1)", Error("bool")),
    ("tolist", r#"tolist(["a", "b", "c"])"#, Value(r#"["a", "b", "c"]"#)),
    ("tolist", r#"tolist(["a", "b", 3])"#, Value(r#"["a", "b", "3"]"#)),
    ("tomap", r#"tomap({"a" = 1, "b" = 2})"#, Value(r#"{"a": 1, "b": 2}"#)),
    ("tomap", r#"tomap({"a" = "foo", "b" = true})"#, Value(r#"{"a": "foo", "b": "true"}"#)),
    ("tonumber", "tonumber(1)", Value("1")),
    ("tonumber", r#"tonumber("1")"#, Value("1")),
    ("tonumber", "tonumber(null)", Value("null")),
    ("tonumber", r#"tonumber("no")"#, Error("number")),
    ("toset", r#"toset(["a", "b", "c"])"#, Value(r#"["a", "b", "c"]"#)),
    ("toset", r#"toset(["a", "b", 3])"#, Value(r#"["3", "a", "b"]"#)),
    ("toset", r#"toset(["c", "b", "b"])"#, Value(r#"["b", "c"]"#)),
    ("tostring", r#"tostring("hello")"#, Value(r#""hello""#)),
    ("tostring", "tostring(1)", Value(r#""1""#)),
    ("tostring", "tostring(true)", Value(r#""true""#)),
    ("tostring", "tostring(null)", Value("null")),
    ("tostring", "tostring([])", Error("string")),
    ("try", r#"try(local.foo.bar, "fallback")"#, Value(r#""baz""#)),
    ("try", r#"try(local.foo.boop, "fallback")"#, Value(r#""fallback""#)),
    ("try", r#"try(local.nonexist, "fallback")"#, Error("undeclared")),
    ("type", "type(local.foo)", NotInPmx("not yet in pmx: pmx values carry no static type to show")),
];

/// The project the examples run in: the docs' `local.foo` and `var.name`, and files to read.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("main.pmx"),
        "variable \"name\" {\n  default = \"Valentina\"\n}\n\nlocals {\n  foo = { bar = \"baz\" }\n}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("hello.txt"), "Hello World").expect("write");
    // fileset's example tree
    std::fs::create_dir_all(dir.path().join("files/subdirectory")).expect("mkdir");
    for f in ["files/hello.txt", "files/world.txt", "files/subdirectory/anotherfile.txt"] {
        std::fs::write(dir.path().join(f), f).expect("write");
    }
    std::fs::write(
        dir.path().join("backends.tftpl"),
        "%{ for addr in ip_addrs ~}\nbackend ${addr}:${port}\n%{ endfor ~}\n",
    )
    .expect("write");
    dir
}

/// Every case pmx evaluates, through one `pmx console --format json`; one output line each.
fn evaluate(exprs: &[&str]) -> Vec<Value> {
    let dir = project();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pmx"))
        .args(["console", "--format", "json"])
        .current_dir(dir.path())
        .env("PMX_LOG", "off")
        .env_remove("PMX_STATE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pmx console starts");
    let mut input = String::new();
    for e in exprs {
        assert!(!e.contains('\n'), "one line per case: {e}");
        input.push_str(e);
        input.push('\n');
    }
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("pmx console ends");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert_eq!(
        lines.len(),
        exprs.len(),
        "one result per expression:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lines
}

#[test]
fn every_documented_example_evaluates_as_documented() {
    let run: Vec<&(&str, &str, Expect)> = CASES.iter().filter(|c| !matches!(c.2, NotInPmx(_))).collect();
    let results = evaluate(&run.iter().map(|c| c.1).collect::<Vec<_>>());
    let mut failures = Vec::new();
    for ((page, expr, expect), got) in run.iter().map(|c| (c.0, c.1, &c.2)).zip(&results) {
        let ok = match expect {
            Value(json) => {
                let want: Value =
                    serde_json::from_str(json).unwrap_or_else(|e| panic!("{page}: bad expected JSON {json}: {e}"));
                got.get("error").is_none() && got["value"] == want
            }
            Error(part) => got["error"]["message"].as_str().is_some_and(|m| m.contains(part)),
            Unknown => got["known"] == false,
            NotInPmx(_) => unreachable!(),
        };
        if !ok {
            failures.push(format!("{page}: {expr}\n    got {got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} examples differ:\n{}", failures.len(), run.len(), failures.join("\n"));
}

/// Every function pmx has is covered by a documented example; every case the table skips
/// says why.
#[test]
fn the_table_covers_every_function() {
    let pages: Vec<&str> = CASES.iter().map(|c| c.0.trim_start_matches("tofu/")).collect();
    let missing: Vec<&&str> = pmx::config::functions::names().iter().filter(|n| !pages.contains(n)).collect();
    assert!(missing.is_empty(), "functions without a documented example in the table: {missing:?}");
    for (page, expr, expect) in CASES {
        if let NotInPmx(reason) = expect {
            assert!(reason.len() > 10, "{page}: {expr} is skipped without a reason");
        }
    }
}
