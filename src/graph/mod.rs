//! The dependency graph (petgraph): a node per resource instance, data source, variable,
//! local, output and provider; edges from references and `depends_on`.
