//! The standard function library (length, lookup, merge, format, cidrsubnet, ...).
