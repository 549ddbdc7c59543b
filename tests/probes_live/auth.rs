//! Live tests of the auth probe(s) (issue 15); see db::probe.
