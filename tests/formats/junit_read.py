"""Reads a JUnit XML file as CI servers do (junitparser) and checks the structure they
rely on with the standard library's parser: testsuites > testsuite > testcase, each
suite's counts matching its cases, at most one result element per case. Prints the suites
and cases as JSON. Used by tests/formats.rs."""
import json
import sys
import xml.etree.ElementTree as ET

from junitparser import Error, Failure, JUnitXml, Skipped

path = sys.argv[1]
root = ET.parse(path).getroot()
assert root.tag == "testsuites", root.tag
for suite in root:
    assert suite.tag == "testsuite", suite.tag
    cases = suite.findall("testcase")
    for attr, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        counted = sum(1 for c in cases if c.find(tag) is not None)
        assert int(suite.get(attr)) == counted, (suite.get("name"), attr, counted)
    assert int(suite.get("tests")) == len(cases)
    for case in cases:
        results = [c for c in case if c.tag in ("failure", "error", "skipped")]
        assert len(results) <= 1, case.get("name")

out = []
for suite in JUnitXml.fromfile(path):
    cases = []
    for case in suite:
        outcome, text = "passed", case.system_out or ""
        for r in case.result:
            if isinstance(r, Failure):
                outcome, text = "failure", r.text or ""
            elif isinstance(r, Error):
                outcome, text = "error", r.text or ""
            elif isinstance(r, Skipped):
                outcome = "skipped"
        cases.append({"name": case.name, "classname": case.classname, "outcome": outcome, "text": text})
    out.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps(out))
