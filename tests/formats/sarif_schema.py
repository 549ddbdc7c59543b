"""Validates a SARIF file against the sarif-2.1.0 JSON schema shipped in the
@microsoft/sarif-multitool npm package (which accepts some invalid enum values on its
own). Prints every error and exits 1 if there is one."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1], encoding="utf-8"))
document = json.load(open(sys.argv[2], encoding="utf-8"))
validator_class = jsonschema.validators.validator_for(schema)
validator_class.check_schema(schema)
errors = list(validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).iter_errors(document))
for e in errors:
    print(f"{'/'.join(map(str, e.absolute_path))}: {e.message}")
sys.exit(1 if errors else 0)
