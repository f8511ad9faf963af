# Constructs outside the fragment: each decision must be refused at compile time (decided by OPA).
package writegate.tricky.fallback

import rego.v1

with_decision if {
	inner with input.request.namespace as "x"
}

inner if input.request.namespace == "x"

else_decision := "a" if {
	input.request.namespace == "dev"
} else := "b" if {
	input.request.namespace == "prod"
}

else_allow if else_decision == "a"

time_decision if time.now_ns() > input.request.object.spec.after

http_decision if {
	r := http.send({"method": "GET", "url": input.request.object.spec.url})
	r.status_code == 200
}

regex_decision if regex.match("^a", input.request.name)
