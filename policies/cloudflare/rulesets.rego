package writegate.cloudflare

# A rule deploys a managed ruleset when its action is "execute": it runs the
# ruleset whose id is action_parameters.id (developers.cloudflare.com/waf/managed-rules/deploy-zone-dashboard/,
# ruleset-engine/managed-rulesets/deploy-managed-ruleset/). Those are the
# "managed rules" this file keeps. A rule without `enabled` is enabled.
managed_before contains id if {
	input.request.resource == "rulesets"
	some r in input.request.oldObject.rules
	r.action == "execute"
	object.get(r, "enabled", true) != false
	id := r.action_parameters.id
}

managed_after contains id if {
	input.request.resource == "rulesets"
	some r in input.request.object.rules
	r.action == "execute"
	object.get(r, "enabled", true) != false
	id := r.action_parameters.id
}

# keep-managed-rules: a write to a ruleset (a PUT of a phase entrypoint
# replaces every rule; a POST, PATCH or DELETE of one rule is an UPDATE of its
# ruleset; a DELETE of the ruleset removes them all) must keep every enabled
# rule that executes a managed ruleset. `object` is the ruleset as it will be and `oldObject` as it is, so
# a rule left out of a PUT, disabled, or deleted is caught alike; a deleted
# ruleset (object null) keeps none.
deny contains violation(
	"keep-managed-rules",
	sprintf("the change drops the rule that executes managed ruleset %q: keep it, enabled, in the ruleset", [id]),
) if {
	some id in managed_before
	not id in managed_after
}

# review-rule-change: firewall rules, page rules and the custom firewall rules
# of a zone (the http_request_firewall_custom phase, which replaced firewall
# rules) change what happens to every request to the zone. They go through,
# with a warning asking for a review.
rule_resources := {"firewall/rules": "firewall rule", "pagerules": "page rule"}

changed := {"CREATE": "created", "UPDATE": "changed", "DELETE": "deleted"}

warn contains violation(
	"review-rule-change",
	sprintf("%s %s: check it with the zone's owners, it applies to all traffic of the zone", [rule_resources[input.request.resource], changed[input.request.operation]]),
)

custom_firewall_phase := "http_request_firewall_custom"

warn contains violation(
	"review-rule-change",
	sprintf("custom firewall rules %s: check them with the zone's owners, they apply to all traffic of the zone", [changed[input.request.operation]]),
) if {
	input.request.resource == "rulesets"
	some ruleset in [input.request.object, input.request.oldObject]
	ruleset.phase == custom_firewall_phase
}
