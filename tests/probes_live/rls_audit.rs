//! Live tests of the rls_audit probe(s) (issue 15); see db::probe.
