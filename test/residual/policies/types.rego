# Mixed types: Rego's total order across types ("a" > 1), structural equality (1 == 1.0), sets vs arrays,
# count over strings/arrays/objects, type checks.
package writegate.tricky.types

import rego.v1

allow if {
	input.request.object.spec.replicas < "a"
	input.request.object.spec.replicas != 3
	count(input.request.name) <= 5
	not input.request.object.spec.ports == {80, 443}
	not input.request.object.spec.tags == ["a", "b"]
}

allow if {
	input.request.object.spec.replicas == 1.0
	input.request.object.spec.ports == [80, 443]
}

allow if {
	input.request.object.spec.replicas > [1]
	is_object(input.request.object.spec.replicas)
}

allow if {
	input.request.object.spec.tags == set()
}

allow if {
	input.request.object.spec.replicas >= null
	input.request.object.spec.replicas <= false
}
