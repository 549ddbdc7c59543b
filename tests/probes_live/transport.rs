//! Live tests of the transport probe(s) (issue 15); see db::probe.
