"""Reads the SARIF log that `sarif-multitool validate` writes (it exits 0 even when the
input is invalid) and prints every error-level result; exits 1 if there is one."""
import json
import sys

log = json.load(open(sys.argv[1], encoding="utf-8-sig"))
errors = []
for run in log.get("runs", []):
    for n in run.get("invocations", [{}])[0].get("toolExecutionNotifications", []):
        if n.get("level") == "error":
            errors.append("notification: " + n.get("message", {}).get("text", ""))
    for r in run.get("results", []):
        # An absent level means "warning" in SARIF.
        if r.get("level", "warning") == "error":
            message = r.get("message", {})
            text = message.get("text") or f"{message.get('id')} {message.get('arguments')}"
            errors.append(f"{r.get('ruleId')}: {text}")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
