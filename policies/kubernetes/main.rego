# The Kubernetes starter policy. The gateway POSTs {"input": <review>} to
# /v1/data/writegate/kubernetes/decision for every write; see policies/README.md
# for the input and decision contracts.
#
# Rules add violations to `deny` (the write is refused) or `warn` (the write goes
# through and kubectl prints a `Warning:` line). Both are partial sets, so each
# rule file contributes independently and an empty set is still defined.
package writegate.kubernetes

decision := {"allow": count(deny) == 0, "deny": deny, "warn": warn}

# violation builds the object every rule returns: `rule` for machines (logs,
# audits, tests) and `msg` for people, ending with the rule id so that a denied
# `kubectl apply` tells the reader which rule to look up.
violation(rule, msg) := {"rule": rule, "msg": sprintf("%s [%s]", [msg, rule])}
