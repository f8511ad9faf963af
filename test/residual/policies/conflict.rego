# A complete rule with two definitions: OPA raises eval_conflict_error when both hold, so the residual must
# never allow locally in that case.
package writegate.tricky.conflict

import rego.v1

level := "low" if input.request.namespace == "dev"

level := "high" if input.request.userInfo.username == "alice"

allow if level == "low"

allow if level == "high"

decision := {"allow": allow}
